"""Independent oracles for safety requirements (issue 8, "Trace honesty": "every safety
requirement needs at least one oracle test").

Every expected number here is written from the issue text or the documented policy and
worked out by hand in this file: issue 2 ("Programmable flow range per model (default
0.048-24 mL/day)", reservoirs of 20 and 40 mL, "bolus dose and rate bounded by the model's
maximum rate", "critical ... reservoir empty ... critical memory error ... stop delivery"),
docs/protocol.md ("after 3 consecutive wrong answers for a role, that role is locked for
30 s; every further failure doubles it, up to 3600 s"; time_set "from 2025-01-01", a step
over 900 s needs a reason). The firmware is called only as the code under test: no
expectation reads a firmware constant or function. Each test checks both sides of its
boundary (accepted and refused)."""
import schedule
import pumpmodel as pm
from auth import Auth, Keyring, login_mac
from compat import hexlify
from protocol import PumpError
from pumpkit import make_pump, ready_pump, refill, cmd, warp, raises, DAY, T0
from hal_sim import SimHal
from controller import Controller

REQS = {
    "test_flow_range_both_ends_on_both_models": ["CORE-FLOW-RANGE"],
    "test_fill_capacity_20_and_40_ml_exact_boundary": ["CORE-CAPACITY"],
    "test_bolus_rate_with_basal_bounded_by_24_ml_per_day": ["CORE-BOLUS-LIMIT"],
    "test_periodic_bolus_rate_with_basal_bounded_by_24_ml_per_day": ["CORE-BOLUS-LIMIT"],
    "test_empty_alarm_at_the_hand_computed_empty_second": ["ALM-EMPTY"],
    "test_one_good_slot_boots_both_corrupt_is_critical_and_stops": ["ALM-MEMORY-CRIT"],
    "test_lockout_follows_the_documented_back_off_exactly": ["AUTH-LOCKOUT"],
    "test_clock_floor_2025_and_900_s_step_bound": ["PROTO-CLOCK-BOUND"],
    "test_patient_bolus_interval_and_24_h_count_exact_boundaries": ["PB-LOCKOUT-MAX"],
}
# Where each test's expected values come from (tools/trace.py): the issue / protocol text.
ORACLES = {
    "test_flow_range_both_ends_on_both_models": "spec",
    "test_fill_capacity_20_and_40_ml_exact_boundary": "spec",
    "test_bolus_rate_with_basal_bounded_by_24_ml_per_day": "spec",
    "test_periodic_bolus_rate_with_basal_bounded_by_24_ml_per_day": "spec",
    "test_empty_alarm_at_the_hand_computed_empty_second": "spec",
    "test_one_good_slot_boots_both_corrupt_is_critical_and_stops": "spec",
    "test_lockout_follows_the_documented_back_off_exactly": "spec",
    "test_clock_floor_2025_and_900_s_step_bound": "spec",
    "test_patient_bolus_interval_and_24_h_count_exact_boundaries": "spec",
}

ML = 1000000          # nL per mL
MCG = 1000            # ng per mcg
MIN_FLOW_NL_DAY = 48 * ML // 1000    # 0.048 mL/day (issue 2)
MAX_FLOW_NL_DAY = 24 * ML            # 24 mL/day (issue 2)


def _dose_for_flow(flow_nl_day, conc_ug_ml):
    # ng/day = nL/day * (mcg/mL) / 1000; callers choose values where this is exact
    return flow_nl_day * conc_ug_ml // 1000


def test_flow_range_both_ends_on_both_models():
    for model_id in (20, 40):
        m = pm.model(model_id)
        # lower end at 2000 mcg/mL: 0.048 mL/day is 96 mcg/day; one ng/day less is below it
        lo = _dose_for_flow(MIN_FLOW_NL_DAY, 2000)
        assert lo == 96 * MCG
        schedule.normalise({"mode": "continuous", "dose_ng_day": lo}, 2000, m)
        raises("E_FLOW_RANGE", schedule.normalise, {"mode": "continuous", "dose_ng_day": lo - 1}, 2000, m)
        # upper end at 50 mcg/mL: 24 mL/day is 1200 mcg/day (inside 12-2003 mcg/day); one ng more is over
        hi = _dose_for_flow(MAX_FLOW_NL_DAY, 50)
        assert hi == 1200 * MCG
        schedule.normalise({"mode": "continuous", "dose_ng_day": hi}, 50, m)
        raises("E_FLOW_RANGE", schedule.normalise, {"mode": "continuous", "dose_ng_day": hi + 1}, 50, m)


