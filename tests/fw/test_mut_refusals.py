"""Round-5 mutation survivors of clinical.check_programme, clinical._check_ratio and
commands._plan_summary: what each clinical refusal tells the clinician, the checks a stage
reports, the override a restore leaves in the log, the boundaries of "typical" and "increase",
and a weekly plan's day totals.

Oracles: the label ("most patients are adequately maintained on 300-800mcg/day": 800 is
typical; "No dose increases should be given in the first 24 hrs": an unchanged dose is no
increase); docs/protocol.md (a refusal names its cause and the fix: the argument to resend;
`day_totals_ng` lists each weekday of a weekly programme); arithmetic done here."""
import clinical
from pumpkit import DAY, cmd, commit, cont, log_since, make_pump, profiled_pump, raises, refill, stage, warp

SPINAL = {"indication": "spinal", "age_group": "adult"}


def test_restore_refusals_name_the_ceiling_and_the_missing_reason():
    hal, ctl = profiled_pump(dict(SPINAL, phase="maintenance"), 400000)
    warp(hal, ctl, 2 * DAY)
    commit(ctl, cont(300000), override_reason="catheter repair: hold low")
    e = raises("E_CLINICAL_LIMIT", stage, ctl, cont(400001), restore=True, override_reason="r")
    assert e.detail == "restore is allowed up to the highest daily dose of the last 30 days (400000 ng/day)", e.detail
    e = raises("E_OVERRIDE_REQUIRED", stage, ctl, cont(400000), restore=True)
    assert e.detail == ("RESTORE: restoring the dose used before an interruption; resend with override_reason"), e.detail


def test_a_restore_reports_its_override_and_logs_it_at_commit():
    hal, ctl = profiled_pump(dict(SPINAL, phase="maintenance"), 400000)
    warp(hal, ctl, 2 * DAY)
    commit(ctl, cont(300000), override_reason="catheter repair: hold low")
    why = "withdrawal: restore prior dose"
    checks = stage(ctl, cont(400000), restore=True, override_reason=why)["checks"]
    assert {"rule": "RESTORE", "override": clinical.reason_id(why), "value": 400000} in checks, checks
    seq = ctl.log.last_seq
    commit(ctl, cont(400000), restore=True, override_reason=why)
    overrides = [e for e in log_since(ctl, seq) if e[2] == "override"]
    assert [e[3:] for e in overrides] == [[clinical.reason_id(why), 400000]], overrides


def test_a_restart_refusal_names_the_profiles_initial_dose_and_a_restart_reports_it():
    hal, ctl = profiled_pump(SPINAL, 100000)                               # no initial_ng_day in the profile
    warp(hal, ctl, DAY)
    e = raises("E_CLINICAL_LIMIT", stage, ctl, cont(90000), restart=True)
    assert e.detail == "restart is allowed up to the profile's initial_ng_day (None)", e.detail
    hal, ctl = profiled_pump(dict(SPINAL, initial_ng_day=100000), 100000)
    warp(hal, ctl, DAY)
    e = raises("E_CLINICAL_LIMIT", stage, ctl, cont(100001), restart=True)
    assert e.detail == "restart is allowed up to the profile's initial_ng_day (100000)", e.detail
    checks = stage(ctl, cont(100000), restart=True)["checks"]
    assert {"rule": "HOL-RESTART", "initial_ng_day": 100000} in checks, checks


def test_a_step_that_raises_the_rate_in_the_first_24_h_says_how_long_to_wait():
    hal, ctl = profiled_pump(SPINAL, 100000)
    warp(hal, ctl, 3600)
    up = {"mode": "flex", "steps": [{"effect_min": 420, "dose_ng_day": 80000, "shape": "step"},
                                   {"effect_min": 1320, "dose_ng_day": 130000, "shape": "step"}]}
    e = raises("E_FIRST_24H", stage, ctl, up)
    assert e.detail == ("a step or periodic bolus raises the rate within 24 h of the initial programme "
                        "(%d s left)" % (DAY - 3600)), e.detail


