"""Command handlers: protocol command name -> controller operation.

The link has already checked framing, authentication and role. Every handler either
returns a result dict or raises PumpError before changing anything (stage/commit:
validation happens at stage; commit only applies what was validated and hashed).
"""
import hashlib
from compat import ceil_div, hexlify
from protocol import PumpError, PROTOCOL_VERSION, canonical_json
import pumpmodel as pm
import schedule
import clinical
from delivery import Ledger

try:
    import build_info
except ImportError:
    build_info = None

FW_VERSION = "0.1.0"
# Refill discrepancy flag: > 14.5 % expected vs withdrawn (issue 4), compared exactly by
# cross-multiplication, never on a rounded ratio (issue 8: 14.525 % read as 145 permille).
DISCREPANCY_NUM = 145
DISCREPANCY_DEN = 1000


def _int(args, key, lo, hi, default=None):
    return schedule._get_int(args, key, lo, hi, default)


def _hash(obj):
    return hexlify(hashlib.sha256(canonical_json(obj)).digest()[:8])


def _forecast(ctl, t, plan, conc, fill_nl, base_reset):
    """Alarm and empty dates for a what-if (staged programme or refill) from the exact schedule."""
    L = Ledger()
    L.load(ctl.ledger.to_dict(), ctl.ledger.plan)
    L.rebase(t, plan=plan, conc_ug_ml=conc, keep_plan=plan is not None)
    if base_reset:
        L.base_nl = L.base_nl - ctl.strokes_fill * ctl.stroke_nl
    if L.plan is None:
        return {"alarm_t_s": None, "empty_t_s": None}
    return {"alarm_t_s": L.first_t_reaching(fill_nl - ctl.settings["low_res_nl"], t),
            "empty_t_s": L.first_t_reaching(fill_nl, t)}


def _plan_summary(plan, conc):
    totals = plan.day_totals_ng()
    daily = sum(x for _, x in totals) // len(totals)
    return {"daily_ng": daily, "daily_nl": pm.flow_nl_day(daily, conc),
            "day_totals_ng": [x for _, x in totals] if len(totals) > 1 else [daily]}


def hello(ctl, args, t):
    return {"protocol": PROTOCOL_VERSION, "fw_version": FW_VERSION,
            "build_hash": getattr(build_info, "BUILD_HASH", "dev"), "build": ctl.build,
            "model": ctl.model_id, "serial": ctl.serial, "capacity_nl": ctl.model["capacity_nl"],
            "stroke_nl": ctl.stroke_nl}


def status(ctl, args, t):
    rem = ctl.battery_remaining_nah(t)
    import battery as bat
    cur = bat.current_na(ctl.strokes_per_day())
    ev = ctl._events
    prof = ctl.profile or {}
    rate = ctl.ledger.rate_ng_day(t)
    return {"state": ctl.fsm.state, "mode": ctl.programme["mode"] if ctl.programme else "none",
            "t_s": t, "clock_set": ctl.clock_set, "last_sync_t_s": ctl.last_sync_t_s, "reservoir_nl": ctl.reservoir_nl(t),
            "conc_ug_ml": ctl.conc_ug_ml, "rate_ng_day": rate,
            "flow_nl_day": pm.flow_nl_day(rate, ctl.conc_ug_ml),
            "daily_ng": ctl.daily_ng(), "delivered_nl": ctl.strokes_fill * ctl.stroke_nl,
            "alarms": sorted(ctl.alarms.active), "alarm_t_s": ev.get("low_reservoir"),
            "empty_t_s": ev.get("reservoir_empty"), "bolus": ctl.bolus_kind,
            "battery_nah": rem, "battery_life_s": bat.life_s(rem, cur), "eri_t_s": ctl.eri_t_s,
            "eri_due_t_s": ev.get("eri"), "eos_t_s": ev.get("eos"), "strokes": ctl.strokes_total,
            # Withdrawal-risk flags on every status (issue 5; labeling boxed warning).
            "indication": prof.get("indication"), "phase": prof.get("phase"), "risk": prof.get("risk", [])}


def programme_get(ctl, args, t):
    out = {"programme": ctl.programme, "conc_ug_ml": ctl.conc_ug_ml}
    if ctl.plan is not None:
        out.update(_plan_summary(ctl.plan, ctl.conc_ug_ml))
        out["windows"] = ctl.plan.change_windows()
    return out


