"""Bolus refusals and alarm clearing the mutation run found unchecked (issue 8, docs/mutation/).
Oracles: the label's volume arithmetic (ng * 1000 / (mcg/mL) = nL) against the fill the test
chose, docs/protocol.md's event table (alarm_cleared carries the alarm name), and the LED states
docs/board.md documents ("alarm" while any alarm is active, "ok" otherwise)."""
from pumpkit import ready_pump, cmd, warp, raises

REQS = {
    "test_a_bolus_larger_than_the_reservoir_is_refused_and_one_that_fits_exactly_is_not": ["CORE-BOLUS-LIMIT"],
    "test_clearing_an_alarm_announces_it_and_the_led_goes_back_to_ok": ["ALM-LATCH-SILENCE"],
}
CONT = {"mode": "continuous", "dose_ng_day": 100000}


def test_a_bolus_larger_than_the_reservoir_is_refused_and_one_that_fits_exactly_is_not():
    """Fill 0.1 mL of 2000 mcg/mL; after the programme starts, the reservoir holds R nL. A bolus
    of R nL (R * 2000 / 1000 ng) fits exactly; one of R + 1 nL worth does not (E_VOLUME naming
    both volumes), whatever the rate."""
    hal, ctl = ready_pump(CONT, fill_nl=100000, conc=2000)
    r = cmd(ctl, "status")["reservoir_nl"]
    assert r % 1 == 0 and 0 < r <= 100000
    e = raises("E_VOLUME", cmd, ctl, "bolus", dose_ng=(r + 1) * 2, duration_min=60)
    assert "needs %d nL" % (r + 1) in e.detail and "has %d" % r in e.detail, e.detail
    assert cmd(ctl, "bolus", dose_ng=r * 2, duration_min=60)["kind"] == "single"


def test_clearing_an_alarm_announces_it_and_the_led_goes_back_to_ok():
    hal, ctl = ready_pump(CONT)
    hal.inject("motor_stall", 1)
    warp(hal, ctl, 1200)      # 100 mcg/day at 2000 mcg/mL: a stroke every 432 s
    assert "motor_stall" in ctl.alarms.active
    hal.led("alarm")          # what the board's service loop shows while the alarm is latched
    ctl.pushed = []
    cmd(ctl, "alarms_clear")
    assert ("alarm_cleared", {"name": "motor_stall"}) in [p[:2] for p in ctl.pushed]
    assert hal.led_state == "ok" and hal.tones[-1][1] == "off"
