"""The strict JSON scanner's strings and numbers, byte by byte (issue 8: mutation survivors once
killed only by the host-side wire fuzz, which make mutation no longer runs per mutant).

Oracles: RFC 8259 section 7 (a string is '"', unescaped characters >= U+0020 except '"' and
'\\', the escapes \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX, '"'; a character above U+FFFF is a
surrogate pair; section 6: numbers, no leading zeros); Unicode 15 Table 3-7 (well-formed UTF-8
byte sequences: C2..DF 80..BF; E0 A0..BF; E1..EC, EE..EF 80..BF; ED 80..9F; F0 90..BF; F1..F3
80..BF; F4 80..8F; continuation bytes 80..BF). The reason texts are firmware/jsonstrict.py's
documented vocabulary, shown in E_FRAME_JSON replies."""
from jsonstrict import scan

OK = 0
CTRL, UTF8 = "raw control character in a string", "bad UTF-8"
LONE, BADU, SHORTU = "lone surrogate escape", "bad \\u escape", "short \\u escape"
UNTERM = "unterminated string"

STRINGS = [
    (b'""', OK), (b'"abc"', OK), (b'" "', OK), (b'"~\x7f"', OK),
    (b'"\x1f"', CTRL), (b'"\x01"', CTRL), (b'"a\x00"', CTRL),
    (b'"\x80"', UTF8), (b'"a\xbf"', UTF8),
    (b'"\xc2\x80"', OK), (b'"\xdf\xbf"', OK), (b'"\xc1\xbf"', UTF8), (b'"\xc2\x7f"', UTF8), (b'"\xc2\xc0"', UTF8),
    (b'"\xe0\xa0\x80"', OK), (b'"\xe0\x9f\xbf"', UTF8), (b'"\xe1\x80\x80"', OK), (b'"\xec\xbf\xbf"', OK),
    (b'"\xed\x9f\xbf"', OK), (b'"\xed\xa0\x80"', UTF8), (b'"\xee\x80\x80"', OK), (b'"\xef\xbf\xbf"', OK),
    (b'"\xe1\x80\x7f"', UTF8), (b'"\xe1\x80"', UTF8), (b'"\xe2\x82', UTF8),
    (b'"\xf0\x90\x80\x80"', OK), (b'"\xf0\x8f\xbf\xbf"', UTF8), (b'"\xf1\x80\x80\x80"', OK),
    (b'"\xf3\xbf\xbf\xbf"', OK), (b'"\xf4\x8f\xbf\xbf"', OK), (b'"\xf4\x90\x80\x80"', UTF8),
    (b'"\xf5\x80\x80\x80"', UTF8), (b'"\xff"', UTF8), (b'"\xf1\x80\x80\xc0"', UTF8), (b'"\xc2', UTF8),
    (b'"\\"\\\\\\/\\b\\f\\n\\r\\t"', OK), (b'"\\x"', "bad escape \\x"), (b'"\\ "', "bad escape"),
    (b'"\\\x80"', "bad escape"), (b'"\\', UNTERM), (b'"abc', UNTERM), (b'"', UNTERM),
    (b'"\\u0041"', OK), (b'"a\\u00e9b"', OK), (b'"\\uD7FF"', OK), (b'"\\uE000"', OK), (b'"\\uffff"', OK),
    (b'"\\u00"', SHORTU), (b'"\\u004"', BADU), (b'"\\u12G4"', BADU), (b'"\\u12g4"', BADU),
    (b'"\\uDC00"', LONE), (b'"\\uDFFF"', LONE), (b'"\\uD800"', LONE), (b'"\\uDBFFx"', LONE),
    (b'"\\uD800\\uDC00"', OK), (b'"\\uDBFF\\uDFFF"', OK), (b'"\\uD83D\\uDE00x"', OK),
    (b'"\\uD800\\u0041"', LONE), (b'"\\uD800\\uD800"', LONE), (b'"\\uD800\\uE000"', LONE),
    (b'"\\uD800\\uDG00"', BADU), (b'"\\uD800xxxxxx"', LONE), (b'"\\uD800\\x0000"', LONE),
    (b'"\\uD800xuDC00"', LONE), (b'"\\uD800\\u12"', LONE), (b'"\\uD800\\uG000"', BADU),
    (b'"\\x', "bad escape \\x"), (b'"\\!"', "bad escape \\!"), (b'"\\~"', "bad escape \\~"),
    (b'"\\\x7f"', "bad escape"), (b'"\xe0\xc0\x80"', UTF8), (b'"\xed\x80\x80"', OK),
    (b'"\xed\xbf\x80"', UTF8),
    (b'"\xe1\xc0\x80"', UTF8), (b'"\xf0\xc0\x80\x80"', UTF8), (b'"\xf1\xc0\x80\x80"', UTF8),
    (b'"\xf4\x80\x80\x80"', OK), (b'"\xf4\x7f\x80\x80"', UTF8),
]