def programme_stage(ctl, args, t):
    if ctl.fsm.state == "end_of_life":
        raise PumpError("E_STATE", "end of service: the pump cannot be programmed")
    norm = schedule.normalise(args.get("programme"), ctl.conc_ug_ml, ctl.model)
    plan = schedule.Plan(norm)
    summary = _plan_summary(plan, ctl.conc_ug_ml)
    old = ctl.daily_ng()
    checks = clinical.check_programme(ctl, old, summary["daily_ng"], t, args, norm, plan)
    h = _hash(norm)
    ctl.staged = ("programme", norm, h, summary["daily_ng"], checks)
    out = {"programme": norm, "hash": h, "old_daily_ng": old, "before": _forecast(
        ctl, t, ctl.ledger.plan, ctl.conc_ug_ml, ctl.fill_nl, False), "after": _forecast(
        ctl, t, plan, ctl.conc_ug_ml, ctl.fill_nl, False), "checks": checks}
    out.update(summary)
    return out


def _take_staged(ctl, kind, args):
    st = ctl.staged
    if st is None or st[0] != kind:
        raise PumpError("E_NO_STAGED", "stage a %s first" % kind)
    if args.get("hash") != st[2]:
        raise PumpError("E_HASH_MISMATCH", "staged %s has hash %s" % (kind, st[2]))
    ctl.staged = None
    return st


def programme_commit(ctl, args, t):
    if ctl.fsm.state in ("end_of_life", "boot"):
        raise PumpError("E_STATE", "cannot programme in state %s" % ctl.fsm.state)
    _, norm, h, new_daily, checks = _take_staged(ctl, "programme", args)
    old = ctl.daily_ng()
    old_peak = schedule.step_peak_ng_day(ctl.programme)
    ctl.programme = norm
    ctl.plan = schedule.Plan(norm)
    clinical.on_commit(ctl, old, new_daily, t, checks)
    ctl._now = t
    ctl._log("programme", old, new_daily)
    ctl._log("programme_peak", old_peak, schedule.step_peak_ng_day(norm))
    ctl.fire("programme_commit", t)
    return {"hash": h, "state": ctl.fsm.state, "daily_ng": new_daily}


def refill_stage(ctl, args, t):
    if ctl.fsm.state in ("bolus", "end_of_life", "boot"):
        raise PumpError("E_STATE", "refill not allowed in state %s" % ctl.fsm.state)
    cap = ctl.model["capacity_nl"]
    # argspec has checked every field against the schema (the strength with E_CONC); this
    # model's reservoir bounds a withdrawal further: more than twice its capacity is a typo.
    withdrawn = _int(args, "withdrawn_nl", 0, 2 * cap)
    conc = args.get("conc_ug_ml")
    conc = ctl.conc_ug_ml if conc is None else conc
    if conc != ctl.conc_ug_ml and ctl.bolus_kind == "bridge":
        # A second bridge would run on top of the first (their rates add: 3x the catheter's
        # flow for 2000 -> 1000 -> 500 mcg/mL) and the first one's end would clear both (BRIDGE).
        raise PumpError("E_STATE", "refill bridge running until t_s %s: the catheter holds the previous "
                        "strength; a new strength after it" % ctl.ledger.next_override_end(t))
    added = args["added_nl"]
    if added > cap:
        ctl._now = t
        ctl._log("fill_rejected", added, cap)
        raise PumpError("E_OVERFILL", "%d nL exceeds the %d nL reservoir" % (added, cap))
    norm = None
    if ctl.programme is not None:
        norm = schedule.normalise(ctl.programme, conc, ctl.model)  # flows at the new strength
    expected = ctl.reservoir_nl(t)
    diff = expected - withdrawn if expected > withdrawn else withdrawn - expected
    flag = diff * DISCREPANCY_DEN > DISCREPANCY_NUM * expected
    # The exact ratio is discrepancy_nl / expected_nl; ppm and permille are rounded down
    # for display (None when nothing was expected: no finite ratio).
    ppm = diff * 1000000 // expected if expected > 0 else (0 if diff == 0 else None)
    pm_ = None if ppm is None else ppm // 1000
    bridge = None
    if conc != ctl.conc_ug_ml and ctl.ledger.plan is not None:
        vol = ctl.settings["catheter_nl"] + ctl.model["pathway_nl"]
        flow = pm.flow_nl_day(ctl.ledger.rate_ng_day(t), ctl.conc_ug_ml)
        bridge = {"volume_nl": vol, "flow_nl_day": flow, "duration_s": ceil_div(vol * pm.DAY_S, flow)}
    payload = {"withdrawn_nl": withdrawn, "added_nl": added, "conc_ug_ml": conc, "bridge": bridge}
    h = _hash(payload)
    ctl.staged = ("refill", payload, h, expected, None)   # expected_nl: logged at commit
    plan = schedule.Plan(norm) if norm is not None and ctl.ledger.plan is not None else None
    return {"hash": h, "expected_nl": expected, "withdrawn_nl": withdrawn, "discrepancy_permille": pm_,
            "discrepancy_nl": diff, "discrepancy_ppm": ppm, "discrepancy_flag": flag, "added_nl": added, "conc_ug_ml": conc,
            "bridge": bridge, "after": _forecast(ctl, t, plan, conc, added, True)}


