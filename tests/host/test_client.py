"""Host client: over loop:// (pure logic) and against the real firmware Link in-process."""
import socket

import pytest

import auth
from auth import Keyring
from link import Link
from protocol import PROTOCOL_VERSION, PumpError, crc_hex, encode, event_obj, reply_err, reply_ok
from pumpctl.link.client import (
    PumpClient,
    PumpPortError,
    PumpProtocolError,
    PumpReplyError,
    PumpTimeout,
)

KEY_C = b"clinician-key-0123456789abcdef!!"
SERIAL = "ITB-000042"


# ---------------------------------------------------------------- loop:// (echo)
@pytest.fixture
def loop():
    c = PumpClient("loop://", timeout_s=0.3)
    c.poll(0.05)  # swallow the opening newline echo
    yield c
    c.close()


def test_loop_request_returns_result_and_ignores_echo(loop):
    loop.send_raw(encode(reply_ok(1, {"state": "stopped"})))
    assert loop.request("status") == {"state": "stopped"}


def test_loop_error_reply_raises_with_code_and_fix(loop):
    loop.send_raw(encode(reply_err(1, "E_AUTH_REQUIRED", "stop needs role clinician")))
    with pytest.raises(PumpReplyError) as ei:
        loop.request("stop")
    e = ei.value
    assert (e.code, e.n, e.msg, e.cmd) == ("E_AUTH_REQUIRED", 20, "stop needs role clinician", "stop")
    assert "login" in e.fix


def test_loop_frame_level_error_is_reported(loop):
    loop.send_raw(encode(reply_err(None, "E_FRAME_CRC", "expected 01234567")))
    with pytest.raises(PumpReplyError) as ei:
        loop.request("status")
    assert ei.value.code == "E_FRAME_CRC" and "retry" in ei.value.fix


def test_loop_stale_reply_ignored(loop):
    loop.send_raw(encode(reply_ok(99, {"old": True})) + encode(reply_ok(1, {"new": True})))
    assert loop.request("status") == {"new": True}


def test_loop_timeout_names_cause_and_fix(loop):
    with pytest.raises(PumpTimeout) as ei:
        loop.request("status", timeout_s=0.2)
    assert "no reply to 'status'" in ei.value.cause and "powered" in ei.value.fix


def test_loop_timeout_with_garbage_suggests_wrong_firmware(loop):
    loop.send_raw(b"MicroPython v1.27.0 on 2025-01-01; Raspberry Pi Pico with RP2040\r\n>>> \r\n")
    with pytest.raises(PumpTimeout) as ei:
        loop.request("hello", timeout_s=0.2)
    assert "not pump frames" in ei.value.cause and "REPL" in ei.value.fix


def test_loop_events_queued_in_order_and_gaps_detected(loop):
    evs = [event_obj("a", 1, 10, {}), event_obj("b", 2, 11, {}), event_obj("c", 5, 12, {"x": 1})]
    loop.send_raw(b"".join(encode(e) for e in evs) + encode(reply_ok(1, {})))
    loop.request("status")
    got = loop.events()
    assert [e["ev"] for e in got] == ["a", "b", "c"]
    assert loop.event_gaps == [(3, 5)]
    assert loop.events() == []
    loop.send_raw(encode(event_obj("boot", 1, 0, {})))
    assert loop.wait_event("boot", 1.0)["seq"] == 1
    assert loop.pump_restarts == 1 and loop.event_gaps == [(3, 5)]


def test_loop_wait_event_keeps_others_and_times_out(loop):
    loop.send_raw(encode(event_obj("alarm_raised", 1, 5, {})) + encode(event_obj("bolus_done", 2, 6, {})))
    assert loop.wait_event("bolus_done", 1.0)["seq"] == 2
    with pytest.raises(PumpTimeout) as ei:
        loop.wait_event("never", 0.2)
    assert "alarm_raised" in ei.value.cause
    assert [e["ev"] for e in loop.events()] == ["alarm_raised"]


def test_traffic_hook_and_close():
    seen = []
    with PumpClient("loop://", timeout_s=0.2, on_traffic=lambda d, b: seen.append(d)) as c:
        c.send_raw(encode(reply_ok(1, {})))
        c.request("status")
    assert "tx" in seen and "rx" in seen
    with pytest.raises(PumpPortError):
        c.request("status")


