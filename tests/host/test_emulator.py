"""Emulator tests: real pty and TCP clients (pyserial), restart with --state, MicroPython runtime.

Two layers:
* the front end + glue against a tiny stub firmware (STUB_* below, same interface as
  firmware/runtime.py + hal_sim.py) so the transport is tested on its own;
* the real firmware: test_emulator_firmware.py.
No timing assertions: every wait has a generous deadline and only bounds a hang.
"""
import importlib.util
import io
import os
import shutil
import signal
import time

import pytest
from emu_helpers import FIRMWARE, EmuProc, need_mpy, open_port, protocol, read_until, request

from pumpctl.emulator.backend import LocalBackend, is_event
from pumpctl.emulator.server import Emulator
from pumpctl.emulator.vclock import VClock


# ---- stub firmware (runs on CPython and MicroPython) -----------------------------------
STUB_RUNTIME = '''
from protocol import Decoder, FrameError, encode, event_obj, reply_err, reply_ok


class PumpRuntime:
    def __init__(self, hal, model_id=20, serial="SIM00001", build="test"):
        self.hal = hal
        self.model = model_id
        self.serial = serial
        self.build = build
        self.dec = Decoder()
        self.seq = 0
        self.next_s = 0
        self.boots = 0

    def _ev(self, ev, d):
        self.seq += 1
        return encode(event_obj(ev, self.seq, self.hal.monotonic_s(), d))

    def boot(self):
        b = self.hal.flash.read("boots")
        self.boots = (int(b) if b else 0) + 1
        self.hal.flash.write("boots", str(self.boots).encode())
        self.hal.led("ok")
        self.next_s = self.hal.monotonic_s() + 10
        return self._ev("boot", {"boots": self.boots})

    def feed(self, data):
        out = []
        for item in self.dec.feed(data):
            if isinstance(item, FrameError):
                out.append(encode(reply_err(None, item.code)))
                continue
            cmd = item.get("cmd")
            args = item.get("args", {})
            res = {}
            if cmd == "hello":
                res = {"model": self.model, "serial": self.serial, "build": self.build,
                       "boots": self.boots}
            elif cmd == "status":
                res = {"t_s": self.hal.monotonic_s(), "boots": self.boots}
            elif cmd == "crash":
                raise KeyError("stub bug")
            elif cmd == "poke":
                out.append(self._ev("poked", {}))
            elif cmd == "sim_fault":
                kind = args.get("kind")
                if kind == "serial_noise":
                    self.hal.inject("serial_noise", args.get("ppm", 0))
                elif kind == "buzz":
                    self.hal.buzzer("test")
                elif kind == "power_loss":
                    self.hal.flash.tear_next_write_after = 1
                    self.hal.flash.write("boots", b"41")
            else:
                out.append(encode(reply_err(item.get("id"), "E_UNKNOWN_CMD")))
                continue
            out.append(encode(reply_ok(item.get("id"), res)))
        return b"".join(out)

    def tick(self):
        if self.hal.monotonic_s() >= self.next_s:
            self.next_s += 10
            return self._ev("beat", {})
        return b""

    def next_due_s(self):
        return self.next_s
'''

STUB_HAL = '''
class SimHal:
    def __init__(self, start_t_s=0, flash=None, seed=1, rtc=True, on_output=None):
        self.flash = flash
        self.mono_s = 0
        self.noise_ppm = 0
        self.on_output = on_output

    def monotonic_s(self):
        return self.mono_s

    def set_monotonic_s(self, s):
        if s > self.mono_s:
            self.mono_s = s

    def buzzer(self, pattern):
        self.on_output("buzzer", pattern)

    def led(self, state):
        self.on_output("led", state)

    def inject(self, fault, n):
        if fault == "serial_noise":
            self.noise_ppm = n
'''


@pytest.fixture(scope="module")
def stub_fw(tmp_path_factory):
    d = tmp_path_factory.mktemp("stubfw")
    for name in ("compat.py", "protocol.py", "jsonstrict.py", "flash.py"):
        shutil.copy(os.path.join(FIRMWARE, name), str(d / name))
    (d / "runtime.py").write_text(STUB_RUNTIME)
    (d / "hal_sim.py").write_text(STUB_HAL)
    return str(d)


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def stub_backend_factory(stub_dir):
    import flash

    rt = _load(os.path.join(stub_dir, "runtime.py"), "emu_stub_runtime")
    hal = _load(os.path.join(stub_dir, "hal_sim.py"), "emu_stub_hal_sim")
    return lambda opts: LocalBackend(opts, modules=(rt, hal, flash))


