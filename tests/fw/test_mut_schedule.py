"""Issue 8: behaviours of schedule.py the mutation run found unchecked (docs/mutation/core.md).

Oracles: the programme table of docs/protocol.md (boluses[].at_min int 0..1439 default 0,
dose_ng int 1..2003000, rate_ng_day "must match dose_ng"), the nearest-integer rate of a
bolus worked by hand (5 ng over 7 min is 5 * 1440 / 7 = 1028.57 ng/day -> 1029, which
restates to 1029 * 7 // 1440 = 5 ng; 1028 would restate to 4 ng), and the E_STEP_OVERLAP
msg's promise to name both steps by their (weekday and) hh:mm effect time.
"""
import schedule
import pumpmodel as pm
from pumpkit import raises

REQS = {
    "test_bolus_fields_bounds_defaults_and_rounding": ["SAFE-MUTANTS"],
    "test_bolus_given_rate_must_be_an_integer_that_matches_the_dose": ["SAFE-MUTANTS"],
    "test_overlap_msg_names_weekday_and_time_of_both_steps": ["SAFE-MUTANTS"],
}

M20 = pm.model(20)


def norm(boluses, weekly=False):
    step = {"effect_min": 0, "dose_ng_day": 100000, "shape": "step"}
    if weekly:
        step["day"] = 0
    return schedule.normalise({"mode": "flex", "lead_min": 0, "steps": [step], "boluses": boluses}, 2000, M20)


def test_bolus_fields_bounds_defaults_and_rounding():
    b = norm([{"dose_ng": 5, "duration_min": 7}])["boluses"][0]
    assert b == {"at_min": 0, "day": -1, "duration_min": 7, "rate_ng_day": 1029, "dose_ng": 5}
    assert norm([{"dose_ng": 1, "duration_min": 1440, "at_min": 1439}])["boluses"][0]["at_min"] == 1439
    assert norm([{"dose_ng": 1, "duration_min": 1440}])["boluses"][0]["dose_ng"] == 1
    raises("E_BAD_ARGS", norm, [{"dose_ng": 0, "duration_min": 60}])
    e = raises("E_BAD_ARGS", norm, [{"dose_ng": 1000, "duration_min": 60, "at_min": 1440}])
    assert e.detail == "'at_min'=1440 outside 0..1439"


def test_bolus_given_rate_must_be_an_integer_that_matches_the_dose():
    """An already-normalised bolus keeps its exact rate (1029 ng/day for 5 ng over 7 min); a
    rate that restates to another dose (2000 * 7 // 1440 = 9 ng) or is not an integer is
    E_BAD_ARGS naming the bolus."""
    assert norm([{"dose_ng": 5, "duration_min": 7, "rate_ng_day": 1029}])["boluses"][0]["rate_ng_day"] == 1029
    for bad in (2000, 1029.0):
        e = raises("E_BAD_ARGS", norm, [{"dose_ng": 1000, "duration_min": 60, "rate_ng_day": 24000},
                                        {"dose_ng": 5, "duration_min": 7, "rate_ng_day": bad}])
        assert e.detail == "bolus 2: rate_ng_day does not match dose_ng"


def test_overlap_msg_names_weekday_and_time_of_both_steps():
    """Lead 120 min: effect times 07:00 and 08:00 are 60 min apart, so the windows overlap.
    A daily plan names the times alone, a weekly one 'day N hh:mm' (Monday is day 0)."""
    def steps(day):
        out = [{"effect_min": 420, "dose_ng_day": 500000}, {"effect_min": 480, "dose_ng_day": 550000}]
        for s in out:
            if day is not None:
                s["day"] = day
        return {"mode": "flex", "lead_min": 120, "steps": out}
    tail = ": lead windows overlap; effect times must be at least the 120 min lead apart"
    e = raises("E_STEP_OVERLAP", schedule.normalise, steps(None), 2000, M20)
    assert e.detail == "step 1 (07:00) and step 2 (08:00)" + tail
    e = raises("E_STEP_OVERLAP", schedule.normalise, steps(0), 2000, M20)
    assert e.detail == "step 1 (day 0 07:00) and step 2 (day 0 08:00)" + tail
    e = raises("E_STEP_OVERLAP", schedule.normalise, steps(3), 2000, M20)
    assert e.detail == "step 1 (day 3 07:00) and step 2 (day 3 08:00)" + tail


def test_bolus_weekday_bounds_and_the_daily_plan_refusal():
    """protocol.md: boluses[].day is -1..6 (0 = Monday, -1 every day); a weekday needs a weekly
    plan (steps naming weekdays): in a daily plan even Monday (day 0) is refused, naming the bolus."""
    assert [b["day"] for b in norm([{"dose_ng": 1000, "duration_min": 60, "day": d} for d in (6, -1, 3, 0)],
                                   weekly=True)["boluses"]] == [-1, 0, 3, 6]
    for bad in (-2, 7):
        raises("E_BAD_ARGS", norm, [{"dose_ng": 1000, "duration_min": 60, "day": bad}], True)
    assert norm([{"dose_ng": 1000, "duration_min": 60}])["boluses"][0]["day"] == -1
    for d in (0, 4):
        e = raises("E_BAD_ARGS", norm, [{"dose_ng": 1000, "duration_min": 60},
                                        {"dose_ng": 1000, "duration_min": 60, "at_min": 600, "day": d}])
        assert e.detail == "bolus 2 names a weekday but the plan is daily"


def test_boluses_are_listed_in_the_order_they_first_start_in_the_cycle():
    """The normalised programme is canonical (any input order gives the same list, hence the same
    hash) and lists boluses by first start in the cycle: a weekly cycle starts Monday 00:00 and an
    every-day bolus first starts on Monday. Starts here, in minutes from Monday 00:00: (0, 30) = 30,
    (-1, 600) = 600, (1, 0) = 1440, (-1, 1000) = 1000, (2, 60) = 2940."""
    given = [(2, 60), (-1, 600), (0, 30), (1, 0), (-1, 1000)]
    want = [(0, 30), (-1, 600), (-1, 1000), (1, 0), (2, 60)]
    for order in (given, given[::-1], given[2:] + given[:2]):
        out = norm([{"dose_ng": 1000, "duration_min": 20, "day": d, "at_min": m} for d, m in order], True)
        assert [(b["day"], b["at_min"]) for b in out["boluses"]] == want
