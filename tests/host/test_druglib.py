"""Drug library (issue 5): the TOML, its agreement with the pump's table, findings and the review."""
import os

import pytest

from pumpctl.clinical import druglib
import clinical
from controller import Controller
from flash import MemoryFlash
from hal_sim import SimHal
from protocol import PumpError

LIB = druglib.load()
T0 = 90000000


@pytest.mark.req("DL-VERSIONED")
def test_library_is_versioned_and_results_carry_the_version(tmp_path):
    assert LIB.id == "baclofen_it" and LIB.version.count(".") == 2
    assert LIB.stamp() == {"library": "baclofen_it", "version": LIB.version}
    bad = tmp_path / "x.toml"
    bad.write_text(open(druglib.DEFAULT_PATH).read().replace('version = "%s"' % LIB.version, ""))
    with pytest.raises(druglib.LibraryError):
        druglib.load(str(bad))


@pytest.mark.req("DL-HARD-SPINAL", "DL-HARD-CEREBRAL", "DL-HARD-PAED", "DL-HARD-U12", "SOFT-RANGE",
                 "TIT-SPINAL-30", "TIT-CEREBRAL-15", "REFILL-SPINAL-40", "REFILL-CEREBRAL-20")
def test_library_matches_the_pump_rule_table():
    for ind, row in clinical.RULES.items():
        lim = LIB.limits_ng(ind)
        assert (lim["hard_min_ng_day"], lim["hard_max_ng_day"], lim["soft_min_ng_day"], lim["soft_max_ng_day"],
                lim["titration_max_pct"], lim["refill_max_pct"]) == row
        assert set(LIB.profile(ind)["age_groups"]) == {a for a, inds in clinical.AGE_GROUPS.items() if ind in inds}
    assert set(LIB.profiles) == set(clinical.RULES)
    assert LIB.profile("paediatric_u12")["usual_ug_day"] == 274


@pytest.mark.req("DL-CONC")
def test_concentrations():
    assert LIB.check_concentration(500) == [] and LIB.check_concentration(2000) == []
    assert LIB.check_concentration(50)[0]["level"] == "refuse"            # screening strength only
    assert LIB.check_concentration(50, "screening") == []
    assert LIB.check_concentration(500, "screening")[0]["level"] == "refuse"
    custom = LIB.check_concentration(1000)
    assert custom[0]["level"] == "info" and custom[0]["dilute"] and "preservative-free" in custom[0]["message"]
    assert LIB.check_concentration(2001)[0]["level"] == "refuse"


def rules(findings, level=None):
    return [f["rule"] for f in findings if level is None or f["level"] == level]


def cont(ng):
    return {"mode": "continuous", "dose_ng_day": ng}


@pytest.mark.req("DL-HARD-SPINAL", "DL-HARD-CEREBRAL", "DL-HARD-U12")
def test_hard_limits_refused_on_the_host():
    assert "DL-HARD-SPINAL" not in rules(LIB.evaluate({"indication": "spinal"}, 0, cont(2003000), 2000))
    assert "DL-HARD-CEREBRAL" in rules(LIB.evaluate({"indication": "cerebral"}, 0, cont(1400001), 2000), "refuse")
    assert "DL-HARD-CEREBRAL" in rules(LIB.evaluate({"indication": "cerebral"}, 0, cont(21999), 100), "refuse")
    assert "DL-HARD-U12" in rules(LIB.evaluate({"indication": "paediatric_u12"}, 0, cont(23999), 100), "refuse")


@pytest.mark.req("SOFT-RANGE", "SOFT-OVERRIDE", "SOFT-DECREASE")
def test_soft_limits_need_an_override_reason():
    maint = {"indication": "spinal", "phase": "maintenance"}
    f = LIB.evaluate(maint, 0, cont(250000), 2000)
    assert rules(f, "override") == ["SOFT-RANGE"]
    assert druglib.blocking(LIB.evaluate(maint, 0, cont(250000), 2000, override_reason="ok")) == []
    f = LIB.evaluate({"indication": "spinal"}, 500000, cont(399000), 2000)
    assert rules(f, "override") == ["SOFT-DECREASE"]
    assert rules(LIB.evaluate({"indication": "spinal"}, 500000, cont(400000), 2000), "override") == []


