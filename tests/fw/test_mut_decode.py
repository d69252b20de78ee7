"""protocol.decode_line and Decoder.feed: each refusal's code and text, the CRC suffix's hex
digits, and lines split across reads (issue 8: survivors the host-side wire fuzz used to kill).

Oracles: docs/protocol.md "Framing" and its error table (a frame is JSON, '*', 8 hex digits of
CRC-32 in either case, '\\n'; a line without the suffix is E_FRAME_NO_CRC, a wrong CRC
E_FRAME_CRC, an over-long line one E_FRAME_OVERSIZE then discarded to the next newline), the
CRC-32 check value (zlib: crc32(b"123456789") = 0xCBF43926), RFC 8259 (duplicate names)."""
from protocol import Decoder, FrameError, crc32, decode_line, encode


def _line(body, crc=None):
    return body + b"*" + (crc if crc is not None else ("%08X" % crc32(body)).encode())


def _err(item):
    assert isinstance(item, FrameError), item
    return item.code, item.detail


def test_the_crc_suffix_is_8_hex_digits_either_case():
    assert crc32(b"123456789") == 0xCBF43926
    body = b'{"args":{},"cmd":"status","id":1}'
    crc = "%08x" % crc32(body)
    assert decode_line(_line(body, crc.encode()))["id"] == 1              # lower case
    assert decode_line(_line(body, crc.upper().encode()))["id"] == 1      # upper case
    for bad in (b":", b"g", b"G", b"/", b"@", b"`"):                     # next to 0-9, a-f, A-F
        assert _err(decode_line(_line(body, crc.encode()[:7] + bad))) == (
            "E_FRAME_NO_CRC", "CRC suffix is not 8 hex digits"), bad
    for digit in b"09afAF":                # hex digits: the right one decodes, any other is a wrong CRC
        got = decode_line(_line(body, crc.encode()[:7] + bytes([digit])))
        if int(chr(digit), 16) == crc32(body) & 15:
            assert not isinstance(got, FrameError), got
        else:
            assert _err(got)[0] == "E_FRAME_CRC", (digit, got)


def test_each_refusal_has_its_code_and_text():
    cases = [
        (b'{"id":1}', ("E_FRAME_NO_CRC", "expected <json>*XXXXXXXX")),
        (b'{"id":1}*1234', ("E_FRAME_NO_CRC", "expected <json>*XXXXXXXX")),
        (_line(b"[1]"), ("E_FRAME_JSON", "payload is not a JSON object")),
        (_line(b'{"id":1,"id":2}'), ("E_FRAME_JSON", "duplicate object key")),
        (_line(b'{"id":01}'), ("E_FRAME_JSON", "leading zero")),
        (_line(b'{"id":1'), ("E_FRAME_JSON", "incomplete JSON")),
    ]
    for line, want in cases:
        got = decode_line(line)
        assert isinstance(got, FrameError) and (got.code, got.detail) == want, (line, got.code, got.detail)
    body = b'{"id":1}'
    bad = (crc32(body) ^ 1)
    assert _err(decode_line(_line(body, ("%08X" % bad).encode()))) == ("E_FRAME_CRC", "expected %08X" % crc32(body))


def test_a_frame_split_across_reads_is_put_together():
    a = encode({"id": 1, "cmd": "status", "args": {}})
    b = encode({"id": 2, "cmd": "hello", "args": {"x": "y" * 40}})
    c = encode({"id": 3, "cmd": "status", "args": {}})
    d = Decoder()
    got = d.feed(a + b[:10])               # a whole frame, then the start of the next one
    got += d.feed(b[10:30])                # the middle: nothing complete yet
    assert d.pending() == 30
    got += d.feed(b[30:] + c)
    assert [x["id"] for x in got] == [1, 2, 3] and d.pending() == 0
    # the one line buffer is allocated at boot and never resized (protocol.py: a Pico-sized heap
    # could not grow it; found by the board twin)
    assert len(d._buf) == d.max_line


def test_an_oversize_line_is_one_error_and_the_next_line_decodes():
    ok = encode({"id": 9, "cmd": "status", "args": {}})
    d = Decoder(max_line=len(ok))          # the frame and its newline fit exactly
    assert [x["id"] for x in d.feed(ok)] == [9]
    long = b"x" * (len(ok) + 5)
    got = d.feed(long[:20])
    got += d.feed(long[20:] + b"\n" + ok)
    assert len(got) == 2 and _err(got[0]) == ("E_FRAME_OVERSIZE", "line over %d bytes" % len(ok))
    assert got[1]["id"] == 9
    got = d.feed(b"y" * (len(ok) + 1) + b"\n" + ok)     # too long within one read
    assert _err(got[0])[0] == "E_FRAME_OVERSIZE" and got[1]["id"] == 9 and len(got) == 2
