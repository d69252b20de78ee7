"""The status rate of a flex plan follows the patient's local clock (issue 8, round 7: the
surviving mutant delivery.Ledger.rate_ng_day 17 read the plan at UTC - offset instead of
UTC + offset, and no test saw it; the delivered volume was right, the reported rate and flow
were not).

Oracle: the programme's own words (issue 2: each rate change is programmed by its effect time,
local, and starts lead_min earlier; a "step" changes fully at effect - lead) and the clock
arithmetic done here: T0 is 2026-11-07T16:00:00Z; with utc_offset_s = +3600 local 20:00 is
19:00Z (T0 + 3 h) and local 05:00 the next day is 04:00Z (T0 + 12 h). The flow is the label's
ng/day * 1000 / (mcg/mL) at 2000 mcg/mL.
"""
from pumpkit import make_pump, cmd, refill, programme, warp, T0

REQS = {"test_a_flex_plans_status_rate_changes_at_the_local_times_it_was_programmed_for": ["CORE-DAILY-TOTAL"],
        "test_first_true_answers_the_first_true_second_in_its_range_for_any_guess": ["CORE-STROKE-BOUND"]}
ORACLES = {"test_a_flex_plans_status_rate_changes_at_the_local_times_it_was_programmed_for": "label",
           "test_first_true_answers_the_first_true_second_in_its_range_for_any_guess": "arithmetic"}

STEPS = {"mode": "flex", "lead_min": 120, "steps": [
    {"effect_min": 7 * 60, "dose_ng_day": 500000, "shape": "step"},
    {"effect_min": 22 * 60, "dose_ng_day": 600000, "shape": "step"}]}


def _rate(ctl):
    st = cmd(ctl, "status")
    assert st["flow_nl_day"] == st["rate_ng_day"] * 1000 // 2000
    return st["rate_ng_day"]


def test_a_flex_plans_status_rate_changes_at_the_local_times_it_was_programmed_for():
    hal, ctl = make_pump()
    refill(ctl, 20000000, 2000)
    cmd(ctl, "settings_set", utc_offset_s=3600)
    programme(ctl, STEPS)
    assert ctl.t_s == T0 and _rate(ctl) == 500000            # 17:00 local
    warp(hal, ctl, 3 * 3600 - 1)
    assert _rate(ctl) == 500000                               # 19:59:59 local
    warp(hal, ctl, 1)
    assert _rate(ctl) == 600000                               # 20:00 local: 22:00 effect - 2 h
    warp(hal, ctl, 9 * 3600 - 1)
    assert _rate(ctl) == 600000                               # 04:59:59 local
    warp(hal, ctl, 1)
    assert _rate(ctl) == 500000                               # 05:00 local: 07:00 effect - 2 h


def test_first_true_answers_the_first_true_second_in_its_range_for_any_guess():
    """delivery.first_true's contract (its docstring): the smallest t in (lo, hi] with pred(t)
    true, or None, for a monotone pred false at lo, whatever the guess. Oracle: a plain scan.
    (first_true 9: a guess landing on hi made it look at hi + 1 and answer past the range.)"""
    from delivery import first_true
    lo, hi = 100, 140
    for answer in range(lo + 1, hi + 3):
        want = answer if answer <= hi else None
        for guess in range(0, hi - lo + 3):
            got = first_true(lo, hi, lambda t: t >= answer, guess)
            assert got == want, (answer, guess, got)