def refill_commit(ctl, args, t):
    _, p, h, expected, _ = _take_staged(ctl, "refill", args)
    ctl.fire("refill_commit", t)
    led = ctl.ledger
    old_rate = led.rate_ng_day(t)
    old_conc = ctl.conc_ug_ml
    led.rebase(t, conc_ug_ml=p["conc_ug_ml"])
    led.base_nl -= ctl.strokes_fill * ctl.stroke_nl   # keep only the sub-stroke remainder
    ctl.strokes_fill = 0
    ctl.fill_nl = p["added_nl"]
    ctl.conc_ug_ml = p["conc_ug_ml"]
    ctl.refill_t_s = t
    ctl._now = t
    ctl._log("refill_check", expected, p["withdrawn_nl"])   # the check the clinician confirmed
    ctl._log("refill", p["added_nl"], p["conc_ug_ml"])
    if p["bridge"] is not None:
        # The pathway still holds the old strength: deliver it at the old volume flow so the
        # patient keeps the old dose until the new drug reaches the catheter tip.
        rate = old_rate * p["conc_ug_ml"] // old_conc
        led.add_override(t, t + p["bridge"]["duration_s"], rate, True)
        ctl.bolus_kind = "bridge"
        ctl._log("bridge_start", p["bridge"]["volume_nl"], old_conc)
    ctl.reschedule(t)
    return {"hash": h, "reservoir_nl": ctl.reservoir_nl(t), "alarm_t_s": ctl._events.get("low_reservoir"),
            "empty_t_s": ctl._events.get("reservoir_empty")}


