"""Clinical assistants (issue 5): screening, initial dose, night flex, refill planning, holiday taper, risk."""
import pytest

from pumpctl.clinical import assistants as A
from pumpctl.clinical import druglib
import clinical
import pumpmodel as pm
import schedule
from controller import Controller
from flash import MemoryFlash
from hal_sim import SimHal

DAY = 86400
H = 3600


@pytest.mark.req("SCR-SEQUENCE", "SCR-OBSERVE")
def test_screening_sequence_50_75_100_at_24h_from_the_ampule():
    seq = A.screening_sequence(start_t_s=1000)
    assert [s["dose_ng"] for s in seq] == [50000, 75000, 100000]
    assert [s["volume_nl"] for s in seq] == [1000000, 1500000, 2000000]           # 1, 1.5, 2 mL of 50 mcg/mL
    assert [s["t_s"] - 1000 for s in seq] == [0, DAY, 2 * DAY]
    assert all(s["observe_from_t_s"] - s["t_s"] == 4 * H and s["observe_until_t_s"] - s["t_s"] == 8 * H for s in seq)


@pytest.mark.req("SCR-SMALL-CHILD")
def test_very_small_child_starts_at_25():
    assert [s["dose_ng"] for s in A.screening_sequence(small_child=True)] == [25000, 50000, 75000, 100000]


@pytest.mark.req("SCR-NONCANDIDATE", "SCR-SEQUENCE")
def test_screening_next_steps_and_non_candidate():
    assert A.screening_next([])["dose_ng"] == 50000
    nxt = A.screening_next([{"dose_ng": 50000, "positive": False}], start_t_s=0)
    assert nxt["action"] == "bolus" and nxt["dose_ng"] == 75000 and nxt["t_s"] == DAY
    no = A.screening_next([{"dose_ng": d, "positive": False} for d in (50000, 75000, 100000)])
    assert no["action"] == "not_candidate" and "100 mcg" in no["reason"]
    with pytest.raises(ValueError):
        A.screening_next([{"dose_ng": 100000, "positive": False}])                 # out of order


@pytest.mark.req("INIT-DOSE")
def test_initial_dose_twice_unless_effect_longer_than_8h():
    assert A.initial_daily_dose(50000, 480)["initial_ng_day"] == 100000             # exactly 8 h: 2x
    assert A.initial_daily_dose(50000, 481)["initial_ng_day"] == 50000              # > 8 h: 1x
    res = A.screening_next([{"dose_ng": 50000, "positive": False}, {"dose_ng": 75000, "positive": True,
                                                                    "effect_min": 300}])
    assert res["action"] == "candidate" and res["initial_ng_day"] == 150000


@pytest.mark.req("FLEX-LEAD")
def test_night_programme_is_the_labeling_scenario_with_2h_lead():
    prog = A.night_programme(500000)
    assert prog == {"mode": "flex", "lead_min": 120, "steps": [
        {"effect_min": 420, "dose_ng_day": 500000, "shape": "ramp"},
        {"effect_min": 1320, "dose_ng_day": 600000, "shape": "ramp"}]}
    plan = schedule.Plan(schedule.normalise(prog, 2000, pm.model(20)))
    assert plan.rate_ng_day(20 * H) == 500000 and plan.rate_ng_day(22 * H) == 600000   # starts 20:00, full at 22:00
    assert plan.change_windows() == [(5 * H, 7 * H), (20 * H, 22 * H)]
    step = A.time_of_day_programme([("06:30", 400000), ("21:00", 480000)], shape="step")
    assert [s["effect_min"] for s in step["steps"]] == [390, 1260]


def _night():
    return A.night_programme(500000)


@pytest.mark.req("REFILL-PLAN-DATE", "RISK-MARGIN")
def test_refill_visit_is_the_margin_before_the_alarm_date_from_the_exact_schedule():
    prog = _night()
    plan = A.refill_plan(prog, 2000, 10000000, 0)
    # cross-check with the pump itself: same programme, same fill -> same alarm date
    hal = SimHal(start_t_s=0, flash=MemoryFlash())
    ctl = Controller(hal, model_id=20, build="test")
    ctl.boot()
    st = ctl.command("refill_stage", {"withdrawn_nl": 0, "added_nl": 10000000, "conc_ug_ml": 2000}, "clinician")
    ctl.command("refill_commit", {"hash": st["hash"]}, "clinician")
    st = ctl.command("programme_stage", {"programme": prog}, "clinician")
    assert plan["alarm_t_s"] == st["after"]["alarm_t_s"] and plan["empty_t_s"] == st["after"]["empty_t_s"]
    assert plan["visit_t_s"] == plan["alarm_t_s"] - 7 * DAY and not plan["visit_overdue"]
    risky = A.refill_plan(prog, 2000, 10000000, 0, risk=["t6_or_above", "communication"])
    assert risky["margin_days"] == 13 and risky["visit_t_s"] == plan["alarm_t_s"] - 13 * DAY
    late = A.refill_plan(prog, 2000, 2500000, 0)
    assert late["visit_overdue"] and late["visit_t_s"] == 0


