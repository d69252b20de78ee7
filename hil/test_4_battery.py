"""Scenario 4: battery elective replacement indicator, then end of service 90 days later."""
import pytest

from dut import DAY_S, continuous, start_therapy

ERI_LIFE_S = 90 * DAY_S  # ERI "when the remaining life at current consumption falls under 90 days" (issue 2)
EOS_AFTER_ERI_S = 90 * DAY_S  # "EOS (delivery stops, critical) 90 days after ERI or at depletion" (issue 2)
TICK_S = 1


@pytest.mark.needs("warp", "faults")
@pytest.mark.req("issue2:battery-eri-eos")
def test_eri_then_eos_90_days_later_stops_delivery(dut):
    """Proves the battery model's end of life (issue 2, "Alarms and battery"): with the cell
    drained to ~100 days of life, ERI (non-critical, therapy continues) is raised when the
    remaining life falls under 90 days, and EOS follows 90 days later (or at depletion, if
    sooner), stops delivery for good and refuses reprogramming."""
    # 100 mcg/day at 2000 mcg/mL: 0.05 mL/day, so 20 mL outlast the battery (no reservoir alarms)
    start_therapy(dut, continuous(100000), 20000000, 2000)
    st = dut.status()
    # drain (test-build fault) so that ~100 days of life remain at the current consumption
    keep_nah = st["battery_nah"] * (100 * DAY_S) // st["battery_life_s"]
    dut.fault("battery_drain", nah=st["battery_nah"] - keep_nah)
    st = dut.status()
    assert 99 * DAY_S <= st["battery_life_s"] <= 101 * DAY_S, st
    assert st["alarms"] == []
    eri_due = st["eri_due_t_s"]
    assert 9 * DAY_S <= eri_due - st["t_s"] <= 11 * DAY_S, st

    dut.warp_to(eri_due - 3)
    assert dut.events("alarm_raised") == []
    dut.warp(10)
    ev = dut.expect_event("alarm_raised", name="eri")
    assert abs(ev["t_s"] - eri_due) <= TICK_S
    st = dut.status()
    assert st["state"] == "infusing" and st["alarms"] == ["eri"]  # ERI is non-critical
    eri_t = st["eri_t_s"]
    assert abs(eri_t - eri_due) <= TICK_S
    eos_t = st["eos_t_s"]
    # 90 days after ERI, or depletion if that comes first (our own requests cost charge too)
    assert EOS_AFTER_ERI_S - 2 * DAY_S <= eos_t - eri_t <= EOS_AFTER_ERI_S, (eri_t, eos_t)

    dut.warp_to(eos_t - 3)
    assert dut.events("alarm_raised") == []
    assert dut.status()["state"] == "infusing"
    dut.warp(10)
    ev = dut.expect_event("alarm_raised", name="eos")
    assert abs(ev["t_s"] - eos_t) <= TICK_S
    st = dut.status()
    assert st["state"] == "end_of_life" and "eos" in st["alarms"]
    strokes = st["strokes"]
    dut.warp(DAY_S)
    assert dut.status()["strokes"] == strokes  # delivery stopped
    assert dut.refused("programme_stage", {"programme": continuous(500000)}) == "E_STATE"
    assert dut.request("alarms_clear", {"names": ["eos"]})["kept"] == ["eos"]
    names = [e[2] for e in dut.log()]
    assert "eri" in names and "eos" in names and names.index("eri") < names.index("eos")
