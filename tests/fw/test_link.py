"""Link layer: every bad frame is answered and never reaches dispatch."""
import auth
from auth import Keyring, login_mac, session_key, sign
from compat import hexlify
from link import Link
from protocol import MAX_LINE, PROTOCOL_VERSION, Decoder, PumpError, crc_hex, encode

KEY_C = b"clinician-key-0123456789abcdef!!"
KEY_P = b"patient-key-0123456789abcdef!!!!"
SERIAL = "ITB-000042"


class FakeDispatch:
    def __init__(self):
        self.calls = []

    def __call__(self, cmd, args, role):
        self.calls.append((cmd, args, role))
        if cmd == "bolus" and args.get("dose_ng") == -1:
            raise PumpError("E_BOLUS_RANGE", "negative")
        if cmd == "alarms_test":
            raise KeyError("bug")
        if cmd == "hello":
            return {"serial": SERIAL}
        if cmd == "stop":
            return None
        return {"cmd": cmd}


class Clock:
    def __init__(self):
        self.t = 1000

    def __call__(self):
        return self.t


class Rnd:
    """Deterministic stand-in for hal.random_bytes (MicroPython: no function attributes)."""

    def __init__(self):
        self.n = 0

    def __call__(self, n):
        self.n += 1
        return bytes(((self.n * 11 + i) & 0xFF) for i in range(n))


def make(build="test"):
    disp = FakeDispatch()
    clock = Clock()
    ring = Keyring({"clinician": KEY_C, "patient": KEY_P}, dev_serial=SERIAL if build == "test" else None)
    return Link(disp, ring, Rnd(), clock, build), disp, clock


def replies(link, data):
    out = link.feed(data)
    items = Decoder().feed(out)
    for it in items:
        assert isinstance(it, dict), it  # replies are always well-formed frames
    return items


def one(link, obj):
    r = replies(link, encode(obj))
    assert len(r) == 1
    return r[0]


def err_code(reply):
    assert reply["ok"] is False, reply
    return reply["err"]["code"]


class Host:
    """Minimal host-side session: enough to drive the link in tests."""

    def __init__(self, link):
        self.link = link
        self.id = 0
        self.sq = 0
        self.skey = None

    def req(self, cmd, args=None, signed=True):
        self.id += 1
        f = {"id": self.id, "cmd": cmd, "args": args or {}}
        if signed and self.skey is not None:
            self.sq += 1
            f["sq"] = self.sq
            f = sign(self.skey, f)
        self.last = f
        return one(self.link, f)

    def login(self, role, key):
        r = self.req("auth_begin", {"role": role}, signed=False)
        if not r["ok"]:
            return r
        nonce = r["res"]["nonce"]
        r = self.req("auth", {"role": role, "mac": hexlify(login_mac(key, nonce, role))}, signed=False)
        if r["ok"]:
            self.skey = session_key(key, nonce)
            self.sq = 0
        return r


def test_open_command_reaches_dispatch_with_no_role():
    link, disp, _ = make()
    r = one(link, {"id": 5, "cmd": "status", "args": {}})
    assert r == {"id": 5, "ok": True, "res": {"cmd": "status"}}
    assert disp.calls == [("status", {}, None)]
    # args may be omitted
    r = one(link, {"id": 6, "cmd": "time_get"})
    assert r["ok"] and disp.calls[-1] == ("time_get", {}, None)


def test_hello_reports_protocol_version():
    link, _, _ = make()
    r = one(link, {"id": 1, "cmd": "hello"})
    assert r["res"]["protocol"] == PROTOCOL_VERSION and r["res"]["serial"] == SERIAL


def test_bad_frames_answered_and_never_dispatched():
    link, disp, _ = make()
    good = encode({"id": 1, "cmd": "status"})
    body = good[: good.rfind(b"*")]
    cases = [
        (body + b"*00000000\n", "E_FRAME_CRC"),
        (body + b"\n", "E_FRAME_NO_CRC"),
        (b"x" * (MAX_LINE + 1) + b"\n", "E_FRAME_OVERSIZE"),
        (b"{nope*" + crc_hex(b"{nope").encode() + b"\n", "E_FRAME_JSON"),
        (b"\x00\x01garbage\n", "E_FRAME_NO_CRC"),
    ]
    for data, code in cases:
        r = replies(link, data)
        assert len(r) == 1 and r[0]["id"] is None and err_code(r[0]) == code, (data[:40], r)
    assert disp.calls == []


