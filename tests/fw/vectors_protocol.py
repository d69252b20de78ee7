"""Golden protocol vectors as plain data (imported by CPython and MicroPython tests).

Frozen: a change to any expected byte here is a wire-format change (bump PROTOCOL_VERSION).
CRCs are CRC-32 (zlib/binascii) of the JSON bytes, 8 uppercase hex digits.
"""

# (object, exact frame bytes produced by protocol.encode)
ENCODE = [
    ({"id": 1, "cmd": "hello", "args": {}}, b'{"args":{},"cmd":"hello","id":1}*54E46EE5\n'),
    ({"cmd": "status", "id": 7}, b'{"cmd":"status","id":7}*623AC10E\n'),
    (
        {"id": 2, "cmd": "x", "args": {"t": 'a"b\\c\n', "s": "\u00b5g \u00e9 \u2603 \U0001f600"}},
        b'{"args":{"s":"\\u00b5g \\u00e9 \\u2603 \\ud83d\\ude00","t":"a\\"b\\\\c\\u000a"},'
        b'"cmd":"x","id":2}*5587F12C\n',
    ),
    (
        {"res": {"b": [1, -2, True, False, None], "a": {}}, "ok": True, "id": 3},
        b'{"id":3,"ok":true,"res":{"a":{},"b":[1,-2,true,false,null]}}*054B2CAB\n',
    ),
    (
        {"ev": "alarm_raised", "seq": 5, "t_s": 86400, "d": {"code": "low_reservoir"}},
        b'{"d":{"code":"low_reservoir"},"ev":"alarm_raised","seq":5,"t_s":86400}*B69CA6A3\n',
    ),
    ({"a": "x*y"}, b'{"a":"x*y"}*9F1BE571\n'),
]

# Objects encode() must refuse (ValueError): non-str keys, too deep (floats: see the test).
ENCODE_REFUSED = [
    {1: "a"},
    {"b": b"bytes"},
    {"z": [[[[[[[[[[1]]]]]]]]]]},
]

_PAD_MAX = "x" * 8167  # line of exactly MAX_LINE (8192) bytes
_PAD_OVER = "x" * 8168