@pytest.mark.req("REFILL-PLAN-VOLUME")
def test_volume_for_an_interval_keeps_threshold_and_margin():
    prog = {"mode": "continuous", "dose_ng_day": 500000}                             # 0.25 mL/day at 2000
    need = A.volume_for_interval(prog, 2000, 60)
    assert need == 60 * 250000 + 7 * 250000 + pm.LOW_RES_DEFAULT_NL
    plan = A.refill_plan(prog, 2000, 0, 0, interval_days=60)
    assert plan["fill_nl"] == need and plan["fits"]
    assert not A.refill_plan(prog, 2000, 0, 0, interval_days=80)["fits"]
    assert plan["max_interval_days"] == (20000000 - 2000000) // 250000 - 7


@pytest.mark.req("REFILL-PLAN-CONC")
def test_concentration_choice():
    assert A.choose_concentration({"mode": "continuous", "dose_ng_day": 100000}, 60)["conc_ug_ml"] == 500
    assert A.choose_concentration({"mode": "continuous", "dose_ng_day": 100000}, 90)["conc_ug_ml"] == 2000
    assert A.choose_concentration({"mode": "continuous", "dose_ng_day": 500000}, 90)["conc_ug_ml"] is None
    low = A.choose_concentration({"mode": "continuous", "dose_ng_day": 20000}, 90)
    assert low["dilute"] and low["conc_ug_ml"] < 500
    assert pm.flow_nl_day(20000, low["conc_ug_ml"]) >= pm.model(20)["flow_min_nl_day"]


@pytest.mark.req("REFILL-PLAN-DILUTION")
def test_dilution_instructions():
    d = A.dilution(1000, 20000000)
    assert d["stock_ug_ml"] == 2000 and d["stock_nl"] == 10000000 and d["diluent_nl"] == 10000000
    assert "preservative-free" in d["diluent"] and d["result_ug_ml"] == 1000
    d = A.dilution(250, 18000000)
    assert d["stock_ug_ml"] == 500 and d["stock_nl"] + d["diluent_nl"] == 18000000 and d["result_ug_ml"] == 250
    with pytest.raises(ValueError):
        A.dilution(2500, 1000000)


@pytest.mark.req("HOL-TAPER")
@pytest.mark.parametrize("days", [14, 21, 28])
@pytest.mark.parametrize("start_ng", [100000, 400000, 1200000])
def test_taper_is_gradual_dated_and_never_stops(days, start_ng):
    tp = A.taper(start_ng, "spinal", 1000, days=days, conc_ug_ml=500)
    steps = tp["steps"]
    assert steps[-1]["t_s"] == 1000 + days * DAY and all((s["t_s"] - 1000) % H == 0 for s in steps)
    assert all(s["daily_ng"] % 1000 == 0 for s in steps[:-1])
    assert steps[-1]["daily_ng"] == tp["floor_ng_day"] > 0
    prev = start_ng
    for s in steps:
        assert 0 < s["daily_ng"] < prev and (prev - s["daily_ng"]) * 100 <= 20 * prev
        assert s["programme"] == {"mode": "continuous", "dose_ng_day": s["daily_ng"]}
        prev = s["daily_ng"]
    gaps = [b["t_s"] - a["t_s"] for a, b in zip(steps, steps[1:])]
    assert max(gaps) <= 2 * DAY
    with pytest.raises(ValueError):
        A.taper(start_ng, "spinal", 0, days=7)


