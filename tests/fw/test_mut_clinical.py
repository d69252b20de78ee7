"""Issue 8: behaviours of clinical.py the mutation run found unchecked (docs/mutation/core.md).

Oracles: the label's dosing table (shared/seeds/000_...txt, quoted in clinical.py), the CRC-32
catalogue check value (CRC-32 of "123456789" is 0xCBF43926), weekly drug per periodic bolus
summed by hand (an every-day bolus gives its dose 7 times a week, a weekday bolus once), the
time windows of requirements.toml (REFILL-WINDOW "within 4 h", WITHDRAWAL-RESTORE-PUMP "last
30 days") and docs/protocol.md ("`msg` says what exactly was wrong": the figures it names are
the ones the test set up).
"""
from pumpkit import make_pump, warp, cmd, refill, raises, log_since, DAY, cont, stage, commit
import clinical

REQS = {
    "test_limits_row_is_the_label_table": ["DL-HARD-SPINAL", "DL-HARD-CEREBRAL", "DL-HARD-U12"],
    "test_override_reason_id_is_crc32_masked_to_30_bits": ["SOFT-OVERRIDE"],
    "test_override_reason_text_bounds_and_message": ["SOFT-OVERRIDE"],
    "test_periodic_bolus_weighs_an_every_day_bolus_seven_times_a_weekday_one": ["TIT-FIRST24H-RATE"],
    "test_two_periodic_boluses_count_together_in_the_first_24h": ["TIT-FIRST24H-RATE"],
    "test_first_24h_and_once_per_24h_messages_state_the_seconds_left": ["TIT-FIRST24H", "TIT-ONCE-24H"],
    "test_refill_window_includes_its_fourth_hour_and_checks_name_the_cap": ["REFILL-WINDOW", "REFILL-SPINAL-40",
                                                                            "TIT-SPINAL-30"],
    "test_restore_window_is_the_last_30_days_to_the_second": ["WITHDRAWAL-RESTORE-PUMP"],
    "test_patient_bolus_allowance_may_fill_the_day_exactly": ["BOLUS-PROFILE-MAX"],
}

SPINAL = {"indication": "spinal", "age_group": "adult"}
CEREBRAL = {"indication": "cerebral", "age_group": "adult"}








def pump(profile, first, conc=500):
    hal, ctl = make_pump()
    refill(ctl, 20000000, conc)
    cmd(ctl, "profile_set", profile=profile)
    commit(ctl, first)
    return hal, ctl


def test_limits_row_is_the_label_table():
    """Label: spinal "Range: 12-2003mcg/day; most patients ... 300-800mcg/day", titration 30 %,
    refill 40 %; cerebral 22-1400, 90-703, 15 %, 20 %; <12 Years 24-1199 (typical range as
    paediatric)."""
    def row(a, b, c, d, e, f):
        return {"hard_min_ng_day": a, "hard_max_ng_day": b, "soft_min_ng_day": c, "soft_max_ng_day": d,
                "titration_max_pct": e, "refill_max_pct": f}
    assert clinical.limits({"indication": "spinal"}) == row(12000, 2003000, 300000, 800000, 30, 40)
    assert clinical.limits({"indication": "cerebral"}) == row(22000, 1400000, 90000, 703000, 15, 20)
    assert clinical.limits({"indication": "paediatric"}) == row(22000, 1400000, 90000, 703000, 15, 20)
    assert clinical.limits({"indication": "paediatric_u12"}) == row(24000, 1199000, 90000, 703000, 15, 20)


def test_override_reason_id_is_crc32_masked_to_30_bits():
    """docs: override event a = CRC-32 of the reason & 0x3FFFFFFF; CRC-32("123456789") is the
    catalogue check value 0xCBF43926, so a = 0x0BF43926."""
    assert clinical.reason_id("123456789") == 0x0BF43926
    hal, ctl = pump(dict(SPINAL, phase="maintenance"), cont(300000))
    warp(hal, ctl, DAY)
    seq = ctl.log.last_seq
    commit(ctl, cont(290000), override_reason="123456789")          # below the typical 300 mcg/day
    ov = [e for e in log_since(ctl, seq) if e[2] == "override"]
    assert [e[3:] for e in ov] == [[0x0BF43926, 290000]]


def test_override_reason_text_bounds_and_message():
    """protocol.md: override_reason is 1..80 characters of text; a blank reason is E_BAD_ARGS
    whose msg names the argument and the bound (the argument schema already refuses non-text
    and over-long reasons; clinical._reason is the check for blank text)."""
    hal, ctl = pump(dict(SPINAL, phase="maintenance"), cont(300000))
    warp(hal, ctl, DAY)
    e = raises("E_BAD_ARGS", stage, ctl, cont(290000), override_reason="   ")
    assert e.detail == "override_reason: 1..80 characters of text"
    raises("E_BAD_ARGS", stage, ctl, cont(290000), override_reason="x" * 81)
    st = stage(ctl, cont(290000), override_reason="y" * 80)
    assert [c["rule"] for c in st["checks"]] == ["DL-HARD", "SOFT-RANGE"]


def _weekly(basal, boluses):
    """A weekly plan: one step on Monday holding `basal` all week, boluses of 240 min
    (240 divides 1440, so each bolus's rate and restated dose are exact)."""
    return {"mode": "flex", "lead_min": 0, "steps": [{"day": 0, "effect_min": 0, "dose_ng_day": basal,
                                                      "shape": "step"}],
            "boluses": [{"day": d, "at_min": m, "dose_ng": ng, "duration_min": 240} for d, m, ng in boluses]}


