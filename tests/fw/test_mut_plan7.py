"""Issue 8, round 7: schedule.Plan's set-up (the compiled segments of a flex or continuous
programme) as the first mutation run to reach it left it (docs/mutation/round7_plan.md).

Oracles: docs/protocol.md (programme.steps[].dose_ng_day is "dose rate from the effect time on",
so two steps with one effect time ask for two rates at once; E_STEP_OVERLAP "flex steps' lead
windows overlap"; shape step changes "at effect - lead"), the refusal's documented text (a
change detector: errors name cause and fix), and the label's unit arithmetic done here (a
constant rate of D ng/day gives D * s / 86400 ng in s seconds; a bolus of B ng adds B).
"""
import schedule
import pumpmodel as pm
from pumpkit import raises

REQS = {
    "test_two_steps_with_one_effect_time_are_refused_naming_both": ["SAFE-MUTANTS"],
    "test_a_single_step_plan_is_one_constant_rate_whatever_its_shape_and_lead": ["SAFE-MUTANTS"],
    "test_a_weekday_plans_every_day_bolus_runs_on_all_seven_days": ["SAFE-MUTANTS"],
}

M20 = pm.model(20)
TAIL = ": lead windows overlap; effect times must be at least the %d min lead apart"


def flex(steps, lead=120, shape="step", day=None, boluses=()):
    out = []
    for eff, dose in steps:
        s = {"effect_min": eff, "dose_ng_day": dose, "shape": shape}
        if day is not None:
            s["day"] = day
        out.append(s)
    return {"mode": "flex", "lead_min": lead, "steps": out, "boluses": list(boluses)}


def test_two_steps_with_one_effect_time_are_refused_naming_both():
    """Step-shaped changes have no window (the change is at effect - lead), and with lead 0 a
    ramp has none either, so two steps at one effect time have windows that only touch: the
    equal effect times themselves must be refused, wherever the pair sits in the day (first
    two, last two, in the middle) and on a weekday plan too. Steps are numbered in effect-time
    order. Different effect times on different weekdays are fine."""
    cases = [
        # (steps as (effect_min, dose), lead, shape, day, expected pair)
        ([(480, 500000), (480, 600000), (1200, 550000)], 120, "step", None, "step 1 (08:00) and step 2 (08:00)"),
        ([(480, 500000), (1200, 600000), (1200, 550000)], 120, "step", None, "step 2 (20:00) and step 3 (20:00)"),
        ([(60, 500000), (480, 600000), (480, 550000), (1200, 500000)], 120, "step", None,
         "step 2 (08:00) and step 3 (08:00)"),
        ([(480, 500000), (480, 600000)], 0, "ramp", None, "step 1 (08:00) and step 2 (08:00)"),
        ([(480, 500000), (480, 600000), (1200, 550000)], 0, "ramp", None, "step 1 (08:00) and step 2 (08:00)"),
        ([(480, 500000), (480, 600000), (1200, 550000)], 60, "step", 2, "step 1 (day 2 08:00) and step 2 (day 2 08:00)"),
    ]
    for steps, lead, shape, day, pair in cases:
        e = raises("E_STEP_OVERLAP", schedule.normalise, flex(steps, lead, shape, day), 2000, M20)
        assert e.detail == pair + TAIL % lead, (steps, lead, shape, e.detail)
    # One effect time on two weekdays: two steps, a day apart.
    prog = flex([(480, 500000)], 120, "step", 1)
    prog["steps"].append({"day": 2, "effect_min": 480, "dose_ng_day": 600000, "shape": "step"})
    plan = schedule.Plan(schedule.normalise(prog, 2000, M20))
    H = 3600
    assert plan.rate_ng_day(1 * pm.DAY_S + 6 * H) == 500000       # day 1, 06:00 = effect - lead
    assert plan.rate_ng_day(2 * pm.DAY_S + 6 * H - 1) == 500000
    assert plan.rate_ng_day(2 * pm.DAY_S + 6 * H) == 600000


