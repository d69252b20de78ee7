"""Pump-side clinical guardrails from the labeling (issue 5): profile, ranges, titration, refill, 2x, overrides."""
from pumpkit import cont, stage, commit, make_pump, warp, cmd, refill, programme, raises, DAY
from controller import Controller
import clinical

CONFIRM = "E_CONFIRM_REQUIRED"
OVERRIDE = "E_OVERRIDE_REQUIRED"

# Requirement ids proven by each test (tools/trace.py reads this; tests/fw cannot import pytest).
REQS = {
    "test_restore_after_an_interruption_returns_to_the_prior_dose_past_the_caps": ["WITHDRAWAL-RESTORE-PUMP"],
    "test_restore_ceiling_only_remembers_the_last_30_days": ["WITHDRAWAL-RESTORE-PUMP"],
    "test_rate_increase_by_flex_step_in_first_24h_is_refused_decrease_is_not": ["TIT-FIRST24H-RATE"],
    "test_first_programme_above_twice_the_largest_screening_dose_needs_a_reason": ["INIT-MAX"],
    "test_boluses_of_the_last_24h_count_against_the_daily_maximum": ["BOLUS-PROFILE-MAX"],
    "test_patient_bolus_allowance_must_fit_the_day": ["BOLUS-PROFILE-MAX"],
    "test_profile_is_validated_and_normalised": ["PROF-STORE", "PROF-RISK"],
    "test_profile_persists_and_rules_hold_after_reboot": ["PROF-STORE"],
    "test_clinical_build_refuses_programming_without_profile": ["PROF-REQUIRED"],
    "test_spinal_hard_range": ["DL-HARD-SPINAL"],
    "test_cerebral_and_paediatric_hard_range": ["DL-HARD-CEREBRAL", "DL-HARD-PAED"],
    "test_under_12_hard_range": ["DL-HARD-U12"],
    "test_increase_refused_in_first_24h_accepted_at_24h": ["TIT-FIRST24H"],
    "test_spinal_titration_30_percent_accepted_31_refused": ["TIT-SPINAL-30"],
    "test_cerebral_titration_15_percent_accepted_16_refused": ["TIT-CEREBRAL-15", "TIT-PAED-15"],
    "test_one_increase_per_24h": ["TIT-ONCE-24H"],
    "test_decrease_is_always_allowed_by_the_titration_rules": ["TIT-ONCE-24H"],
    "test_refill_increase_40_percent_spinal": ["REFILL-SPINAL-40", "REFILL-WINDOW"],
    "test_refill_increase_20_percent_cerebral": ["REFILL-CEREBRAL-20"],
    "test_more_than_twice_needs_ratio_confirmation": ["CONFIRM-2X"],
    "test_step_rate_more_than_twice_needs_confirmation": ["CONFIRM-2X"],
    "test_hourly_entry_of_a_daily_bolus_is_caught": ["CONFIRM-2X", "DL-HARD-SPINAL"],
    "test_soft_range_needs_override_reason_and_is_logged": ["SOFT-OVERRIDE", "SOFT-RANGE"],
    "test_large_decrease_needs_override": ["SOFT-DECREASE"],
    "test_bolus_bounded_by_profile_daily_maximum": ["BOLUS-PROFILE-MAX"],
    "test_restart_after_holiday_at_initial_dose": ["HOL-RESTART"],
}

SPINAL = {"indication": "spinal", "age_group": "adult"}
CEREBRAL = {"indication": "cerebral", "age_group": "adult"}




def setup(profile, first_ng=100000, conc=500, build="test", **first_args):
    """Filled pump with `profile`, initial programme `first_ng` committed at T0."""
    hal, ctl = make_pump(build=build)
    refill(ctl, 20000000, conc)
    if profile is not None:
        cmd(ctl, "profile_set", profile=profile)
    if first_ng > clinical.INITIAL_MAX_NG_DAY and "override_reason" not in first_args:
        first_args["override_reason"] = "replacement pump, patient on maintenance"
    commit(ctl, cont(first_ng), **first_args)
    return hal, ctl