def test_bad_fields_answered_and_never_dispatched():
    link, disp, _ = make()
    cases = [
        ({"cmd": "status"}, None, "E_FRAME_FIELDS"),
        ({"id": True, "cmd": "status"}, None, "E_FRAME_FIELDS"),
        ({"id": -1, "cmd": "status"}, None, "E_FRAME_FIELDS"),
        ({"id": 1 << 40, "cmd": "status"}, None, "E_FRAME_FIELDS"),
        ({"id": "7", "cmd": "status"}, None, "E_FRAME_FIELDS"),
        ({"id": 7}, 7, "E_FRAME_FIELDS"),
        ({"id": 7, "cmd": 3}, 7, "E_FRAME_FIELDS"),
        ({"id": 7, "cmd": "status", "args": [1]}, 7, "E_FRAME_FIELDS"),
        ({"id": 7, "cmd": "status", "extra": 1}, 7, "E_FRAME_FIELDS"),
        ({"id": 7, "cmd": "status", "sq": 1}, 7, "E_FRAME_FIELDS"),
        ({"id": 7, "cmd": "status", "mac": "00" * 32}, 7, "E_FRAME_FIELDS"),
        ({"id": 7, "cmd": "status", "sq": -1, "mac": "00" * 32}, 7, "E_FRAME_FIELDS"),
        ({"id": 7, "cmd": "status", "sq": 1, "mac": "zz" * 32}, 7, "E_FRAME_FIELDS"),
        ({"id": 7, "cmd": "status", "sq": 1, "mac": "00"}, 7, "E_FRAME_FIELDS"),
        ({"id": 7, "cmd": "format_flash"}, 7, "E_UNKNOWN_CMD"),
        ({"id": 8, "cmd": "stop", "sq": 1, "mac": "00" * 32}, 8, "E_AUTH_REQUIRED"),
    ]
    for frame, rid, code in cases:
        r = one(link, frame)
        assert r["id"] == rid and err_code(r) == code, (frame, r)
    assert disp.calls == []


def test_privileged_commands_need_auth():
    link, disp, _ = make()
    for cmd in ("programme_stage", "programme_commit", "refill_commit", "bolus", "stop", "provision",
                "patient_bolus", "alarms_clear", "log_read", "time_set", "settings_set"):
        r = one(link, {"id": 1, "cmd": cmd, "args": {}})
        assert err_code(r) == "E_AUTH_REQUIRED", cmd
    assert disp.calls == []


def test_login_then_privileged_dispatch_carries_role():
    link, disp, _ = make()
    h = Host(link)
    r = h.login("clinician", KEY_C)
    assert r["ok"] and r["res"]["role"] == "clinician"
    assert disp.calls == []  # auth_begin/auth are the link's own
    r = h.req("programme_stage", {"dose_ng_day": 500000})
    assert r["ok"] and disp.calls[-1] == ("programme_stage", {"dose_ng_day": 500000}, "clinician")
    r = h.req("stop")
    assert r == {"id": h.id, "ok": True, "res": {}}
    # open commands still work inside the session, signed or not
    assert h.req("status")["ok"] and disp.calls[-1][2] == "clinician"
    assert h.req("status", signed=False)["ok"] and disp.calls[-1][2] is None


def test_role_enforced():
    link, disp, _ = make()
    h = Host(link)
    assert h.login("patient", KEY_P)["ok"]
    assert err_code(h.req("bolus", {"dose_ng": 1})) == "E_ROLE"
    assert err_code(h.req("provision")) == "E_ROLE"
    assert disp.calls == []
    assert h.req("patient_bolus")["ok"] and disp.calls[-1][2] == "patient"
    assert h.req("alarms_silence")["ok"]


def test_replayed_frame_rejected_and_not_dispatched():
    link, disp, _ = make()
    h = Host(link)
    h.login("clinician", KEY_C)
    assert h.req("bolus", {"dose_ng": 50000})["ok"]
    n = len(disp.calls)
    r = one(link, h.last)
    assert err_code(r) == "E_AUTH_REPLAY" and len(disp.calls) == n
    # a tampered copy is a bad MAC
    t = dict(h.last)
    t["args"] = {"dose_ng": 5000000}
    t["sq"] = 99
    assert err_code(one(link, t)) == "E_AUTH_BAD_MAC" and len(disp.calls) == n