# ---- virtual clock -------------------------------------------------------------------------
def test_vclock_scales_real_time_and_never_goes_back():
    t = [100.0]
    c = VClock(speed=60, time_fn=lambda: t[0])
    assert c.now_s() == 0
    t[0] += 1.5
    assert c.now_s() == 90
    assert c.real_delay_until(120) == pytest.approx(0.5)
    assert c.real_delay_until(10) == 0.0
    t[0] -= 1.0  # a misbehaving time source must not move pump time back
    assert c.now_s() == 90
    t[0] += 1.0
    c.set_speed(1)
    t[0] += 2.0
    assert c.now_s() == 92


def test_vclock_rejects_bad_speed():
    with pytest.raises(ValueError):
        VClock(speed=0)


def test_event_classification():
    assert is_event(protocol.encode(protocol.event_obj("alarm", 3, 10, {})))
    assert not is_event(protocol.encode(protocol.reply_ok(1, {"ev": 1})))
    assert not is_event(b"garbage\n")


# ---- front end against the stub firmware, in-process --------------------------------------------
def test_inprocess_pty_and_tcp_hello_events_and_reconnect(stub_fw, tmp_path):
    log = io.StringIO()
    emu = Emulator(backend_factory=stub_backend_factory(stub_fw), log=log, out=io.StringIO(),
                   state=str(tmp_path / "st"), serial="SN123", model=40, speed=20)
    with emu:
        assert emu.pty_path.startswith("/dev/") and emu.tcp_url.startswith("socket://127.0.0.1:")
        with open_port(emu.pty_path) as a, open_port(emu.tcp_url) as b:
            ra = request(a, "hello")
            rb = request(b, "hello")
            assert ra["ok"] and ra["res"]["serial"] == "SN123" and ra["res"]["model"] == 40
            assert rb["res"] == ra["res"]
            # a reply goes to the asker only; an event caused by a request goes to everyone
            request(b, "poke")
            assert read_until(a, lambda o: o.get("ev") == "poked")["seq"] >= 1
            # ticks push events (stub: every 10 pump s; speed 20 -> every 0.5 s) to all clients
            read_until(a, lambda o: o.get("ev") == "beat")
            read_until(b, lambda o: o.get("ev") == "beat")
            # garbage is answered with an error naming it, and the link still works
            b.write(b"this is not a frame\n")
            assert read_until(b, lambda o: "err" in o)["err"]["code"] == "E_FRAME_NO_CRC"
            # split writes are reassembled per client
            frame = protocol.encode({"id": 777, "cmd": "status", "args": {}})
            b.write(frame[:7])
            b.flush()
            time.sleep(0.05)
            b.write(frame[7:])
            assert read_until(b, lambda o: o.get("id") == 777)["ok"]
        # disconnect both, reconnect both
        with open_port(emu.pty_path) as a, open_port(emu.tcp_url) as b:
            assert request(a, "status")["ok"]
            assert request(b, "status")["ok"]
            request(b, "sim_fault", {"kind": "buzz"})
    text = log.getvalue()
    assert "pump: led ok" in text and "pump: buzzer test" in text
    assert "client disconnected" in text


def test_speed_scales_the_pump_clock(stub_fw):
    with Emulator(backend_factory=stub_backend_factory(stub_fw), log=io.StringIO(), out=io.StringIO(),
                  no_pty=True, speed=1000) as emu:
        with open_port(emu.tcp_url) as b:
            t1 = request(b, "status")["res"]["t_s"]
            time.sleep(0.5)
            t2 = request(b, "status")["res"]["t_s"]
    assert t2 - t1 >= 400  # >= 0.5 real s x 1000 (floor); a lower bound only, no upper timing bound


