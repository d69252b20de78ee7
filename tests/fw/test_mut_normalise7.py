"""schedule.normalise's refusals and ranges (issue 8, round 7: the first mutation run to reach it).

normalise is the check every programme passes before it is staged, and the host calls it directly
(pumpctl.clinical: prescription, druglib, assistants) on programmes that never went through the
protocol's schema (firmware/argspec.py): so its own refusals are tested here by direct calls, even
those the schema makes before it on the pump.

Oracles: docs/protocol.md's programme table (mode `continuous`/`flex`; steps a list of 1..64
objects; steps[].day int -1..6, effect_min int 0..1439, dose_ng_day int 1..200300000, shape `ramp`
or `step`) and its error table (40 E_BAD_ARGS "argument missing, of the wrong type or out of its
domain", 43 E_FLOW_RANGE "flow outside the model's programmable range", 47 E_STEP_COUNT "too many
or too few flex steps"); issue 2 (CORE-13-STEPS: "at least 13 steps per day"); the doc's promise
that programme_get returns "the running programme in normalised form" which programme_stage
takes back (the rate_ng_day row: "exact rate of an already-normalised bolus (programme_get)");
flows worked by hand (nL/day = ng/day * 1000 / (mcg/mL)). The refusal details asserted verbatim
are change detectors for documented texts ("errors name cause and fix": which field or step and
what is wrong with it).
"""
import argspec
import schedule
import pumpmodel as pm
from pumpkit import raises, refusal, ready_pump, cmd, stage, cont

REQS = {
    "test_a_programme_that_is_not_an_object_or_has_no_known_mode_is_refused_saying_so": ["SAFE-MUTANTS"],
    "test_malformed_flex_steps_are_refused_naming_the_step_and_the_cause": ["SAFE-MUTANTS"],
    "test_normalise_takes_exactly_the_documented_ranges": ["SAFE-MUTANTS"],
    "test_step_count_limits_a_full_day_and_a_full_week_are_accepted_one_more_is_refused":
        ["SAFE-MUTANTS", "CORE-13-STEPS"],
    "test_a_continuous_programmes_normal_form_is_a_valid_programme_that_stages_back": ["SAFE-MUTANTS"],
    "test_a_missing_or_non_integer_field_is_refused_naming_it": ["SAFE-MUTANTS"],
    "test_bolus_lists_and_a_weekdays_daily_total_are_refused_naming_them": ["SAFE-MUTANTS", "CORE-DOSE-RANGE"],
}
ORACLES = {
    "test_normalise_takes_exactly_the_documented_ranges": "spec",
    "test_step_count_limits_a_full_day_and_a_full_week_are_accepted_one_more_is_refused": "spec",
    "test_a_continuous_programmes_normal_form_is_a_valid_programme_that_stages_back": "spec",
}
CHANGE_DETECTORS = (
    "test_a_programme_that_is_not_an_object_or_has_no_known_mode_is_refused_saying_so",
    "test_malformed_flex_steps_are_refused_naming_the_step_and_the_cause",
    "test_a_missing_or_non_integer_field_is_refused_naming_it",
    "test_bolus_lists_and_a_weekdays_daily_total_are_refused_naming_them",
)

M20 = pm.model(20)
CONC = 2000                     # mcg/mL
DOSE_HI = 200300000             # ng/day: the documented top of steps[].dose_ng_day (and dose_ng_day)
OK_STEP = {"effect_min": 420, "dose_ng_day": 500000, "shape": "ramp"}   # the doc's night plan, 07:00


def _norm(prog):
    return schedule.normalise(prog, CONC, M20)


def _flex(*steps, **extra):
    prog = {"mode": "flex", "steps": list(steps)}
    prog.update(extra)
    return prog


def test_a_programme_that_is_not_an_object_or_has_no_known_mode_is_refused_saying_so():
    """E_BAD_ARGS for a programme that is not a JSON object, and for a mode other than the two the
    table lists (missing, misspelt, the other case), with texts saying what is expected."""
    for bad in (None, [], "continuous", 500000):
        assert raises("E_BAD_ARGS", _norm, bad).detail == "programme must be an object"
    for prog in ({"dose_ng_day": 500000}, {"mode": "weekly", "steps": [OK_STEP]},
                 {"mode": "Continuous", "dose_ng_day": 500000}):
        assert raises("E_BAD_ARGS", _norm, prog).detail == "mode must be 'continuous' or 'flex'"


