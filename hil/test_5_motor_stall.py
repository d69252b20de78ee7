"""Scenario 5: a motor stall raises the critical alarm and stops; only a clinician clears it."""
import pytest

from dut import continuous, start_therapy



def stall(dut):
    """Therapy at 1 mL/day (4 000 strokes/day, one every 21.6 s), then one stroke stalls."""
    start_therapy(dut, continuous(500000), 20000000, 500)
    dut.warp(600)
    before = dut.status()["strokes"]
    assert before > 0
    dut.fault("motor_stall", count=1)
    dut.warp(60)
    ev = dut.expect_event("alarm_raised", name="motor_stall")
    return before, ev


@pytest.mark.needs("warp", "faults")
@pytest.mark.req("issue2:motor-stall")
def test_motor_stall_stops_the_motor(dut):
    """Proves "the HAL reports a stroke that did not complete; the core raises the critical alarm
    and stops" (issue 2, "Alarms and battery"): after the stall the motor makes no stroke until
    the alarm is cleared - the stalled strokes are not re-issued (a bug this scenario found,
    fixed in 10929ae)."""
    before, _ = stall(dut)
    st = dut.status()
    assert st["state"] == "alarm_stopped" and "motor_stall" in st["alarms"], st
    assert st["strokes"] == before, "motor driven in alarm_stopped: %d strokes after the stall" % (
        st["strokes"] - before)
    dut.warp(3600)
    assert dut.status()["strokes"] == before


@pytest.mark.needs("warp", "faults")
@pytest.mark.req("issue2:motor-stall", "issue2:alarms-latch")
def test_motor_stall_critical_alarm_latches_until_clinician_clears(dut):
    """Proves the stall alarm path (issue 2, "Alarms and battery"): a stroke that does not complete
    raises motor_stall, a critical (two-tone) alarm, and delivery stops (alarm_stopped; no strokes
    over the next hour); "alarms latch until cleared by a clinician command": no session, the
    patient and the service role are refused, the clinician clears it, and therapy resumes."""
    _, ev = stall(dut)
    st = dut.status()
    assert st["state"] == "alarm_stopped" and "motor_stall" in st["alarms"], st
    stopped = st["strokes"]
    dut.warp(3600)
    assert dut.status()["strokes"] == stopped  # stopped: no further strokes
    names = [e[2] for e in dut.log()]
    assert "stall" in names and "stop" in names
    if getattr(dut.target, "log_path", None):  # emulators log the HAL's buzzer (hal_sim.SimHal.buzzer)
        with open(dut.target.log_path) as f:
            assert "pump: buzzer critical" in f.read()

    assert dut.refused("alarms_clear", {"names": ["motor_stall"]}, role=None) == "E_AUTH_REQUIRED"
    assert dut.refused("alarms_clear", {"names": ["motor_stall"]}, role="patient") == "E_ROLE"
    assert dut.refused("alarms_clear", {"names": ["motor_stall"]}, role="service") == "E_ROLE"
    assert dut.status()["state"] == "alarm_stopped"
    res = dut.request("alarms_clear", {"names": ["motor_stall"]}, role="clinician")
    assert res["cleared"] == ["motor_stall"] and res["state"] == "infusing", res
    dut.warp(3600)
    st = dut.status()
    assert st["alarms"] == [] and st["strokes"] > stopped  # therapy resumed
    assert ev["t_s"] <= st["t_s"]
