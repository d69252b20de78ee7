"""Issue 8, round-7 mutation survivors in protocol's encoder (canonical_json / encode).

Oracles, never the encoder itself:
- RFC 8259 section 7: a character outside the Basic Multilingual Plane is escaped as a
  UTF-16 surrogate pair; the pair is computed here by hand (0x10000 is subtracted, the high
  ten bits go to 0xD800 + hi, the low ten to 0xDC00 + lo). Expected bytes are hand-written.
- docs/protocol.md, "Framing": nesting is limited to 8 levels of arrays and objects inside the
  frame's own object, 9 brackets deep in all; deeper is "nesting deeper than 9", a count of
  brackets. Only int, str, bool, null, arrays and objects with string keys; no floats. What
  the pump's decoder accepts (decode_line) must encode back to the very same bytes: every
  signed frame's MAC is HMAC over canonical_json of the decoded frame (auth.frame_mac).
- The encoder's ValueError texts are change detectors: they name the cause for whoever reads
  an E_INTERNAL report or a host-tool traceback (docs/protocol.md: errors name cause and fix).
"""
from protocol import canonical_json, crc_hex, decode_line, encode


def _frame(body):
    return body + b"*" + crc_hex(body).encode()


def _value_error(obj):
    try:
        canonical_json(obj)
    except ValueError as e:
        return str(e)
    return None


def test_characters_beyond_the_bmp_are_surrogate_pairs():
    """RFC 8259 section 7: U+FFFF is the last single \\uXXXX escape; U+10000 is the first
    character sent as a pair: 0x10000 - 0x10000 = 0, so D800 + 0 and DC00 + 0. U+10001 gives
    D800/DC01, U+10FFFF (0xFFFFF after subtracting) DBFF/DFFF. The same as a value, inside a
    longer string with printable ASCII around it, and as an object key."""
    assert canonical_json(chr(0xFFFF)) == b'"\\uffff"'
    assert canonical_json(chr(0x10000)) == b'"\\ud800\\udc00"'
    assert canonical_json(chr(0x10001)) == b'"\\ud800\\udc01"'
    assert canonical_json(chr(0x10FFFF)) == b'"\\udbff\\udfff"'
    assert canonical_json("a" + chr(0x10000) + "b") == b'"a\\ud800\\udc00b"'
    assert canonical_json({chr(0x10000): 1}) == b'{"\\ud800\\udc00":1}'
    assert canonical_json(["x" * 30 + chr(0x10000)]) == b'["' + b"x" * 30 + b'\\ud800\\udc00"]'
    # RFC 8259 section 5: array elements separated by single commas (compact: no spaces)
    assert canonical_json([1, "a", None, True, False, [], {}, [2, 3]]) == b'[1,"a",null,true,false,[],{},[2,3]]'


def _lists(n, inner):
    o = inner
    for _ in range(n):
        o = [o]
    return o


def _objects(n, inner):
    o = inner
    for _ in range(n):
        o = {"k": o}
    return o


def test_nine_brackets_round_trip_and_ten_are_refused():
    """protocol.md: 9 brackets deep in all are allowed, whatever mix of arrays and objects,
    with a value inside the innermost; the decoder accepts such a frame and canonical_json of
    what it decoded must give back the exact bytes (else a signed frame's MAC cannot even be
    computed: E_INTERNAL for a frame within the documented limits). Ten brackets are refused
    by the encoder too, with the decoder's count: "nesting deeper than 9"."""
    cases = [
        b'{"a":[[[[[[[[1]]]]]]]]}',                                   # 1 object + 8 arrays
        b'{"a":[[[[[[[["s"]]]]]]]]}',
        b'{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":null}}}}}}}}}',  # 9 objects
        b'{"a":[{"b":[{"c":[{"d":[{"e":true}]}]}]}]}',                 # alternating, 9
        b'{"a":[[[[[[[[]]]]]]]]}',
    ]
    for body in cases:
        obj = decode_line(_frame(body))
        assert isinstance(obj, dict), (body, obj)
        assert canonical_json(obj) == body, body
        assert encode(obj) == _frame(body) + b"\n"
    assert canonical_json(_lists(9, 7)) == b"[" * 9 + b"7" + b"]" * 9
    assert canonical_json(_objects(9, 7)) == b'{"k":' * 9 + b"7" + b"}" * 9
    assert canonical_json(_lists(4, _objects(5, 0))) == b"[" * 4 + b'{"k":' * 5 + b"0" + b"}" * 5 + b"]" * 4
    for deep in (_lists(10, 1), _lists(9, []), _objects(10, 1), _objects(9, {}),
                 _lists(5, _objects(5, 0)), {"a": _lists(9, 0)}, (((((((((((),),),),),),),),),),)):
        assert _value_error(deep) == "nesting deeper than 9", deep
        # and the decoder refuses the same depth with the same words
    body = b'{"a":[[[[[[[[[1]]]]]]]]]}'
    err = decode_line(_frame(body))
    assert err.code == "E_FRAME_JSON" and err.detail == "nesting deeper than 9", err


def test_what_is_not_json_is_refused_naming_it():
    """protocol.md: no floats, only string keys. The refusal names the offending type
    (change detector for the texts), at any depth."""
    assert _value_error(1.5) == "type not allowed in a frame: float"
    assert _value_error({"a": [b"x"]}) == "type not allowed in a frame: bytes"
    assert _value_error({1: 2}) == "object key is not a str"
    assert _value_error([{"a": 1, 2: 3}]) == "object key is not a str"


def test_a_signed_frame_nine_brackets_deep_gets_a_documented_answer():
    """End to end through the link: a logged-in host's frame 9 brackets deep (frame object,
    args, 7 arrays) with a wrong MAC is within the documented nesting limit, so the answer is
    the documented E_AUTH_BAD_MAC, never E_INTERNAL (before round 7 the MAC's canonical_json
    refused it: 'ValueError')."""
    from test_link import KEY_C, Host, make, replies
    link = make()[0]
    host = Host(link)
    assert host.login("clinician", KEY_C)["ok"]
    body = b'{"args":{"x":[[[[[[[1]]]]]]]},"cmd":"stop","id":9,"mac":"' + b"00" * 32 + b'","sq":1}'
    r = replies(link, _frame(body) + b"\n")
    assert len(r) == 1 and r[0]["ok"] is False and r[0]["id"] == 9, r
    assert r[0]["err"]["code"] == "E_AUTH_BAD_MAC", r