def test_malformed_flex_steps_are_refused_naming_the_step_and_the_cause():
    """Steps are numbered from 1 in the texts: a bad second step after a good first one is 'step 2'.
    A flex programme without steps is E_STEP_COUNT (too few); a step that is not an object, or whose
    shape is not ramp/step, is E_BAD_ARGS; weekday and every-day steps cannot be mixed."""
    for prog in ({"mode": "flex"}, _flex(), {"mode": "flex", "steps": OK_STEP}):
        assert raises("E_STEP_COUNT", _norm, prog).detail == "flex programme needs at least one step"
    for bad in (None, 5, [OK_STEP]):
        assert raises("E_BAD_ARGS", _norm, _flex(OK_STEP, bad)).detail == "step 2 must be an object"
    for shape in ("curve", "Step", None):
        bad = {"effect_min": 1320, "dose_ng_day": 600000, "shape": shape}
        assert raises("E_BAD_ARGS", _norm, _flex(OK_STEP, bad)).detail == "step 2: shape must be ramp or step"
    monday = {"day": 0, "effect_min": 1320, "dose_ng_day": 600000}
    for prog in (_flex(OK_STEP, monday), _flex(monday, OK_STEP)):
        assert raises("E_BAD_ARGS", _norm, prog).detail == "either every step names a weekday or none does"


def test_normalise_takes_exactly_the_documented_ranges():
    """Each bound of the table: the documented end is not a type error (a dose of 1 ng/day is
    0.5 nL/day at 2000 mcg/mL, 200 300 000 ng/day is 100.15 mL/day: both outside any model's flow,
    so E_FLOW_RANGE, not E_BAD_ARGS), one past it is E_BAD_ARGS naming the field and its range."""
    assert raises("E_FLOW_RANGE", _norm, cont(1)).detail.startswith("step 1: 1 ng/day at 2000 mcg/mL is 0 nL/day")
    raises("E_FLOW_RANGE", _norm, cont(DOSE_HI))
    e = raises("E_BAD_ARGS", _norm, cont(DOSE_HI + 1))
    assert e.detail == "'dose_ng_day'=200300001 outside 1..200300000"
    assert raises("E_BAD_ARGS", _norm, cont(0)).detail == "'dose_ng_day'=0 outside 1..200300000"

    def second(**fields):
        s = {"effect_min": 1320, "dose_ng_day": 600000}
        s.update(fields)
        return _flex(OK_STEP, s)
    assert raises("E_FLOW_RANGE", _norm, second(dose_ng_day=1)).detail.startswith("step 2: 1 ng/day")
    assert raises("E_FLOW_RANGE", _norm, second(dose_ng_day=DOSE_HI)).detail.startswith("step 2: 200300000 ng/day")
    e = raises("E_BAD_ARGS", _norm, second(dose_ng_day=DOSE_HI + 1))
    assert e.detail == "'dose_ng_day'=200300001 outside 1..200300000"
    # effect_min 0..1439: 23:59 is a time of day, 24:00 is not (the ramp to 23:59 starts at 21:59)
    assert _norm(second(effect_min=1439))["steps"][1]["effect_min"] == 1439
    assert raises("E_BAD_ARGS", _norm, second(effect_min=1440)).detail == "'effect_min'=1440 outside 0..1439"
    # day -1..6: -1 is every day (the default), 0..6 Monday..Sunday
    assert _norm(_flex(dict(OK_STEP, day=-1)))["steps"][0]["day"] == -1
    assert _norm(_flex(dict(OK_STEP, day=6)))["steps"][0]["day"] == 6
    for day in (-2, 7):
        e = raises("E_BAD_ARGS", _norm, _flex(dict(OK_STEP, day=day)))
        assert e.detail == "'day'=%d outside -1..6" % day


def refused(prog):
    return refusal(schedule.normalise, prog, CONC, M20)


def _steps(days, per_day, gap_min):
    """per_day steps on each of `days`, every gap_min minutes from 00:00, 500 mcg/day throughout
    (so every day's total is 500 mcg, inside the label's 12-2003 mcg/day)."""
    return [{"day": d, "effect_min": k * gap_min, "dose_ng_day": 500000, "shape": "ramp"}
            for d in days for k in range(per_day)]


