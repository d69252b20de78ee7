"""Issue 8, round-7 mutation survivors in schedule.py: the flow and bolus-rate refusals (their
texts and the step or bolus they name) and the canonical order of the normalised steps.

Oracles: docs/protocol.md (E_FLOW_RANGE "flow outside the model's programmable range",
E_BOLUS_RANGE "bolus dose or rate outside the model's limits"; a weekly cycle runs from Monday
00:00, weekday 0), the pump model's flow range 0.048-24 mL/day (issue 2; docs/verification.md
CORE-FLOW-RANGE) written here in nL/day, and the flow nL/day = ng/day * 1000 / (mcg/mL)
(floored) worked by hand in each test. The refusal texts are the documented "errors name cause
and fix" promise: asserting them exactly is a change detector for those texts. A refusal numbers
a step or bolus by its place in the list the clinician sent (1-based), as the per-field refusals
of normalise do.
"""
import schedule
import pumpmodel as pm
from pumpkit import raises

REQS = {
    "test_flow_refusal_names_the_step_its_flow_and_the_model_range": ["CORE-FLOW-RANGE", "SAFE-MUTANTS"],
    "test_bolus_rate_refusal_names_the_bolus_its_flow_with_the_peak_basal_and_the_maximum": ["CORE-BOLUS-LIMIT", "SAFE-MUTANTS"],
    "test_bolus_refusal_numbers_the_bolus_as_sent_not_as_sorted": ["CORE-BOLUS-LIMIT", "SAFE-MUTANTS"],
    "test_steps_are_listed_in_cycle_order_whatever_order_they_were_sent_in": ["SAFE-MUTANTS"],
}

M20 = pm.model(20)
RANGE = "48000..24000000 nL/day"        # 0.048-24 mL/day


def _flex(steps, boluses=()):
    return {"mode": "flex", "lead_min": 0, "boluses": list(boluses),
            "steps": [{"effect_min": m, "dose_ng_day": d, "shape": "step"} for m, d in steps]}


def test_flow_refusal_names_the_step_its_flow_and_the_model_range():
    """12 mcg/day at 2000 mcg/mL is 12000 * 1000 / 2000 = 6000 nL/day, below 0.048 mL/day.
    48 000 002 ng/day at 2000 mcg/mL is 24 000 001 nL/day, 1 nL/day above 24 mL/day: the second
    step sent (first in the day, so first once sorted) is named 'step 2'."""
    e = raises("E_FLOW_RANGE", schedule.normalise, {"mode": "continuous", "dose_ng_day": 12000}, 2000, M20)
    assert e.detail == "step 1: 12000 ng/day at 2000 mcg/mL is 6000 nL/day, outside " + RANGE
    e = raises("E_FLOW_RANGE", schedule.normalise, _flex([(600, 500000), (0, 48000002)]), 2000, M20)
    assert e.detail == "step 2: 48000002 ng/day at 2000 mcg/mL is 24000001 nL/day, outside " + RANGE


def _bolus(at_min, rate_ng_day):
    # one minute: dose_ng = rate * 1 // 1440 (protocol.md: rate_ng_day must match dose_ng)
    return {"at_min": at_min, "duration_min": 1, "dose_ng": rate_ng_day // 1440, "rate_ng_day": rate_ng_day}


SLOW = {"at_min": 60, "dose_ng": 1000, "duration_min": 60}     # 24 000 ng/day
STEPS = [(0, 500000), (720, 1000000)]                          # peak basal 1 000 000 ng/day


def test_bolus_rate_refusal_names_the_bolus_its_flow_with_the_peak_basal_and_the_maximum():
    """A bolus runs on top of the basal rate, which may be the highest step (1 000 000 ng/day
    here, not the 500 000 of the other step). At 2000 mcg/mL the maximum 24 000 000 nL/day is
    48 000 000 ng/day; floored, a sum of 48 000 001 is still 24 000 000 nL/day (accepted) and
    48 000 002 is 24 000 001 (refused). The bolus rates are 47 000 001 and 47 000 002 ng/day over
    1 min, i.e. 47000002 // 1440 = 32638 ng."""
    n = schedule.normalise(_flex(STEPS, [SLOW, _bolus(720, 47000001)]), 2000, M20)
    assert [b["rate_ng_day"] for b in n["boluses"]] == [24000, 47000001]
    e = raises("E_BOLUS_RANGE", schedule.normalise, _flex(STEPS, [SLOW, _bolus(720, 47000002)]), 2000, M20)
    assert e.detail == ("bolus 2: 32638 ng over 1 min needs 24000001 nL/day with basal, "
                        "above the pump maximum 24000000")


def test_bolus_refusal_numbers_the_bolus_as_sent_not_as_sorted():
    """The too-fast bolus sent second starts at 00:30, before the first one sent (01:00): the
    refusal still calls it 'bolus 2', as normalise's own bolus refusals do ('bolus 2 names a
    weekday ...'), so the clinician finds it in the list they sent."""
    fast = _bolus(30, 47000002)
    e = raises("E_BOLUS_RANGE", schedule.normalise, _flex(STEPS, [SLOW, fast]), 2000, M20)
    assert e.detail.startswith("bolus 2: 32638 ng over 1 min"), e.detail
    e = raises("E_BOLUS_RANGE", schedule.normalise, _flex(STEPS, [fast, SLOW]), 2000, M20)
    assert e.detail.startswith("bolus 1: 32638 ng over 1 min"), e.detail


def test_steps_are_listed_in_cycle_order_whatever_order_they_were_sent_in():
    """The normalised programme is canonical (the same list, hence the same hash, for any input
    order) and lists steps by their place in the cycle: a daily plan by time of day, a weekly one
    from Monday 00:00 (Monday 01:00 and 10:00, Tuesday 00:00, Sunday 23:00)."""
    daily = [1320, 420, 900]
    weekly = [(1, 0), (0, 600), (6, 1380), (0, 60)]
    for k in range(4):
        sent = daily[k % 3:] + daily[:k % 3]
        n = schedule.normalise({"mode": "flex", "steps": [{"effect_min": m, "dose_ng_day": 500000 + m}
                                                          for m in sent]}, 2000, M20)
        assert [s["effect_min"] for s in n["steps"]] == [420, 900, 1320]
        sent = weekly[k:] + weekly[:k]
        n = schedule.normalise({"mode": "flex", "lead_min": 0, "steps": [
            {"day": d, "effect_min": m, "dose_ng_day": 500000, "shape": "step"} for d, m in sent]}, 2000, M20)
        assert [(s["day"], s["effect_min"]) for s in n["steps"]] == [(0, 60), (0, 600), (1, 0), (6, 1380)]
