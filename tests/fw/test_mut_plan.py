"""Issue 8: programme_get, Plan.change_windows and the profile's cross-field rules (survivors of
commands.programme_get, schedule.Plan.change_windows, clinical.validate_profile;
docs/mutation/commands.md).

Oracles, all outside the code under test:
- docs/protocol.md `programme_get`: the example reply for the two-ramp night plan (ramps to 500
  mcg/day at 07:00 and 600 mcg/day at 22:00, 120-min lead, 2000 mcg/mL), copied here whole, and
  "the ramp windows [start_tod_s, effect_tod_s]": effect time minus the lead, worked out here;
- docs/protocol.md `profile_set`: age_group "adult by default for spinal and cerebral", the age
  groups 12-17, 4-11, under_4, initial_ng_day 1..200000;
- the label's hard minimum per indication ("Range: 12-2003mcg/day" spinal, "22-1400mcg/day"
  cerebral): an initial daily dose below it is refused, one at it is allowed;
- clinical.py's documented age table (label: paediatric dosing ">=4 Years", "<12 Years").
Refusal texts are asserted whole: each names the field, the values the test sent and the range.
"""
import json
from protocol import canonical_json
from pumpkit import DAY, NIGHT, make_pump, ready_pump, cmd, raises

REQS = {
    "test_a_profile_takes_age_group_adult_by_default_only_for_adult_indications": ["PROF-STORE"],
    "test_an_indication_outside_its_age_group_is_refused_naming_both": ["PROF-STORE"],
    "test_initial_dose_may_be_the_indications_hard_minimum_and_not_below": ["PROF-STORE", "DL-HARD-SPINAL",
                                                                            "DL-HARD-CEREBRAL"],
}
ORACLES = {
    "test_programme_get_is_the_documented_reply_for_the_night_plan": "spec",
    "test_ramp_windows_start_a_lead_before_each_effect_time": "arithmetic",
    "test_a_profile_takes_age_group_adult_by_default_only_for_adult_indications": "spec",
    "test_an_indication_outside_its_age_group_is_refused_naming_both": "label",
    "test_initial_dose_may_be_the_indications_hard_minimum_and_not_below": "label",
}
H = 3600


def _plain(obj):
    """The reply as the link sends it (tuples become JSON arrays)."""
    return json.loads(canonical_json(obj))


def test_programme_get_is_the_documented_reply_for_the_night_plan():
    """docs/protocol.md, `programme_get` example (res), with no programme: programme null."""
    hal, ctl = make_pump()
    assert _plain(cmd(ctl, "programme_get")) == {"programme": None, "conc_ug_ml": 500}
    hal, ctl = ready_pump(NIGHT, conc=2000)
    doc = {"conc_ug_ml": 2000, "daily_ng": 537500, "daily_nl": 268750, "day_totals_ng": [537500],
           "programme": {"boluses": [], "lead_min": 120, "mode": "flex", "steps": [
               {"day": -1, "dose_ng_day": 500000, "effect_min": 420, "shape": "ramp"},
               {"day": -1, "dose_ng_day": 600000, "effect_min": 1320, "shape": "ramp"}]},
           "windows": [[18000, 25200], [72000, 79200]]}
    assert _plain(cmd(ctl, "programme_get")) == doc


