"""Issue 8, defect 11: every log entry's (a, b) means what eventlog.ARGS declares.

"alarm_silenced writes the silence duration into alarm_id; reset_unclean writes
checkpoint_t_s=900 (not a time)". The test drives a scenario that writes (nearly) every code,
knows from its own inputs what each field must hold (the dose it gave, the time it set, the
volume it added; a bolus volume from the label arithmetic ng * 1000 / (mcg/mL)), and also checks
each field by the kind its declared name says (a time, an alarm id, a role, a setting id...).
"""
import eventlog
from alarms import NAMES_BY_ID, CATALOGUE
from hal_sim import SimHal
from controller import Controller
from pumpkit import make_pump, cmd, log_since, refill, programme, warp, T0, DAY

REQS = {
    "test_every_entry_matches_its_declared_fields": ["SAFE-LOG-FIELDS"],
    "test_fields_declared_for_every_code_that_carries_data": ["SAFE-LOG-FIELDS"],
}

CONT = {"mode": "continuous", "dose_ng_day": 1000000}




def _after(ctl, fn):
    """Run fn(); return the log entries it wrote as {name: [(a, b), ...]}."""
    seq = ctl.log.last_seq
    try:
        fn()
    except Exception as e:   # refusals are logged too; the PumpError is expected by the caller
        if type(e).__name__ != "PumpError":
            raise
    got = {}
    for e in log_since(ctl, seq):
        got.setdefault(e[2], []).append((e[3], e[4]))
    return got


def _kind_ok(field, v, t_entry, t_max):
    """The field's value fits the kind its name declares."""
    if field.endswith("_t_s"):
        return T0 - DAY <= v <= t_max
    if field == "alarm_id":
        return v in NAMES_BY_ID
    if field == "role":
        return v in (1, 2, 3)
    if field == "setting_id":
        return v in eventlog.SETTING_IDS.values()
    if field.endswith("conc_ug_ml"):
        return 1 <= v <= 2000
    if field == "cancelled":
        return v in (0, 1)
    if field.startswith("reason"):
        return v >= 0
    if field in ("value", "detail", "wait_s_count_or_dose"):
        return True
    return v >= 0


def _check_kinds(ctl, since):
    n = 0
    for seq, t, name, a, b in log_since(ctl, since):
        fields = eventlog.ARGS.get(name)
        if fields is None:
            assert (a, b) == (0, 0), (name, a, b)      # unlisted: unused
            continue
        for f, v in zip(fields, (a, b)):
            assert _kind_ok(f, v, t, ctl.t_s + 2 * DAY), (seq, name, f, v)
        n += 1
    return n


