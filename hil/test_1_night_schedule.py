"""Scenario 1: the labeling's night-time schedule, ramped 2 h ahead, and the exact daily total."""
import pytest

from dut import DAY_S, start_therapy

CONC_UG_ML = 2000  # supplied strength: "500mcg/mL or 2000mcg/mL" (labeling)
DAY_NG = 500000  # 500 mcg/day: inside "most patients responding adequately to 300-800 mcg daily"
NIGHT_NG = 600000  # "+20 %": "may require a 20% increase in the hourly infusion rate" (labeling)
LEAD_S = 7200  # "programmed to begin approximately 2 hours before the time of desired clinical benefit"
NIGHT = {"mode": "flex", "lead_min": 120, "steps": [
    {"effect_min": 7 * 60, "dose_ng_day": DAY_NG, "shape": "ramp"},  # back at 07:00
    {"effect_min": 22 * 60, "dose_ng_day": NIGHT_NG, "shape": "ramp"}]}  # effective 22:00
STROKE_NL = 250  # pumpmodel.STROKE_NL; checked against hello below


def expected_rate(tod_s):
    """Programmed rate at a local time of day, from the plan above (independent of schedule.py)."""
    up, down = 22 * 3600, 7 * 3600
    if up - LEAD_S <= tod_s < up:
        return DAY_NG + (NIGHT_NG - DAY_NG) * (tod_s - (up - LEAD_S)) // LEAD_S
    if down - LEAD_S <= tod_s < down:
        return NIGHT_NG - (NIGHT_NG - DAY_NG) * (tod_s - (down - LEAD_S)) // LEAD_S
    return DAY_NG if down <= tod_s < up - LEAD_S else NIGHT_NG


# Daily total by hand: 5 h at 600, 2 h ramp (mean 550), 13 h at 500, 2 h ramp (550), 2 h at 600 mcg/day.
DAILY_NG = (5 * NIGHT_NG + 2 * 550000 + 13 * DAY_NG + 2 * 550000 + 2 * NIGHT_NG) // 24  # 537 500 ng
DAILY_NL = DAILY_NG * 1000 // CONC_UG_ML  # design.md: nl = ng * 1000 / conc_ug_ml -> 268 750 nL


@pytest.mark.needs("warp")
@pytest.mark.req("issue2:2h-ramp", "issue2:daily-total", "issue2:1-stroke-bound")
def test_night_schedule_rates_and_24h_volume(dut):
    """Proves the 2-hour pre-programmed ramp (issue 2, "Schedules and modes"): a +20 % night rate
    effective 22:00 starts its linear ramp at 20:00 (rate at 19:59, 20:00, 21:00, 22:00), and the
    volume delivered over 24 h equals the programmed daily total within one stroke."""
    assert dut.info["stroke_nl"] == STROKE_NL
    st0 = start_therapy(dut, NIGHT, 20000000, CONC_UG_ML)
    midnight = st0["t_s"] - st0["t_s"] % DAY_S
    assert st0["daily_ng"] == DAILY_NG
    assert dut.client.request("programme_get")["daily_nl"] == DAILY_NL

    for hh, mm in ((19, 59), (20, 0), (21, 0), (22, 0)):
        dut.warp_to(midnight + hh * 3600 + mm * 60)
        st = dut.status()
        tod = st["t_s"] % DAY_S
        assert 0 <= tod - (hh * 3600 + mm * 60) < 5, "warp landed at %d s of day" % tod
        assert abs(st["rate_ng_day"] - expected_rate(tod)) <= 1, (hh, mm, st["rate_ng_day"], expected_rate(tod))
    assert expected_rate(19 * 3600 + 59 * 60) == DAY_NG and expected_rate(21 * 3600) == 550000

    # 24 h of delivery from a stroke-counter reading: the exact volume within one stroke. The host
    # cannot stop the pump clock between the two readings, so the seconds past 24 h are allowed
    # at the highest rate of the plan.
    a = dut.status()
    dut.warp(DAY_S)
    b = dut.status()
    extra_s = b["t_s"] - a["t_s"] - DAY_S
    assert 0 <= extra_s < 30
    delivered_nl = (b["strokes"] - a["strokes"]) * STROKE_NL
    slack_nl = STROKE_NL + -(-extra_s * NIGHT_NG * 1000 // CONC_UG_ML // DAY_S)
    assert DAILY_NL - STROKE_NL <= delivered_nl <= DAILY_NL + slack_nl, (delivered_nl, DAILY_NL, extra_s)
