"""Twin-only scenarios (issue 9): the plant is the oracle where it knows better than the pump.

Run with ``pytest hil --target twin``; other targets skip (no plant). Expected values come from
the plant's own records (strokes CSV, side-channel log), never from the pump's replies."""
import time

import pytest

from dut import DAY_S, continuous, protocol, start_therapy

STROKE_NL = 250  # mechanism nominal displacement (pumpctl/twin/config.py MECHANISM)


@pytest.fixture
def twin(dut):
    if dut.target.name != "twin":
        pytest.skip("board twin only: needs the plant's side channel (--target twin)")
    return dut.target.twin


def wait_for(pred, deadline_s=30.0):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("condition not met within %s s" % deadline_s)


@pytest.mark.needs("warp")
@pytest.mark.req("TWIN-PLANT-ORACLE")
def test_plant_delivered_volume_matches_the_programme_and_the_pump(dut, twin):
    """Proves delivery through the real pins: a day of 1 mL/day (500 mcg/day at 500 mcg/mL, the
    label's arithmetic: 1 000 000 nL/day) makes the plant move 4000 strokes of 250 nL (error 0),
    and the pump's stroke count agrees with the plant's."""
    start_therapy(dut, continuous(500000), 20000000, 500)
    s0 = twin.truth()
    dut.warp(DAY_S)
    s1 = twin.truth()
    moved = s1["delivered_nl"] - s0["delivered_nl"]
    assert 1000000 - STROKE_NL <= moved <= 1000000 + 2 * STROKE_NL, moved
    assert dut.status()["strokes"] == s1["strokes"]
    assert s1["reservoir_nl"] == 20000000 - s1["delivered_nl"]


@pytest.mark.needs("warp", "power_cycle")
@pytest.mark.req("TWIN-ESTIMATE-LOW")
def test_after_power_cuts_the_pump_estimate_is_never_above_the_plant_truth(dut, twin):
    """Proves "the reservoir estimate must err low" against the physical reservoir: after each of
    three power cuts mid-infusion (no RTC on a Pico: the pump assumes a checkpoint of delivery),
    the pump's reservoir estimate is at or below what the plant really holds."""
    start_therapy(dut, continuous(500000), 20000000, 500)
    for _ in range(3):
        dut.warp(DAY_S // 2 + 777)
        dut.power_cycle()
        st = dut.status()
        truth = twin.truth()
        assert st["reservoir_nl"] <= truth["reservoir_nl"], (st["reservoir_nl"], truth["reservoir_nl"])
        assert st["state"] == "infusing", st


@pytest.mark.needs("warp")
@pytest.mark.req("TWIN-WDT")
def test_watchdog_resets_a_hung_pump_and_therapy_resumes(dut, twin):
    """Proves the hardware watchdog path of main.py: when the firmware stops feeding the WDT (the
    twin hangs the CPU), the twin resets after the 8 s timeout with reset cause WDT, flash kept,
    and the pump boots again into the same therapy (reset logged)."""
    start_therapy(dut, continuous(500000), 20000000, 500)
    dut.warp(3600)
    boots = twin.truth()["boots"]
    twin.control("hang")
    wait_for(lambda: twin.truth()["boots"] > boots, 60 + 10 / twin.speed)
    resets = twin.truth()["resets"]
    assert resets and resets[-1]["reset"] == "wdt_timeout", resets
    dut.reconnect()
    assert dut.status()["state"] == "infusing"
    assert "reset_unclean" in [e[2] for e in dut.log()]


@pytest.mark.needs("warp")
@pytest.mark.req("TWIN-USB-NOT-DRAINED")
def test_a_host_that_does_not_read_never_stalls_delivery_or_the_watchdog(dut, twin):
    """Proves the USB line cannot stall therapy: nobody drains the twin's USB output while the
    host keeps sending requests (500 status requests, ~300 KB of replies: far more than the
    pty's buffer); the pump keeps stroking (plant strokes go up), no reset happens, and once the
    host reads again the pump answers. (On rp2 a CDC write to a host that does not read is
    dropped after a timeout; the twin's stdout is non-blocking: a full line drops the write.)"""
    start_therapy(dut, continuous(1000000), 20000000, 50)   # 20 mL/day: a stroke every 1.08 s
    boots = twin.truth()["boots"]
    twin.usb_hold(True)
    try:
        frame = protocol.encode({"id": 1, "cmd": "hello"})
        for _ in range(500):
            dut.client.send_raw(frame)
        s0 = twin.truth()["strokes"]
        wait_for(lambda: twin.truth()["strokes"] >= s0 + 3, 60)
    finally:
        twin.usb_hold(False)
    assert twin.truth()["boots"] == boots
    dut.reconnect()
    assert dut.status()["state"] == "infusing"


@pytest.mark.needs("faults")
@pytest.mark.req("TWIN-TONES")
def test_stall_alarm_is_heard_as_the_documented_two_tone_pattern(dut, twin):
    """Proves the critical alarm sound as heard (plant PWM records): a blocked mechanism asserts
    the stall line, the pump raises motor_stall, and the buzzer plays high/low alternating tones
    at 880/660 Hz, 50 % duty (hal_pico TONES; IEC 60601-1-8 two-tone)."""
    start_therapy(dut, continuous(1000000), 20000000, 50)
    twin.control_sync("block", True)
    dut.expect_event("alarm_raised", 120, name="motor_stall")
    wait_for(lambda: any(n == "critical" for _, n in twin.heard()), 60)
    tones = [(f, d) for _, f, d in twin.truth()["tones"] if d]
    assert (880, 32768) in tones and (660, 32768) in tones, tones


@pytest.mark.timeout(300)
@pytest.mark.req("TWIN-POWER-CUT")
def test_power_cuts_at_littlefs_block_operations_sample(hil_target, tmp_path):
    """Proves power-cut safety at the flash's own granularity (littlefs power-loss model): a
    bounded, seeded sample of cut points over the boot-recovery and delivery writes (`make
    twin-cuts` tries >= 1000): after each cut the pump answers, stays in therapy (or raises its
    memory alarm), its reservoir estimate is at or below the plant's, and no program hit unerased
    flash."""
    if hil_target[0] != "twin":
        pytest.skip("board twin only (--target twin)")
    import os
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "twin"))
    import cuts

    assert cuts.main(["--count", "8", "--seed", "9"]) == 0