@pytest.mark.req("HOL-TAPER", "HOL-RESTART")
def test_taper_and_restart_pass_the_pump():
    hal = SimHal(start_t_s=0, flash=MemoryFlash())
    ctl = Controller(hal, model_id=20, build="test")
    ctl.boot()

    def c(name, **a):
        return ctl.command(name, a, "clinician")

    def prog(p, **extra):
        st = c("programme_stage", programme=p, **extra)
        c("programme_commit", hash=st["hash"])
    st = c("refill_stage", withdrawn_nl=0, added_nl=20000000, conc_ug_ml=500)
    c("refill_commit", hash=st["hash"])
    c("profile_set", profile={"indication": "spinal", "phase": "maintenance", "initial_ng_day": 100000})
    prog({"mode": "continuous", "dose_ng_day": 400000})
    tp = A.taper(400000, "spinal", ctl.t_s, days=21, conc_ug_ml=500)
    for s in tp["steps"]:
        hal.advance_s(s["t_s"] - ctl.now_s())
        prog(s["programme"], **s["stage_args"])
        assert ctl.fsm.state == "infusing"
    assert ctl.daily_ng() == tp["floor_ng_day"]
    hal.advance_s(3 * DAY)
    r = A.restart(ctl.profile, ctl.daily_ng())
    assert r["programme"]["dose_ng_day"] == 100000 and r["stage_args"]["restart"] is True
    prog(r["programme"], **r["stage_args"], override_reason="restart after holiday")
    assert ctl.daily_ng() == 100000 and ctl.initial_programme_t_s == ctl.t_s


@pytest.mark.req("PROF-RISK", "RISK-MARGIN")
def test_risk_banner_and_margin():
    assert A.risk_banner({"risk": []}) == ""
    b = A.risk_banner(clinical.validate_profile({"indication": "spinal", "risk": ["t6_or_above"]}))
    assert b.startswith("WITHDRAWAL RISK") and "T6" in b
    assert A.margin_days([]) < A.margin_days(["communication"]) < A.margin_days(["communication", "t6_or_above"])


def test_assistants_use_the_library_they_are_given(tmp_path):
    text = open(druglib.DEFAULT_PATH).read().replace("margin_days = 7", "margin_days = 10")
    p = tmp_path / "lib.toml"
    p.write_text(text)
    assert A.margin_days([], lib=druglib.load(str(p))) == 10


def _cli(*argv):
    import io
    from pumpctl.cli import main as cli
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(list(argv), stdout=out, stderr=err)
    return rc, out.getvalue(), err.getvalue()


@pytest.mark.req("CLI-VERBS", "FLEX-LEAD", "DL-VERSIONED")
def test_cli_verbs_with_json():
    import json
    rc, out, _ = _cli("night-flex", "--base", "500", "--json")
    assert rc == 0
    d = json.loads(out)
    assert d["programme"] == A.night_programme(500000) and d["daily_ng"] == 537500
    assert d["druglib"]["version"] == druglib.load().version
    rc, out, _ = _cli("screening", "--result", "50:neg", "--result", "75:pos:10", "--json")
    assert rc == 0 and json.loads(out)["next"]["initial_ng_day"] == 75000
    rc, out, _ = _cli("taper", "--daily", "400", "--indication", "spinal", "--days", "21", "--json")
    assert rc == 0 and json.loads(out)["steps"][-1]["daily_ng"] == 24000
    import os
    rx = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "examples", "night_ramp.toml")
    rc, out, _ = _cli("refill-plan", "--prescription", rx, "--reservoir-ml", "18",
                      "--risk", "communication", "--json")
    assert rc == 0 and json.loads(out)["margin_days"] == 10
    rc, out, _ = _cli("dilution", "--target", "1000", "--volume-ml", "20", "--json")
    assert rc == 0 and json.loads(out)["stock_nl"] == 10000000
    rc, out, _ = _cli("concentration", "--daily", "100", "--interval-days", "60", "--json")
    assert rc == 0 and json.loads(out)["conc_ug_ml"] == 500
    rc, out, _ = _cli("initial-dose", "--screening-dose", "50", "--effect-hours", "4", "--json")
    assert rc == 0 and json.loads(out)["initial_ng_day"] == 100000
    rc, out, _ = _cli("druglib", "--json")
    assert rc == 0 and json.loads(out)["profiles"]["spinal"]["hard_max_ng_day"] == 2003000
    rc, out, _ = _cli("night-flex", "--base", "500")
    assert rc == 0 and "change 20:00-22:00" in out


@pytest.mark.req("CLI-VERBS", "HOL-TAPER")
def test_cli_errors_name_the_fix():
    rc, _, err = _cli("taper", "--daily", "400", "--indication", "spinal", "--days", "7")
    assert rc == 2 and "14-28 days" in err
    rc, _, err = _cli("refill-plan", "--reservoir-ml", "10", "--conc", "500")
    assert rc == 2 and "fix:" in err


