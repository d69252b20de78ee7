"""Two-step programming and refill, boluses, clock, settings (issues 2 and 3)."""
from pumpkit import make_pump, ready_pump, warp, cmd, refill, state_digest, raises, DAY, NIGHT

CONT = {"mode": "continuous", "dose_ng_day": 500000}


def test_every_protocol_command_has_a_handler():
    import dispatch
    from protocol import COMMANDS, LINK_COMMANDS
    missing = [c for c in COMMANDS if c not in LINK_COMMANDS and c not in dispatch.handlers()]
    assert missing == []


def test_commit_with_a_different_hash_changes_nothing():
    hal, ctl = ready_pump(CONT)
    before = state_digest(ctl)
    st = cmd(ctl, "programme_stage", programme=NIGHT)
    raises("E_HASH_MISMATCH", cmd, ctl, "programme_commit", hash="0" * 16)
    assert state_digest(ctl) == before
    cmd(ctl, "programme_commit", hash=st["hash"])          # the staged programme is still the one on offer
    assert ctl.programme["mode"] == "flex"
    raises("E_NO_STAGED", cmd, ctl, "programme_commit", hash=st["hash"])   # ... and only once


def test_stage_reports_totals_hash_and_forecasts_before_and_after():
    hal, ctl = ready_pump(CONT, fill_nl=10000000)
    st = cmd(ctl, "programme_stage", programme=NIGHT)
    assert st["daily_ng"] == 537500 and st["daily_nl"] == 268750 and st["old_daily_ng"] == 500000
    assert len(st["hash"]) == 16
    assert st["after"]["empty_t_s"] < st["before"]["empty_t_s"]


def test_invalid_programme_leaves_running_therapy_unchanged():
    hal, ctl = ready_pump(CONT)
    d = state_digest(ctl)
    raises("E_DOSE_RANGE", cmd, ctl, "programme_stage", programme={"mode": "continuous", "dose_ng_day": 2500000})
    raises("E_STEP_OVERLAP", cmd, ctl, "programme_stage", programme={"mode": "flex", "steps": [
        {"effect_min": 600, "dose_ng_day": 500000}, {"effect_min": 660, "dose_ng_day": 500000}]})
    assert state_digest(ctl) == d


def test_overfill_is_rejected_and_logged():
    hal, ctl = make_pump()
    raises("E_OVERFILL", cmd, ctl, "refill_stage", withdrawn_nl=0, added_nl=20000001, conc_ug_ml=2000)
    names = [e[2] for e in cmd(ctl, "log_read", first_seq=0, max_n=24)["entries"]]
    assert "fill_rejected" in names
    assert ctl.fill_nl == 0


