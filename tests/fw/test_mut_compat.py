"""compat: the runtime shims every firmware module relies on (issue 8, mutation survivors).

Oracles: the CRC-32 check value 0xCBF43926 of "123456789" (the standard catalogue entry for the
zlib/IEEE polynomial, docs/protocol.md "Framing"); RFC 4231 HMAC-SHA256 test cases 2 and 6;
Python's stdlib `hmac` (RFC 2104) for a key of exactly one block (64 bytes, not hashed) and of
65 bytes (hashed first); integer ceiling division worked by hand.
"""
import compat
from compat import ceil_div, consteq, crc32, hexlify, hmac_sha256, unhexlify


def test_const_returns_its_argument():
    assert compat.const(5) == 5 and compat.const(-1 << 20) == -1 << 20


def test_ceil_div_rounds_up_exactly():
    assert [ceil_div(a, 4) for a in (0, 1, 3, 4, 5, 8, 9)] == [0, 1, 1, 1, 2, 2, 3]
    assert ceil_div(-7, 2) == -3 and ceil_div(86400 * 250, 250000) == 87


def test_crc32_check_value_and_chaining():
    assert crc32(b"123456789") == 0xCBF43926
    assert crc32(b"6789", crc32(b"12345")) == 0xCBF43926
    assert crc32(b"") == 0


def test_hex_round_trip():
    assert hexlify(b"\x00\x01\xab\xff") == "0001abff"
    assert unhexlify("0001abff") == b"\x00\x01\xab\xff" and unhexlify("0001ABFF") == b"\x00\x01\xab\xff"


def test_hmac_sha256_block_boundaries():
    # RFC 4231 case 6: a 131-byte key is hashed first
    assert hexlify(hmac_sha256(b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First")) == \
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    # exactly one block: used as it is (stdlib hmac)
    assert hexlify(hmac_sha256(b"\x0b" * 64, b"Hi There")) == \
        "21cd586aeca0579d99a1c938127c92525a371f807bc5ba6eb78bc825bd4f2be3"
    assert hexlify(hmac_sha256(b"\x0b" * 65, b"Hi There")) == \
        "727b82fba264393c5d67fd6d6ad783e9019a1fa6a857fccb70f5852f04be5d5d"


def test_consteq_compares_every_byte_and_the_length():
    a = b"0123456789abcdef"
    assert consteq(a, a) and consteq(b"", b"")
    for i in range(len(a)):
        other = a[:i] + b"X" + a[i + 1:]
        assert not consteq(a, other), i
    assert not consteq(a, a[:-1]) and not consteq(a[:-1], a)
    assert not consteq(b"\x01", b"\x00") and not consteq(b"\x00", b"\x80")


def test_gc_threshold_sets_micropythons_threshold_and_is_a_no_op_on_cpython():
    """main.py sets an allocation threshold on the board (MicroPython `gc.threshold(bytes)`);
    CPython has no such call (reference counting), so there it must do nothing."""
    import gc
    if compat.IS_MICROPYTHON:
        old = gc.threshold()
        try:
            compat.gc_threshold(4096)
            assert gc.threshold() == 4096, gc.threshold()
        finally:
            gc.threshold(old)
    else:
        assert not hasattr(gc, "threshold")
        assert compat.gc_threshold(4096) is None
