"""Emulator with the real firmware (firmware/runtime.py + hal_sim.py) on CPython and MicroPython:
pty and TCP clients, restart with --state, events to all clients, tones in the log, power loss.
Prints the median ``status`` round trip over the pty (measured, not asserted).
"""
import io
import json
import os
import statistics

import pytest
from emu_helpers import EmuProc, need_mpy, open_port, read_until, request, status_round_trips

from pumpctl.emulator.server import Emulator

@pytest.mark.parametrize("runtime", ["cpython", pytest.param("micropython", marks=need_mpy)])
def test_real_firmware_hello_status_and_restart(tmp_path, runtime):
    state = str(tmp_path / "state")
    args = ["--state", state, "--runtime", runtime, "--serial", "EMU-T1", "--model", "40"]
    e = EmuProc(*args)
    try:
        with open_port(e.pty) as a:
            hello = request(a, "hello", timeout=30)
            assert hello["ok"], hello
            assert json.dumps(hello["res"])  # plain JSON
        with open_port(e.tcp) as b:
            st = request(b, "status")
            assert st["ok"], st
        with open_port(e.pty) as a:
            rtts = status_round_trips(a)
        print("\n[%s] median status round trip over pty: %.3f ms" % (runtime, statistics.median(rtts) * 1e3))
    finally:
        assert e.stop() == 0
    assert os.listdir(state)  # the flash is on disk
    e = EmuProc(*args)
    try:
        with open_port(e.tcp) as b:
            hello2 = request(b, "hello", timeout=30)
            assert hello2["res"] == hello["res"]
    finally:
        assert e.stop() == 0


@pytest.mark.parametrize("runtime", ["cpython", pytest.param("micropython", marks=need_mpy)])
def test_real_firmware_events_to_all_clients_tones_in_log_and_power_loss(runtime):
    from pumpctl.link.client import PumpClient, PumpTimeout

    import auth
    import battery

    log = io.StringIO()
    with Emulator(log=log, out=io.StringIO(), serial="EMU-T2", runtime=runtime, seed=5) as emu:
        c = PumpClient(emu.pty_path, timeout_s=30)
        other = open_port(emu.tcp_url)
        try:
            assert c.hello()["serial"] == "EMU-T2"
            c.login("service", auth.dev_service_key("EMU-T2"))
            # sim_fault serial_noise reaches the emulator's byte path (1 ppm: practically clean)
            c.request("sim_fault", {"fault": "serial_noise", "ppm": 1})
            assert emu.backend.noise_ppm == 1
            c.request("sim_fault", {"fault": "serial_noise", "ppm": 0})
            assert emu.backend.noise_ppm == 0
            # drain the battery: EOS is a critical alarm (two-tone buzzer, alarm LED) ...
            c.request("sim_fault", {"fault": "battery_drain", "nah": battery.CAPACITY_NAH})
            # ... pushed to every client, not only the one that asked
            ev = read_until(other, lambda o: o.get("ev") == "alarm_raised")
            assert ev["d"] == {"name": "eos", "class": "critical"}
            # a warped week is event-driven
            assert c.request("sim_warp", {"seconds": 7 * 86400})["state"] == "end_of_life"
            # power loss mid-write: no reply, the pump reboots from flash and answers again
            with pytest.raises(PumpTimeout):
                c.request("sim_fault", {"fault": "power_loss"}, timeout_s=1.5)
            assert request(other, "status")["ok"]
        finally:
            other.close()
            c.close()
    text = log.getvalue()
    assert "pump: buzzer critical" in text and "pump: led alarm" in text
    assert "pump: reset after power loss mid-write; booting from flash" in text


def test_clinical_build_and_model_40_reach_the_firmware():
    with Emulator(log=io.StringIO(), out=io.StringIO(), build="clinical", model=40, serial="EMU-C1",
                  no_pty=True) as emu:
        with open_port(emu.tcp_url) as b:
            hello = request(b, "hello")["res"]
            assert (hello["build"], hello["model"], hello["serial"]) == ("clinical", 40, "EMU-C1")
            assert hello["capacity_nl"] == 40000000
            r = request(b, "sim_warp", {"seconds": 60})
            assert not r["ok"] and r["err"]["code"] in ("E_TEST_BUILD_ONLY", "E_AUTH_REQUIRED")
