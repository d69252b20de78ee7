"""Mutation survivors of the 2026-11-29 timed run that the host-only tests (calendar oracle, wire
fuzz) used to kill: the calendar, the strict JSON number grammar, the link's batched replies.

Oracles: day counts from CPython's datetime ((date(y, m, d) - date(2024, 1, 1)).days, the pump
epoch of docs/design.md), copied here because MicroPython has no datetime; JSON's number grammar
(RFC 8259 section 6: a minus sign must be followed by a digit); docs/protocol.md "Framing" (one
reply frame per request, each a line of its own)."""
from jsonstrict import scan
from protocol import Decoder, encode
from test_link import make


def test_days_from_civil_counts_days_from_the_pump_epoch():
    from battery import days_from_civil
    for ymd, days in (((2024, 1, 1), 0), ((2024, 3, 1), 60), ((2023, 12, 31), -1),
                      ((2026, 11, 29), 1063), ((2100, 3, 1), 27818), ((1970, 1, 1), -19723),
                      ((2000, 2, 29), -8707)):
        assert days_from_civil(*ymd) == days, (ymd, days_from_civil(*ymd))


def test_a_minus_sign_needs_a_digit_after_it():
    for doc in (b"-", b"[-]", b"-:", b'{"id":-}', b"[1,-a]"):
        assert scan(doc, 8) == "bad number", (doc, scan(doc, 8))
    assert not isinstance(scan(b"[-0,-9,0,9]", 8), str)


def test_two_requests_in_one_chunk_get_two_reply_lines_back_to_back():
    link, disp, _ = make()
    a = encode({"id": 1, "cmd": "status", "args": {}})
    b = encode({"id": 2, "cmd": "status", "args": {}})
    out = link.feed(a + b)
    lines = out.split(b"\n")
    assert len(lines) == 3 and lines[2] == b"", out           # two lines, each ends in \n
    assert [r["id"] for r in Decoder().feed(out)] == [1, 2]