def test_periodic_bolus_weighs_an_every_day_bolus_seven_times_a_weekday_one():
    """Label: "No dose increases should be given in the first 24 hrs". An every-day bolus of
    10 mcg is 70 mcg a week; a Monday bolus of 70 mcg is 70 mcg a week: swapping one for the other
    (basal lowered so the mean day falls: 101 + 70/7 = 111 > 100 + 10 = 110 mcg/day) is no
    increase; against a Monday bolus of 69.999 mcg it is, and it is refused in the first 24 h."""
    new = _weekly(100000, [(-1, 0, 10000)])
    hal, ctl = pump(SPINAL, _weekly(101000, [(0, 0, 70000)]))
    warp(hal, ctl, 3600)
    stage(ctl, new)
    hal, ctl = pump(SPINAL, _weekly(101000, [(0, 0, 69999)]))
    warp(hal, ctl, 3600)
    e = raises("E_FIRST_24H", stage, ctl, new)
    assert "periodic bolus" in e.detail and "(82800 s left)" in e.detail
    warp(hal, ctl, 82800)                                             # 24 h after the initial programme
    stage(ctl, new)


def test_two_periodic_boluses_count_together_in_the_first_24h():
    """Two every-day boluses of 10 mcg are 140 mcg a week; one of 15 mcg is 105: fewer, so the swap
    (mean day 121 -> 115 mcg/day) is allowed in the first 24 h. A single bolus raised from
    10 to 15 mcg is 70 -> 105 mcg a week: refused."""
    hal, ctl = pump(SPINAL, _weekly(101000, [(-1, 0, 10000), (-1, 720, 10000)]))
    warp(hal, ctl, 3600)
    stage(ctl, _weekly(100000, [(-1, 0, 15000)]))
    hal, ctl = pump(SPINAL, _weekly(106000, [(-1, 0, 10000)]))
    warp(hal, ctl, 3600)
    raises("E_FIRST_24H", stage, ctl, _weekly(100000, [(-1, 0, 15000)]))


def _steps(pairs):
    return {"mode": "flex", "lead_min": 0, "steps": [
        {"effect_min": m, "dose_ng_day": d, "shape": "step"} for m, d in pairs]}


def test_first_24h_and_once_per_24h_messages_state_the_seconds_left():
    """Label: no increase in the first 24 h, then "only once q24h". The msg names the 86400 s
    rule and the seconds left, counted from the commit times the test chose."""
    hal, ctl = pump(SPINAL, _steps([(0, 100000), (12 * 60, 120000)]))   # 110 mcg/day
    t_first = ctl.t_s
    warp(hal, ctl, DAY - 60)
    # Same peak step, more hours at it (115 mcg/day): only the daily-total rule can refuse it.
    e = raises("E_FIRST_24H", stage, ctl, _steps([(0, 100000), (6 * 60, 120000)]))
    assert e.detail == "no increase until 86400 s after the initial programme (60 s left)"
    assert ctl.t_s == t_first + DAY - 60
    warp(hal, ctl, 60)
    commit(ctl, cont(120000))
    warp(hal, ctl, DAY - 100)
    e = raises("E_TITRATION", stage, ctl, cont(130000))
    assert e.detail == "one increase per 24 h: next allowed in 100 s"


def test_refill_window_includes_its_fourth_hour_and_checks_name_the_cap():
    """REFILL-WINDOW: "within 4 h of a refill commit" includes 14400 s after it. At the refill
    the spinal cap is 40 % (560 mcg from 400 is +40 %), after it 30 %; the stage reply's checks
    name the cap applied (REFILL-CAP 40 / TIT-CAP 30)."""
    hal, ctl = pump(dict(SPINAL, phase="maintenance"), cont(400000), conc=500)
    warp(hal, ctl, 30 * DAY)
    refill(ctl, 20000000, 500)
    warp(hal, ctl, clinical.REFILL_WINDOW_S)
    st = stage(ctl, cont(560000))
    assert {"rule": "REFILL-CAP", "max_pct": 40} in st["checks"]
    warp(hal, ctl, 1)
    raises("E_TITRATION", stage, ctl, cont(560000))
    st = stage(ctl, cont(520000))
    assert {"rule": "TIT-CAP", "max_pct": 30} in st["checks"]


def test_restore_window_is_the_last_30_days_to_the_second():
    """WITHDRAWAL-RESTORE-PUMP: the ceiling is the highest daily dose committed in the last
    30 days: a commit exactly 2592000 s old no longer counts, one 2591999 s old does."""
    hal, ctl = pump(dict(SPINAL, phase="maintenance"), cont(400000))
    t400 = ctl.t_s
    warp(hal, ctl, DAY)
    commit(ctl, cont(300000), override_reason="side effects")
    warp(hal, ctl, t400 + 30 * DAY - 1 - ctl.t_s)
    stage(ctl, cont(400000), restore=True, override_reason="r")
    warp(hal, ctl, 1)
    e = raises("E_CLINICAL_LIMIT", stage, ctl, cont(400000), restore=True, override_reason="r")
    assert "(300000 ng/day)" in e.detail


def test_patient_bolus_allowance_may_fill_the_day_exactly():
    """Label "Range: 22-1400mcg/day" (cerebral) is an amount per day: 100 mcg programmed + 4 x
    325 mcg = 1400 mcg exactly is allowed; 7 x 200 mcg on top (1500) is refused, the msg naming
    count, dose, programmed day and maximum."""
    hal, ctl = pump(CEREBRAL, cont(100000))
    cmd(ctl, "settings_set", pb_dose_ng=325000, pb_max_24h=4, pb_lockout_min=60, pb_duration_min=10)
    e = raises("E_CLINICAL_LIMIT", cmd, ctl, "settings_set", pb_dose_ng=200000, pb_max_24h=7)
    assert e.detail == ("7 patient boluses of 200000 ng + programmed day 100000 ng exceed the 1400000 ng/day "
                        "maximum")