def log_names(ctl):
    return [e[2] for e in cmd(ctl, "log_read", first_seq=0, max_n=24)["entries"]]


def test_profile_is_validated_and_normalised():
    hal, ctl = make_pump()
    p = cmd(ctl, "profile_set", profile={"indication": "spinal", "risk": ["withdrawal_history", "t6_or_above"],
                                         "implant_t_s": 1000, "initial_ng_day": 100000})["profile"]
    assert p == {"indication": "spinal", "age_group": "adult", "phase": "titration", "implant_t_s": 1000,
                 "initial_ng_day": 100000, "risk": ["t6_or_above", "withdrawal_history"]}
    raises("E_BAD_ARGS", cmd, ctl, "profile_set", profile={"indication": "lumbar"})
    raises("E_BAD_ARGS", cmd, ctl, "profile_set", profile={"indication": "spinal", "age_group": "4-11"})
    raises("E_BAD_ARGS", cmd, ctl, "profile_set", profile={"indication": "paediatric_u12", "age_group": "adult"})
    raises("E_BAD_ARGS", cmd, ctl, "profile_set", profile={"indication": "spinal", "risk": ["tired"]})
    raises("E_BAD_ARGS", cmd, ctl, "profile_set", profile={"indication": "spinal", "phase": "holiday"})
    raises("E_BAD_ARGS", cmd, ctl, "profile_set", profile={"indication": "cerebral", "initial_ng_day": 21999})
    assert cmd(ctl, "profile_get")["profile"]["risk"] == ["t6_or_above", "withdrawal_history"]


def test_profile_persists_and_rules_hold_after_reboot():
    hal, ctl = setup(SPINAL)
    ctl2 = Controller(hal, model_id=20, build="test")
    ctl2.boot()
    assert ctl2.profile["indication"] == "spinal"
    raises("E_FIRST_24H", stage, ctl2, cont(110000))


def test_clinical_build_refuses_programming_without_profile():
    hal, ctl = make_pump(build="clinical")
    refill(ctl, 20000000, 500)
    raises("E_CLINICAL_LIMIT", stage, ctl, cont(100000))
    cmd(ctl, "profile_set", profile=SPINAL)
    programme(ctl, cont(100000))
    assert ctl.daily_ng() == 100000


def test_spinal_hard_range():
    hal, ctl = setup(SPINAL, first_ng=12000, conc=100)
    assert ctl.daily_ng() == 12000                                     # label: "Range: 12-2003mcg/day"
    raises("E_DOSE_RANGE", stage, ctl, cont(11999))
    hal, ctl = make_pump()
    refill(ctl, 20000000, 2000)
    cmd(ctl, "profile_set", profile=SPINAL)
    assert stage(ctl, cont(2003000), override_reason="x")["daily_ng"] == 2003000
    raises("E_DOSE_RANGE", stage, ctl, cont(2003001), override_reason="x")


def test_cerebral_and_paediatric_hard_range():
    for prof in (CEREBRAL, {"indication": "paediatric", "age_group": "12-17"}):
        hal, ctl = make_pump()
        refill(ctl, 20000000, 100)
        cmd(ctl, "profile_set", profile=prof)
        raises("E_CLINICAL_LIMIT", stage, ctl, cont(21999))
        stage(ctl, cont(22000))
        raises("E_CLINICAL_LIMIT", stage, ctl, cont(1400001), override_reason="r")
        stage(ctl, cont(1400000), override_reason="r")


def test_under_12_hard_range():
    hal, ctl = make_pump()
    refill(ctl, 20000000, 100)
    cmd(ctl, "profile_set", profile={"indication": "paediatric_u12", "age_group": "4-11"})
    raises("E_CLINICAL_LIMIT", stage, ctl, cont(23999))
    stage(ctl, cont(24000))
    raises("E_CLINICAL_LIMIT", stage, ctl, cont(1199001), override_reason="r")
    stage(ctl, cont(1199000), override_reason="r")