def test_strings_follow_rfc_8259_and_unicode_table_3_7():
    bad = []
    for doc, want in STRINGS:
        got = scan(doc, 4)
        if got != want:
            bad.append((doc, want, got))
        # the same string as an object key and as an array item: accepted (one member for the
        # key) or refused (the reason may differ: what follows is no longer the end of input)
        for wrapped, ok in ((b"{" + doc + b":1}", 1), (b"[" + doc + b"]", 0)):
            got = scan(wrapped, 4)
            if (got != ok) if want == OK else not isinstance(got, str):
                bad.append((wrapped, want if want != OK else ok, got))
    assert not bad, bad


def test_the_scan_resumes_after_the_closing_quote():
    """Two strings and a member count: the index after each string is where the next token is
    read (a wrong index makes the second key or the comma unreadable)."""
    assert scan(b'{"ab":"cd","e\\u0041":"\xc3\xa9"}', 4) == 2
    assert scan(b'["","x",""]', 4) == 0
    assert scan(b'{"a":"b""c":1}', 4) == "expected , or a closing bracket at byte 8"


NUMBERS = [
    (b"0", OK), (b"-0", OK), (b"7", OK), (b"-12", OK), (b"1073741823", OK),
    (b"01", "leading zero"), (b"-01", "leading zero"), (b"00", "leading zero"),
    (b"-", "bad number"), (b"-a", "bad number"), (b"--1", "bad number"),
    (b"1.5", "not an integer (no floats)"), (b"1e3", "not an integer (no floats)"),
    (b"0E1", "not an integer (no floats)"), (b"-0.0", "not an integer (no floats)"),
    (b"09", "leading zero"), (b"0:", "data after the value"), (b"1:", "data after the value"),
    (b"[1X]", "expected , or a closing bracket at byte 2"), (b"-" + b"9" * 19, OK),
    (b"9" * 20, OK), (b"9" * 21, "number longer than 20 characters"),
    (b"-" + b"9" * 20, "number longer than 20 characters"),
]


def test_numbers_are_integers_without_leading_zeros():
    bad = [(d, w, scan(d, 4)) for d, w in NUMBERS if scan(d, 4) != w]
    assert not bad, bad
    assert scan(b"[1,23,-4]", 4) == 0 and scan(b'{"a":10,"b":-20}', 4) == 2


def test_a_frame_nests_8_levels_below_its_object_and_no_more():
    """docs/protocol.md "Framing": nesting is limited to 8 levels (below the frame's own object:
    9 brackets in all); a float never reaches the decoder's caller."""
    from protocol import Decoder, FrameError, crc_hex

    def decode(body):
        return Decoder().feed(body + b"*" + crc_hex(body).encode() + b"\n")[0]

    for levels, ok in ((8, True), (9, False)):
        body = b'{"id":1,"cmd":"status","args":{"x":' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}}"
        got = decode(body)
        assert (not isinstance(got, FrameError)) == ok, (levels, got)
    got = decode(b'{"id":1,"cmd":"status","args":{"x":1.5}}')
    assert isinstance(got, FrameError) and got.code == "E_FRAME_JSON", got


def test_structure_errors_name_the_byte():
    """RFC 8259 section 2-5: an object is { members }, each "key": value, separated by commas and
    no trailing comma; a value is an object, array, string, number, true, false or null; the
    text is exactly one value. Each refusal names the offending byte (0-based)."""
    cases = [
        (b"", "incomplete JSON"), (b"   ", "incomplete JSON"), (b"[", "incomplete JSON"),
        (b'{"a":1,}', "expected a string key at byte 7"), (b"{1:2}", "expected a string key at byte 1"),
        (b'{"a" 1}', "expected : at byte 5"), (b'{"a",1}', "expected : at byte 4"),
        (b":", "not a JSON value at byte 0"), (b"[1,]", "not a JSON value at byte 3"),
        (b"[tru]", "not a JSON value at byte 1"), (b"1 2", "data after the value"),
        (b"[[[[]]]]", OK), (b"[[[[[]]]]]", "nesting deeper than 4"),
        (b'{"a":[1,{"b":null}],"c":true,"d":false}', 4),   # members of all objects
    ]
    bad = [(d, w, scan(d, 4)) for d, w in cases if scan(d, 4) != w]
    assert not bad, bad
