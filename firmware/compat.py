"""Runtime differences between MicroPython and CPython, in one place.

Everything else in firmware/ imports only modules both runtimes have
(time, struct, json, binascii, hashlib, gc, os, sys) and this module.
"""
import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"

try:
    from micropython import const  # noqa: F401  (MicroPython: folded at compile time)
except ImportError:  # CPython

    # Called only while modules import (before mutmut forks a mutant): no mutant of it can be
    # observed, so it is not mutated; tests/fw/test_mut_compat.py checks it.
    def const(x):  # pragma: no mutate block
        return x



# Pump epoch: 2024-01-01T00:00:00Z. Keeping t_s relative to it keeps every
# timestamp a MicroPython small int (< 2**30 s ~ 34 years, i.e. until 2058),
# so the steady-state tick compares times without allocating long ints.
PUMP_EPOCH_UNIX = 1704067200


def gc_threshold(n_bytes):
    """MicroPython: collect automatically once n_bytes were allocated since the last collect, so
    garbage never fills the heap between the main loop's collects (a full heap is where a non-moving
    collector fragments). CPython frees by reference counting: nothing to do."""
    if IS_MICROPYTHON:
        import gc

        gc.threshold(n_bytes)


def ceil_div(a, b):
    # Exact ceiling of a/b for b > 0 without floats.
    return -((-a) // b)


def hexlify(data):
    # bytes.hex() exists on both, but MicroPython builds may drop it; binascii is always there.
    import binascii

    return binascii.hexlify(data).decode()


def unhexlify(text):
    import binascii

    return binascii.unhexlify(text)


def crc32(data, crc=0):
    import binascii

    return binascii.crc32(data, crc) & 0xFFFFFFFF


def hmac_sha256(key, msg):
    """RFC 2104 HMAC-SHA256 from hashlib (the rp2 port has no hmac module)."""
    import hashlib

    block = 64
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key + b"\x00" * (block - len(key))
    ipad = bytes((k ^ 0x36) for k in key)
    opad = bytes((k ^ 0x5C) for k in key)
    inner = hashlib.sha256(ipad + msg).digest()
    return hashlib.sha256(opad + inner).digest()


def consteq(a, b):
    # Constant-time comparison for MACs.
    if len(a) != len(b):
        return False
    r = 0
    for x, y in zip(a, b):
        r |= x ^ y
    return r == 0