def test_increase_refused_in_first_24h_accepted_at_24h():
    hal, ctl = setup(SPINAL)
    warp(hal, ctl, DAY - 60)                                          # 23 h 59 min
    raises("E_FIRST_24H", stage, ctl, cont(110000))
    stage(ctl, cont(90000))                                           # decreases are not increases
    warp(hal, ctl, 60)                                                # 24 h
    commit(ctl, cont(110000))
    assert ctl.daily_ng() == 110000


def test_spinal_titration_30_percent_accepted_31_refused():
    hal, ctl = setup(SPINAL)
    warp(hal, ctl, DAY)
    e = raises("E_TITRATION", stage, ctl, cont(131000))
    assert "31" in e.detail
    commit(ctl, cont(130000))
    assert ctl.daily_ng() == 130000


def test_cerebral_titration_15_percent_accepted_16_refused():
    for prof in (CEREBRAL, {"indication": "paediatric", "age_group": "12-17"},
                 {"indication": "paediatric_u12", "age_group": "4-11"}):
        hal, ctl = setup(prof)
        warp(hal, ctl, DAY)
        raises("E_TITRATION", stage, ctl, cont(116000))
        raises("E_TITRATION", stage, ctl, cont(115001))
        commit(ctl, cont(115000))


def test_one_increase_per_24h():
    hal, ctl = setup(SPINAL)
    warp(hal, ctl, DAY)
    commit(ctl, cont(110000))
    warp(hal, ctl, DAY - 60)
    raises("E_TITRATION", stage, ctl, cont(120000))
    warp(hal, ctl, 60)
    commit(ctl, cont(120000))


def test_decrease_is_always_allowed_by_the_titration_rules():
    hal, ctl = setup(SPINAL)
    commit(ctl, cont(90000))                                          # minutes after the initial programme
    assert ctl.last_increase_t_s is None


def test_refill_increase_40_percent_spinal():
    hal, ctl = setup(dict(SPINAL, phase="maintenance"), first_ng=400000)
    warp(hal, ctl, 30 * DAY)
    refill(ctl, 20000000, 500)
    raises("E_REFILL_INCREASE", stage, ctl, cont(561000))
    stage(ctl, cont(560000))
    warp(hal, ctl, clinical.REFILL_WINDOW_S + 1)                      # after the visit: titration cap again
    raises("E_TITRATION", stage, ctl, cont(521000))
    stage(ctl, cont(520000))
    hal, ctl = setup(SPINAL)                                          # titration phase: 30 % even at refill
    warp(hal, ctl, 2 * DAY)
    refill(ctl, 20000000, 500)
    raises("E_TITRATION", stage, ctl, cont(131000))


def test_refill_increase_20_percent_cerebral():
    hal, ctl = setup(dict(CEREBRAL, phase="maintenance"))
    warp(hal, ctl, 30 * DAY)
    refill(ctl, 20000000, 500)
    raises("E_REFILL_INCREASE", stage, ctl, cont(121000))
    commit(ctl, cont(120000))
    assert ctl.daily_ng() == 120000


def test_more_than_twice_needs_ratio_confirmation():
    hal, ctl = setup(SPINAL)
    warp(hal, ctl, DAY)
    stage(ctl, cont(130000))                                          # not more than 2x: no confirmation
    e = raises(CONFIRM, stage, ctl, cont(201000))
    assert "confirm_ratio=201" in e.detail
    raises(CONFIRM, stage, ctl, cont(201000), confirm_ratio=200)
    raises("E_TITRATION", stage, ctl, cont(201000), confirm_ratio=201)  # confirmed, then the 30 % cap
    hal, ctl = setup(SPINAL)
    warp(hal, ctl, DAY)
    raises("E_TITRATION", stage, ctl, cont(200000))                   # exactly 2x: cap only