def test_a_single_step_plan_is_one_constant_rate_whatever_its_shape_and_lead():
    """One step: there is no other rate to change from, so the dose rate is the step's all day
    (a continuous programme is one such step), its lead and shape change nothing, and a daily
    bolus of 1000 ng over 60 min at 23:30 (so it runs past midnight) adds its rate
    1000 * 1440 / 60 = 24000 ng/day from 23:30 to 00:30 and 1000 ng to each day's total."""
    H = 3600
    D = 480000
    progs = [{"mode": "continuous", "dose_ng_day": D, "boluses": []}]
    for lead in (0, 1, 120, 240):
        for shape in ("ramp", "step"):
            progs.append(flex([(600, D)], lead, shape))
    for p in progs:
        p["boluses"] = [{"dose_ng": 1000, "duration_min": 60, "at_min": 1410}]
        norm = schedule.normalise(p, 2000, M20)
        plan = schedule.Plan(norm)
        assert plan.day_totals_ng() == [(-1, D + 1000)], p
        for t in (30 * 60, 8 * H - 1, 8 * H, 10 * H, 12 * H + 7, 23 * H + 30 * 60 - 1):
            assert plan.rate_ng_day(t) == D, (p, t)
        for t in (23 * H + 30 * 60, 86399, 0, 30 * 60 - 1):
            assert plan.rate_ng_day(t) == D + 24000, (p, t)
        # Any stretch without the bolus: D * s / 86400 ng (chosen to divide exactly).
        for a, s in ((H, 9 * H), (8 * H - 900, 1800), (9 * H + 1, 10800), (10 * H - 5400, 5400)):
            assert plan.ng_between(a, a + s) == D * s // 86400, (p, a, s)
        # Across the bolus: a whole day from noon to noon, and each half of it.
        assert plan.ng_between(12 * H, 36 * H) == D + 1000, p
        assert plan.ng_between(23 * H + 1800, 24 * H) == D // 48 + 500, p
        assert plan.ng_between(24 * H, 24 * H + 1800) == D // 48 + 500, p


def test_a_weekday_plans_every_day_bolus_runs_on_all_seven_days():
    """docs/protocol.md: a bolus's `day` -1 is "every day", on a weekday plan too. Plan: Monday
    (day 0) 08:00 500000 ng/day, Thursday (day 3) 08:00 600000, step shape, lead 120 min (so the
    rate changes at 06:00); a daily bolus of 1000 ng over 60 min at 12:00 and a Saturday (day 5)
    one at 23:30 (into Sunday). Each bolus runs at 1000 * 1440 / 60 = 24000 ng/day. Daily totals
    by hand: Monday 600000 * 6/24 + 500000 * 18/24 = 525000, Thursday 500000 * 6/24 + 600000 *
    18/24 = 575000, other days their one rate; + 1000 every day, + 500 on Saturday and Sunday."""
    H = 3600
    prog = {"mode": "flex", "lead_min": 120, "steps": [
        {"day": 0, "effect_min": 480, "dose_ng_day": 500000, "shape": "step"},
        {"day": 3, "effect_min": 480, "dose_ng_day": 600000, "shape": "step"}],
        "boluses": [{"dose_ng": 1000, "duration_min": 60, "at_min": 720},
                    {"dose_ng": 1000, "duration_min": 60, "at_min": 1410, "day": 5}]}
    plan = schedule.Plan(schedule.normalise(prog, 2000, M20))
    basal = [500000, 500000, 500000, 600000, 600000, 600000, 600000]   # at noon
    assert plan.day_totals_ng() == [(0, 526000), (1, 501000), (2, 501000), (3, 576000),
                                    (4, 601000), (5, 601500), (6, 601500)]
    for d in range(7):
        noon = d * pm.DAY_S + 12 * H
        assert plan.rate_ng_day(noon - 1) == basal[d], d
        assert plan.rate_ng_day(noon) == basal[d] + 24000, d
        assert plan.rate_ng_day(noon + H - 1) == basal[d] + 24000, d
        assert plan.rate_ng_day(noon + H) == basal[d], d
        assert plan.ng_between(noon, noon + H) == basal[d] // 24 + 1000, d