@pytest.mark.req("TIT-FIRST24H", "TIT-ONCE-24H", "TIT-SPINAL-30", "REFILL-SPINAL-40", "CONFIRM-2X", "TIT-GUIDANCE")
def test_change_findings_and_guidance():
    sp = {"indication": "spinal"}
    f = LIB.evaluate(sp, 100000, cont(110000), 2000, t_s=T0 + 86340, initial_programme_t_s=T0)
    assert rules(f, "refuse") == ["TIT-FIRST24H"]
    f = LIB.evaluate(sp, 100000, cont(131000), 2000, t_s=T0 + 86400, initial_programme_t_s=T0,
                     last_increase_t_s=T0 + 100)
    assert rules(f, "refuse") == ["TIT-ONCE-24H", "TIT-SPINAL-30"]
    f = LIB.evaluate(dict(sp, phase="maintenance"), 400000, cont(560000), 2000, t_s=T0, refill_t_s=T0 - 60)
    assert rules(f, "refuse") == []
    f = LIB.evaluate(dict(sp, phase="maintenance"), 400000, cont(561000), 2000, t_s=T0, refill_t_s=T0 - 60)
    assert rules(f, "refuse") == ["REFILL-SPINAL-40"]
    f = LIB.evaluate(sp, 100000, cont(201000), 2000)
    conf = [x for x in f if x["level"] == "confirm"][0]
    assert conf["ratio_pct"] == 201 and "CONFIRM" in conf["message"]
    assert "CONFIRM-2X" not in rules(LIB.evaluate(sp, 100000, cont(201000), 2000, confirm_ratio=201))
    g = [x for x in f if x["rule"] == "TIT-GUIDANCE"][0]
    assert g["titration_pct"] == [10, 30] and g["titration_ng_day"] == [110000, 130000]
    g = LIB.guidance("cerebral", 100000)
    assert g["titration_ng_day"] == [105000, 115000] and g["refill_ng_day"] == [105000, 120000]


def _pump(profile, first_ng, conc=500):
    hal = SimHal(start_t_s=T0, flash=MemoryFlash())
    ctl = Controller(hal, model_id=20, build="test")
    ctl.boot()

    def c(name, **a):
        return ctl.command(name, a, "clinician")
    st = c("refill_stage", withdrawn_nl=0, added_nl=20000000, conc_ug_ml=conc)
    c("refill_commit", hash=st["hash"])
    c("profile_set", profile=profile)
    st = c("programme_stage", programme=cont(first_ng), override_reason="start")
    c("programme_commit", hash=st["hash"])
    return hal, ctl, c


@pytest.mark.req("DL-HARD-SPINAL", "DL-HARD-CEREBRAL", "TIT-SPINAL-30", "TIT-CEREBRAL-15", "TIT-FIRST24H",
                 "CONFIRM-2X", "SOFT-RANGE", "SOFT-DECREASE")
@pytest.mark.parametrize("indication", ["spinal", "cerebral"])
@pytest.mark.parametrize("wait_s", [3600, 86400])
def test_host_blocks_exactly_when_the_pump_refuses(indication, wait_s):
    """The host library is the first line, the pump the last: they must agree on every change."""
    prof = clinical.validate_profile({"indication": indication})
    for new in (50000, 79000, 80000, 100000, 114000, 115000, 116000, 130000, 131000, 201000, 700000, 1500000):
        hal, ctl, c = _pump(prof, 100000)
        hal.advance_s(wait_s)
        host = druglib.blocking(LIB.evaluate(ctl.profile, ctl.daily_ng(), cont(new), 500, t_s=ctl.now_s(),
                                             initial_programme_t_s=ctl.initial_programme_t_s,
                                             last_increase_t_s=ctl.last_increase_t_s, refill_t_s=ctl.refill_t_s,
                                             old_programme=ctl.programme))
        try:
            c("programme_stage", programme=cont(new))
            pump_ok = True
        except PumpError:
            pump_ok = False
        assert pump_ok == (host == []), (indication, wait_s, new, host)


