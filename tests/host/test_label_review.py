"""Independent clinical review: every dosing rule of the labeling, checked at its boundary (issue 5).

The numbers in this file are copied from the labeling text itself, NOT imported from the product
(firmware/clinical.py, pumpmodel.py, the drug-library TOML), so a wrong constant in the product
shows up here as a failure. Sources:
  LABEL = shared/seeds/000_2ca3bb212e8effd8.txt (Lioresal monograph)
  AHFS  = shared/seeds/002_6a8b59dddd29c79e.txt (AHFS Drug Information, baclofen)
Pump-enforced rules are driven through the firmware Controller (clinician commands, as the link
dispatches them); host rules through pumpctl.clinical.druglib / pumpctl.clinical.assistants.

The six disagreements this review first found (bolus and patient-bolus days over the maximum, the
under-12 range, the restart dose, a silent high first programme, a flex rate increase in the first
24 h) were fixed in the pump; their tests now pass like the rest.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fw"))

from pumpkit import make_pump, warp, cmd, refill, cont, stage, commit  # noqa: E402  (tests/fw helpers)
from protocol import PumpError  # noqa: E402
from pumpctl.clinical import assistants as A  # noqa: E402
from pumpctl.clinical import druglib  # noqa: E402

# --- units and numbers written from the label's own words ---------------------------------------
MCG = 1000            # ng per mcg
ML = 1000000          # nL per mL
MIN = 60
HOUR = 3600
DAY = 86400
WEEK = 7 * DAY

# LABEL Screening Phase: "1mL (50mcg) bolus", "2nd bolus dose of 1.5mL (75mcg) 24 hrs after the 1st",
# "final bolus screening dose of 2mL (100mcg) 24 hrs after last dose"; "Observe for 4-8 hrs";
# PEDIATRIC: "for very small patients, 25mcg may be tried 1st"; "Use 1mL screening ampule only (50mcg/mL)"
SCREEN_UG = (50, 75, 100)
SCREEN_ML_X10 = (10, 15, 20)         # 1, 1.5, 2 mL in tenths of a mL
SMALL_CHILD_FIRST_UG = 25
SCREEN_AMPULE_UG_ML = 50
# LABEL: "double the screening dose ... unless the efficacy of the bolus dose was maintained for >8 hrs"
LONG_EFFECT_MIN = 8 * 60
# LABEL Range lines and "most patients are adequately maintained on"; "<12 Years: Usual: 274mcg/day
# Range: 24-1199mcg/day"
HARD = {"spinal": (12, 2003), "cerebral": (22, 1400), "paediatric": (22, 1400), "paediatric_u12": (24, 1199)}
TYPICAL = {"spinal": (300, 800), "cerebral": (90, 703), "paediatric": (90, 703)}
U12_USUAL_UG = 274
# LABEL: spinal "increase daily dose by 10-30% only once q24h"; cerebral and PEDIATRIC "by 5-15%";
# refills: spinal "by 10-40%, but no more than 40%", cerebral/PEDIATRIC "by 5-20%, but no more than 20%";
# "the daily dose may be reduced by 10-20% if patients experience side effects"
TITRATION_PCT = {"spinal": (10, 30), "cerebral": (5, 15), "paediatric": (5, 15), "paediatric_u12": (5, 15)}
REFILL_PCT = {"spinal": (10, 40), "cerebral": (5, 20), "paediatric": (5, 20), "paediatric_u12": (5, 20)}
DECREASE_PCT = (10, 20)
# LABEL: "Changes in flow rate should be programmed to start 2 hrs before time of desired clinical
# effect"; "patients who have increased spasms at night may require a 20% increase in hourly infusion rate"
LEAD_S = 2 * HOUR
NIGHT_PCT = 20
# LABEL HOW SUPPLIED "Inj: 50mcg/mL [1mL], 500mcg/mL [20mL], 2000mcg/mL [5mL, 20mL]"; "concentrations
# other than 500mcg/mL or 2000mcg/mL, baclofen inj must be diluted; dilute w/ sterile, preservative-free NaCl"
SUPPLIED_UG_ML = (500, 2000)
# LABEL: "gradual reduction of baclofen inj over 2-4 weeks"; "restarted at the initial continuous infusion dose"
HOLIDAY_DAYS = (14, 28)

PROFILES = {"spinal": {"indication": "spinal", "age_group": "adult"},
            "cerebral": {"indication": "cerebral", "age_group": "adult"},
            "paediatric": {"indication": "paediatric", "age_group": "12-17"},
            "paediatric_u12": {"indication": "paediatric_u12", "age_group": "4-11"}}
LIB = druglib.load()


# --- helpers ---------------------------------------------------------------------------------------






def refused(fn, *a, **k):
    """The PumpError code `fn` raises; fails the test if it accepts."""
    try:
        fn(*a, **k)
    except PumpError as e:
        return e.code
    raise AssertionError("accepted, the label says it must not be")


def pump(indication, first_ng=None, conc=500, phase="titration", model=20, **profile_extra):
    """Filled pump (full reservoir at `conc`) with the patient profile; initial programme if given."""
    hal, ctl = make_pump(model=model)
    refill(ctl, (20 if model == 20 else 40) * ML, conc)
    cmd(ctl, "profile_set", profile=dict(PROFILES[indication], phase=phase, **profile_extra))
    if first_ng is not None:
        commit(ctl, cont(first_ng), override_reason="review set-up")
    return hal, ctl


def cap_ng(old_ng, pct):
    """Largest daily dose that is an increase of at most pct % (exact integer)."""
    return old_ng * (100 + pct) // 100


def host_refusals(findings):
    return [f["rule"] for f in findings if f["level"] == "refuse"]


# --- screening --------------------------------------------------------------------------------------
@pytest.mark.req("SCR-SEQUENCE", "SCR-OBSERVE")
def test_screening_50_75_100_mcg_as_1_1_5_2_ml_24_h_apart_with_4_to_8_h_observation():
    seq = A.screening_sequence(start_t_s=5000)
    assert [s["dose_ng"] for s in seq] == [u * MCG for u in SCREEN_UG]
    assert [s["volume_nl"] for s in seq] == [x * ML // 10 for x in SCREEN_ML_X10]
    assert all(s["conc_ug_ml"] == SCREEN_AMPULE_UG_ML for s in seq)
    assert [b["t_s"] - a["t_s"] for a, b in zip(seq, seq[1:])] == [24 * HOUR, 24 * HOUR]   # "24 hrs after"
    for s in seq:
        assert (s["observe_from_t_s"] - s["t_s"], s["observe_until_t_s"] - s["t_s"]) == (4 * HOUR, 8 * HOUR)


@pytest.mark.req("SCR-SMALL-CHILD")
def test_very_small_child_may_start_at_25_mcg_then_the_usual_sequence():
    seq = A.screening_sequence(small_child=True)
    assert seq[0]["dose_ng"] == SMALL_CHILD_FIRST_UG * MCG
    assert seq[0]["volume_nl"] == ML // 2                                   # 0.5 mL of the 50 mcg/mL ampule
    assert [s["dose_ng"] for s in seq[1:]] == [u * MCG for u in SCREEN_UG]
    assert A.screening_sequence()[0]["dose_ng"] == 50 * MCG                  # adults: 50 first


@pytest.mark.req("SCR-NONCANDIDATE")
@pytest.mark.parametrize("small_child", [False, True])
def test_no_response_to_100_mcg_is_not_a_candidate_response_at_100_is(small_child):
    doses = ([SMALL_CHILD_FIRST_UG] if small_child else []) + list(SCREEN_UG)
    none = [{"dose_ng": u * MCG, "positive": False} for u in doses]
    assert A.screening_next(none, small_child=small_child)["action"] == "not_candidate"
    last_ok = none[:-1] + [{"dose_ng": 100 * MCG, "positive": True, "effect_min": 300}]
    assert A.screening_next(last_ok, small_child=small_child)["action"] == "candidate"
    nxt = A.screening_next(none[:-1], small_child=small_child)                # one dose left: 100 mcg
    assert nxt["action"] == "bolus" and nxt["dose_ng"] == 100 * MCG
    with pytest.raises(ValueError):                                          # nothing after 100 mcg
        A.screening_next(none + [{"dose_ng": 125 * MCG, "positive": True}], small_child=small_child)


@pytest.mark.req("DL-CONC")
def test_screening_only_from_the_50_mcg_ml_ampule_and_the_ampule_is_not_a_maintenance_strength():
    assert LIB.check_concentration(SCREEN_AMPULE_UG_ML, "screening") == []
    for c in SUPPLIED_UG_ML + (100, 250):
        assert host_refusals(LIB.check_concentration(c, "screening")) == ["DL-CONC"]
    assert host_refusals(LIB.check_concentration(SCREEN_AMPULE_UG_ML)) == ["DL-CONC"]


# --- initial dose ------------------------------------------------------------------------------------
@pytest.mark.req("INIT-DOSE")
@pytest.mark.parametrize("screen_ug", (SMALL_CHILD_FIRST_UG,) + SCREEN_UG)
def test_initial_daily_dose_is_twice_the_positive_dose_or_once_if_effect_over_8_h(screen_ug):
    assert A.initial_daily_dose(screen_ug * MCG, LONG_EFFECT_MIN)["initial_ng_day"] == 2 * screen_ug * MCG
    assert A.initial_daily_dose(screen_ug * MCG, LONG_EFFECT_MIN + 1)["initial_ng_day"] == screen_ug * MCG
    assert A.initial_daily_dose(screen_ug * MCG, 4 * 60)["initial_ng_day"] == 2 * screen_ug * MCG


@pytest.mark.req("INIT-DOSE", "DL-HARD-U12")
@pytest.mark.parametrize("indication", sorted(PROFILES))
def test_every_initial_dose_the_label_can_produce_is_programmable_for_its_patients(indication):
    # 25 mcg is only for very small children; 1x of 25 mcg = 25 mcg/day >= every hard minimum (12/22/24)
    firsts = ([SMALL_CHILD_FIRST_UG] if indication.startswith("paediatric") else []) + list(SCREEN_UG)
    for ug in firsts:
        for effect_min in (LONG_EFFECT_MIN, LONG_EFFECT_MIN + 1):
            init = A.initial_daily_dose(ug * MCG, effect_min)["initial_ng_day"]
            hal, ctl = pump(indication, conc=500)
            commit(ctl, cont(init))
            assert ctl.daily_ng() == init


def test_first_post_implant_programme_above_twice_the_largest_screening_dose_is_not_silent():
    hal, ctl = pump("spinal")
    commit(ctl, cont(2 * 100 * MCG))                                        # the label's largest initial dose
    hal, ctl = pump("spinal")
    assert refused(stage, ctl, cont(600 * MCG)) in ("E_OVERRIDE_REQUIRED", "E_CONFIRM_REQUIRED", "E_CLINICAL_LIMIT")


# --- no increase in the first 24 h -------------------------------------------------------------------
@pytest.mark.oracle("label")
@pytest.mark.req("TIT-FIRST24H")
@pytest.mark.parametrize("indication", sorted(PROFILES))
def test_no_increase_in_the_first_24_h_boundary_on_the_pump(indication):
    hal, ctl = pump(indication, first_ng=100 * MCG)
    warp(hal, ctl, DAY - MIN)                                                # 23 h 59 min
    refused(stage, ctl, cont(105 * MCG))
    refused(stage, ctl, cont(100 * MCG + 1))                                 # even 1 ng/day more
    warp(hal, ctl, MIN)                                                      # 24 h
    commit(ctl, cont(105 * MCG))
    assert ctl.daily_ng() == 105 * MCG


@pytest.mark.oracle("label")
@pytest.mark.req("TIT-FIRST24H")
def test_a_decrease_then_back_up_inside_the_first_24_h_is_still_an_increase():
    hal, ctl = pump("spinal", first_ng=100 * MCG)
    warp(hal, ctl, HOUR)
    commit(ctl, cont(90 * MCG))                                              # decreases are allowed
    warp(hal, ctl, HOUR)
    refused(stage, ctl, cont(99 * MCG))


@pytest.mark.oracle("label")
@pytest.mark.req("TIT-FIRST24H")
def test_host_library_applies_the_first_24_h_rule_at_the_same_boundary():
    prof = {"indication": "spinal", "phase": "titration"}
    t0 = 1000000
    early = LIB.evaluate(prof, 100 * MCG, cont(110 * MCG), 2000, t_s=t0 + DAY - MIN, initial_programme_t_s=t0)
    assert "TIT-FIRST24H" in host_refusals(early)
    on_time = LIB.evaluate(prof, 100 * MCG, cont(110 * MCG), 2000, t_s=t0 + DAY, initial_programme_t_s=t0)
    assert host_refusals(on_time) == []


def test_no_rate_increase_by_a_flex_plan_in_the_first_24_h():
    hal, ctl = pump("spinal", first_ng=100 * MCG, conc=500)
    night = {"mode": "flex", "lead_min": 120, "steps": [
        {"effect_min": 7 * 60, "dose_ng_day": 80 * MCG, "shape": "step"},
        {"effect_min": 22 * 60, "dose_ng_day": 130 * MCG, "shape": "step"}]}
    refused(stage, ctl, night)


# --- titration ----------------------------------------------------------------------------------------
@pytest.mark.oracle("label")
@pytest.mark.req("TIT-SPINAL-30", "TIT-CEREBRAL-15", "TIT-PAED-15")
@pytest.mark.parametrize("indication", sorted(PROFILES))
@pytest.mark.parametrize("old_ug", [100, 333])
def test_titration_cap_exact_boundary_on_the_pump(indication, old_ug):
    top = TITRATION_PCT[indication][1]
    hal, ctl = pump(indication, first_ng=old_ug * MCG)
    warp(hal, ctl, DAY)
    limit = cap_ng(old_ug * MCG, top)          # 333 mcg +30 % = 432.9 mcg exactly; +15 % = 382.95 mcg
    assert refused(stage, ctl, cont(limit + 1)) == "E_TITRATION"
    commit(ctl, cont(limit))
    assert ctl.daily_ng() == limit


@pytest.mark.oracle("label")
@pytest.mark.req("TIT-ONCE-24H")
@pytest.mark.parametrize("indication", ["spinal", "cerebral"])
def test_only_one_increase_per_24_h_and_decreases_are_not_counted(indication):
    lo = TITRATION_PCT[indication][0]
    hal, ctl = pump(indication, first_ng=200 * MCG)
    warp(hal, ctl, DAY)
    commit(ctl, cont(cap_ng(200 * MCG, lo)))
    warp(hal, ctl, HOUR)
    commit(ctl, cont(200 * MCG))                                             # a decrease in between
    warp(hal, ctl, DAY - HOUR - MIN)                                         # 23 h 59 min after the increase
    assert refused(stage, ctl, cont(cap_ng(200 * MCG, lo))) == "E_TITRATION"
    warp(hal, ctl, MIN)
    commit(ctl, cont(cap_ng(200 * MCG, lo)))


@pytest.mark.oracle("label")
@pytest.mark.req("TIT-SPINAL-30", "TIT-CEREBRAL-15", "TIT-ONCE-24H")
@pytest.mark.parametrize("indication", sorted(PROFILES))
def test_host_library_titration_caps_match_the_label(indication):
    top = TITRATION_PCT[indication][1]
    prof = {"indication": indication, "phase": "titration"}
    old = 333 * MCG
    kw = dict(t_s=10 * DAY, initial_programme_t_s=0, last_increase_t_s=None)
    assert host_refusals(LIB.evaluate(prof, old, cont(cap_ng(old, top)), 2000, **kw)) == []
    assert host_refusals(LIB.evaluate(prof, old, cont(cap_ng(old, top) + 1), 2000, **kw)) != []
    again = dict(kw, last_increase_t_s=10 * DAY - DAY + MIN)
    assert "TIT-ONCE-24H" in host_refusals(LIB.evaluate(prof, old, cont(old + MCG), 2000, **again))


@pytest.mark.req("TIT-GUIDANCE")
@pytest.mark.parametrize("indication", sorted(PROFILES))
def test_guidance_shows_the_label_increments_and_the_doses_they_give(indication):
    g = LIB.guidance(indication, 200 * MCG)
    assert tuple(g["titration_pct"]) == TITRATION_PCT[indication]
    assert tuple(g["refill_pct"]) == REFILL_PCT[indication]
    assert tuple(g["decrease_pct"]) == DECREASE_PCT
    assert g["titration_ng_day"] == [200 * MCG * (100 + p) // 100 for p in TITRATION_PCT[indication]]
    assert g["decrease_ng_day"] == [200 * MCG * (100 - p) // 100 for p in DECREASE_PCT]


# --- refills (maintenance) -------------------------------------------------------------------------
@pytest.mark.oracle("label")
@pytest.mark.req("REFILL-SPINAL-40", "REFILL-CEREBRAL-20")
@pytest.mark.parametrize("indication", sorted(PROFILES))
def test_refill_increase_cap_exact_boundary_on_the_pump(indication):
    top = REFILL_PCT[indication][1]
    old = 400 * MCG
    hal, ctl = pump(indication, first_ng=old, conc=2000, phase="maintenance")
    warp(hal, ctl, 30 * DAY)
    refill(ctl, 20 * ML, 2000)
    assert refused(stage, ctl, cont(cap_ng(old, top) + 1), override_reason="r") == "E_REFILL_INCREASE"
    commit(ctl, cont(cap_ng(old, top)), override_reason="review: typical range")
    assert ctl.daily_ng() == cap_ng(old, top)


@pytest.mark.oracle("label")
@pytest.mark.req("REFILL-SPINAL-40", "REFILL-CEREBRAL-20")
@pytest.mark.parametrize("indication", sorted(PROFILES))
def test_host_library_refill_caps_match_the_label(indication):
    top = REFILL_PCT[indication][1]
    prof = {"indication": indication, "phase": "maintenance"}
    old = 400 * MCG
    kw = dict(t_s=60 * DAY + HOUR, initial_programme_t_s=0, last_increase_t_s=None, refill_t_s=60 * DAY,
              override_reason="r")
    assert host_refusals(LIB.evaluate(prof, old, cont(cap_ng(old, top)), 2000, **kw)) == []
    assert host_refusals(LIB.evaluate(prof, old, cont(cap_ng(old, top) + 1), 2000, **kw)) != []


@pytest.mark.req("SOFT-DECREASE", "TIT-ONCE-24H")
@pytest.mark.parametrize("indication", sorted(PROFILES))
def test_side_effect_decrease_of_10_to_20_percent_needs_nothing_more_needs_a_reason(indication):
    hal, ctl = pump(indication, first_ng=500 * MCG)
    commit(ctl, cont(500 * MCG * (100 - DECREASE_PCT[0]) // 100))           # -10 %, within minutes: allowed
    cur = ctl.daily_ng()
    commit(ctl, cont(cur * (100 - DECREASE_PCT[1]) // 100))                  # -20 %: allowed, no reason
    cur = ctl.daily_ng()
    assert refused(stage, ctl, cont(cur * (100 - DECREASE_PCT[1]) // 100 - 1)) == "E_OVERRIDE_REQUIRED"
    commit(ctl, cont(cur // 2), override_reason="somnolence, respiratory depression")
    assert "override" in [e[2] for e in cmd(ctl, "log_read", first_seq=0, max_n=24)["entries"]]


# --- dose ranges -----------------------------------------------------------------------------------------
@pytest.mark.oracle("label")
@pytest.mark.req("DL-HARD-SPINAL", "DL-HARD-CEREBRAL", "DL-HARD-PAED", "DL-HARD-U12")
@pytest.mark.parametrize("indication", sorted(PROFILES))
def test_hard_daily_range_both_bounds_on_pump_and_host(indication):
    lo, hi = HARD[indication]
    for ng, ok in ((lo * MCG - 1, False), (lo * MCG, True), (hi * MCG, True), (hi * MCG + 1, False)):
        hal, ctl = pump(indication, conc=100)                                # 100 mcg/mL: 12..2003 in flow range
        if ok:
            assert stage(ctl, cont(ng), override_reason="r")["daily_ng"] == ng
        else:
            refused(stage, ctl, cont(ng), override_reason="r")
        host = host_refusals(LIB.evaluate({"indication": indication}, 0, cont(ng), 100, override_reason="r"))
        assert (host == []) == ok, (indication, ng, host)


@pytest.mark.oracle("label")
@pytest.mark.req("DL-HARD-CEREBRAL")
def test_every_day_of_a_weekday_plan_is_held_to_the_range_not_only_the_mean():
    hal, ctl = pump("cerebral", conc=500)

    def plan(sunday_ug):
        return {"mode": "flex", "lead_min": 120, "steps": [
            {"day": d, "effect_min": 0, "dose_ng_day": (sunday_ug if d == 6 else 1000) * MCG, "shape": "step"}
            for d in range(7)]}
    stage(ctl, plan(HARD["cerebral"][1]), override_reason="r")               # Sunday at the maximum: fine
    refused(stage, ctl, plan(1500), override_reason="r")                     # mean ~1071, Sunday 1500


def test_a_child_under_12_is_held_to_24_1199_whichever_profile_is_chosen():
    for ind in ("paediatric", "paediatric_u12"):
        hal, ctl = make_pump()
        refill(ctl, 20 * ML, 2000)
        try:
            cmd(ctl, "profile_set", profile={"indication": ind, "age_group": "4-11"})
        except PumpError:
            continue                                                         # refusing the profile is fine too
        refused(stage, ctl, cont(1199 * MCG + 1), override_reason="r")


@pytest.mark.req("SOFT-RANGE", "SOFT-OVERRIDE")
@pytest.mark.parametrize("indication", sorted(TYPICAL))
def test_typical_range_is_a_soft_limit_needing_a_logged_reason(indication):
    lo, hi = TYPICAL[indication]
    for ng, soft in ((lo * MCG - 1, True), (lo * MCG, False), (hi * MCG, False), (hi * MCG + 1, True)):
        hal, ctl = pump(indication, conc=500, phase="maintenance")
        if soft:
            assert refused(stage, ctl, cont(ng)) == "E_OVERRIDE_REQUIRED"
            commit(ctl, cont(ng), override_reason="outside typical, reviewed")
            assert "override" in [e[2] for e in cmd(ctl, "log_read", first_seq=0, max_n=24)["entries"]]
        else:
            stage(ctl, cont(ng))
        host = [f["rule"] for f in LIB.evaluate({"indication": indication, "phase": "maintenance"}, 0, cont(ng), 500)
                if f["level"] == "override"]
        assert (host != []) == soft


@pytest.mark.oracle("label")
@pytest.mark.req("DL-HARD-U12")
def test_under_12_usual_dose_274_is_shown_and_accepted():
    f = LIB.evaluate({"indication": "paediatric_u12", "phase": "maintenance"}, 0, cont(U12_USUAL_UG * MCG), 500)
    assert druglib.blocking(f) == []
    assert any(x["level"] == "info" and str(U12_USUAL_UG) in x["message"] for x in f)


# --- boluses against the daily range ------------------------------------------------------------------
def test_clinician_boluses_within_24_h_count_towards_the_daily_maximum():
    hal, ctl = pump("spinal", first_ng=100 * MCG, conc=2000)
    cmd(ctl, "bolus", dose_ng=1000 * MCG, duration_min=120)
    warp(hal, ctl, 3 * HOUR)                                                 # first bolus finished
    refused(cmd, ctl, "bolus", dose_ng=1000 * MCG, duration_min=120)


def test_patient_boluses_cannot_take_the_day_beyond_the_daily_maximum():
    hal, ctl = pump("cerebral", first_ng=1000 * MCG)
    try:
        cmd(ctl, "settings_set", pb_dose_ng=200 * MCG, pb_max_24h=24, pb_lockout_min=60, pb_duration_min=30)
    except PumpError:
        return                                                               # refusing the setting is fine
    given = 0
    for _ in range(5):
        try:
            ctl.command("patient_bolus", {}, "patient")
            given += 1
        except PumpError:
            pass
        warp(hal, ctl, HOUR)
    assert 1000 + given * 200 <= HARD["cerebral"][1]


# --- the 2-hour lead --------------------------------------------------------------------------------------
@pytest.mark.req("FLEX-LEAD", "CORE-LEAD-2H")
@pytest.mark.parametrize("shape", ["ramp", "step"])
def test_flex_change_starts_2_h_before_the_effect_time_by_default(shape):
    hal, ctl = pump("spinal")                                                # pumpkit T0 is 16:00 UTC, offset 0
    plan = {"mode": "flex", "steps": [{"effect_min": 7 * 60, "dose_ng_day": 100 * MCG, "shape": shape},
                                      {"effect_min": 22 * 60, "dose_ng_day": 120 * MCG, "shape": shape}]}
    commit(ctl, plan)                                                        # no lead_min given: the default
    got = cmd(ctl, "programme_get")
    if shape == "ramp":                                                      # ramp windows: effect - 2 h .. effect
        assert [tuple(w) for w in got["windows"]] == [(7 * HOUR - LEAD_S, 7 * HOUR), (22 * HOUR - LEAD_S, 22 * HOUR)]

    def rate_at(hhmm_s):
        warp(hal, ctl, hhmm_s - (ctl.t_s % DAY))
        return cmd(ctl, "status")["rate_ng_day"]
    assert rate_at(20 * HOUR - MIN) == 100 * MCG                             # 19:59: not started
    mid = rate_at(21 * HOUR)
    assert mid == (110 * MCG if shape == "ramp" else 120 * MCG)
    assert rate_at(22 * HOUR) == 120 * MCG                                   # full at the effect time


@pytest.mark.req("FLEX-LEAD")
def test_night_assistant_is_plus_20_percent_hourly_with_the_2_h_lead():
    prog = A.night_programme(500 * MCG, night_effect="22:00", morning_effect="07:00")
    doses = {s["effect_min"]: s["dose_ng_day"] for s in prog["steps"]}
    assert doses == {22 * 60: 500 * MCG * (100 + NIGHT_PCT) // 100, 7 * 60: 500 * MCG}
    assert prog["lead_min"] * MIN == LEAD_S
    # and it is a change the pump takes once titration allows it (satisfactory control on continuous)
    hal, ctl = pump("cerebral", first_ng=500 * MCG, conc=500)
    warp(hal, ctl, DAY)
    commit(ctl, prog)


# --- concentrations and dilution ---------------------------------------------------------------------------
@pytest.mark.req("DL-CONC", "CORE-CONC")
def test_supplied_strengths_custom_dilutions_up_to_2000_and_nothing_stronger():
    for c in SUPPLIED_UG_ML:
        assert LIB.check_concentration(c) == []
    for c in (100, 250, 1000, 1999):
        f = LIB.check_concentration(c)
        assert [x["level"] for x in f] == ["info"] and "preservative-free" in f[0]["message"]
    for c in (2001, 4000, 0):
        assert host_refusals(LIB.check_concentration(c)) == ["DL-CONC"]
    hal, ctl = make_pump()
    for c in SUPPLIED_UG_ML + (1000,):
        refill(ctl, 10 * ML, c)
        assert ctl.conc_ug_ml == c
    refused(refill, ctl, 10 * ML, 2001)


@pytest.mark.req("REFILL-PLAN-DILUTION")
@pytest.mark.parametrize("target", [100, 250, 400, 1000, 1500])
def test_dilution_is_a_supplied_strength_with_preservative_free_saline(target):
    d = A.dilution(target, 20 * ML)
    assert d["stock_ug_ml"] in SUPPLIED_UG_ML and d["stock_ug_ml"] >= target    # never the 50 mcg/mL ampule
    assert "preservative-free" in d["diluent"]
    assert d["stock_nl"] + d["diluent_nl"] == d["final_nl"] == 20 * ML
    # drug mass conserved within the 0.01 mL rounding of the stock volume
    assert abs(d["stock_ug_ml"] * d["stock_nl"] - target * d["final_nl"]) <= d["stock_ug_ml"] * 5000


@pytest.mark.req("REFILL-PLAN-CONC")
@pytest.mark.parametrize("ug", [12, 24, 100, 300, 800, 1400])
def test_concentration_choice_is_never_the_screening_strength_nor_above_2000(ug):
    res = A.choose_concentration(cont(ug * MCG), 30)
    c = res["conc_ug_ml"]
    assert c is None or (c != SCREEN_AMPULE_UG_ML and 0 < c <= 2000)
    if c is not None and c not in SUPPLIED_UG_ML:
        assert res["dilute"] and "preservative-free" in res["dilution"]["diluent"]


# --- drug holiday ---------------------------------------------------------------------------------------------
@pytest.mark.req("HOL-TAPER")
def test_taper_lasts_2_to_4_weeks_and_never_stops_the_drug():
    for days in HOLIDAY_DAYS:
        tp = A.taper(500 * MCG, "spinal", 0, days=days, conc_ug_ml=500)
        steps = tp["steps"]
        assert steps[-1]["t_s"] == days * DAY
        assert len(steps) >= 2 and all(s["daily_ng"] > 0 for s in steps)
        assert all(b["daily_ng"] <= a["daily_ng"] for a, b in zip(steps, steps[1:]))
    for days in (HOLIDAY_DAYS[0] - 1, HOLIDAY_DAYS[1] + 1):
        with pytest.raises(ValueError):
            A.taper(500 * MCG, "spinal", 0, days=days, conc_ug_ml=500)


@pytest.mark.req("HOL-TAPER", "HOL-RESTART", "TIT-FIRST24H")
def test_taper_runs_on_the_pump_then_restart_at_the_initial_dose_restarts_the_24_h_clock():
    initial = 150 * MCG                                                      # 2 x a positive 75 mcg screen
    hal, ctl = pump("spinal", first_ng=500 * MCG, conc=500, model=40, phase="maintenance", initial_ng_day=initial)
    start = ctl.t_s + DAY
    tp = A.taper(500 * MCG, "spinal", start, days=21, conc_ug_ml=500)
    for s in tp["steps"]:
        warp(hal, ctl, s["t_s"] - ctl.t_s)
        commit(ctl, s["programme"], **s["stage_args"])
        assert ctl.fsm.state == "infusing" and ctl.daily_ng() == s["daily_ng"] > 0
    warp(hal, ctl, 5 * DAY)
    refused(stage, ctl, cont(initial + 1), restart=True, confirm_ratio=(initial + 1) * 100 // ctl.daily_ng(),
            override_reason="restart")                                       # not above the initial dose
    r = A.restart(ctl.profile, ctl.daily_ng())
    assert r["programme"] == cont(initial)
    commit(ctl, r["programme"], override_reason="restart after holiday", **r["stage_args"])
    assert ctl.daily_ng() == initial
    warp(hal, ctl, DAY - MIN)
    refused(stage, ctl, cont(initial + MCG), override_reason="r")            # first 24 h again
    warp(hal, ctl, MIN)
    commit(ctl, cont(cap_ng(initial, 10)), override_reason="r")


def test_restart_dose_cannot_exceed_what_the_label_allows_as_an_initial_dose():
    hal, ctl = make_pump()
    refill(ctl, 20 * ML, 2000)
    try:
        cmd(ctl, "profile_set", profile=dict(PROFILES["spinal"], initial_ng_day=2000 * MCG))
    except PumpError:
        return                                                               # refusing the profile is fine
    commit(ctl, cont(100 * MCG))
    warp(hal, ctl, 2 * DAY)
    refused(stage, ctl, cont(2000 * MCG), restart=True, confirm_ratio=2000, override_reason="r")


# --- withdrawal-risk groups ---------------------------------------------------------------------------------
@pytest.mark.req("PROF-RISK", "RISK-MARGIN")
def test_label_risk_groups_are_flagged_on_status_and_bring_the_refill_visit_forward():
    # LABEL BOXED WARNING: "spinal cord injuries at T-6 or above, communication difficulties, history of
    # withdrawal symptoms from oral/intrathecal therapy"
    groups = ["t6_or_above", "communication", "withdrawal_history"]
    hal, ctl = pump("spinal", risk=groups)
    assert sorted(cmd(ctl, "status")["risk"]) == sorted(groups)
    banner = A.risk_banner(ctl.profile)
    for words in ("T6", "communication", "withdrawal"):
        assert words in banner
    prog = cont(400 * MCG)
    visits = [A.refill_plan(prog, 2000, 18 * ML, 0, risk=groups[:n])["visit_t_s"] for n in range(4)]
    alarm = A.refill_plan(prog, 2000, 18 * ML, 0)["alarm_t_s"]
    assert alarm > visits[0] > visits[1] > visits[2] > visits[3] > 0
