"""Hypothesis fuzz of the decoder and the link: random and mutated frames never raise out,
and never reach dispatch unless valid and authorised (a forged or replayed frame changes nothing)."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import protocol
from auth import Keyring, login_mac, session_key, sign
from compat import hexlify
from link import Link
from protocol import COMMANDS, MAX_LINE, Decoder, FrameError, canonical_json, encode
from runprofile import examples

KEY_C = b"clinician-key-0123456789abcdef!!"
KEY_P = b"patient-key-0123456789abcdef!!!!"

FUZZ = settings(max_examples=examples(150), suppress_health_check=[HealthCheck.too_slow])

text_st = st.text(st.characters(max_codepoint=0x3FF), max_size=8)
plain = st.recursive(
    st.none() | st.booleans() | st.integers(-(1 << 40), 1 << 40) | text_st,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(text_st, kids, max_size=3),
    max_leaves=8,
)
args_st = st.dictionaries(st.sampled_from(["dose_ng", "dt_s", "role", "x", "steps"]), plain, max_size=3)
cmd_st = st.sampled_from(sorted(COMMANDS) + ["nope", "", "BOLUS"])


class Rec:
    def __init__(self):
        self.calls = []

    def __call__(self, cmd, args, role):
        self.calls.append((cmd, canonical_json(args), role))
        return {}


class Rnd:
    def __init__(self):
        self.n = 0

    def __call__(self, n):
        self.n += 1
        return bytes((self.n * 7 + i) & 0xFF for i in range(n))


def make_link(build="test"):
    rec = Rec()
    link = Link(rec, Keyring({"clinician": KEY_C, "patient": KEY_P}, dev_serial="ITB-1"), Rnd(), lambda: 50, build)
    return link, rec


def login(link, role=b"clinician", key=KEY_C):
    role = role.decode()
    out = Decoder().feed(link.feed(encode({"id": 1, "cmd": "auth_begin", "args": {"role": role}})))
    nonce = out[0]["res"]["nonce"]
    mac = hexlify(login_mac(key, nonce, role))
    out = Decoder().feed(link.feed(encode({"id": 2, "cmd": "auth", "args": {"role": role, "mac": mac}})))
    assert out[0]["ok"]
    return session_key(key, nonce)


def feed_chunks(link, data, cuts):
    out = b""
    prev = 0
    for c in sorted(set(c % (len(data) + 1) for c in cuts)) + [len(data)]:
        out += link.feed(data[prev:c])
        prev = c
    return out


def check_replies(out):
    items = Decoder().feed(out)
    for it in items:
        assert isinstance(it, dict) and "ok" in it and "id" in it
        if not it["ok"]:
            assert it["err"]["code"] in protocol.ERRORS
    return items


@FUZZ
@given(st.binary(max_size=3000), st.lists(st.integers(0, 4000), max_size=8))
def test_decoder_never_raises_and_splits_agree(data, cuts):
    whole = Decoder().feed(data)
    d = Decoder()
    parts = []
    prev = 0
    for c in sorted(set(c % (len(data) + 1) for c in cuts)) + [len(data)]:
        parts.extend(d.feed(data[prev:c]))
        prev = c
        assert d.pending() < MAX_LINE
    norm = lambda xs: [x.code if isinstance(x, FrameError) else canonical_json(x) for x in xs]  # noqa: E731
    assert norm(whole) == norm(parts)
    for x in whole:
        assert isinstance(x, (dict, FrameError))


@FUZZ
@given(st.dictionaries(st.text(max_size=8), plain, max_size=6))
def test_encode_decode_roundtrip(obj):
    frame = encode(obj)
    if len(frame) > MAX_LINE:
        assert [x.code for x in Decoder().feed(frame)] == ["E_FRAME_OVERSIZE"]
        return
    (got,) = Decoder().feed(frame)
    assert canonical_json(got) == canonical_json(obj)
    assert frame.count(b"\n") == 1 and frame.endswith(b"\n")


@FUZZ
@given(st.binary(max_size=2500), st.lists(st.integers(0, 3000), max_size=6))
def test_random_bytes_into_link_never_raise_or_dispatch_privileged(data, cuts):
    link, rec = make_link()
    check_replies(feed_chunks(link, data, cuts))
    for cmd, _, role in rec.calls:
        assert COMMANDS[cmd][1] == () and role is None


frame_st = st.fixed_dictionaries(
    {"id": st.integers(-2, 1 << 31) | st.text(max_size=3) | st.none(), "cmd": cmd_st, "args": args_st},
    optional={
        "sq": st.integers(-1, 1 << 31) | st.text(max_size=3),
        "mac": st.text("0123456789abcdef", min_size=60, max_size=66),
        "extra": plain,
    },
)


@FUZZ
@given(st.lists(frame_st, max_size=6), st.sampled_from(["test", "clinical"]), st.booleans())
def test_unsigned_or_forged_frames_reach_only_open_commands(frames, build, logged_in):
    link, rec = make_link(build)
    if logged_in:
        login(link)  # a session exists, but these frames carry no valid MAC
    data = b"".join(encode(f) for f in frames)
    check_replies(link.feed(data))
    for cmd, _, role in rec.calls:
        assert COMMANDS[cmd][1] == () and role is None
        assert cmd not in protocol.LINK_COMMANDS


mutation_st = st.lists(
    st.tuples(st.sampled_from(["flip", "insert", "delete", "dup"]), st.integers(0, 1 << 16), st.integers(0, 255)),
    min_size=1,
    max_size=4,
)
priv_st = st.lists(
    st.tuples(
        st.sampled_from(["bolus", "programme_stage", "stop", "alarms_clear", "settings_set"]),
        args_st.filter(lambda a: len(canonical_json(a)) < 800),  # signed frame stays under 1 KiB
    ),
    min_size=1,
    max_size=5,
)


def mutate(data, muts):
    b = bytearray(data)
    for op, pos, val in muts:
        if not b:
            break
        i = pos % len(b)
        if op == "flip":
            b[i] ^= (val % 255) + 1
        elif op == "insert":
            b.insert(i, val)
        elif op == "delete":
            del b[i]
        else:  # duplicate a slice: replays part of the stream
            j = min(len(b), i + 1 + val * 4)
            b[i:i] = b[i:j]
    return bytes(b)


@FUZZ
@given(priv_st, mutation_st, st.lists(st.integers(0, 5000), max_size=6))
def test_mutated_signed_stream_dispatches_only_genuine_frames_once(cmds, muts, cuts):
    link, rec = make_link()
    skey = login(link)
    genuine = {}
    stream = b""
    for i, (cmd, args) in enumerate(cmds):
        f = sign(skey, {"id": 10 + i, "cmd": cmd, "args": args, "sq": i + 1})
        genuine[(cmd, canonical_json(args))] = genuine.get((cmd, canonical_json(args)), 0) + 1
        stream += encode(f)
    bad = mutate(stream, muts)
    check_replies(feed_chunks(link, bad, cuts))
    # then the genuine stream again, as a recorder would replay it
    check_replies(link.feed(stream))
    seen = {}
    for cmd, a, role in rec.calls:
        if COMMANDS[cmd][1]:
            assert role == "clinician"
            key = (cmd, a)
            assert key in genuine, "forged privileged frame dispatched: %r" % (key,)
            seen[key] = seen.get(key, 0) + 1
            assert seen[key] <= genuine[key], "a frame was executed twice"


@FUZZ
@given(priv_st)
def test_recorded_session_replayed_in_new_session_executes_nothing(cmds):
    link, rec = make_link()
    skey = login(link)
    stream = b"".join(
        encode(sign(skey, {"id": i + 1, "cmd": c, "args": a, "sq": i + 1})) for i, (c, a) in enumerate(cmds)
    )
    link.feed(stream)
    assert len(rec.calls) == len(cmds)
    login(link)  # new nonce -> new session key
    n = len(rec.calls)
    items = check_replies(link.feed(stream))
    assert len(rec.calls) == n
    assert all(it["err"]["code"] == "E_AUTH_BAD_MAC" for it in items)


@FUZZ
@given(priv_st)
def test_patient_session_cannot_reach_clinician_commands(cmds):
    link, rec = make_link()
    skey = login(link, b"patient", KEY_P)
    stream = b"".join(
        encode(sign(skey, {"id": i + 1, "cmd": c, "args": a, "sq": i + 1})) for i, (c, a) in enumerate(cmds)
    )
    items = check_replies(link.feed(stream))
    assert rec.calls == []
    assert all(it["err"]["code"] == "E_ROLE" for it in items)


# ------------------------------------------------------------------ against the real firmware
class _Pump:
    """PumpRuntime + SimHal, provisioned and programmed through signed frames."""

    KEY = b"K" * 32

    def __init__(self):
        from hal_sim import SimHal
        from runtime import PumpRuntime
        import auth as _auth

        self.rt = PumpRuntime(SimHal(start_t_s=0), serial="ITB-FUZZ", build="test")
        self.rt.boot()
        self.id = 0
        self.recorded = b""
        self._login("service", _auth.dev_service_key("ITB-FUZZ"))
        self.call("provision", {"keys": {"clinician": hexlify(self.KEY)}})
        self.call("time_set", {"t_s": 800 * 86400})
        self._login("clinician", self.KEY)
        r = self.call("refill_stage", {"withdrawn_nl": 0, "added_nl": 20000000, "conc_ug_ml": 2000})
        self.call("refill_commit", {"hash": r["hash"]})
        prog = {"mode": "flex", "steps": [{"effect_min": 420, "dose_ng_day": 500000},
                                           {"effect_min": 1320, "dose_ng_day": 600000}]}
        r = self.call("programme_stage", {"programme": prog})
        self.call("programme_commit", {"hash": r["hash"]})

    def raw(self, data):
        return Decoder().feed(self.rt.feed(data))

    def _login(self, role, key):
        nonce = self.call("auth_begin", {"role": role}, sign=False)["nonce"]
        self.call("auth", {"role": role, "mac": hexlify(login_mac(key, nonce, role))}, sign=False)
        self.skey, self.sq = session_key(key, nonce), 0

    def call(self, cmd, args=None, sign=True):
        self.id += 1
        f = {"id": self.id, "cmd": cmd, "args": args or {}}
        if sign and getattr(self, "skey", None) is not None:
            self.sq += 1
            f["sq"] = self.sq
            f = globals()["sign"](self.skey, f)
        data = encode(f)
        self.recorded += data
        (r,) = [x for x in self.raw(data) if "id" in x]
        assert r["ok"], r
        return r["res"]

    def therapy(self):
        # read without a session so the snapshot itself cannot change anything
        st = [x for x in self.raw(encode({"id": 1, "cmd": "status"})) if "id" in x][0]["res"]
        pg = [x for x in self.raw(encode({"id": 2, "cmd": "programme_get"})) if "id" in x][0]["res"]
        return (st["state"], st["daily_ng"], st["reservoir_nl"], st["conc_ug_ml"], canonical_json(pg))


@settings(max_examples=examples(40), suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(frame_st, max_size=5), mutation_st, st.binary(max_size=600), st.lists(st.integers(0, 9000), max_size=5))
def test_random_mutated_and_replayed_frames_never_change_therapy(frames, muts, noise, cuts):
    pump = _Pump()
    before = pump.therapy()
    stream = b"".join(encode(f) for f in frames) + noise + mutate(pump.recorded, muts) + pump.recorded
    out = b""
    prev = 0
    for c in sorted(set(c % (len(stream) + 1) for c in cuts)) + [len(stream)]:
        out += pump.rt.feed(stream[prev:c])
        prev = c
    for item in Decoder().feed(out):
        assert isinstance(item, dict)
    assert pump.therapy() == before