# --- clinical review gaps (library 1.2.0) ----------------------------------------------------------
@pytest.mark.req("SCR-BARBOTAGE", "SCR-SEQUENCE")
def test_screening_plan_states_barbotage_over_1_min():
    plan = A.screening_plan(start_t_s=1000)
    assert "barbotage" in plan["administer"] and "at least 1 minute" in plan["administer"]
    assert all(s["administer"] == plan["administer"] for s in plan["sequence"])
    assert [s["dose_ng"] for s in plan["sequence"]] == [50000, 75000, 100000] and plan["warnings"] == []
    _, out, _ = _cli("screening")
    assert "barbotage over at least 1 minute" in out


@pytest.mark.req("SCR-BRAIN-INJURY-1Y")
def test_screening_warns_within_a_year_of_a_brain_injury():
    start = 400 * DAY
    year = 365 * DAY
    w = A.screening_plan(start_t_s=start, brain_injury_t_s=start - year + 1)["warnings"]
    assert [x["rule"] for x in w] == ["SCR-BRAIN-INJURY-1Y"] and w[0]["level"] == "warn"
    assert "one year" in w[0]["message"] and w[0]["wait_until_t_s"] == start + 1
    assert A.screening_plan(start_t_s=start, brain_injury_t_s=start - year)["warnings"] == []
    assert A.screening_plan(start_t_s=start)["warnings"] == []                      # no injury date: no finding
    with pytest.raises(ValueError):
        A.screening_plan(start_t_s=start, brain_injury_t_s=start + 1)             # an injury after the screening
    import json
    rc, out, _ = _cli("screening", "--start", "2026-03-01", "--injury-date", "2025-06-01", "--json")
    assert rc == 0 and [x["rule"] for x in json.loads(out)["warnings"]] == ["SCR-BRAIN-INJURY-1Y"]
    rc, out, _ = _cli("screening", "--start", "2026-03-01", "--injury-date", "2025-06-01")
    assert rc == 0 and "WARNING" in out and "2026-06-01" in out
    rc, out, _ = _cli("screening", "--start", "2026-03-01", "--injury-date", "2025-02-28", "--json")
    assert rc == 0 and json.loads(out)["warnings"] == []


@pytest.mark.req("PAED-UNDER-4", "PAED-BODY-MASS")
def test_under_4_warning_in_the_profile_and_screening_assistants():
    u4 = clinical.validate_profile({"indication": "paediatric_u12", "age_group": "under_4"})
    assert [f["rule"] for f in A.profile_findings(u4)] == ["PAED-UNDER-4"]
    assert A.profile_findings(clinical.validate_profile({"indication": "spinal"})) == []
    w = A.screening_plan(small_child=True, age_group="under_4")["warnings"]
    assert [f["rule"] for f in w] == ["PAED-UNDER-4"] and "body mass" in w[0]["message"]
    import json
    rc, out, _ = _cli("screening", "--small-child", "--age-group", "under_4", "--json")
    assert rc == 0 and [f["rule"] for f in json.loads(out)["warnings"]] == ["PAED-UNDER-4"]
    rc, out, _ = _cli("druglib", "--indication", "paediatric_u12", "--age-group", "under_4")
    assert rc == 0 and "WARNING PAED-UNDER-4" in out and "4 years" in out
    rc, out, _ = _cli("druglib", "--indication", "paediatric_u12", "--age-group", "under_4", "--json")
    assert rc == 0 and [f["rule"] for f in json.loads(out)["warnings"]] == ["PAED-UNDER-4"]


@pytest.mark.req("RENAL-INCREASE")
def test_profile_findings_carry_renal_impairment():
    f = A.profile_findings(clinical.validate_profile({"indication": "spinal"}), renal_impairment=True)
    assert [x["rule"] for x in f] == ["RENAL-INCREASE"] and "reduce" in f[0]["message"]


@pytest.mark.req("STORAGE-NOTE")
def test_refill_plan_carries_the_storage_note():
    p = A.refill_plan({"mode": "continuous", "dose_ng_day": 500000}, 2000, 18000000, 0)
    for needle in ("30 °C", "do not freeze", "do not heat sterilize"):
        assert needle in p["storage"], needle
    import json
    rc, out, _ = _cli("refill-plan", "--daily", "500", "--conc", "2000", "--reservoir-ml", "18", "--json")
    assert rc == 0 and json.loads(out)["storage"] == p["storage"]
    rc, out, _ = _cli("refill-plan", "--daily", "500", "--conc", "2000", "--reservoir-ml", "18")
    assert rc == 0 and "storage: store at or below 30 °C" in out and "do not freeze" in out