def test_fill_capacity_20_and_40_ml_exact_boundary():
    for model_id, cap_ml in ((20, 20), (40, 40)):
        hal, ctl = make_pump(model=model_id)
        raises("E_OVERFILL", cmd, ctl, "refill_stage", withdrawn_nl=0, added_nl=cap_ml * ML + 1, conc_ug_ml=2000)
        names = [e[2] for e in cmd(ctl, "log_read", first_seq=0, max_n=24)["entries"]]
        assert "fill_rejected" in names, names
        assert ctl.reservoir_nl() == 0
        refill(ctl, cap_ml * ML, 2000, withdrawn_nl=0)
        assert ctl.reservoir_nl() == cap_ml * ML


def test_bolus_rate_with_basal_bounded_by_24_ml_per_day():
    # 100 mcg/mL, basal 100 mcg/day = 1 mL/day; 24 mL/day is 2400 mcg/day in all, so a bolus may
    # add 2300 mcg/day: over 144 min (a tenth of a day) that is a 230 mcg dose (330 mcg/day total,
    # inside 12-2003). 230 mcg + 1 ng needs more than 24 mL/day.
    hal, ctl = ready_pump({"mode": "continuous", "dose_ng_day": 100 * MCG}, conc=100)
    raises("E_BOLUS_RANGE", cmd, ctl, "bolus", dose_ng=230 * MCG + 1, duration_min=144)
    assert ctl.fsm.state == "infusing"
    cmd(ctl, "bolus", dose_ng=230 * MCG, duration_min=144)
    assert ctl.fsm.state == "bolus"
    assert ctl.ledger.rate_ng_day(ctl.t_s) == 2400 * MCG


def test_periodic_bolus_rate_with_basal_bounded_by_24_ml_per_day():
    m = pm.model(20)
    ok = {"mode": "continuous", "dose_ng_day": 100 * MCG,
          "boluses": [{"at_min": 480, "dose_ng": 230 * MCG, "duration_min": 144}]}
    schedule.normalise(ok, 100, m)
    bad = {"mode": "continuous", "dose_ng_day": 100 * MCG,
           "boluses": [{"at_min": 480, "dose_ng": 230 * MCG + 1, "duration_min": 144}]}
    raises("E_BOLUS_RANGE", schedule.normalise, bad, 100, m)


def test_empty_alarm_at_the_hand_computed_empty_second():
    # 1000 mcg/day at 2000 mcg/mL is 0.5 mL/day: a 3 mL fill is empty exactly 6 days after the
    # programme starts (fill and programme in the same second), i.e. 12000 strokes of 250 nL.
    hal, ctl = ready_pump({"mode": "continuous", "dose_ng_day": 1000 * MCG}, fill_nl=3 * ML)
    start = ctl.t_s
    warp(hal, ctl, 6 * DAY - 1)
    assert "reservoir_empty" not in ctl.alarms.active and ctl.fsm.state == "infusing"
    warp(hal, ctl, 1)
    assert "reservoir_empty" in ctl.alarms.active and ctl.fsm.state == "alarm_stopped"
    assert ctl.alarms.active["reservoir_empty"] == start + 6 * DAY
    assert hal.strokes == 3 * ML // 250
    warp(hal, ctl, DAY)
    assert hal.strokes == 3 * ML // 250       # delivery stays stopped


def _reboot(flash, t_s):
    hal = SimHal(start_t_s=t_s, flash=flash)
    ctl = Controller(hal, model_id=20, build="test")
    ctl.boot()
    return hal, ctl


def test_one_good_slot_boots_both_corrupt_is_critical_and_stops():
    hal, ctl = ready_pump({"mode": "continuous", "dose_ng_day": 1000 * MCG})
    warp(hal, ctl, 3600)
    slots = [n for n in ("state.a", "state.b") if hal.flash.read(n) is not None]
    assert len(slots) == 2, slots
    # accepted side: one slot torn, the other still valid -> no critical memory alarm, therapy goes on
    hal.flash.write(slots[0], b"garbage")
    hal2, ctl2 = _reboot(hal.flash, ctl.t_s + 60)
    assert "memory_critical" not in ctl2.alarms.active and ctl2.fsm.state == "infusing"
    # refused side: no valid state at all -> critical alarm, delivery stopped
    for n in ("state.a", "state.b"):
        hal2.flash.write(n, b"garbage")
    hal3, ctl3 = _reboot(hal2.flash, ctl2.t_s + 60)
    assert "memory_critical" in ctl3.alarms.active and ctl3.fsm.state == "alarm_stopped"
    n = hal3.strokes
    warp(hal3, ctl3, DAY)
    assert hal3.strokes == n


class _Rand:
    def __init__(self):
        self.n = 0

    def __call__(self, n):
        self.n += 1
        return bytes(((self.n * 53 + i) & 0xFF) for i in range(n))


