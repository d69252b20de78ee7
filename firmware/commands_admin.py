"""Command handlers for alarms, log, clock, settings, profile and provisioning (simulation:
commands_sim, test builds only)."""
from protocol import PumpError
from alarms import CATALOGUE
from eventlog import NAMES as LOG_NAMES, ROLE_IDS, SETTING_IDS, SETTINGS
import battery as bat
import clinical

from argspec import MAX_CLOCK_STEP_S, given

NOT_CLEARABLE = ("eos", "eri")   # causes that persist until the pump is replaced


def alarms_list(ctl, args, t):
    return {"alarms": ctl.alarms.listing(), "silenced_until_t_s": ctl.alarms.silenced_until}


def _cause_persists(ctl, name, t):
    if name in NOT_CLEARABLE:
        return True
    if name == "reservoir_empty":
        return ctl.reservoir_nl(t) <= 0
    if name == "low_reservoir":
        return ctl.reservoir_nl(t) <= ctl.settings["low_res_nl"]
    return False


def alarms_clear(ctl, args, t):
    names = args.get("names", sorted(ctl.alarms.active))
    cleared, kept = [], []
    for n in names:
        if n not in ctl.alarms.active:
            continue
        if _cause_persists(ctl, n, t):
            kept.append(n)
            continue
        ctl.alarms.clear(n)
        ctl._now = t
        ctl._log("alarm_cleared", CATALOGUE[n][0], ROLE_IDS.get(ctl.role, 0))
        ctl._push("alarm_cleared", {"name": n})
        cleared.append(n)
    if ctl.fsm.state == "alarm_stopped" and not ctl.alarms.has_critical():
        ctl.fire("alarms_cleared", t)
    ctl.reschedule(t)
    ctl.hal.buzzer(ctl.alarms.pattern())
    ctl.hal.led("alarm" if ctl.alarms.active else "ok")
    return {"cleared": cleared, "kept": kept, "state": ctl.fsm.state}


def alarms_silence(ctl, args, t):
    dur = given("alarms_silence", args, "duration_min")
    # The schema's 1..1440 min is alarms.SILENCE_MAX_S (tests/fw/test_sim_commands.py checks the
    # two agree), so silence() accepts it; the reply reports the silence the alarms hold.
    ctl.alarms.silence(t, dur * 60)
    ctl.hal.buzzer("off")
    ctl._now = t
    ctl._log("alarm_silenced", dur * 60, ctl.alarms.silenced_until)
    return {"silenced_until_t_s": ctl.alarms.silenced_until}


def alarms_test(ctl, args, t):
    ctl.hal.buzzer("test")   # both tones, so the patient learns them
    ctl._now = t
    ctl._log("alarm_test")
    return {"tones": ["critical", "noncritical"]}


def log_read(ctl, args, t):
    first = given("log_read", args, "first_seq")
    n = given("log_read", args, "max_n")
    recs = ctl.log.read(first, n)
    return {"first_seq": ctl.log.first_seq, "last_seq": ctl.log.last_seq,
            "entries": [[s, ts, LOG_NAMES.get(c, str(c)), a, b] for s, ts, c, a, b in recs]}


def time_get(ctl, args, t):
    return {"t_s": t, "iso": bat.iso(t), "utc_offset_s": ctl.ledger.utc_offset_s, "clock_set": ctl.clock_set,
            "last_sync_t_s": ctl.last_sync_t_s}


def shift_clock(ctl, t_old, t_new):
    """Move the pump clock without accruing (or losing) programmed volume over the jump."""
    led = ctl.ledger
    led.rebase(t_old)
    led.anchor_t_s = t_new
    led.overrides = [[o[0] + t_new - t_old, o[1] + t_new - t_old, o[2], o[3]] for o in led.overrides]
    if led.plan is not None:   # stopped: rebase(t_old) has just set the anchor to 0
        led._g_anchor = led.plan.G(t_new + led.utc_offset_s)
    ctl.clock_offset_s += t_new - t_old
    ctl.t_s = t_new
    ctl._last_save_t = t_new
    ctl.reschedule(t_new)