def test_every_entry_matches_its_declared_fields():
    hal, ctl = make_pump()
    seen = set()

    def expect(got, name, ab):
        assert got.get(name) == [ab], (name, got)
        seen.add(name)

    got = _after(ctl, lambda: refill(ctl, 20000000, 2000))
    expect(got, "refill", (20000000, 2000))
    got = _after(ctl, lambda: programme(ctl, CONT))
    expect(got, "programme", (0, 1000000))
    got = _after(ctl, lambda: cmd(ctl, "bolus", dose_ng=1, duration_min=0))
    assert got == {}                                    # bad args: refused before anything is logged
    # A stopped pump refuses a bolus: reason 1 (state), no dose given.
    cmd(ctl, "stop")
    got = _after(ctl, lambda: cmd(ctl, "bolus", dose_ng=20000, duration_min=30))
    expect(got, "bolus_refused", (0, 1))
    cmd(ctl, "resume")
    # Single bolus 20 mcg over 30 min: 20000 ng at 2000 mcg/mL is 10000 nL.
    got = _after(ctl, lambda: cmd(ctl, "bolus", dose_ng=20000, duration_min=30))
    expect(got, "bolus_start", (20000, 1800))
    got = _after(ctl, lambda: warp(hal, ctl, 1800))
    expect(got, "bolus_end", (10000, 0))
    # Cancelled half-way: 10000 ng given = 5000 nL.
    cmd(ctl, "bolus", dose_ng=20000, duration_min=30)
    warp(hal, ctl, 900)
    got = _after(ctl, lambda: cmd(ctl, "bolus_cancel"))
    expect(got, "bolus_end", (5000, 1))
    # Settings: one entry per setting, (setting id, value).
    got = _after(ctl, lambda: cmd(ctl, "settings_set", low_res_nl=3000000, pb_dose_ng=10000, pb_max_24h=4,
                                  pb_lockout_min=60))
    ids = eventlog.SETTING_IDS
    assert sorted(got["settings"]) == sorted([(ids["low_res_nl"], 3000000), (ids["pb_dose_ng"], 10000),
                                              (ids["pb_max_24h"], 4), (ids["pb_lockout_min"], 60)])
    seen.add("settings")
    # Patient bolus: (dose, count in the last 24 h including this one); then the lockout.
    got = _after(ctl, lambda: ctl.command("patient_bolus", {}, "patient"))
    expect(got, "patient_bolus", (10000, 1))
    warp(hal, ctl, 600)
    got = _after(ctl, lambda: ctl.command("patient_bolus", {}, "patient"))
    expect(got, "patient_bolus_refused", (1, 3600 - 600))
    warp(hal, ctl, 3600)
    # Motor stall: one stroke requested, none done; alarm id of motor_stall.
    hal.inject("motor_stall", 1)
    got = _after(ctl, lambda: warp(hal, ctl, 120))
    assert got["stall"][0][1] == 0 and got["stall"][0][0] >= 1
    expect(got, "alarm_raised", (CATALOGUE["motor_stall"][0], 0))
    seen.add("stall")
    # Silence 30 min: the duration and the time the tone comes back.
    t = ctl.t_s
    got = _after(ctl, lambda: cmd(ctl, "alarms_silence", duration_min=30))
    expect(got, "alarm_silenced", (1800, t + 1800))
    # Cleared by a clinician (role id 2).
    got = _after(ctl, lambda: cmd(ctl, "alarms_clear"))
    expect(got, "alarm_cleared", (CATALOGUE["motor_stall"][0], 2))
    # Clock set: old and new pump times.
    t = ctl.t_s
    got = _after(ctl, lambda: cmd(ctl, "time_set", t_s=t + 300))
    expect(got, "time_set", (t, t + 300))
    got = _after(ctl, lambda: cmd(ctl, "profile_set", profile={"indication": "cerebral"}))
    expect(got, "profile", (2, 1))
    # Overfill: requested and capacity.
    got = _after(ctl, lambda: cmd(ctl, "refill_stage", withdrawn_nl=0, added_nl=20000001))
    expect(got, "fill_rejected", (20000001, 20000000))
    # Strength change: the bridge carries catheter + pathway volume at the old strength.
    got = _after(ctl, lambda: refill(ctl, 20000000, 1000))
    expect(got, "bridge_start", (150000 + 200000, 2000))
    warp(hal, ctl, 2 * DAY)
    # Prime: its volume and the model's maximum flow.
    got = _after(ctl, lambda: cmd(ctl, "bolus", kind="prime", volume_nl=100000))
    expect(got, "prime_start", (100000, 24000000))
    warp(hal, ctl, DAY)
    # Power cut and reboot with the RTC: the last checkpoint's time, and what was assumed given.
    ctl.save()
    saved_t = ctl.t_s
    fill_strokes = ctl.strokes_fill
    hal2 = SimHal(start_t_s=saved_t + 3600, flash=hal.flash)
    ctl2 = Controller(hal2)
    seq = ctl.log.last_seq
    ctl2.boot()
    got = {}
    for e in log_since(ctl2, seq):
        got.setdefault(e[2], []).append((e[3], e[4]))
    expect(got, "reset_unclean", (saved_t, (ctl2.strokes_fill - fill_strokes) * 250))
    assert got["reset_unclean"][0][1] > 0                   # an hour at 1 mL/day was assumed given
    n = _check_kinds(ctl2, 0)
    assert n > 20
    for name in ("refill", "programme", "bolus_start", "bolus_end", "alarm_silenced", "reset_unclean",
                 "stall", "bridge_start", "prime_start", "patient_bolus", "alarm_cleared"):
        assert name in seen, name


def test_fields_declared_for_every_code_that_carries_data():
    """The declaration itself: every field name is one of the kinds the checker knows."""
    kinds = ("_t_s", "_nl", "_ng", "_ng_day", "_ug_ml", "_s", "_id", "role", "cancelled", "value",
             "detail", "failures", "count_24h", "strokes_requested", "strokes_done", "what", "errno",
             "indication", "age_group", "wait_s_count_or_dose", "reason_0off_1lockout_2max_3daily_4state",
             "reason_1state_2rate_3bridge", "rate_nl_day", "nl_day")
    for name in eventlog.ARGS:
        assert name in eventlog.CODES, name
        for f in eventlog.ARGS[name]:
            assert any(f.endswith(k) or f == k for k in kinds), (name, f)
    assert eventlog.ARGS["alarm_silenced"][0] != "alarm_id"
    assert eventlog.ARGS["reset_unclean"] == ("checkpoint_t_s", "assumed_nl")