# ---------------------------------------------------------------- open errors
def test_missing_port_names_fix():
    with pytest.raises(PumpPortError) as ei:
        PumpClient("/dev/does-not-exist-pump0")
    assert "pumpctl ports" in ei.value.fix


def test_refused_socket_names_fix():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(PumpPortError) as ei:
        PumpClient("socket://127.0.0.1:%d" % port)
    assert "emulator" in ei.value.fix


# ---------------------------------------------------------------- against the firmware Link
class Clock:
    t = 1000

    def __call__(self):
        return self.t


class FakePump:
    """Serial-like object whose far end is the real firmware Link with a recording dispatch."""

    def __init__(self, build="test", protocol_version=None):
        self.calls = []
        self.rx = bytearray()
        self.clock = Clock()
        self.n = 0
        ring = Keyring({"clinician": KEY_C}, dev_serial=SERIAL)
        self.link = Link(self.dispatch, ring, self.rnd, self.clock, build)
        self.protocol_version = protocol_version

    def rnd(self, n):
        self.n += 1
        return bytes((self.n + i) & 0xFF for i in range(n))

    def dispatch(self, cmd, args, role):
        self.calls.append((cmd, args, role))
        if cmd == "bolus" and args.get("dose_ng", 0) > 100000:
            raise PumpError("E_BOLUS_RANGE", "dose over the limit")
        if cmd == "hello":
            return {"serial": SERIAL, "build": "test"}
        return {"cmd": cmd}

    # serial-like interface
    def write(self, data):
        out = self.link.feed(bytes(data))
        if self.protocol_version is not None:
            out = out.replace(b'"protocol":%d' % PROTOCOL_VERSION, b'"protocol":%d' % self.protocol_version)
            # other firmware: re-CRC the tampered frames
            frames = []
            for line in out.split(b"\n"):
                if line:
                    body = line[: line.rfind(b"*")]
                    frames.append(body + b"*" + crc_hex(body).encode() + b"\n")
            out = b"".join(frames)
        self.rx.extend(out)
        return len(data)

    def read(self, n=1):
        data = bytes(self.rx[:n])
        del self.rx[:n]
        return data

    @property
    def in_waiting(self):
        return len(self.rx)

    def push_event(self, ev, d, t_s=0):
        self.rx.extend(self.link.event(ev, d, t_s))

    def close(self):
        pass


def test_login_signs_every_request_and_role_reaches_dispatch():
    pump = FakePump()
    c = PumpClient(pump, timeout_s=0.5)
    assert c.hello()["protocol"] == PROTOCOL_VERSION
    with pytest.raises(PumpReplyError) as ei:
        c.request("bolus", {"dose_ng": 50000})
    assert ei.value.code == "E_AUTH_REQUIRED"
    c.login("clinician", KEY_C.hex())
    assert c.role == "clinician"
    assert c.request("bolus", {"dose_ng": 50000}) == {"cmd": "bolus"}
    assert c.request("status") == {"cmd": "status"}
    assert [x for x in pump.calls if x[0] != "hello"] == [
        ("bolus", {"dose_ng": 50000}, "clinician"),
        ("status", {}, "clinician"),
    ]
    with pytest.raises(PumpReplyError) as ei:
        c.request("bolus", {"dose_ng": 500000})
    assert ei.value.code == "E_BOLUS_RANGE" and ei.value.n == 48


def test_replayed_frame_is_refused_and_not_dispatched():
    pump = FakePump()
    c = PumpClient(pump, timeout_s=0.5)
    c.login("clinician", KEY_C)
    c.request("bolus", {"dose_ng": 50000})
    recorded = c.last_sent
    n = len(pump.calls)
    reply = c.send_frame(recorded)
    assert reply["ok"] is False and reply["err"]["code"] == "E_AUTH_REPLAY"
    assert len(pump.calls) == n


def test_wrong_key_and_lockout():
    pump = FakePump()
    c = PumpClient(pump, timeout_s=0.5)
    codes = []
    for _ in range(auth.LOCK_AFTER_FAILURES + 1):
        with pytest.raises(PumpReplyError) as ei:
            c.login("clinician", b"w" * 32)
        codes.append(ei.value.code)
    assert codes[0] == "E_AUTH_BAD_MAC" and codes[-1] == "E_AUTH_LOCKED"
    assert c.role is None and pump.calls == []


