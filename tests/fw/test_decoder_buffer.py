"""The link's line buffer is allocated once, at boot, and never grows or is replaced (issue 9, found
by the board twin: an 8 KB line arriving in 512-byte reads grew a bytearray until MicroPython could not
find a 6.6 KB contiguous block on a Pico-sized heap, and the pump reset with MemoryError; HIL
test_7 on the twin). Expected values: the frame bytes this test builds itself (zlib CRC via
protocol.encode's documented format) and the documented MAX_LINE bound."""
import protocol
from protocol import Decoder, FrameError, MAX_LINE


def _chunks(data, n):
    return [data[i:i + n] for i in range(0, len(data), n)]


def test_buffer_is_allocated_once_and_never_replaced():
    d = Decoder()
    buf = d._buf
    assert len(buf) == MAX_LINE
    long_line = b'{"id":7,"cmd":"stop","args":{"pad":"' + b"A" * MAX_LINE + b'"}}*00000000\n'
    items = []
    for c in _chunks(long_line, 512):
        items += d.feed(c)
        assert d._buf is buf and len(d._buf) == MAX_LINE
    assert len(items) == 1 and isinstance(items[0], FrameError) and items[0].code == "E_FRAME_OVERSIZE"


def test_a_line_just_under_the_bound_in_chunks_decodes_and_resyncs_after_oversize():
    frame = {"id": 3, "cmd": "hello", "args": {"pad": "B" * (MAX_LINE - 200)}}
    line = protocol.encode(frame)
    assert len(line) <= MAX_LINE
    d = Decoder()
    out = []
    for c in _chunks(b"x" * (MAX_LINE + 5) + b"\n" + line, 509):
        out += d.feed(c)
    assert len(out) == 2 and out[0].code == "E_FRAME_OVERSIZE"
    assert out[1] == frame
    assert d.pending() == 0


def test_bound_both_sides():
    """MAX_LINE includes the newline: MAX_LINE - 1 bytes before it are accepted, one more is not."""
    d = Decoder()
    body = b"C" * (MAX_LINE - 1 - 9)
    ok = body + b"*" + protocol.crc_hex(body).encode()
    assert len(ok) == MAX_LINE - 1
    got = d.feed(ok[:4000]) + d.feed(ok[4000:] + b"\n")
    assert len(got) == 1 and got[0].code == "E_FRAME_JSON"   # read whole: CRC right, body not JSON
    got = d.feed(b"C" + ok + b"\n")
    assert len(got) == 1 and got[0].code == "E_FRAME_OVERSIZE"


ORACLES = {"test_bound_both_sides": "spec", "test_a_line_just_under_the_bound_in_chunks_decodes_and_resyncs_after_oversize": "spec"}