KEY = b"clinician-key-0123456789abcdef!!"


def _fail(a, t):
    a.begin("clinician", t)
    try:
        a.complete("clinician", "ab" * 32, t)
    except PumpError as e:
        return e.code
    raise AssertionError("a wrong MAC was accepted")


def _locked_at(a, t):
    try:
        a.begin("clinician", t)
    except PumpError as e:
        if e.code != "E_AUTH_LOCKED":
            raise
        return True
    return False


def test_lockout_follows_the_documented_back_off_exactly():
    a = Auth(Keyring({"clinician": KEY}), _Rand())
    t = 1000
    assert _fail(a, t) == "E_AUTH_BAD_MAC" and _fail(a, t) == "E_AUTH_BAD_MAC"
    assert not _locked_at(a, t)                      # two failures: not locked yet
    _fail(a, t)                                      # the third: locked for 30 s
    # 30 s, doubling with every further failure, capped at 3600 s (docs/protocol.md)
    want = 30
    for _ in range(10):
        assert _locked_at(a, t + want - 1), want
        assert not _locked_at(a, t + want), want
        t += want
        _fail(a, t)
        want = want * 2 if want * 2 < 3600 else 3600
    assert want == 3600
    # a correct login one second before the end is refused, at the end it succeeds
    assert _locked_at(a, t + 3599)
    nonce = a.begin("clinician", t + 3600)
    a.complete("clinician", hexlify(login_mac(KEY, nonce, "clinician")), t + 3600)
    assert _fail(a, t + 3600) == "E_AUTH_BAD_MAC"    # success reset the count


def test_clock_floor_2025_and_900_s_step_bound():
    # Pump epoch 2024-01-01T00:00Z; 2024 is a leap year, so 2025-01-01 is 366 days later.
    floor = 366 * DAY
    hal, ctl = make_pump(rtc=False)                  # never-set clock: the first setting is free
    raises("E_CLOCK", cmd, ctl, "time_set", t_s=floor - 1)
    raises("E_CLOCK", cmd, ctl, "time_set", t_s=floor - 1, reason="clock battery replaced")
    cmd(ctl, "time_set", t_s=floor)
    assert ctl.now_s() == floor
    # once set: 900 s either way is a drift correction, 901 s needs a reason
    hal, ctl = ready_pump({"mode": "continuous", "dose_ng_day": 500 * MCG})
    cmd(ctl, "time_set", t_s=ctl.now_s())
    t = ctl.now_s()
    cmd(ctl, "time_set", t_s=t + 900)
    assert ctl.now_s() == t + 900
    t = ctl.now_s()
    cmd(ctl, "time_set", t_s=t - 900)
    assert ctl.now_s() == t - 900
    t = ctl.now_s()
    raises("E_CLOCK", cmd, ctl, "time_set", t_s=t + 901)
    raises("E_CLOCK", cmd, ctl, "time_set", t_s=t - 901)
    assert ctl.now_s() == t
    cmd(ctl, "time_set", t_s=t + 901, reason="pump clock found slow")
    assert ctl.now_s() == t + 901
    # never before the first boot (T0), whatever the reason
    raises("E_CLOCK", cmd, ctl, "time_set", t_s=T0 - 901, reason="wrong year")


def _pb(ctl):
    return ctl.command("patient_bolus", {}, "patient")


def test_patient_bolus_interval_and_24_h_count_exact_boundaries():
    """docs/protocol.md: pb_lockout_min is the "minimum interval between patient boluses",
    pb_max_24h the "patient boluses allowed in 24 h" (a rolling window: a bolus given exactly
    24 h ago is no longer in the last 24 h)."""
    hal, ctl = ready_pump({"mode": "continuous", "dose_ng_day": 500 * MCG})
    cmd(ctl, "settings_set", pb_dose_ng=20 * MCG, pb_duration_min=5, pb_lockout_min=180, pb_max_24h=2)
    first = ctl.t_s
    _pb(ctl)
    warp(hal, ctl, 180 * 60 - 1)
    raises("E_PATIENT_BOLUS_LOCKOUT", _pb, ctl)
    warp(hal, ctl, 1)
    _pb(ctl)                                          # exactly 180 min later: allowed
    warp(hal, ctl, first + DAY - 1 - ctl.t_s)
    raises("E_PATIENT_BOLUS_MAX", _pb, ctl)            # two already in the last 24 h
    warp(hal, ctl, 1)
    _pb(ctl)                                          # the first has left the 24 h window
    names = [e[2] for e in cmd(ctl, "log_read", first_seq=0, max_n=24)["entries"]]
    assert names.count("patient_bolus_refused") == 2 and names.count("patient_bolus") == 3, names