def test_step_rate_more_than_twice_needs_confirmation():
    hal, ctl = setup(SPINAL)
    warp(hal, ctl, DAY)                     # past the first 24 h, when a rate increase may be staged
    flex = {"mode": "flex", "lead_min": 120, "steps": [
        {"effect_min": 120, "dose_ng_day": 210000, "shape": "step"},
        {"effect_min": 180, "dose_ng_day": 90000, "shape": "step"}]}
    e = raises(CONFIRM, stage, ctl, flex)
    assert "210 %" in e.detail
    st = stage(ctl, flex, confirm_ratio=210)
    assert st["daily_ng"] == 95000


def test_hourly_entry_of_a_daily_bolus_is_caught():
    # The real case: a once-daily 60 mcg flex bolus entered as hourly (24x the dose).
    hal, ctl = setup(SPINAL, first_ng=300000, conc=2000)
    warp(hal, ctl, 2 * DAY)
    once = {"mode": "continuous", "dose_ng_day": 300000,
            "boluses": [{"at_min": 480, "dose_ng": 60000, "duration_min": 10}]}
    stage(ctl, once)                                                  # +20 %: allowed
    hourly = dict(once, boluses=[{"at_min": 60 * h, "dose_ng": 60000, "duration_min": 10} for h in range(8)])
    e = raises(CONFIRM, stage, ctl, hourly)                           # 780 mcg/day: 260 % of 300
    assert "resend" in e.detail


def test_soft_range_needs_override_reason_and_is_logged():
    hal, ctl = setup(dict(SPINAL, phase="maintenance"), first_ng=300000, )
    warp(hal, ctl, DAY)
    raises(OVERRIDE, stage, ctl, cont(290000))                        # below the typical 300-800
    raises("E_BAD_ARGS", stage, ctl, cont(290000), override_reason="")
    commit(ctl, cont(290000), override_reason="tolerates low dose well")
    entries = cmd(ctl, "log_read", first_seq=0, max_n=24)["entries"]
    ov = [e for e in entries if e[2] == "override"]
    assert ov and ov[-1][3] == clinical.reason_id("tolerates low dose well") and ov[-1][4] == 290000
    hal, ctl = setup(SPINAL, first_ng=700000)                         # titration: only the upper bound
    warp(hal, ctl, DAY)
    raises(OVERRIDE, stage, ctl, cont(801000))
    stage(ctl, cont(801000), override_reason="severe spasticity")
    stage(ctl, cont(600000))


def test_large_decrease_needs_override():
    hal, ctl = setup(SPINAL, first_ng=500000)
    stage(ctl, cont(400000))                                          # -20 %: typical side-effect cut
    raises(OVERRIDE, stage, ctl, cont(399000))
    commit(ctl, cont(399000), override_reason="somnolence")
    assert "override" in log_names(ctl)


def test_bolus_bounded_by_profile_daily_maximum():
    hal, ctl = setup(CEREBRAL, first_ng=1300000, conc=2000, override_reason="long-standing dose")
    raises("E_CLINICAL_LIMIT", cmd, ctl, "bolus", dose_ng=100001, duration_min=10)
    cmd(ctl, "bolus", dose_ng=100000, duration_min=10)


def test_restart_after_holiday_at_initial_dose():
    hal, ctl = setup(dict(SPINAL, initial_ng_day=100000), first_ng=100000)
    warp(hal, ctl, DAY)
    for ng in (80000, 64000, 51200, 40960, 32768):                    # -20 % a step
        commit(ctl, cont(ng))
    warp(hal, ctl, 5 * DAY)
    raises(CONFIRM, stage, ctl, cont(100000), restart=True)
    raises("E_TITRATION", stage, ctl, cont(100000), confirm_ratio=305)     # not a restart: the 30 % cap
    raises("E_CLINICAL_LIMIT", stage, ctl, cont(110000), restart=True, confirm_ratio=335)
    commit(ctl, cont(100000), restart=True, confirm_ratio=305)
    assert ctl.daily_ng() == 100000 and ctl.initial_programme_t_s == ctl.t_s
    raises("E_FIRST_24H", stage, ctl, cont(101000))                  # the 24-hour clock restarted


