"""Programme validation and the exact dose-rate integral (issue 2: schedules, ramp, limits)."""
import schedule
import pumpmodel as pm
from pumpkit import NIGHT, raises

M20 = pm.model(20)


def plan(prog, conc=2000):
    return schedule.Plan(schedule.normalise(prog, conc, M20))


def hm(h, m=0):
    return h * 3600 + m * 60


def test_night_ramp_starts_two_hours_before_effect():
    # Labeling: "a 20% increase in hourly infusion rate ... programmed to start 2 hrs before".
    p = plan(NIGHT)
    assert p.rate_ng_day(hm(19, 59)) == 500000
    assert p.rate_ng_day(hm(20, 0)) == 500000
    assert p.rate_ng_day(hm(21, 0)) == 550000
    assert p.rate_ng_day(hm(22, 0)) == 600000
    assert p.rate_ng_day(hm(5, 0)) == 600000
    assert p.rate_ng_day(hm(6, 0)) == 550000
    assert p.rate_ng_day(hm(7, 0)) == 500000


def test_step_shape_changes_fully_at_effect_minus_lead():
    prog = {"mode": "flex", "steps": [
        {"effect_min": 420, "dose_ng_day": 500000, "shape": "step"},
        {"effect_min": 1320, "dose_ng_day": 600000, "shape": "step"}]}
    p = plan(prog)
    assert p.rate_ng_day(hm(19, 59) + 59) == 500000
    assert p.rate_ng_day(hm(20, 0)) == 600000
    assert p.rate_ng_day(hm(4, 59) + 59) == 600000
    assert p.rate_ng_day(hm(5, 0)) == 500000


def test_daily_total_includes_ramps_exactly():
    # 13 h at 500 + 7 h at 600 + two 2 h ramps averaging 550 = 537.5 mcg/day
    p = plan(NIGHT)
    assert p.day_totals_ng() == [(-1, 537500)]
    assert p.ng_between(0, 86400) == 537500


def test_exact_integral_matches_independent_per_second_sum():
    # Reference: exact trapezoid per second (rate is linear inside each second), scaled by 2L.
    p = plan(NIGHT)
    L = 7200
    total = 0
    for t in range(0, 86400, 1):
        # doubled-and-L-scaled rate at t and t+1 from the piecewise definition
        total += _rate2L(t) + _rate2L(t + 1)
    # total = sum (r(t)+r(t+1)) * L ; integral = total / (2L) ng*s/day ; / 86400 -> ng
    assert total == p.G(86400) - p.G(0)
    assert L == p.lead_s


def _rate2L(t):
    # independent piecewise definition of the night plan, times L (=7200)
    t = t % 86400
    if hm(5) <= t < hm(7):
        return 600000 * 7200 - 100000 * (t - hm(5))
    if hm(7) <= t < hm(20):
        return 500000 * 7200
    if hm(20) <= t < hm(22):
        return 500000 * 7200 + 100000 * (t - hm(20))
    return 600000 * 7200


def test_windows_touching_is_allowed_overlap_is_refused_naming_both_steps():
    ok = {"mode": "flex", "steps": [
        {"effect_min": 420, "dose_ng_day": 500000}, {"effect_min": 540, "dose_ng_day": 550000}]}
    plan(ok)
    bad = {"mode": "flex", "steps": [
        {"effect_min": 420, "dose_ng_day": 500000}, {"effect_min": 539, "dose_ng_day": 550000}]}
    e = raises("E_STEP_OVERLAP", schedule.normalise, bad, 2000, M20)
    assert "step 1" in e.detail and "step 2" in e.detail and "07:00" in e.detail and "08:59" in e.detail


def test_overlap_across_midnight_is_refused():
    bad = {"mode": "flex", "steps": [
        {"effect_min": 30, "dose_ng_day": 500000}, {"effect_min": 1380, "dose_ng_day": 550000}]}
    raises("E_STEP_OVERLAP", schedule.normalise, bad, 2000, M20)


def test_thirteen_steps_fit_with_a_shorter_lead_and_sixteen_is_the_cap():
    steps = [{"effect_min": i * 110, "dose_ng_day": 400000 + i * 1000} for i in range(13)]
    n = schedule.normalise({"mode": "flex", "lead_min": 90, "steps": steps}, 2000, M20)
    assert len(n["steps"]) == 13
    steps = [{"effect_min": i * 80, "dose_ng_day": 400000, "shape": "step"} for i in range(17)]
    raises("E_STEP_COUNT", schedule.normalise, {"mode": "flex", "steps": steps}, 2000, M20)
    week = [{"day": d, "effect_min": i * 90, "dose_ng_day": 400000, "shape": "step"} for d in range(7) for i in range(10)]
    raises("E_STEP_COUNT", schedule.normalise, {"mode": "flex", "steps": week}, 2000, M20)


def test_daily_dose_hard_range_boundaries():
    # Labeling range 12-2003 mcg/day: both ends accepted, one ng beyond refused.
    schedule.normalise({"mode": "continuous", "dose_ng_day": 2003000}, 2000, M20)
    raises("E_DOSE_RANGE", schedule.normalise, {"mode": "continuous", "dose_ng_day": 2003001}, 2000, M20)
    schedule.normalise({"mode": "continuous", "dose_ng_day": 12000}, 50, M20)
    raises("E_DOSE_RANGE", schedule.normalise, {"mode": "continuous", "dose_ng_day": 11999}, 50, M20)