# (input bytes, expected items). An expected item is a dict (decoded frame) or an
# error code string (a FrameError with that code).
DECODE = [
    (b'{"args":{},"cmd":"hello","id":1}*54E46EE5\n', [{"args": {}, "cmd": "hello", "id": 1}]),
    # CRLF line ending
    (b'{"cmd":"status","id":7}*623AC10E\r\n', [{"cmd": "status", "id": 7}]),
    # lowercase CRC digits accepted
    (b'{"cmd":"status","id":7}*623ac10e\n', [{"cmd": "status", "id": 7}]),
    # two frames merged in one read, blank lines ignored
    (
        b'\n\r\n{"cmd":"status","id":7}*623AC10E\n{"a":"x*y"}*9F1BE571\n\n',
        [{"cmd": "status", "id": 7}, {"a": "x*y"}],
    ),
    (
        b'{"args":{"role":"clinician"},"cmd":"auth_begin","id":9}*52B653D6\n',
        [{"args": {"role": "clinician"}, "cmd": "auth_begin", "id": 9}],
    ),
    (b'{"s":"\\u00e9\\t"}*B718B5F7\n', [{"s": "\u00e9\t"}]),
    (
        b'{"d":{"code":"low_reservoir"},"ev":"alarm_raised","seq":5,"t_s":86400}*B69CA6A3\n',
        [{"d": {"code": "low_reservoir"}, "ev": "alarm_raised", "seq": 5, "t_s": 86400}],
    ),
    # duplicate keys are refused (issue 8: decided, docs/protocol.md "Framing"); was: the last won
    (b'{"a":1,"a":2}*88E1B453\n', ["E_FRAME_JSON"]),
    # issue 8, defect 4: invalid JSON with a valid CRC that MicroPython's json.loads executed
    (b'{"args":{"x",1},"cmd":"hello","id":5}*952B557A\n', ["E_FRAME_JSON"]),
    (b'{"args":{},"cmd":"hello","id":00012}*A9C14A92\n', ["E_FRAME_JSON"]),
    (b'{"args":{},"cmd":"hello","id":840 97}*A406A5CB\n', ["E_FRAME_JSON"]),
    (b'{"args":{},"cmd":"logout","id"::7}*A9EFA93C\n', ["E_FRAME_JSON"]),
    # wrong field types still decode; the link rejects them (E_FRAME_FIELDS)
    (b'{"id":"1","cmd":"hello"}*5ADA998E\n', [{"id": "1", "cmd": "hello"}]),
    # bad CRC (one digit changed)
    (b'{"cmd":"status","id":7}*623AC10F\n', ["E_FRAME_CRC"]),
    # body changed, CRC kept
    (b'{"cmd":"status","id":8}*623AC10E\n', ["E_FRAME_CRC"]),
    # no CRC at all, short CRC, non-hex CRC
    (b'{"cmd":"status","id":7}\n', ["E_FRAME_NO_CRC"]),
    (b'{"cmd":"status","id":7}*623AC10\n', ["E_FRAME_NO_CRC"]),
    (b'{"cmd":"status","id":7}*623AC1G0\n', ["E_FRAME_NO_CRC"]),
    # line noise, then a good frame
    (b'\x00\xffnoise\x1b[A\n{"a":"x*y"}*9F1BE571\n', ["E_FRAME_NO_CRC", {"a": "x*y"}]),
    # noise glued to the front of a frame spoils that line only
    (b'zz{"a":"x*y"}*9F1BE571\n{"a":"x*y"}*9F1BE571\n', ["E_FRAME_CRC", {"a": "x*y"}]),
    # valid CRC over bodies that are not acceptable JSON objects
    (b"[1,2]*088B50BF\n", ["E_FRAME_JSON"]),
    (b'{"f":1.5}*90FE6A51\n', ["E_FRAME_JSON"]),
    (b'{"a":1*A702FC6E\n', ["E_FRAME_JSON"]),
    (b'{"a":NaN}*D1088ED5\n', ["E_FRAME_JSON"]),
    (b'{"s":"\xff\xfe"}*CD6049DF\n', ["E_FRAME_JSON"]),
    (b'{"z":[[[[[[[[[[1]]]]]]]]]]}*27C1949E\n', ["E_FRAME_JSON"]),
    # exactly 8192 bytes including the newline: accepted
    (
        b'{"id":1,"p":"' + _PAD_MAX.encode() + b'"}*AE5C7738\n',
        [{"id": 1, "p": _PAD_MAX}],
    ),
    # 8193 bytes: oversize, then the next line decodes (resync at the newline)
    (
        b'{"id":1,"p":"' + _PAD_OVER.encode() + b'"}*8812EC18\n{"a":"x*y"}*9F1BE571\n',
        ["E_FRAME_OVERSIZE", {"a": "x*y"}],
    ),
    # a long run of garbage without newlines is reported once, then resync
    (b"A" * 20000 + b'\n{"a":"x*y"}*9F1BE571\n', ["E_FRAME_OVERSIZE", {"a": "x*y"}]),
    # an unterminated partial line yields nothing yet
    (b'{"a":"x*y"}*9F1BE5', []),
]