@pytest.mark.req("TIT-FIRST24H-RATE", "INIT-MAX")
def test_host_mirrors_the_first_24h_rate_rule_and_the_initial_dose_reason():
    prof = clinical.validate_profile({"indication": "spinal"})
    hal, ctl, c = _pump(prof, 100000)
    night = {"mode": "flex", "steps": [{"effect_min": 420, "dose_ng_day": 80000, "shape": "step"},
                                      {"effect_min": 1320, "dose_ng_day": 130000, "shape": "step"}]}
    kw = dict(t_s=ctl.now_s(), initial_programme_t_s=ctl.initial_programme_t_s, old_programme=ctl.programme)
    rules = [f["rule"] for f in druglib.blocking(LIB.evaluate(ctl.profile, ctl.daily_ng(), night, 500, **kw))]
    assert "TIT-FIRST24H-RATE" in rules
    with pytest.raises(PumpError):
        c("programme_stage", programme=night)
    fresh = [f["rule"] for f in LIB.evaluate(prof, 0, cont(250000), 500) if f["level"] == "override"]
    assert fresh == ["INIT-MAX"]
    assert [f for f in LIB.evaluate(prof, 0, cont(200000), 500) if f["level"] == "override"] == []


@pytest.mark.req("REVIEW-DIFF")
def test_review_shows_old_and_new_side_by_side():
    night = {"mode": "flex", "lead_min": 120, "steps": [
        {"effect_min": 420, "dose_ng_day": 500000}, {"effect_min": 1320, "dose_ng_day": 600000}]}
    rv = druglib.review(cont(500000), night, 2000, stage_reply={"before": {"alarm_t_s": 10, "empty_t_s": 20},
                                                               "after": {"alarm_t_s": 8, "empty_t_s": 18}})
    assert rv["old"]["daily_ng"] == 500000 and rv["new"]["daily_ng"] == 537500
    assert rv["new"]["daily_nl"] == 268750 and rv["new"]["windows"] == [("05:00", "07:00"), ("20:00", "22:00")]
    assert [s["dose_ng_day"] for s in rv["new"]["steps"]] == [500000, 600000]
    text = druglib.render_review(rv)
    for needle in ("OLD", "NEW", "daily 500 mcg = 0.250 mL", "daily 537.500 mcg = 0.268 mL", "22:00 ramp 600",
                   "change 20:00-22:00", "alarm 10", "alarm 8", "empty 18", "new/old = 107 %"):
        assert needle in text, needle
    assert "MORE THAN TWICE" in druglib.render_review(druglib.review(cont(100000), cont(250000), 2000))


@pytest.mark.req("DL-CONC")
def test_library_file_ships_next_to_the_module():
    assert os.path.isfile(druglib.DEFAULT_PATH)


@pytest.mark.req("DL-HARD-SPINAL", "SOFT-RANGE", "DL-CONC")
def test_example_prescriptions_pass_the_library_and_the_pump():
    from pumpctl.clinical import prescription
    ex = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "examples")
    files = sorted(f for f in os.listdir(ex) if f.endswith(".toml"))
    assert files
    for fn in files:
        rx = prescription.load(os.path.join(ex, fn))
        # the examples are maintenance programmes (the labeling's scenario: a patient on 500 mcg/day)
        prof = clinical.validate_profile({"indication": "spinal", "phase": "maintenance"})
        assert druglib.blocking(LIB.evaluate(prof, 0, rx["programme"], rx["conc_ug_ml"])) == [], fn
        hal, ctl, c = _pump(prof, 500000, conc=rx["conc_ug_ml"])
        hal.advance_s(86400)
        c("programme_stage", programme=rx["programme"])          # a change from 500 mcg/day after 24 h