def test_the_same_dose_again_in_the_first_24_h_is_no_increase():
    hal, ctl = profiled_pump(SPINAL, 100000)
    warp(hal, ctl, 3600)
    commit(ctl, cont(100000))
    assert ctl.daily_ng() == 100000 and ctl.last_increase_t_s is None


def test_800_mcg_a_day_is_typical_one_ng_more_needs_a_reason_and_the_refusal_says_so():
    hal, ctl = profiled_pump(dict(SPINAL, phase="maintenance"), 700000, conc=2000)
    warp(hal, ctl, DAY)
    stage(ctl, cont(800000))
    e = raises("E_OVERRIDE_REQUIRED", stage, ctl, cont(800001))
    assert e.detail == ("SOFT-RANGE: daily 800001..800001 ng outside the typical 300000..800000 ng/day; "
                        "resend with override_reason"), e.detail


def test_the_soft_refusals_say_the_rule_the_reason_and_the_fix():
    hal, ctl = profiled_pump(SPINAL, 500000)
    e = raises("E_OVERRIDE_REQUIRED", stage, ctl, cont(399000))              # -20.2 %
    assert e.detail == "SOFT-DECREASE: a cut of more than 20 % risks withdrawal; resend with override_reason", e.detail
    hal, ctl = make_pump()
    refill(ctl, 20000000, 500)
    cmd(ctl, "profile_set", profile=SPINAL)
    e = raises("E_OVERRIDE_REQUIRED", stage, ctl, cont(200001))
    assert e.detail == ("INIT-MAX: a first programme above 200000 ng/day (2x the 100 mcg screening dose); "
                        "resend with override_reason"), e.detail


def test_a_dose_over_twice_the_current_one_says_the_ratio_to_confirm_and_reports_it():
    """201 000 / 100 000 ng/day = 201 %."""
    hal, ctl = profiled_pump(SPINAL, 100000)
    warp(hal, ctl, DAY)
    e = raises("E_CONFIRM_REQUIRED", stage, ctl, cont(201000))
    assert e.detail == ("CONFIRM: the new dose is 201 % of the current 100000 ng/day (more than twice); "
                        "resend with confirm_ratio=201"), e.detail
    hal, ctl = make_pump()                          # no profile (test build): the rule holds pump-wide
    refill(ctl, 20000000, 500)
    commit(ctl, cont(100000))
    checks = stage(ctl, cont(201000), confirm_ratio=201)["checks"]
    assert checks == [{"rule": "CONFIRM-2X", "ratio_pct": 201}], checks


def test_a_weekly_programme_reports_each_weekdays_total():
    """A change programmed for its effect time starts the lead (2 h by default) earlier; a step
    changes at once. 300 mcg a day in effect from day 0 00:00, 200 mcg from day 3 00:00: day 2
    ends with 2 h at 200 (22/24 x 300 000 + 2/24 x 200 000), day 6 with 2 h at 300; the others are
    whole days. The daily figure is the mean, rounded down."""
    hal, ctl = make_pump()
    refill(ctl, 20000000, 500)
    week = {"mode": "flex", "steps": [{"day": 0, "effect_min": 0, "dose_ng_day": 300000, "shape": "step"},
                                      {"day": 3, "effect_min": 0, "dose_ng_day": 200000, "shape": "step"}]}
    st = stage(ctl, week)
    day2 = (22 * 300000 + 2 * 200000) // 24
    day6 = (22 * 200000 + 2 * 300000) // 24
    want = [300000, 300000, day2, 200000, 200000, 200000, day6]
    assert st["day_totals_ng"] == want, st["day_totals_ng"]
    assert st["daily_ng"] == sum(want) // 7