def test_rate_increase_by_flex_step_in_first_24h_is_refused_decrease_is_not():
    hal, ctl = setup(SPINAL)
    up = {"mode": "flex", "steps": [{"effect_min": 420, "dose_ng_day": 80000, "shape": "step"},
                                   {"effect_min": 1320, "dose_ng_day": 130000, "shape": "step"}]}
    raises("E_FIRST_24H", stage, ctl, up)
    down = {"mode": "flex", "steps": [{"effect_min": 420, "dose_ng_day": 80000, "shape": "step"},
                                     {"effect_min": 1320, "dose_ng_day": 100000, "shape": "step"}]}
    stage(ctl, down)


def test_first_programme_above_twice_the_largest_screening_dose_needs_a_reason():
    hal, ctl = make_pump()
    refill(ctl, 20000000, 500)
    cmd(ctl, "profile_set", profile=SPINAL)
    stage(ctl, cont(200000))
    raises(OVERRIDE, stage, ctl, cont(200001))
    stage(ctl, cont(200001), override_reason="replacement pump")


def test_boluses_of_the_last_24h_count_against_the_daily_maximum():
    hal, ctl = setup(SPINAL, first_ng=100000, conc=2000)
    cmd(ctl, "bolus", dose_ng=1000000, duration_min=120)
    warp(hal, ctl, 3 * 3600)
    raises("E_CLINICAL_LIMIT", cmd, ctl, "bolus", dose_ng=1000000, duration_min=120)
    cmd(ctl, "bolus", dose_ng=900000, duration_min=120)      # 100 + 1000 + 900 = 2000 <= 2003 mcg
    warp(hal, ctl, DAY)
    cmd(ctl, "bolus", dose_ng=1000000, duration_min=120)     # a day later the window has moved on


def test_patient_bolus_allowance_must_fit_the_day():
    hal, ctl = setup(CEREBRAL, first_ng=100000)
    raises("E_CLINICAL_LIMIT", cmd, ctl, "settings_set", pb_dose_ng=200000, pb_max_24h=7)   # 100 + 1400 > 1400
    cmd(ctl, "settings_set", pb_dose_ng=200000, pb_max_24h=6, pb_lockout_min=60, pb_duration_min=10)


def test_restore_after_an_interruption_returns_to_the_prior_dose_past_the_caps():
    # AHFS: "restoration of intrathecal baclofen at or near the dosage used prior to interruption"
    hal, ctl = setup(dict(SPINAL, phase="maintenance"), first_ng=400000)
    warp(hal, ctl, 2 * DAY)
    commit(ctl, cont(100000), override_reason="catheter repair: hold low")      # the interruption
    warp(hal, ctl, 2 * DAY)
    raises("E_TITRATION", stage, ctl, cont(400000), confirm_ratio=400)          # caps say +30 % at most
    raises(OVERRIDE, stage, ctl, cont(400000), confirm_ratio=400, restore=True)  # needs a stated reason
    raises("E_CLINICAL_LIMIT", stage, ctl, cont(400001), confirm_ratio=400, restore=True, override_reason="r")
    commit(ctl, cont(400000), confirm_ratio=400, restore=True, override_reason="withdrawal: restore prior dose")
    assert ctl.daily_ng() == 400000
    assert cmd(ctl, "profile_get")["history"]["restore_ceiling_ng"] == 400000
    raises("E_TITRATION", stage, ctl, cont(410000))                             # counts as today's increase


def test_restore_ceiling_only_remembers_the_last_30_days():
    hal, ctl = setup(dict(SPINAL, phase="maintenance"), first_ng=400000)
    warp(hal, ctl, DAY)
    commit(ctl, cont(300000), override_reason="side effects")
    warp(hal, ctl, 31 * DAY)
    raises("E_CLINICAL_LIMIT", stage, ctl, cont(400000), restore=True, override_reason="r")
    stage(ctl, cont(300000), restore=True, override_reason="r")