# Strict JSON (issue 8, defect 4): (body, expected) with expected the decoded dict or
# "E_FRAME_JSON". The test adds the CRC suffix. Expectations are RFC 8259 (the grammar) plus
# the restrictions documented in firmware/jsonstrict.py; every row runs on both runtimes.
STRICT_JSON = [
    # RFC-valid: accepted, whitespace anywhere between tokens
    (b'{"a":1}', {"a": 1}),
    (b' { "a" : [ 1 , -2 ] ,\t"b" : { } }\r', {"a": [1, -2], "b": {}}),
    (b'{"a":-0}', {"a": 0}),
    (b'{"a":0,"b":[true,false,null]}', {"a": 0, "b": [True, False, None]}),
    (b'{"s":"\\"\\\\\\/\\b\\f\\n\\r\\t"}', {"s": '"\\/\b\f\n\r\t'}),
    (b'{"s":"\\u0000\\u001f\\u00e9\\uFFFD"}', {"s": "\u0000\u001f\u00e9\ufffd"}),
    (b'{"s":"\xc3\xa9\xe2\x98\x83\x7f"}', {"s": "\u00e9\u2603\u007f"}),
    (b'{"n":12345678901234567890}', {"n": 12345678901234567890}),
    (b'{"d":[[[[[[[[]]]]]]]]}', {"d": [[[[[[[[]]]]]]]]}),
    (b'{"s":"\xf0\x9f\x98\x80"}', {"s": "\U0001f600"}),  # U+1F600 as UTF-8
    # MicroPython accepted these; CPython refused them
    (b'{"a":[1,2,]}', "E_FRAME_JSON"),
    (b'{"a":1,}', "E_FRAME_JSON"),
    (b'{,}', "E_FRAME_JSON"),
    (b'{"a":[,1]}', "E_FRAME_JSON"),
    (b'{"a":[1,,2]}', "E_FRAME_JSON"),
    (b'{"a":[1 2]}', "E_FRAME_JSON"),
    (b'{"a" 1}', "E_FRAME_JSON"),
    (b'{"a"}', "E_FRAME_JSON"),
    (b'{"a":}', "E_FRAME_JSON"),
    (b'{:1}', "E_FRAME_JSON"),
    (b'{"a":true false}', "E_FRAME_JSON"),
    (b'{"a":01}', "E_FRAME_JSON"),
    (b'{"a":-01}', "E_FRAME_JSON"),
    (b'{"a":"x\x01y"}', "E_FRAME_JSON"),      # raw control character
    (b'{"a":"\t"}', "E_FRAME_JSON"),          # raw tab inside a string
    (b'{"a":"\\x"}', "E_FRAME_JSON"),         # bad escape
    (b'{"a":"\\U0041"}', "E_FRAME_JSON"),
    (b'{"a":"\\uZZZZ"}', "E_FRAME_JSON"),
    (b'{"a":"\\u12"}', "E_FRAME_JSON"),
    (b'{"a":"\xed\xa0\x80"}', "E_FRAME_JSON"),  # UTF-8-encoded surrogate
    (b'{"a":"\xc0\xaf"}', "E_FRAME_JSON"),       # overlong UTF-8
    (b'{"a":"\xe0\x80\xaf"}', "E_FRAME_JSON"),   # overlong UTF-8
    (b'{"a":"\xc3"}', "E_FRAME_JSON"),            # truncated UTF-8
    # refused by the documented restrictions (both runtimes alike)
    (b'{"a":"\\ud800"}', "E_FRAME_JSON"),        # lone surrogate escape
    (b'{"a":"\\udc00x"}', "E_FRAME_JSON"),
    (b'{"a":"\\ud83d"}', "E_FRAME_JSON"),        # high surrogate at the end of the string
    (b'{"a":"\\ud83d\\u0041"}', "E_FRAME_JSON"),  # high surrogate + non-surrogate
    (b'{"a":"\\ud83d\\n"}', "E_FRAME_JSON"),
    (b'{"a":"\xf4\x90\x80\x80"}', "E_FRAME_JSON"),  # above U+10FFFF
    (b'{"a":"\xf0\x8f\xbf\xbf"}', "E_FRAME_JSON"),  # overlong 4-byte form
    (b'{"a":"\xf0\x9f\x98"}', "E_FRAME_JSON"),      # truncated 4-byte form
    (b'{"a":1,"a":1}', "E_FRAME_JSON"),            # duplicate key, same value
    (b'{"a":{"b":1,"b":2}}', "E_FRAME_JSON"),      # duplicate key, nested
    (b'{"a":1.5}', "E_FRAME_JSON"),
    (b'{"a":1e3}', "E_FRAME_JSON"),
    (b'{"a":1E+3}', "E_FRAME_JSON"),
    (b'{"a":NaN}', "E_FRAME_JSON"),
    (b'{"a":Infinity}', "E_FRAME_JSON"),
    (b'{"a":-Infinity}', "E_FRAME_JSON"),
    (b'{"a":123456789012345678901}', "E_FRAME_JSON"),  # 21 characters
    (b'{"a":' + b"9" * 5000 + b'}', "E_FRAME_JSON"),   # CPython: over its 4300-digit limit
    (b'{"a":+1}', "E_FRAME_JSON"),
    (b'{"a":0x10}', "E_FRAME_JSON"),
    (b"{'a':1}", "E_FRAME_JSON"),
    (b'{"a":tru}', "E_FRAME_JSON"),
    (b'{"a":nulll}', "E_FRAME_JSON"),
    (b'{"a":1}x', "E_FRAME_JSON"),
    (b'{"a":1}{"b":2}', "E_FRAME_JSON"),
    (b'{"a":[]]}', "E_FRAME_JSON"),
    (b'{"a":1\x0b}', "E_FRAME_JSON"),           # vertical tab is not JSON whitespace
    (b'{"a":1\xa0}', "E_FRAME_JSON"),
    (b'{"d":[[[[[[[[[]]]]]]]]]}', "E_FRAME_JSON"),  # 10 brackets: deeper than MAX_DEPTH
    (b"[" * 4000 + b"]" * 4000, "E_FRAME_JSON"),
    (b'{"a":' + b"[" * 4000, "E_FRAME_JSON"),
    (b"", "E_FRAME_JSON"),
    (b"   ", "E_FRAME_JSON"),
    (b'"x"', "E_FRAME_JSON"),
    (b'1', "E_FRAME_JSON"),
]