def test_service_login_with_dev_key_and_sim_command():
    pump = FakePump()
    c = PumpClient(pump, timeout_s=0.5)
    c.login("service", auth.dev_service_key(SERIAL))
    assert c.request("sim_warp", {"dt_s": 3600}) == {"cmd": "sim_warp"}
    c2 = PumpClient(FakePump(), timeout_s=0.5)
    c2.login_dev_service()
    assert c2.role == "service"


def test_session_expiry_clears_client_session():
    pump = FakePump()
    c = PumpClient(pump, timeout_s=0.5)
    c.login("clinician", KEY_C)
    pump.clock.t += auth.SESSION_IDLE_S + 1
    with pytest.raises(PumpReplyError) as ei:
        c.request("stop")
    assert ei.value.code == "E_AUTH_EXPIRED" and c.role is None


def test_events_between_replies():
    pump = FakePump()
    c = PumpClient(pump, timeout_s=0.5)
    pump.push_event("alarm_raised", {"code": "low_reservoir"}, 77)
    c.request("status")
    ev = c.wait_event("alarm_raised", 0.1)
    assert ev == {"ev": "alarm_raised", "seq": 1, "t_s": 77, "d": {"code": "low_reservoir"}}
    assert c.event_gaps == []


def test_protocol_version_mismatch_names_fix():
    pump = FakePump(protocol_version=PROTOCOL_VERSION + 1)
    c = PumpClient(pump, timeout_s=0.5)
    with pytest.raises(PumpProtocolError) as ei:
        c.hello()
    assert "pumpctl" in ei.value.fix


# ---------------------------------------------------------------- against the real emulator
KEY_CLIN = "c1" * 32


def _emulator(**kw):
    import io

    from pumpctl.emulator.server import Emulator

    return Emulator(serial="ITB-000777", log=io.StringIO(), out=io.StringIO(), seed=3, **kw)


def _provisioned(url):
    c = PumpClient(url, timeout_s=5.0)
    c.login_dev_service()
    c.request("provision", {"keys": {"clinician": KEY_CLIN}})
    c.request("time_set", {"t_s": 700 * 86400})
    c.logout()
    c.login("clinician", KEY_CLIN)
    return c


PROG = {"mode": "continuous", "dose_ng_day": 500000}


@pytest.mark.parametrize(
    "endpoint,runtime", [("tcp", "cpython"), ("pty", "cpython"), ("tcp", "micropython")]
)
def test_end_to_end_against_emulator(endpoint, runtime):
    with _emulator(runtime=runtime) as emu:
        url = emu.tcp_url if endpoint == "tcp" else emu.pty_path
        with _provisioned(url) as c:
            assert c.hello()["serial"] == "ITB-000777"
            refill = c.request("refill_stage", {"withdrawn_nl": 0, "added_nl": 20000000, "conc_ug_ml": 500})
            c.request("refill_commit", {"hash": refill["hash"]})
            staged = c.request("programme_stage", {"programme": PROG})
            c.request("programme_commit", {"hash": staged["hash"]})
            commit = c.last_sent
            st = c.request("status")
            assert st["daily_ng"] == 500000 and st["state"] == "infusing"
            # replaying the recorded commit is refused and changes nothing
            r = c.send_frame(commit)
            assert r["err"]["code"] == "E_AUTH_REPLAY"
            # garbage and a corrupted frame are answered with errors, therapy unchanged
            c.send_raw(b"\x00\xff garbage \x1b\n")
            bad = bytearray(encode(c.build_frame("stop")))
            bad[5] ^= 0x20
            c.send_raw(bytes(bad))
            replies = []
            while len(replies) < 2:
                replies.extend(c.poll(0.2))
            assert [x["err"]["code"] for x in replies] == ["E_FRAME_NO_CRC", "E_FRAME_CRC"]
            st = c.request("status")
            assert st["state"] == "infusing" and st["daily_ng"] == 500000
            # unauthenticated programming over a fresh connection is refused
            with PumpClient(url, timeout_s=5.0) as other:
                with pytest.raises(PumpReplyError) as ei:
                    other.request("stop")
                assert ei.value.code == "E_AUTH_REQUIRED"
            assert c.request("status")["state"] == "infusing"