def test_logout_ends_privilege():
    link, disp, _ = make()
    h = Host(link)
    h.login("clinician", KEY_C)
    # issue 8, defect 9: an unsigned logout (anyone on the link) leaves the session alone...
    assert h.req("logout", signed=False)["ok"]
    assert h.req("stop")["ok"] and len(disp.calls) == 1
    # ...the holder's signed logout ends it
    assert h.req("logout")["ok"]
    assert err_code(h.req("stop")) == "E_AUTH_REQUIRED"
    assert len(disp.calls) == 1


def test_idle_timeout_through_link():
    link, disp, clock = make()
    h = Host(link)
    h.login("clinician", KEY_C)
    clock.t += auth.SESSION_IDLE_S + 1
    assert err_code(h.req("stop")) == "E_AUTH_EXPIRED"
    assert disp.calls == []


def test_lockout_through_link():
    link, disp, clock = make()
    h = Host(link)
    codes = []
    for _ in range(auth.LOCK_AFTER_FAILURES):
        h.req("auth_begin", {"role": "clinician"}, signed=False)
        codes.append(err_code(h.req("auth", {"role": "clinician", "mac": "11" * 32}, signed=False)))
    assert codes[-1] == "E_AUTH_LOCKED" and codes[0] == "E_AUTH_BAD_MAC"
    r = h.login("clinician", KEY_C)
    assert err_code(r) == "E_AUTH_LOCKED" and "retry in" in r["err"]["msg"]
    clock.t += auth.LOCK_BASE_S
    assert h.login("clinician", KEY_C)["ok"]
    assert disp.calls == []


def test_simulation_commands_by_build():
    link, disp, _ = make("clinical")
    h = Host(link)
    assert err_code(h.login("service", b"x" * 32)) == "E_AUTH_NO_KEY"  # no dev key on clinical
    assert err_code(h.req("sim_warp", {"dt_s": 60})) == "E_TEST_BUILD_ONLY"
    assert disp.calls == []
    link, disp, _ = make("test")
    h = Host(link)
    assert err_code(h.req("sim_warp", {"dt_s": 60})) == "E_AUTH_REQUIRED"
    assert h.login("service", auth.dev_service_key(SERIAL))["ok"]
    assert h.req("sim_warp", {"dt_s": 60})["ok"]
    assert disp.calls == [("sim_warp", {"dt_s": 60}, "service")]


def test_dispatch_refusal_and_fault_replies():
    link, disp, _ = make()
    h = Host(link)
    h.login("clinician", KEY_C)
    r = h.req("bolus", {"dose_ng": -1})
    assert r["id"] == h.id and err_code(r) == "E_BOLUS_RANGE" and r["err"]["msg"] == "negative"
    assert r["err"]["n"] == 48
    r = h.req("alarms_test")
    assert err_code(r) == "E_INTERNAL" and r["id"] == h.id


def test_byte_by_byte_session():
    link, disp, _ = make()
    frames = encode({"id": 1, "cmd": "status"}) + b"junk\n" + encode({"id": 2, "cmd": "hello"})
    out = b""
    for i in range(len(frames)):
        out += link.feed(frames[i : i + 1])
    items = Decoder().feed(out)
    assert [it["id"] for it in items] == [1, None, 2]
    assert [it["ok"] for it in items] == [True, False, True]


def test_events_have_their_own_sequence():
    link, _, _ = make()
    e1 = Decoder().feed(link.event("alarm_raised", {"code": "low_reservoir"}, 500))[0]
    one(link, {"id": 1, "cmd": "status"})
    e2 = Decoder().feed(link.event("bolus_done", {}, 600))[0]
    assert e1 == {"ev": "alarm_raised", "seq": 1, "t_s": 500, "d": {"code": "low_reservoir"}}
    assert e2["seq"] == 2 and e2["ev"] == "bolus_done"


# Requirement ids proven by each test (requirements/requirements.toml; read by tools/trace.py).
REQS = {
    "test_bad_frames_answered_and_never_dispatched": ["LINK-CRC"],
    "test_privileged_commands_need_auth": ["AUTH-REQUIRED"],
    "test_role_enforced": ["AUTH-ROLES"],
    "test_replayed_frame_rejected_and_not_dispatched": ["AUTH-REPLAY"],
    "test_lockout_through_link": ["AUTH-LOCKOUT"],
    "test_simulation_commands_by_build": ["BUILD-CLINICAL-NO-SIM"],
}


# Where the expected values come from (tools/trace.py): issue 4 ("clinical builds reject them").
ORACLES = {"test_simulation_commands_by_build": "spec"}
