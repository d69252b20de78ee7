"""Replies are byte-identical on CPython and MicroPython (found by `make fuzz`, issue 8): a refusal
naming one of several unexpected fields must name the same one on both runtimes, whatever order
the runtime's dict iterates in. Expected value written by hand: the alphabetically first field."""
from auth import Keyring
from link import Link
from protocol import Decoder, encode

REQS = {"test_unexpected_field_named_the_same_on_both_runtimes": ["VER-FUZZ"]}
ORACLES = {"test_unexpected_field_named_the_same_on_both_runtimes": "spec"}


def test_unexpected_field_named_the_same_on_both_runtimes():
    link = Link(lambda c, a, r: {}, Keyring(dev_serial="X"), lambda n: bytes(n), lambda: 0, "test")
    # the frame holds several unexpected keys; the reply must not depend on dict order
    for frame in ({"1`rgs": {"t_s": 90000000}, "amd": "time_set", "id": 10},
                  {" args": {"t_s": 90000000}, "c:md": "time_set", "id": 10},
                  {"a rgs": {}, "md": "logout", "id": 10}):
        out = Decoder().feed(link.feed(encode(frame)))
        first = sorted(k for k in frame if k != "id")[0]
        assert out[0]["err"]["code"] == "E_FRAME_FIELDS"
        assert out[0]["err"]["msg"] == "unexpected field " + first, out[0]
    out = Decoder().feed(link.feed(encode({"id": 10, "cmd": "time_set", "zz": 1, "amd": 2, "1`rgs": 3, "c:md": 4})))
    assert out[0]["err"]["code"] == "E_FRAME_FIELDS"
    assert out[0]["err"]["msg"] == "unexpected field 1`rgs", out[0]
