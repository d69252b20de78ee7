"""Scenario 8: patient bolus within the clinician's lockout and 24-hour maximum; refusals logged."""
import pytest

from dut import DAY_S, continuous, start_therapy

PB = {"pb_dose_ng": 50000, "pb_duration_min": 10, "pb_lockout_min": 180, "pb_max_24h": 3}
LOCKOUT_S = PB["pb_lockout_min"] * 60
REFUSED_LOCKOUT, REFUSED_MAX = 1, 2  # commands.patient_bolus: patient_bolus_refused `a` field


def refusals(dut, since_seq):
    return [e for e in dut.log(since_seq) if e[2] == "patient_bolus_refused"]


@pytest.mark.needs("warp")
@pytest.mark.req("issue5:patient-bolus")
def test_patient_bolus_lockout_and_24h_maximum(dut):
    """Proves patient-activated boluses stay inside the clinician's limits: a second request within
    the lockout interval and a fourth within 24 h (maximum 3) are refused with their own errors and
    logged; each accepted bolus runs its duration and ends; once the first bolus is 24 h old a
    new one is allowed again."""
    start_therapy(dut, continuous(500000), 20000000, 2000)
    dut.request("settings_set", PB)
    seq0 = dut.log()[-1][0]
    given = []

    def bolus_ok():
        res = dut.request("patient_bolus", {})
        assert res["kind"] == "patient" and res["dose_ng"] == PB["pb_dose_ng"], res
        given.append(res["end_t_s"] - PB["pb_duration_min"] * 60)
        dut.warp(PB["pb_duration_min"] * 60 + 5)
        dut.expect_event("bolus_finished", kind="patient")
        assert dut.status()["state"] == "infusing"

    bolus_ok()
    assert dut.refused("patient_bolus") == "E_PATIENT_BOLUS_LOCKOUT"  # 10 min into a 180-min lockout
    dut.warp_to(given[0] + LOCKOUT_S - 5)
    assert dut.refused("patient_bolus") == "E_PATIENT_BOLUS_LOCKOUT"  # just before the lockout ends
    dut.warp_to(given[0] + LOCKOUT_S + 1)
    bolus_ok()
    dut.warp_to(given[1] + LOCKOUT_S + 1)
    bolus_ok()
    dut.warp_to(given[2] + LOCKOUT_S + 1)
    assert dut.refused("patient_bolus") == "E_PATIENT_BOLUS_MAX"  # 3 in the last 24 h
    dut.warp_to(given[0] + DAY_S - 5)
    assert dut.refused("patient_bolus") == "E_PATIENT_BOLUS_MAX"  # the first is not yet 24 h old
    dut.warp_to(given[0] + DAY_S + 1)
    bolus_ok()  # the first has left the 24-hour window

    refused = refusals(dut, seq0)
    assert [e[3] for e in refused] == [REFUSED_LOCKOUT, REFUSED_LOCKOUT, REFUSED_MAX, REFUSED_MAX], refused
    accepted = [e for e in dut.log(seq0) if e[2] == "patient_bolus"]
    assert len(accepted) == 4
    assert [e[1] for e in accepted] == given
