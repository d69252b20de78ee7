"""Scenario 3: low-reservoir alarm at the forecast alarm date; empty alarm stops at the empty date."""
import pytest

from dut import DAY_S, continuous, start_therapy

TICK_S = 1  # the controller's time resolution: whole pump seconds (design.md "Units")
LOW_RES_NL = 2000000  # default low-reservoir threshold 2.0 mL (issue 2)
STROKE_NL = 250


@pytest.mark.needs("warp")
@pytest.mark.req("issue2:forecasts", "issue2:critical-alarm-stops")
def test_low_reservoir_at_alarm_date_and_empty_stops_at_empty_date(dut):
    """Proves the forecasts (issue 2, "Alarms and battery"): the low-reservoir alarm fires at the
    forecast alarm date (within one control tick) and the reservoir-empty alarm at the forecast
    empty date, where delivery stops (critical alarm, alarm_stopped, no more strokes)."""
    st = start_therapy(dut, continuous(500000), 5000000, 500)  # 5 mL at 1 mL/day
    alarm_t, empty_t = st["alarm_t_s"], st["empty_t_s"]
    # forecast from the exact schedule: 3 mL and 5 mL at 1 mL/day (1 000 000 nL per 86 400 s)
    assert abs(alarm_t - (st["t_s"] + 3 * DAY_S)) <= 2 and abs(empty_t - (st["t_s"] + 5 * DAY_S)) <= 2

    dut.warp_to(alarm_t - 3)
    assert dut.events("alarm_raised") == []
    dut.warp(10)
    ev = dut.expect_event("alarm_raised", name="low_reservoir")
    assert abs(ev["t_s"] - alarm_t) <= TICK_S, (ev, alarm_t)
    st = dut.status()
    assert st["state"] == "infusing" and st["alarms"] == ["low_reservoir"]  # non-critical: therapy goes on
    assert st["empty_t_s"] == empty_t  # the forecast holds

    dut.warp_to(empty_t - 3)
    assert dut.events("alarm_raised") == []
    assert dut.status()["state"] == "infusing"
    dut.warp(10)
    ev = dut.expect_event("alarm_raised", name="reservoir_empty")
    assert abs(ev["t_s"] - empty_t) <= TICK_S, (ev, empty_t)
    st = dut.status()
    assert st["state"] == "alarm_stopped"
    assert st["reservoir_nl"] == 0
    assert st["strokes"] == 5000000 // STROKE_NL  # the whole fill, not a stroke more
    dut.warp(DAY_S)
    assert dut.status()["strokes"] == st["strokes"]  # delivery stopped
    # the alarm cannot be cleared while its cause persists
    res = dut.request("alarms_clear", {"names": ["reservoir_empty"]})
    assert res["kept"] == ["reservoir_empty"] and res["state"] == "alarm_stopped"
    names = [e[2] for e in dut.log()]
    assert names.count("alarm_raised") >= 2