def test_a_withdrawal_is_bounded_by_twice_this_models_reservoir_and_the_strength_by_the_label():
    """Model 20 holds 20 mL (docs/protocol.md hello: capacity_nl): up to 40 mL withdrawn is
    accepted as typed, more is refused as a typo; a strength outside the label's 1..2000 mcg/mL
    is E_CONC, and nothing is staged by either refusal."""
    hal, ctl = make_pump(model=20)
    e = raises("E_BAD_ARGS", cmd, ctl, "refill_stage", added_nl=1000, withdrawn_nl=40000001)
    assert e.detail == "'withdrawn_nl'=40000001 outside 0..40000000" and ctl.staged is None, e.detail
    for conc in (0, 2001):
        raises("E_CONC", cmd, ctl, "refill_stage", added_nl=1000, withdrawn_nl=0, conc_ug_ml=conc)
        assert ctl.staged is None
    st = cmd(ctl, "refill_stage", added_nl=1000, withdrawn_nl=40000000, conc_ug_ml=2000)
    assert ctl.staged is not None and st["discrepancy_nl"] == 40000000, st


def test_an_overfill_is_refused_with_both_volumes_named():
    """Model 20 holds 20 000 000 nL: one nL more is E_OVERFILL, saying how much was entered and
    what the reservoir holds (docs/protocol.md error table: E_OVERFILL)."""
    hal, ctl = make_pump(model=20)
    e = raises("E_OVERFILL", cmd, ctl, "refill_stage", added_nl=20000001, withdrawn_nl=0)
    assert e.detail == "20000001 nL exceeds the 20000000 nL reservoir" and ctl.staged is None, e.detail


def test_a_refill_at_a_new_strength_forecasts_at_that_strength():
    """100 000 ng/day at 2000 mcg/mL is 50 000 nL a day: a 20 mL fill reaches the 2 mL alarm
    level after 360 days and is empty after 400 (at the old 500 mcg/mL: 90 and 100). The
    forecast counts from the refill, less at most one stroke (250 nL: 432 s at this flow)
    already on its way."""
    hal, ctl = make_pump()
    refill(ctl, 20000000, 500)
    commit(ctl, cont(100000))
    warp(hal, ctl, 10 * DAY)
    t = ctl.t_s
    after = cmd(ctl, "refill_stage", added_nl=20000000, withdrawn_nl=ctl.reservoir_nl(), conc_ug_ml=2000)["after"]
    for key, days in (("alarm_t_s", 360), ("empty_t_s", 400)):
        assert t + days * DAY - 432 <= after[key] <= t + days * DAY, (key, after[key] - t - days * DAY)


def test_a_refill_stage_echoes_its_inputs_and_rounds_the_discrepancy_down():
    """docs/protocol.md refill_stage: the reply echoes withdrawn, added and strength, and gives
    the discrepancy in ppm and per mille rounded down: 1 000 nL of 1 000 000 expected is
    1 000 ppm = 1 per mille. Two different fills stage under two different hashes; a stopped
    pump delivers nothing, so its refill forecasts no alarm and no empty date."""
    hal, ctl = make_pump()
    refill(ctl, 1000000, 500)
    st = cmd(ctl, "refill_stage", added_nl=2000000, withdrawn_nl=999000, conc_ug_ml=500)
    assert (st["withdrawn_nl"], st["added_nl"], st["conc_ug_ml"]) == (999000, 2000000, 500), st
    assert (st["discrepancy_nl"], st["discrepancy_ppm"], st["discrepancy_permille"]) == (1000, 1000, 1), st
    other = cmd(ctl, "refill_stage", added_nl=2000001, withdrawn_nl=999000, conc_ug_ml=500)
    assert other["hash"] != st["hash"]
    commit(ctl, cont(100000))
    cmd(ctl, "stop")
    after = cmd(ctl, "refill_stage", added_nl=2000000, withdrawn_nl=ctl.reservoir_nl())["after"]
    assert after == {"alarm_t_s": None, "empty_t_s": None}, after