def test_ramp_windows_start_a_lead_before_each_effect_time():
    """Ramps at 09:00 and 18:30 with a 90-min lead, a step at 13:00 (no window: it changes at
    once): windows [09:00 - 1.5 h, 09:00] and [18:30 - 1.5 h, 18:30]. A weekly plan places each
    window on its weekday (Tuesday = day 1: 1 x 86 400 s in)."""
    prog = {"mode": "flex", "lead_min": 90, "steps": [
        {"effect_min": 9 * 60, "dose_ng_day": 300000, "shape": "ramp"},
        {"effect_min": 13 * 60, "dose_ng_day": 350000, "shape": "step"},
        {"effect_min": 18 * 60 + 30, "dose_ng_day": 250000, "shape": "ramp"}]}
    hal, ctl = ready_pump(prog, conc=2000)
    lead = 90 * 60
    want = [[9 * H - lead, 9 * H], [18 * H + 30 * 60 - lead, 18 * H + 30 * 60]]
    assert _plain(cmd(ctl, "programme_get")["windows"]) == want
    week = {"mode": "flex", "lead_min": 60, "steps": [
        {"day": 1, "effect_min": 8 * 60, "dose_ng_day": 300000, "shape": "ramp"},
        {"day": 4, "effect_min": 20 * 60, "dose_ng_day": 200000, "shape": "ramp"}]}
    hal, ctl = ready_pump(week, conc=2000)
    want = [[DAY + 7 * H, DAY + 8 * H], [4 * DAY + 19 * H, 4 * DAY + 20 * H]]
    assert _plain(cmd(ctl, "programme_get")["windows"]) == want
    # A ramp to 01:00 with a 2-h lead starts at 23:00 and ends past the day: docs/protocol.md.
    late = {"mode": "flex", "lead_min": 120, "steps": [
        {"effect_min": 60, "dose_ng_day": 300000, "shape": "ramp"},
        {"effect_min": 12 * 60, "dose_ng_day": 250000, "shape": "ramp"}]}
    hal, ctl = ready_pump(late, conc=2000)
    assert _plain(cmd(ctl, "programme_get")["windows"]) == [[23 * H, 25 * H], [10 * H, 12 * H]]


def test_a_profile_takes_age_group_adult_by_default_only_for_adult_indications():
    """spinal/cerebral without age_group: adult. paediatric and paediatric_u12 have no default:
    E_BAD_ARGS naming the missing field and the three age groups to choose from."""
    hal, ctl = make_pump()
    for ind in ("spinal", "cerebral"):
        assert cmd(ctl, "profile_set", profile={"indication": ind})["profile"]["age_group"] == "adult"
    for ind in ("paediatric", "paediatric_u12"):
        e = raises("E_BAD_ARGS", cmd, ctl, "profile_set", profile={"indication": ind})
        assert e.detail == "age_group is required for %s (one of 12-17, 4-11, under_4)" % ind, e.detail


def test_an_indication_outside_its_age_group_is_refused_naming_both():
    """Adults use spinal/cerebral, 12-17 paediatric, 4-11 and under-4 paediatric_u12: any other
    pair is refused with E_BAD_ARGS naming the indication and the age group."""
    fits = {"adult": ("spinal", "cerebral"), "12-17": ("paediatric",), "4-11": ("paediatric_u12",),
            "under_4": ("paediatric_u12",)}
    hal, ctl = make_pump()
    for age in sorted(fits):
        for ind in ("spinal", "cerebral", "paediatric", "paediatric_u12"):
            prof = {"indication": ind, "age_group": age}
            if ind in fits[age]:
                assert cmd(ctl, "profile_set", profile=prof)["profile"]["age_group"] == age
            else:
                e = raises("E_BAD_ARGS", cmd, ctl, "profile_set", profile=prof)
                assert e.detail == "indication %s does not fit age group %s" % (ind, age), e.detail


def test_initial_dose_may_be_the_indications_hard_minimum_and_not_below():
    """Spinal 12 mcg/day, cerebral 22 mcg/day: initial_ng_day at the minimum is stored, one ng
    below is refused naming the field and the range minimum..200 000."""
    hal, ctl = make_pump()
    for ind, lo in (("spinal", 12000), ("cerebral", 22000)):
        res = cmd(ctl, "profile_set", profile={"indication": ind, "initial_ng_day": lo})
        assert res["profile"]["initial_ng_day"] == lo
        e = raises("E_BAD_ARGS", cmd, ctl, "profile_set", profile={"indication": ind, "initial_ng_day": lo - 1})
        assert e.detail == "profile 'initial_ng_day' must be an integer %d..200000" % lo, e.detail