def bolus(ctl, args, t):
    if ctl.fsm.state != "infusing":
        ctl._now = t
        ctl._log("bolus_refused", 0, 1)
        raise PumpError("E_STATE", "a bolus needs the pump infusing (state %s)" % ctl.fsm.state)
    if args.get("kind") == "prime":   # argspec: single (the default) or prime
        vol = _int(args, "volume_nl", 1, pm.CATHETER_MAX_NL + ctl.model["pathway_nl"],
                   ctl.settings["catheter_nl"] + ctl.model["pathway_nl"])
        flow = ctl.model["flow_max_nl_day"]
        dur_s = ceil_div(vol * pm.DAY_S, flow)
        rate = flow * ctl.conc_ug_ml // 1000
        return _start_bolus(ctl, t, "prime", rate, dur_s, True, vol * ctl.conc_ug_ml // 1000, "prime_start",
                            (vol, flow))
    # a single bolus (argspec has checked the ranges of dose and duration)
    dose, dur = args.get("dose_ng"), args.get("duration_min")
    if dose is None or dur is None:   # optional in the schema: a prime needs neither
        raise PumpError("E_BAD_ARGS", "a single bolus needs dose_ng and duration_min")
    clinical.check_bolus(ctl, dose, t)
    rate = (dose * 1440 + dur // 2) // dur
    return _start_bolus(ctl, t, "single", rate, dur * 60, False, dose, "bolus_start")


def _plan_peak_ng_day(prog):
    """Highest basal step plus every periodic bolus: the worst case a bolus adds to."""
    if prog is None:
        return 0
    peak = schedule.step_peak_ng_day(prog)
    for b in prog["boluses"]:
        peak += b["rate_ng_day"]
    return peak


def _start_bolus(ctl, t, kind, rate, dur_s, replace, dose_ng, log_name, log_ab=None):
    if ctl.bolus_kind == "bridge":
        # The catheter holds the previous strength until the bridge ends: a bolus sized at the new
        # one would push old drug (2000 -> 50 mcg/mL: 40x the dose asked for). BRIDGE; issue 8.
        ctl._now = t
        ctl._log("bolus_refused", dose_ng, 3)
        raise PumpError("E_STATE", "refill bridge running until t_s %d: the catheter holds the previous "
                        "strength; bolus after it" % ctl.ledger.overrides[-1][1])
    base = 0 if replace else _plan_peak_ng_day(ctl.programme)
    flow = pm.flow_nl_day(base + rate, ctl.conc_ug_ml)
    if flow > ctl.model["flow_max_nl_day"]:
        ctl._now = t
        ctl._log("bolus_refused", dose_ng, 2)
        raise PumpError("E_BOLUS_RANGE", "needs %d nL/day, above the %d nL/day maximum"
                        % (flow, ctl.model["flow_max_nl_day"]))
    vol = pm.flow_nl_day(dose_ng, ctl.conc_ug_ml)
    if vol > ctl.reservoir_nl(t):
        raise PumpError("E_VOLUME", "bolus needs %d nL, reservoir has %d" % (vol, ctl.reservoir_nl(t)))
    ctl.ledger.rebase(t)
    ctl.ledger.add_override(t, t + dur_s, rate, replace)
    if kind in ("single", "patient"):   # drug for the patient, counted against the daily maximum
        ctl.bolus_doses = [b for b in ctl.bolus_doses if b[0] > t - pm.DAY_S] + [[t, dose_ng]]
    ctl.bolus_kind = kind
    ctl._now = t
    a, b = log_ab if log_ab is not None else (dose_ng, dur_s)   # per eventlog.ARGS[log_name]
    ctl._log(log_name, a, b)
    ctl.fire("bolus_start", t)
    return {"kind": kind, "dose_ng": dose_ng, "end_t_s": t + dur_s, "rate_ng_day": rate}


def patient_bolus(ctl, args, t):
    s = ctl.settings
    ctl._now = t
    ctl.patient_boluses = [x for x in ctl.patient_boluses if x > t - pm.DAY_S]
    if s["pb_dose_ng"] <= 0:
        ctl._log("patient_bolus_refused", 0, 0)
        raise PumpError("E_STATE", "patient bolus not enabled by the clinician")
    if ctl.fsm.state != "infusing":
        # Before anything changes: _start_bolus writes the ledger before the FSM's bolus_start
        # could refuse, and a refused bolus must not run (issue 8: it ran during a bolus / on resume).
        ctl._log("patient_bolus_refused", 4)   # b = 0: no wait, count or dose to report
        raise PumpError("E_STATE", "a patient bolus needs the pump infusing (state %s)" % ctl.fsm.state)
    if ctl.patient_boluses and t < ctl.patient_boluses[-1] + s["pb_lockout_min"] * 60:
        ctl._log("patient_bolus_refused", 1, ctl.patient_boluses[-1] + s["pb_lockout_min"] * 60 - t)
        raise PumpError("E_PATIENT_BOLUS_LOCKOUT", "next allowed in %d s"
                        % (ctl.patient_boluses[-1] + s["pb_lockout_min"] * 60 - t))
    if len(ctl.patient_boluses) >= s["pb_max_24h"]:
        ctl._log("patient_bolus_refused", 2, len(ctl.patient_boluses))
        raise PumpError("E_PATIENT_BOLUS_MAX", "%d of %d allowed in 24 h given"
                        % (len(ctl.patient_boluses), s["pb_max_24h"]))
    try:
        clinical.check_bolus(ctl, s["pb_dose_ng"], t)
    except PumpError:
        ctl._log("patient_bolus_refused", 3, s["pb_dose_ng"])
        raise
    dur = s["pb_duration_min"]
    rate = (s["pb_dose_ng"] * 1440 + dur // 2) // dur
    out = _start_bolus(ctl, t, "patient", rate, dur * 60, False, s["pb_dose_ng"], "patient_bolus",
                       (s["pb_dose_ng"], len(ctl.patient_boluses) + 1))
    ctl.patient_boluses.append(t)
    return out


def bolus_cancel(ctl, args, t):
    ctl.fire("bolus_cancel", t)
    return {"state": ctl.fsm.state}


def stop(ctl, args, t):
    ctl.fire("stop", t)
    return {"state": ctl.fsm.state}


def resume(ctl, args, t):
    ctl.fire("resume", t)
    return {"state": ctl.fsm.state}
