"""Protocol framing, golden vectors whole and byte-by-byte (CPython and MicroPython)."""
import json

import protocol
from protocol import COMMANDS, ERRORS, Decoder, FrameError, PumpError, canonical_json, encode
from vectors_protocol import DECODE, ENCODE, ENCODE_REFUSED, STRICT_JSON


def _norm(items):
    out = []
    for it in items:
        if isinstance(it, FrameError):
            out.append(it.code)
        else:
            out.append(it)
    return out


def _split_feed(data, step):
    d = Decoder()
    items = []
    i = 0
    while i < len(data):
        items.extend(d.feed(data[i : i + step]))
        i += step
    return _norm(items)


def test_encode_golden():
    for obj, frame in ENCODE:
        assert encode(obj) == frame, (obj, encode(obj), frame)


def test_encode_refuses_non_plain_values():
    refused = list(ENCODE_REFUSED) + [{"f": json.loads("1.5")}]
    for obj in refused:
        try:
            encode(obj)
        except ValueError:
            continue
        raise AssertionError("encoded %r" % (obj,))


def test_decode_golden_whole():
    for data, want in DECODE:
        got = _norm(Decoder().feed(data))
        assert got == want, (data[:80], got, want)


def test_decode_golden_byte_by_byte():
    for data, want in DECODE:
        assert _split_feed(data, 1) == want, data[:80]


def test_decode_golden_odd_splits():
    for step in (2, 3, 7, 64, 1023, 8191, 8192, 8193):
        for data, want in DECODE:
            assert _split_feed(data, step) == want, (step, data[:80])


def test_decode_all_vectors_in_one_stream():
    stream = b"".join(v[0] for v in DECODE[:-1])
    want = []
    for v in DECODE[:-1]:
        want.extend(v[1])
    assert _norm(Decoder().feed(stream)) == want
    assert _split_feed(stream, 5) == want


def test_roundtrip_encode_decode():
    for obj, frame in ENCODE:
        got = Decoder().feed(frame)
        assert len(got) == 1 and canonical_json(got[0]) == canonical_json(obj)


def test_canonical_json_sorted_and_compact():
    a = {"b": 1, "a": [True, None, "x"], "c": {"z": 0, "y": -5}}
    assert canonical_json(a) == b'{"a":[true,null,"x"],"b":1,"c":{"y":-5,"z":0}}'
    b = {}
    for k in ("c", "a", "b"):
        b[k] = a[k]
    assert canonical_json(a) == canonical_json(b)


def test_canonical_json_big_ints():
    # Long ints work on both runtimes (MicroPython allocates; never in the tick).
    assert canonical_json({"n": 1 << 40}) == b'{"n":1099511627776}'
    assert canonical_json([-(1 << 31)]) == b"[-2147483648]"


def test_decoder_accepts_bytearray_and_memoryview():
    frame = b'{"a":"x*y"}*9F1BE571\n'
    assert _norm(Decoder().feed(bytearray(frame))) == [{"a": "x*y"}]
    assert _norm(Decoder().feed(memoryview(frame))) == [{"a": "x*y"}]


def test_decoder_buffer_is_bounded():
    d = Decoder()
    for _ in range(50):
        d.feed(b"B" * 999)
        assert d.pending() < protocol.MAX_LINE
    assert _norm(d.feed(b'\n{"a":"x*y"}*9F1BE571\n')) == [{"a": "x*y"}]