@pytest.mark.req("OVERDOSE-SIGNS", "OVERDOSE-RESPONSE")
def test_overdose_response_note():
    o = A.overdose_response()
    for sign in ("drowsiness", "respiratory depression", "rostral progression of hypotonia", "coma"):
        assert sign in o["signs"], sign
    assert any("emptying of the pump reservoir" in x for x in o["actions"])
    import json
    rc, out, _ = _cli("druglib", "--overdose")
    assert rc == 0 and "OVERDOSE" in out and "emptying of the pump reservoir" in out and "drowsiness" in out
    rc, out, _ = _cli("druglib", "--overdose", "--json")
    assert rc == 0 and json.loads(out)["overdose"]["signs"] == o["signs"]


def _pump_at(profile, daily_ng):
    hal = SimHal(start_t_s=0, flash=MemoryFlash())
    ctl = Controller(hal, model_id=20, build="test")
    ctl.boot()

    def c(name, **a):
        return ctl.command(name, a, "clinician")
    st = c("refill_stage", withdrawn_nl=0, added_nl=20000000, conc_ug_ml=500)
    c("refill_commit", hash=st["hash"])
    c("profile_set", profile=profile)
    st = c("programme_stage", programme={"mode": "continuous", "dose_ng_day": daily_ng}, override_reason="start")
    c("programme_commit", hash=st["hash"])
    hal.advance_s(2 * DAY)
    return hal, ctl, c


@pytest.mark.req("WITHDRAWAL-RESTORE", "WITHDRAWAL-RESTORE-PUMP")
def test_restart_after_interruption_restores_the_previous_dose():
    r = A.restart_after_interruption(400000)
    assert r["programme"] == {"mode": "continuous", "dose_ng_day": 400000} and r["unchanged"] is False
    assert "at or near the dosage used prior to interruption" in r["note"] and "overdose" in r["note"]
    assert "drowsiness" in r["monitor"]
    same = A.restart_after_interruption(400000, current_ng_day=400000)
    assert same["unchanged"] is True and same["stage_args"] == {}
    with pytest.raises(ValueError):
        A.restart_after_interruption(0)
    with pytest.raises(ValueError):                                            # outside the indication's range
        A.restart_after_interruption(2100000, profile={"indication": "spinal"})
    # the pump restores past the titration caps up to the highest dose of the last 30 days
    prof = {"indication": "spinal", "phase": "maintenance"}
    hal, ctl, c = _pump_at(prof, 400000)
    st = c("programme_stage", programme={"mode": "continuous", "dose_ng_day": 24000},
           override_reason="held at a minimum after catheter repair")
    c("programme_commit", hash=st["hash"])
    hal.advance_s(DAY)
    hist = c("profile_get")["history"]
    r = A.restart_after_interruption(400000, current_ng_day=ctl.daily_ng(), profile=ctl.profile,
                                     restore_ceiling_ng=hist["restore_ceiling_ng"])
    assert r["stage_args"]["restore"] is True and r["stage_args"]["confirm_ratio"] == 400000 * 100 // 24000
    assert [f for f in r["findings"] if f["level"] == "warn"] == []
    st = c("programme_stage", programme=r["programme"], **r["stage_args"])
    c("programme_commit", hash=st["hash"])
    assert ctl.daily_ng() == 400000
    # above what the pump remembers the caps apply: the assistant says so instead of promising a restore
    r = A.restart_after_interruption(600000, current_ng_day=400000, profile=ctl.profile,
                                     restore_ceiling_ng=c("profile_get")["history"]["restore_ceiling_ng"])
    assert "restore" not in r["stage_args"] and [f["rule"] for f in r["findings"]] == ["WITHDRAWAL-RESTORE"]
    rc, out, _ = _cli("withdrawal-restore", "--previous", "400", "--json")
    import json
    assert rc == 0 and json.loads(out)["programme"]["dose_ng_day"] == 400000
    rc, out, _ = _cli("withdrawal-restore", "--previous", "400", "--current", "24")
    assert rc == 0 and "400 mcg/day" in out and "--confirm-ratio 1666" in out