def test_inprocess_power_loss_reboots_from_flash(stub_fw):
    log = io.StringIO()
    with Emulator(backend_factory=stub_backend_factory(stub_fw), log=log, out=io.StringIO(), no_pty=True) as emu:
        with open_port(emu.tcp_url) as b:
            assert request(b, "hello")["res"]["boots"] == 1
            # the pump dies mid-request: no reply, but it reboots and announces itself
            b.write(protocol.encode({"id": 99, "cmd": "sim_fault", "args": {"kind": "power_loss"}}))
            read_until(b, lambda o: o.get("ev") == "boot")
            assert request(b, "hello")["res"]["boots"] == 5  # torn write of "41" left "4"; reboot adds 1
    assert "pump: reset after power loss mid-write; booting from flash" in log.getvalue()


def test_firmware_exception_is_a_watchdog_reset_not_an_emulator_crash(stub_fw):
    log = io.StringIO()
    with Emulator(backend_factory=stub_backend_factory(stub_fw), log=log, out=io.StringIO(), no_pty=True) as emu:
        with open_port(emu.tcp_url) as b:
            b.write(protocol.encode({"id": 98, "cmd": "crash", "args": {}}))
            read_until(b, lambda o: o.get("ev") == "boot")
            assert request(b, "hello")["res"]["boots"] == 2
    text = log.getvalue()
    assert "pump: reset by watchdog after firmware exception" in text and "KeyError" in text


def test_inprocess_serial_noise_fault_reaches_the_byte_path(stub_fw):
    with Emulator(backend_factory=stub_backend_factory(stub_fw), log=io.StringIO(), out=io.StringIO(),
                  no_pty=True, seed=1) as emu:
        with open_port(emu.tcp_url) as b:
            assert emu._noise(b"A" * 1000) == b"A" * 1000
            # the reply to this very request is already noisy: do not parse it
            b.write(protocol.encode({"id": 5, "cmd": "sim_fault", "args": {"kind": "serial_noise", "ppm": 100000}}))
            deadline = time.monotonic() + 10
            while emu.backend.noise_ppm != 100000 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert emu.backend.noise_ppm == 100000
            noisy = emu._noise(b"A" * 10000)
            assert noisy != b"A" * 10000 and len(noisy) == 10000
            assert sum(x != 0x41 for x in noisy) > 100  # ~1000 expected at 10 %


def test_noise_rate_option_flips_bits_at_about_the_rate():
    class _B:
        noise_ppm = 0

    emu = Emulator(noise_rate=50000, seed=7, log=io.StringIO(), out=io.StringIO())
    emu.backend = _B()
    data = bytes(100000)
    flipped = sum(bin(x).count("1") for x in emu._noise(data))
    assert 2500 < flipped < 7500  # 5 % of 100 000 bytes = 5000 expected


# ---- subprocess emulator: stub firmware on both runtimes ------------------------------------
@pytest.mark.parametrize("runtime", ["cpython", pytest.param("micropython", marks=need_mpy)])
def test_subprocess_stub_state_survives_restart(stub_fw, tmp_path, runtime):
    state = str(tmp_path / "state")
    args = ["--firmware-dir", stub_fw, "--state", state, "--runtime", runtime, "--serial", "SN9"]
    e = EmuProc(*args)
    try:
        with open_port(e.pty) as a:
            r = request(a, "hello", timeout=30)
            assert r["res"] == {"model": 20, "serial": "SN9", "build": "test", "boots": 1}
        with open_port(e.tcp) as b:
            assert request(b, "status")["res"]["boots"] == 1
    finally:
        assert e.stop() == 0
    assert "stopped" in e.stderr
    # flash file + the RTC kept by the emulator + the flock that keeps a second emulator off this flash
    assert sorted(os.listdir(state)) == [".emu_clock", ".lock", "boots"]
    e = EmuProc(*args)
    try:
        with open_port(e.tcp) as b:
            assert request(b, "hello", timeout=30)["res"]["boots"] == 2
    finally:
        assert e.stop(signal.SIGINT) == 0


@need_mpy
def test_state_dir_is_shared_between_runtimes(stub_fw, tmp_path):
    """JsFlash keeps flash.FileFlash's layout: a pump written under CPython boots under MicroPython."""
    state = str(tmp_path / "state")
    for runtime, boots in (("cpython", 1), ("micropython", 2), ("cpython", 3)):
        e = EmuProc("--firmware-dir", stub_fw, "--state", state, "--runtime", runtime, "--no-pty")
        try:
            with open_port(e.tcp) as b:
                assert request(b, "hello", timeout=30)["res"]["boots"] == boots
        finally:
            assert e.stop() == 0