def test_oversize_reported_once_per_line():
    d = Decoder()
    items = []
    for _ in range(3 * protocol.MAX_LINE // 300):
        items.extend(d.feed(b"C" * 300))
    items.extend(d.feed(b"\n"))
    assert _norm(items) == ["E_FRAME_OVERSIZE"]


def test_error_table_numbers_unique_and_stable():
    nums = [v[0] for v in ERRORS.values()]
    assert len(nums) == len(set(nums))
    # Released numbers never change (docs/protocol.md lists them).
    assert ERRORS["E_FRAME_NO_CRC"][0] == 1
    assert ERRORS["E_FRAME_CRC"][0] == 2
    assert ERRORS["E_AUTH_REQUIRED"][0] == 20
    assert ERRORS["E_BAD_ARGS"][0] == 40
    assert ERRORS["E_CLOCK"][0] == 61
    for name in ERRORS:
        assert name.startswith("E_") and ERRORS[name][1]


def test_required_error_names_present():
    need = (
        "E_FRAME_NO_CRC E_FRAME_CRC E_FRAME_OVERSIZE E_FRAME_JSON E_FRAME_FIELDS E_UNKNOWN_CMD "
        "E_AUTH_REQUIRED E_AUTH_BAD_MAC E_AUTH_REPLAY E_AUTH_LOCKED E_ROLE E_TEST_BUILD_ONLY "
        "E_BAD_ARGS E_STATE E_DOSE_RANGE E_FLOW_RANGE E_CONC E_OVERFILL E_STEP_OVERLAP "
        "E_STEP_COUNT E_BOLUS_RANGE E_NO_STAGED E_HASH_MISMATCH E_THRESHOLD_RANGE E_VOLUME "
        "E_FLASH E_TITRATION E_REFILL_INCREASE E_FIRST_24H E_CLINICAL_LIMIT E_NOT_PROVISIONED "
        "E_PATIENT_BOLUS_LOCKOUT E_PATIENT_BOLUS_MAX E_CLOCK"
    ).split()
    for name in need:
        assert name in ERRORS, name


def test_command_table():
    ids = [v[0] for v in COMMANDS.values()]
    assert len(ids) == len(set(ids))
    for name in COMMANDS:
        for role in COMMANDS[name][1]:
            assert role in protocol.ROLES
    assert COMMANDS["hello"][1] == ()
    assert COMMANDS["programme_commit"][1] == ("clinician",)
    assert COMMANDS["patient_bolus"][1] == ("patient",)
    assert COMMANDS["provision"][1] == ("service",)
    for name in protocol.TEST_BUILD_ONLY + protocol.LINK_COMMANDS:
        assert name in COMMANDS


def test_pump_error():
    e = PumpError("E_DOSE_RANGE", "2004 mcg/day > 2003")
    assert e.code == "E_DOSE_RANGE" and e.num == ERRORS["E_DOSE_RANGE"][0]
    assert e.detail == "2004 mcg/day > 2003"
    assert str(e) == "E_DOSE_RANGE: 2004 mcg/day > 2003"
    # An unknown code is a firmware bug: reported as E_INTERNAL, never a KeyError.
    u = PumpError("E_NOPE")
    assert u.code == "E_INTERNAL" and "E_NOPE" in u.detail


def test_reply_shapes():
    ok = protocol.reply_ok(4, {"x": 1})
    assert ok == {"id": 4, "ok": True, "res": {"x": 1}}
    err = protocol.reply_err(None, "E_FRAME_CRC")
    assert err["id"] is None and err["ok"] is False
    assert err["err"]["code"] == "E_FRAME_CRC" and err["err"]["n"] == 2 and err["err"]["msg"]


def _strict_line(body):
    return body + b"*" + protocol.crc_hex(body).encode() + b"\n"


def test_strict_json_vectors_same_on_every_runtime():
    """Issue 8, defect 4: each row's expectation is RFC 8259 plus the restrictions documented
    in jsonstrict.py (an independent statement of the grammar, not the decoder's output)."""
    bad = []
    for body, want in STRICT_JSON:
        got = _norm(Decoder().feed(_strict_line(body)))
        if got != [want]:
            bad.append((body[:40], want, got))
    assert not bad, bad


def test_strict_json_issue_frames_are_not_executed():
    # The issue's frames with a valid CRC reach no command: the reply is E_FRAME_JSON with id null.
    from link import Link
    from auth import Keyring
    calls = []
    link = Link(lambda c, a, r: calls.append(c) or {}, Keyring(), lambda n: b"\x01" * n, lambda: 0, "test")
    for body in (b'{"args":{"x",1},"cmd":"hello","id":5}', b'{"args":{},"cmd":"hello","id":00012}',
                 b'{"args":{},"cmd":"hello","id":840 97}', b'{"args":{},"cmd":"logout","id"::7}'):
        out = Decoder().feed(link.feed(_strict_line(body)))
        assert len(out) == 1 and out[0]["ok"] is False and out[0]["err"]["code"] == "E_FRAME_JSON", out
        assert out[0]["id"] is None
    assert calls == []
    # ...and the same frames written correctly are executed
    out = Decoder().feed(link.feed(encode({"args": {}, "cmd": "hello", "id": 12})))
    assert out[0]["ok"] is True and calls == ["hello"]


def test_every_canonical_encoding_is_accepted():
    # The pump accepts what protocol.encode produces (the host's own frames), an escaped
    # surrogate pair too: MicroPython keeps it as two characters, CPython as one, and both
    # write it back as the same canonical bytes (so a MAC over it agrees).
    for obj, frame in ENCODE:
        got = Decoder().feed(frame)
        assert len(got) == 1 and isinstance(got[0], dict), (frame, got)
        assert encode(got[0]) == frame
    body = b'{"s":"\\ud83d\\ude00"}'
    got = Decoder().feed(_strict_line(body))
    assert canonical_json(got[0]) == body and canonical_json({"s": "\U0001f600"}) == body


# Requirement ids proven by each test (requirements/requirements.toml; read by tools/trace.py).
REQS = {
    "test_strict_json_vectors_same_on_every_runtime": ["PROTO-JSON-STRICT"],
    "test_strict_json_issue_frames_are_not_executed": ["PROTO-JSON-STRICT"],
    "test_every_canonical_encoding_is_accepted": ["PROTO-JSON-STRICT"],
    "test_decoder_buffer_is_bounded": ["LINK-FRAME-1KIB"],
    "test_oversize_reported_once_per_line": ["LINK-FRAME-1KIB"],
}
