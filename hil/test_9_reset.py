"""Test-build factory reset (sim_reset): what the fixture runs before every test on a board.

On the emulators ``Dut.factory_reset()`` goes through the same link, supervisor reboot and
reconnect as on a board, so these scenarios prove the fixture's board path end to end."""
import pytest
from pumpctl.link.client import PumpReplyError

from dut import DAY_S, continuous, start_therapy

CLOCK_SLACK_S = 2  # whole-second pump clock vs the host's measured elapsed time
LOW_RES_DEFAULT_NL = 2000000  # firmware/pumpmodel.py LOW_RES_DEFAULT_NL (labeling: 2 mL)


def assert_factory_fresh(dut, clock_restored):
    st = dut.status()
    assert st["state"] == "stopped" and st["mode"] == "none", st   # fresh boot: no programme
    assert st["reservoir_nl"] == 0 and st["strokes"] == 0 and st["alarms"] == [], st
    assert st["clock_set"] is clock_restored, st   # only the fixture's time_set, if it had to
    assert dut.client.request("programme_get")["programme"] is None
    assert dut.client.request("settings_get")["low_res_nl"] == LOW_RES_DEFAULT_NL
    assert [e[2] for e in dut.log()] == ["boot"] + (["time_set"] if clock_restored else [])


@pytest.mark.needs("reset")
@pytest.mark.req("HIL-KNOWN-STATE")
def test_factory_reset_erases_state_log_and_keys_and_keeps_the_clock(dut):
    """Proves sim_reset returns a used pump to factory state (issue 4, HIL: every test starts
    from a known state): programme, fill, settings, event log and provisioned keys are gone,
    the first event after the reboot is `boot` (clean), only the test build's dev service key
    opens a session, and the pump clock goes on from where it was."""
    start_therapy(dut, continuous(500000), 20000000, 500, midnight=False)
    dut.request("settings_set", {"low_res_nl": 3000000})
    old_clinician_key = dut.keys["clinician"]
    assert len(dut.log()) > 3
    res = dut.factory_reset()
    boot = res["boot"]
    assert boot is not None and boot["seq"] == 1 and boot["d"] == {"state": "stopped", "unclean": False}, boot
    if dut.target.name in ("emu", "mpy"):
        assert not res["clock_restored"], res   # a fresh emulated pump: its RTC ran on through the reboot
    assert res["t_before"] <= res["t_after"] <= res["t_before"] + int(res["elapsed_s"]) + CLOCK_SLACK_S, res
    if not res["clock_restored"]:
        assert boot["t_s"] >= res["t_before"], (boot, res)
    with pytest.raises(PumpReplyError) as e:
        dut.client.login("clinician", old_clinician_key)
    assert e.value.code == "E_AUTH_NO_KEY"
    dut.login("service")   # the dev service key of test builds
    assert_factory_fresh(dut, res["clock_restored"])


@pytest.mark.needs("reset", "warp")
@pytest.mark.req("HIL-KNOWN-STATE")
def test_pump_runs_therapy_again_after_factory_reset_and_a_warped_clock_is_kept(dut):
    """Proves a reset pump is fully usable (keys provisioned again, fill, programme, infusing) and
    that the fixture keeps pump time monotonic: after a day of sim_warp the emulator's RTC is
    behind the pump clock, so the fixture sets the clock back to where it was (as on a board
    whose RTC does not survive a reset)."""
    start_therapy(dut, continuous(500000), 20000000, 500, midnight=False)
    dut.warp(DAY_S)
    res = dut.factory_reset()
    assert res["clock_restored"] and res["t_after"] >= res["t_before"], res
    assert dut.client.request("time_get")["t_s"] >= res["t_before"]
    assert "clinician" not in dut.keys
    st = start_therapy(dut, continuous(400000), 10000000, 500, midnight=False)
    assert st["state"] == "infusing" and st["reservoir_nl"] <= 10000000
    assert st["daily_ng"] == 400000