def time_set(ctl, args, t):
    new = args["t_s"]   # type and range (from 2025-01-01): argspec, checked before any handler
    reason = args.get("reason")
    step = new - t if new > t else t - new
    if ctl.clock_set:   # the bounds argspec.MAX_CLOCK_STEP_S documents
        first = ctl.implant_t_s
        if first is not None and new < first:
            if first - new > MAX_CLOCK_STEP_S:
                raise PumpError("E_CLOCK", "t_s=%d is before the pump's first boot (%d)" % (new, first))
            ctl.implant_t_s = new   # a drift correction just after the first boot: older, never younger
        if step > MAX_CLOCK_STEP_S and reason is None:
            raise PumpError("E_CLOCK", "a %d s step exceeds %d s (drift correction): resend with reason"
                            % (step, MAX_CLOCK_STEP_S))
    elif ctl.implant_t_s is not None:
        # First setting: the first-boot time was read from this unset clock; the pump's age
        # (the battery model's input) is kept, so battery_nah never reads above capacity.
        ctl.implant_t_s += new - t
    ctl._now = t
    ctl._log("time_set", t, new)
    if reason is not None:
        ctl._log("override", clinical.reason_id(reason), new)
    shift_clock(ctl, t, new)
    ctl.clock_set = True
    ctl.last_sync_t_s = new
    if hasattr(ctl.hal, "set_rtc_s"):   # the board keeps the host's time in its RTC
        ctl.hal.set_rtc_s(new)
    return time_get(ctl, args, new)


def settings_get(ctl, args, t):
    out = dict(ctl.settings)
    out["utc_offset_s"] = ctl.ledger.utc_offset_s
    return out


def settings_set(ctl, args, t):
    # argspec has checked every argument's type and range (low_res_nl: E_THRESHOLD_RANGE)
    s = dict(ctl.settings)
    for k in ("low_res_nl", "catheter_nl", "pb_dose_ng", "pb_duration_min", "pb_lockout_min", "pb_max_24h"):
        if k in args:
            s[k] = args[k]
    if s["pb_dose_ng"] > 0 and s["pb_max_24h"] > 0:
        clinical.check_patient_bolus_settings(ctl, s["pb_dose_ng"], s["pb_max_24h"])
    offset = args.get("utc_offset_s")
    ctl.settings = s
    if offset is not None and offset != ctl.ledger.utc_offset_s:
        ctl.ledger.rebase(t, utc_offset_s=offset)
    ctl._now = t
    for k in SETTINGS:   # one entry per setting carried: (setting id, value), in id order
        if k == "utc_offset_s":
            if offset is not None:
                ctl._log("settings", SETTING_IDS[k], offset)
        elif k in args:
            ctl._log("settings", SETTING_IDS[k], s[k])
    ctl.reschedule(t)
    return settings_get(ctl, args, t)


def profile_get(ctl, args, t):
    # The clinical history the titration rules run on, so any programmer checks the same facts.
    return {"profile": ctl.profile, "history": {
        "initial_programme_t_s": ctl.initial_programme_t_s, "last_increase_t_s": ctl.last_increase_t_s,
        "refill_t_s": ctl.refill_t_s, "restore_ceiling_ng": clinical.restore_ceiling_ng(ctl, t)}}


def profile_set(ctl, args, t):
    prof = clinical.validate_profile(args["profile"])   # argspec: an object of known fields
    ctl.profile = prof
    ctl._now = t
    # validate_profile returns both fields, each one of its table's keys (or refuses)
    ctl._log("profile", clinical.INDICATION_IDS[prof["indication"]], clinical.AGE_IDS[prof["age_group"]])
    return {"profile": prof}


def provision(ctl, args, t):
    keys = args.get("keys", {})   # argspec: an object of role -> hex key, roles it knows
    for role in keys:
        ctl.keyring.set(role, keys[role])
    return {"roles": ctl.keyring.roles()}