from hypothesis import given, settings, strategies as st  # noqa: E402


@pytest.mark.req("DL-HARD-SPINAL", "DL-HARD-CEREBRAL", "DL-HARD-PAED", "DL-HARD-U12", "TIT-FIRST24H",
                 "TIT-ONCE-24H", "TIT-SPINAL-30", "TIT-CEREBRAL-15", "REFILL-SPINAL-40", "REFILL-CEREBRAL-20",
                 "REFILL-WINDOW", "CONFIRM-2X", "SOFT-RANGE", "SOFT-DECREASE", "SOFT-OVERRIDE")
@settings(max_examples=150)
@given(ind=st.sampled_from(sorted(clinical.RULES)), maint=st.booleans(), first=st.integers(12000, 2100000),
       wait1=st.integers(0, 2 * 86400), second=st.integers(12000, 2100000), wait2=st.integers(0, 2 * 86400),
       refill_before=st.integers(0, 6 * 3600),
       new=st.integers(10000, 2200000), reason=st.booleans(), confirm=st.booleans())
def test_host_and_pump_agree_on_random_changes(ind, maint, first, wait1, second, wait2, refill_before, new, reason,
                                               confirm):
    age = {"spinal": "adult", "cerebral": "adult", "paediatric": "12-17", "paediatric_u12": "4-11"}[ind]
    prof = clinical.validate_profile({"indication": ind, "age_group": age,
                                      "phase": "maintenance" if maint else "titration"})
    try:
        hal, ctl, c = _pump(prof, first, conc=500)
    except PumpError:
        return                                            # first programme outside the range: not the subject
    hal.advance_s(wait1)
    try:
        st_ = c("programme_stage", programme=cont(second), override_reason="r", confirm_ratio=second * 100 // first)
        c("programme_commit", hash=st_["hash"])
    except PumpError:
        pass
    hal.advance_s(wait2)
    st_ = c("refill_stage", withdrawn_nl=ctl.reservoir_nl(), added_nl=20000000, conc_ug_ml=500)
    c("refill_commit", hash=st_["hash"])
    hal.advance_s(refill_before)
    old = ctl.daily_ng()
    extra = {}
    if reason:
        extra["override_reason"] = "why"
    if confirm and old:
        extra["confirm_ratio"] = max(new, 0) * 100 // old
    host = druglib.blocking(LIB.evaluate(ctl.profile, old, cont(new), 500, t_s=ctl.now_s(),
                                         initial_programme_t_s=ctl.initial_programme_t_s,
                                         last_increase_t_s=ctl.last_increase_t_s, refill_t_s=ctl.refill_t_s,
                                         old_programme=ctl.programme, **extra))
    try:
        c("programme_stage", programme=cont(new), **extra)
        pump_ok = True
    except PumpError as e:
        pump_ok = False
        assert any(f.get("code") == e.code or f["level"] != "info" for f in host)
    assert pump_ok == (host == []), (old, new, host)


# --- clinical review gaps (library 1.2.0): warnings, never blocking ---------------------------------
def _warns(findings):
    return [f["rule"] for f in findings if f["level"] == "warn"]


@pytest.mark.req("ESC-CATHETER", "ESC-PATENCY")
@pytest.mark.parametrize("ind,cap", [("spinal", 30), ("cerebral", 15)])
def test_substantial_increase_warns_of_a_catheter_complication(ind, cap):
    prof = {"indication": ind}
    below = LIB.evaluate(prof, 100000, cont(100000 + cap * 1000 - 1000), 2000)
    assert "ESC-CATHETER" not in _warns(below)
    at = LIB.evaluate(prof, 100000, cont(100000 + cap * 1000), 2000, t_s=T0)
    w = [f for f in at if f["rule"] == "ESC-CATHETER"][0]
    assert w["level"] == "warn" and w["change_pct"] == cap and w["why"] == "step"
    assert "catheter complication" in w["message"] and "patency of the catheter" in w["message"]
    assert druglib.blocking(at) == []                                   # a warning, not a stop
    above = LIB.evaluate(prof, 100000, cont(100000 + cap * 1000 + 1000), 2000)
    assert "ESC-CATHETER" in _warns(above)                             # refused by the cap and warned
    assert "ESC-CATHETER" not in _warns(LIB.evaluate(prof, 100000, cont(90000), 2000))     # decreases never


@pytest.mark.req("ESC-CATHETER")
def test_repeated_increases_in_maintenance_warn_within_the_window():
    maint = {"indication": "spinal", "phase": "maintenance"}
    win = LIB.data["escalation"]["window_days"] * 86400
    kw = dict(t_s=T0, refill_t_s=T0 - 60)
    f = LIB.evaluate(maint, 500000, cont(550000), 2000, last_increase_t_s=T0 - win + 1, **kw)
    w = [x for x in f if x["rule"] == "ESC-CATHETER"]
    assert len(w) == 1 and w[0]["why"] == "window" and w[0]["level"] == "warn"
    assert druglib.blocking(f) == []
    assert "ESC-CATHETER" not in _warns(LIB.evaluate(maint, 500000, cont(550000), 2000, last_increase_t_s=T0 - win,
                                                     **kw))
    assert "ESC-CATHETER" not in _warns(LIB.evaluate(maint, 500000, cont(550000), 2000, **kw))  # no earlier increase
    # titration: one increase a day is the labeled process, not an escalation
    tit = LIB.evaluate({"indication": "spinal"}, 500000, cont(550000), 2000, t_s=T0, last_increase_t_s=T0 - 86400)
    assert "ESC-CATHETER" not in _warns(tit)


@pytest.mark.req("PAED-UNDER-4", "PAED-BODY-MASS")
def test_under_4_warns_on_every_evaluate():
    u4 = clinical.validate_profile({"indication": "paediatric_u12", "age_group": "under_4"})
    for old, new in ((0, 100000), (100000, 105000), (100000, 90000), (100000, 5000000)):
        f = LIB.evaluate(u4, old, cont(new), 500)
        w = [x for x in f if x["rule"] == "PAED-UNDER-4"]
        assert len(w) == 1 and w[0]["level"] == "warn", (old, new)
        assert "4 years" in w[0]["message"] and "body mass" in w[0]["message"]
    assert druglib.blocking(LIB.evaluate(u4, 100000, cont(105000), 500, t_s=T0)) == []
    four = clinical.validate_profile({"indication": "paediatric_u12", "age_group": "4-11"})
    assert "PAED-UNDER-4" not in _warns(LIB.evaluate(four, 100000, cont(105000), 500))
    assert _warns(LIB.profile_findings(u4)) == ["PAED-UNDER-4"] and LIB.profile_findings(four) == []


@pytest.mark.req("RENAL-INCREASE")
def test_renal_impairment_makes_any_increase_a_warning():
    sp = {"indication": "spinal"}
    f = LIB.evaluate(sp, 500000, cont(501000), 2000, renal_impairment=True)
    w = [x for x in f if x["rule"] == "RENAL-INCREASE"]
    assert len(w) == 1 and w[0]["level"] == "warn" and "renal" in w[0]["message"]
    assert druglib.blocking(f) == []
    assert "RENAL-INCREASE" not in _warns(LIB.evaluate(sp, 500000, cont(501000), 2000))            # default off
    assert "RENAL-INCREASE" not in _warns(LIB.evaluate(sp, 500000, cont(500000), 2000, renal_impairment=True))
    assert "RENAL-INCREASE" not in _warns(LIB.evaluate(sp, 500000, cont(450000), 2000, renal_impairment=True))
    # a flex plan whose mean day is unchanged but whose night step is higher is an increase too
    night = {"mode": "flex", "steps": [{"effect_min": 420, "dose_ng_day": 450000, "shape": "step"},
                                       {"effect_min": 1320, "dose_ng_day": 700000, "shape": "step"}]}
    assert "RENAL-INCREASE" in _warns(LIB.evaluate(sp, 500000, night, 2000, renal_impairment=True))