def test_flow_range_is_checked_per_model():
    # 12 mcg/day at 2000 mcg/mL is 6 uL/day, below the 0.048 mL/day minimum flow.
    e = raises("E_FLOW_RANGE", schedule.normalise, {"mode": "continuous", "dose_ng_day": 12000}, 2000, M20)
    assert "6000 nL/day" in e.detail
    schedule.normalise({"mode": "continuous", "dose_ng_day": 96000}, 2000, M20)   # 0.048 mL/day
    raises("E_FLOW_RANGE", schedule.normalise, {"mode": "continuous", "dose_ng_day": 95998}, 2000, M20)


def test_periodic_bolus_counts_in_daily_total():
    prog = {"mode": "continuous", "dose_ng_day": 500000,
            "boluses": [{"at_min": 480, "dose_ng": 60000, "duration_min": 30}]}
    p = plan(prog)
    assert p.day_totals_ng() == [(-1, 560000)]
    assert p.rate_ng_day(hm(8, 10)) == 500000 + 60000 * 48


def test_hourly_instead_of_daily_bolus_error_is_caught_by_the_daily_limit():
    # Issue 5: a once-daily 60 mcg bolus entered as hourly (24x). With 8 periodic slots
    # of 300 mcg the total passes 2003 mcg/day and the pump refuses.
    prog = {"mode": "continuous", "dose_ng_day": 500000,
            "boluses": [{"at_min": 60 * i * 3, "dose_ng": 300000, "duration_min": 10} for i in range(8)]}
    raises("E_DOSE_RANGE", schedule.normalise, prog, 2000, M20)


def test_bolus_above_pump_max_rate_is_refused():
    prog = {"mode": "continuous", "dose_ng_day": 500000,
            "boluses": [{"at_min": 480, "dose_ng": 1000000, "duration_min": 1}]}
    raises("E_BOLUS_RANGE", schedule.normalise, prog, 2000, M20)


def test_bolus_dose_is_restated_from_its_integer_rate():
    n = schedule.normalise({"mode": "continuous", "dose_ng_day": 500000,
                            "boluses": [{"at_min": 0, "dose_ng": 50000, "duration_min": 7}]}, 2000, M20)
    b = n["boluses"][0]
    assert b["rate_ng_day"] == (50000 * 1440 + 3) // 7
    assert 49999 <= b["dose_ng"] <= 50000


def test_weekday_plans_have_per_day_totals():
    steps = [{"day": d, "effect_min": 420, "dose_ng_day": 500000 + (100000 if d == 5 else 0), "shape": "step"}
             for d in range(7)]
    p = plan({"mode": "flex", "steps": steps})
    totals = dict(p.day_totals_ng())
    assert p.period_s == 7 * 86400
    assert totals[0] == 500000
    # Saturday 00:00-05:00 at Friday's rate, 05:00-24:00 at 600 mcg/day
    assert totals[5] == (5 * 500000 + 19 * 600000) // 24


def test_mixing_weekday_and_daily_steps_is_refused():
    prog = {"mode": "flex", "steps": [{"day": 1, "effect_min": 0, "dose_ng_day": 500000},
                                      {"effect_min": 600, "dose_ng_day": 500000}]}
    raises("E_BAD_ARGS", schedule.normalise, prog, 2000, M20)


def test_bad_shapes_and_types_are_named_errors():
    raises("E_BAD_ARGS", schedule.normalise, {"mode": "flex", "steps": [
        {"effect_min": 0, "dose_ng_day": 500000, "shape": "curve"}]}, 2000, M20)
    raises("E_BAD_ARGS", schedule.normalise, {"mode": "continuous", "dose_ng_day": "500"}, 2000, M20)
    raises("E_BAD_ARGS", schedule.normalise, {"mode": "bogus"}, 2000, M20)
    raises("E_STEP_COUNT", schedule.normalise, {"mode": "flex", "steps": []}, 2000, M20)


def test_normalising_is_idempotent():
    for prog in (NIGHT, {"mode": "continuous", "dose_ng_day": 500000,
                         "boluses": [{"at_min": 0, "dose_ng": 50000, "duration_min": 7}]}):
        once = schedule.normalise(prog, 2000, M20)
        assert schedule.normalise(once, 2000, M20) == once


# Requirement ids proven by each test (requirements/requirements.toml; read by tools/trace.py).
REQS = {
    "test_daily_dose_hard_range_boundaries": ["CORE-DOSE-RANGE"],
    "test_flow_range_is_checked_per_model": ["CORE-FLOW-RANGE"],
    "test_windows_touching_is_allowed_overlap_is_refused_naming_both_steps": ["CORE-OVERLAP"],
    "test_overlap_across_midnight_is_refused": ["CORE-OVERLAP"],
    "test_thirteen_steps_fit_with_a_shorter_lead_and_sixteen_is_the_cap": ["CORE-13-STEPS"],
    "test_night_ramp_starts_two_hours_before_effect": ["CORE-LEAD-2H"],
    "test_step_shape_changes_fully_at_effect_minus_lead": ["CORE-LEAD-2H"],
    "test_daily_total_includes_ramps_exactly": ["CORE-DAILY-TOTAL"],
    "test_periodic_bolus_counts_in_daily_total": ["CORE-DAILY-TOTAL"],
    "test_bolus_above_pump_max_rate_is_refused": ["CORE-BOLUS-LIMIT"],
    "test_hourly_instead_of_daily_bolus_error_is_caught_by_the_daily_limit": ["CORE-DOSE-RANGE"],
}

# Where each test's expected values come from (tools/trace.py, issue 8 "trace honesty").
ORACLES = {
    "test_daily_dose_hard_range_boundaries": "label",              # 12-2003 mcg/day from the labeling
    "test_daily_total_includes_ramps_exactly": "label",            # 537.5 mcg/day worked by hand
    "test_exact_integral_matches_independent_per_second_sum": "independent-sum",
}