def test_refill_discrepancy_over_14_5_percent_is_flagged():
    hal, ctl = ready_pump(CONT, fill_nl=10000000)
    warp(hal, ctl, 10 * DAY)
    expected = ctl.reservoir_nl()
    ok = cmd(ctl, "refill_stage", withdrawn_nl=expected * 855 // 1000 + 1, added_nl=20000000)
    assert ok["discrepancy_permille"] == 144 and not ok["discrepancy_flag"]
    bad = cmd(ctl, "refill_stage", withdrawn_nl=expected * 850 // 1000, added_nl=20000000)
    assert bad["discrepancy_flag"]


def test_concentration_change_bridges_pathway_at_the_old_flow():
    hal, ctl = ready_pump(CONT, fill_nl=10000000, conc=500)        # 1 mL/day of 500 mcg/mL
    warp(hal, ctl, DAY)
    st = refill(ctl, 10000000, conc=2000)
    br = st["bridge"]
    assert br["volume_nl"] == 350000 and br["flow_nl_day"] == 1000000
    assert br["duration_s"] == 350000 * 86400 // 1000000
    assert ctl.bolus_kind == "bridge"
    assert ctl.ledger.rate_ng_day(ctl.t_s) * 1000 // 2000 == 1000000    # old volume flow continues
    warp(hal, ctl, br["duration_s"])
    assert ctl.bolus_kind is None
    assert ctl.ledger.rate_ng_day(ctl.t_s) == 500000                     # then the new strength's flow
    assert any(p[0] == "bolus_finished" for p in ctl.pushed)


def test_refill_refuses_a_strength_that_puts_the_programme_outside_flow_range():
    hal, ctl = ready_pump({"mode": "continuous", "dose_ng_day": 50000}, conc=500)
    raises("E_FLOW_RANGE", cmd, ctl, "refill_stage", withdrawn_nl=0, added_nl=1000000, conc_ug_ml=2000)
    raises("E_CONC", cmd, ctl, "refill_stage", withdrawn_nl=0, added_nl=1000000, conc_ug_ml=2001)


def test_clinician_bolus_adds_its_dose_and_pushes_finished_event():
    hal, ctl = ready_pump(CONT)
    v0 = ctl.ledger.volume_nl(ctl.t_s)
    r = cmd(ctl, "bolus", dose_ng=50000, duration_min=10)
    assert ctl.fsm.state == "bolus"
    warp(hal, ctl, 600)
    assert ctl.fsm.state == "infusing"
    added = ctl.ledger.volume_nl(ctl.t_s) - v0 - 500000 * 600 // 86400 * 1000 // 2000
    assert abs(added - 25000) <= 2                                       # 50 mcg at 2000 mcg/mL = 25 uL
    assert ("bolus_finished", {"kind": "single"}, r["end_t_s"]) in ctl.pushed


def test_bolus_refused_when_not_infusing_and_logged():
    hal, ctl = make_pump()
    raises("E_STATE", cmd, ctl, "bolus", dose_ng=50000, duration_min=10)
    assert "bolus_refused" in [e[2] for e in cmd(ctl, "log_read", first_seq=0, max_n=24)["entries"]]


def test_priming_bolus_runs_at_max_rate_then_hands_over():
    hal, ctl = ready_pump(CONT)
    r = cmd(ctl, "bolus", kind="prime")
    assert r["rate_ng_day"] == 24000000 * 2000 // 1000
    warp(hal, ctl, r["end_t_s"] - ctl.t_s)
    assert ctl.fsm.state == "infusing" and ctl.ledger.rate_ng_day(ctl.t_s) == 500000


def test_patient_bolus_lockout_and_24h_maximum_with_refusals_logged():
    hal, ctl = ready_pump(CONT)
    raises("E_STATE", ctl.command, "patient_bolus", {}, "patient")
    cmd(ctl, "settings_set", pb_dose_ng=20000, pb_duration_min=5, pb_lockout_min=180, pb_max_24h=2)
    ctl.command("patient_bolus", {}, "patient")
    warp(hal, ctl, 600)
    raises("E_PATIENT_BOLUS_LOCKOUT", ctl.command, "patient_bolus", {}, "patient")
    warp(hal, ctl, 3 * 3600)
    ctl.command("patient_bolus", {}, "patient")
    warp(hal, ctl, 4 * 3600)
    raises("E_PATIENT_BOLUS_MAX", ctl.command, "patient_bolus", {}, "patient")
    warp(hal, ctl, DAY)
    ctl.command("patient_bolus", {}, "patient")
    names = [e[2] for e in cmd(ctl, "log_read", first_seq=0, max_n=24)["entries"]]
    assert names.count("patient_bolus_refused") == 3 and names.count("patient_bolus") == 3


def test_time_set_does_not_deliver_over_the_jump():
    hal, ctl = ready_pump(CONT)
    v = ctl.ledger.volume_nl(ctl.t_s)
    n = hal.strokes
    cmd(ctl, "time_set", t_s=ctl.t_s + 30 * DAY)
    assert hal.strokes == n and ctl.ledger.volume_nl(ctl.t_s) == v
    warp(hal, ctl, DAY)
    assert abs((hal.strokes - n) - 1000) <= 1


def test_utc_offset_moves_the_schedule_to_local_time():
    hal, ctl = ready_pump(NIGHT)
    cmd(ctl, "settings_set", utc_offset_s=3600)
    local = (ctl.t_s + 3600) % DAY
    assert ctl.ledger.rate_ng_day(ctl.t_s) == ctl.plan.rate_ng_day(local)


def test_low_reservoir_threshold_range():
    hal, ctl = make_pump()
    raises("E_THRESHOLD_RANGE", cmd, ctl, "settings_set", low_res_nl=499999)
    raises("E_THRESHOLD_RANGE", cmd, ctl, "settings_set", low_res_nl=5000001)
    assert cmd(ctl, "settings_set", low_res_nl=500000)["low_res_nl"] == 500000


def test_sim_warp_advances_pump_time_with_delivery():
    hal, ctl = ready_pump(CONT)
    t = ctl.t_s
    r = ctl.command("sim_warp", {"seconds": 7 * DAY}, "service")
    assert r["t_s"] == t + 7 * DAY and ctl.now_s() == t + 7 * DAY
    assert abs(ctl.strokes_fill - 7000) <= 1


def test_state_after_30_days_is_bit_identical_on_every_runtime():
    # The same digest is asserted on CPython and under MicroPython (make test-mpy).
    hal, ctl = ready_pump({"mode": "flex", "lead_min": 90, "steps": [
        {"effect_min": 420, "dose_ng_day": 500000}, {"effect_min": 720, "dose_ng_day": 450000, "shape": "step"},
        {"effect_min": 1320, "dose_ng_day": 600000}],
        "boluses": [{"at_min": 480, "dose_ng": 60000, "duration_min": 30}]})
    for i in range(30):
        warp(hal, ctl, DAY - 17 * i)
        if i == 14:
            refill(ctl, 20000000, conc=1000)
    import binascii
    assert ctl.strokes_total == GOLDEN_STROKES
    assert binascii.hexlify(state_digest(ctl)).decode() == GOLDEN_DIGEST


GOLDEN_STROKES = 49533
GOLDEN_DIGEST = "018bd4f2f61be7432bc027846cf29874f9a187ae31036303a6dda5eb8971b8a1"   # log_seq +3: refill_check, programme_peak x2 (issue 11)


# Requirement ids proven by each test (requirements/requirements.toml; read by tools/trace.py).
REQS = {
    "test_commit_with_a_different_hash_changes_nothing": ["STAGE-COMMIT-HASH"],
    "test_stage_reports_totals_hash_and_forecasts_before_and_after": ["ALM-FORECAST", "REVIEW-DIFF"],
    "test_invalid_programme_leaves_running_therapy_unchanged": ["CORE-REFUSAL-NO-CHANGE"],
    "test_overfill_is_rejected_and_logged": ["CORE-CAPACITY"],
    "test_refill_discrepancy_over_14_5_percent_is_flagged": ["REFILL-DISCREPANCY"],
    "test_concentration_change_bridges_pathway_at_the_old_flow": ["BRIDGE"],
    "test_refill_refuses_a_strength_that_puts_the_programme_outside_flow_range": ["CORE-CONC", "CORE-FLOW-RANGE"],
    "test_priming_bolus_runs_at_max_rate_then_hands_over": ["PRIME"],
    "test_patient_bolus_lockout_and_24h_maximum_with_refusals_logged": ["PB-LOCKOUT-MAX"],
    "test_low_reservoir_threshold_range": ["ALM-LOW-RES-THRESHOLD"],
    "test_time_set_does_not_deliver_over_the_jump": ["CORE-TIME"],
    "test_utc_offset_moves_the_schedule_to_local_time": ["CORE-TIME"],
}


# Where the expected values come from (tools/trace.py, issue 8 "trace honesty"): worked by hand from
# the model sheet (0.2 mL pathway, 0.15 mL default catheter, 1 mL/day at 500 mcg/mL) and the
# patient-bolus settings the test writes (180 min lockout, 2 per 24 h).
ORACLES = {
    "test_concentration_change_bridges_pathway_at_the_old_flow": "spec",
    "test_patient_bolus_lockout_and_24h_maximum_with_refusals_logged": "spec",
}