def test_step_count_limits_a_full_day_and_a_full_week_are_accepted_one_more_is_refused():
    """Issue 2 asks for at least 13 steps per day; the pump takes MAX_STEPS_PER_DAY (16) on one day
    and 64 in a programme (the table's "list of 1..64"). With a 60-min lead, 16 steps 90 min apart
    fill a day without overlapping (15 * 90 = 1350, and 1350 + 90 = 1440 wraps to 00:00). One
    more on a day, or a 65th step, is E_STEP_COUNT saying the limit."""
    assert pm.MAX_STEPS_PER_DAY >= 13 and pm.MAX_STEPS_TOTAL == 64
    full_day = [{"effect_min": k * 90, "dose_ng_day": 500000, "shape": "ramp"} for k in range(16)]
    assert len(_norm(_flex(*full_day, lead_min=60))["steps"]) == 16
    weekly_day = _steps([3], 16, 90)
    assert len(_norm(_flex(*weekly_day, lead_min=60))["steps"]) == 16
    e = raises("E_STEP_COUNT", _norm, _flex(*(full_day + [{"effect_min": 1439, "dose_ng_day": 500000}]), lead_min=60))
    assert e.detail == "at most 16 steps per day"
    e = raises("E_STEP_COUNT", _norm, _flex(*(weekly_day + [dict(weekly_day[0], effect_min=1439)]), lead_min=60))
    assert e.detail == "at most 16 steps per day"
    # a week: 10 steps on Monday, 9 on each other day = 64; 120 min apart with a 60-min lead
    week = _steps([0], 10, 120) + _steps(range(1, 7), 9, 120)
    assert len(week) == 64
    norm = _norm(_flex(*week, lead_min=60))
    assert len(norm["steps"]) == 64
    e = raises("E_STEP_COUNT", _norm, _flex(*(week + _steps([1], 1, 1200)), lead_min=60))
    assert e.detail == "at most 64 steps in a programme"


def test_a_continuous_programmes_normal_form_is_a_valid_programme_that_stages_back():
    """programme_get returns the running programme in normalised form, and staging it again is the
    same programme (same hash): so the one step a continuous programme is stored as must itself fit
    the table (day -1..6, effect_min 0..1439, shape ramp or step) and pass the protocol's schema."""
    norm = _norm(cont(500000))
    assert norm["mode"] == "continuous" and norm["dose_ng_day"] == 500000
    assert len(norm["steps"]) == 1
    s = norm["steps"][0]
    assert -1 <= s["day"] <= 6 and 0 <= s["effect_min"] <= 1439 and s["shape"] in ("ramp", "step")
    assert s["dose_ng_day"] == 500000
    argspec.check_args("programme_stage", {"programme": norm})
    assert _norm(norm) == norm
    hal, ctl = ready_pump(cont(500000))
    first = stage(ctl, cont(500000))["hash"]
    got = cmd(ctl, "programme_get")["programme"]
    assert stage(ctl, got)["hash"] == first


def test_a_missing_or_non_integer_field_is_refused_naming_it():
    """_get_int's refusals, reached by the host's direct calls (the pump's schema refuses first):
    a required field that is absent, or present but not an integer (a bool is not one), is
    E_BAD_ARGS naming the field (round 7: _get_int 7-15, 19, 21, 25 ran in no test)."""
    assert refused({"mode": "continuous"}) == ("E_BAD_ARGS", "missing 'dose_ng_day'")
    for bad in ("500000", 500000.0, True, [500000]):
        assert refused({"mode": "continuous", "dose_ng_day": bad}) == \
            ("E_BAD_ARGS", "'dose_ng_day' must be an integer"), bad
    assert refused({"mode": "flex", "steps": [{"dose_ng_day": 500000, "shape": "ramp"}]}) == \
        ("E_BAD_ARGS", "missing 'effect_min'")
    assert refused({"mode": "continuous", "dose_ng_day": 500000, "lead_min": "120"}) == \
        ("E_BAD_ARGS", "'lead_min' must be an integer")


def test_bolus_lists_and_a_weekdays_daily_total_are_refused_naming_them():
    """The periodic-bolus list (protocol.md: "boluses" a list of at most 8 objects) and the
    daily-total refusal of a weekday plan, which names the weekday (E_DOSE_RANGE; the label's
    12-2003 mcg/day). Weekday 0 at 2 500 000 ng/day from 00:00 until weekday 1's step starts
    at 22:00 (2 h lead) is above 2 003 000 ng/day by any rounding: 22/24 of it alone is 2 291 666."""
    base = {"mode": "continuous", "dose_ng_day": 500000}
    bolus = {"at_min": 480, "dose_ng": 10000, "duration_min": 30}
    for bad in ("x", {}, [bolus] * 9):
        assert refused(dict(base, boluses=bad)) == ("E_BAD_ARGS", "boluses: a list of at most 8"), bad
    assert refused(dict(base, boluses=[bolus] * 8)) is None
    assert refused(dict(base, boluses=[bolus, 5])) == ("E_BAD_ARGS", "bolus 2 must be an object")
    steps = [{"day": d, "effect_min": 0, "dose_ng_day": 2500000 if d == 0 else 500000, "shape": "step"}
             for d in range(7)]
    code, detail = refused({"mode": "flex", "lead_min": 120, "steps": steps})
    assert code == "E_DOSE_RANGE" and detail.startswith("daily total (weekday 0) is "), detail
    assert detail.endswith(" ng; the pump accepts 12000..2003000 ng/day (label range 12-2003 mcg/day)"), detail
