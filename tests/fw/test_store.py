"""Flash back-ends and the A/B state store (issue 2, "Persistence and log":
atomic writes, torn-write recovery)."""

import os

import flash
import store
from protocol import PumpError

from pumpkit import tmpdir, rmtree


def raises_code(fn, code):
    try:
        fn()
    except PumpError as e:
        return e.code == code
    return False


def both_flashes(tag):
    d = tmpdir(tag)
    return [(flash.MemoryFlash(), None), (flash.FileFlash(d), d)]


# ---- flash back-ends ------------------------------------------------------


def check_flash_basics(f):
    assert f.read("x") is None
    assert f.read_at("x", 0, 4) is None
    f.write("x", b"hello")
    assert f.read("x") == b"hello"
    f.write("x", b"hi")
    assert f.read("x") == b"hi"
    f.write_at("x", 1, b"EY")
    assert f.read("x") == b"hEY"
    f.write_at("y", 3, b"ab")  # new file, zero-extended
    assert f.read("y") == b"\x00\x00\x00ab"
    f.write_at("y", 7, b"c")
    assert f.read("y") == b"\x00\x00\x00ab\x00\x00c"
    assert f.read_at("y", 3, 2) == b"ab"
    assert f.read_at("y", 7, 10) == b"c"
    assert f.names() == ["x", "y"]
    f.remove("x")
    f.remove("x")  # absent: no error
    assert f.read("x") is None
    assert f.names() == ["y"]


def check_flash_faults(f):
    f.write("z", b"0123456789")
    f.fail_writes = 2
    for _ in range(2):
        try:
            f.write("z", b"new")
            ok = False
        except OSError:
            ok = True
        assert ok
    assert f.read("z") == b"0123456789"
    f.write("z", b"abc")
    assert f.read("z") == b"abc"
    f.tear_next_write_after = 2
    try:
        f.write("z", b"WXYZ")
        lost = False
    except flash.PowerLoss:
        lost = True
    assert lost and f.read("z") == b"WX"
    f.write("z", b"0123456789")
    f.tear_next_write_after = 1
    try:
        f.write_at("z", 4, b"abcd")
        lost = False
    except flash.PowerLoss:
        lost = True
    assert lost and f.read("z") == b"0123a56789"
    f.fail_writes = 1
    try:
        f.write_at("z", 0, b"Q")
        ok = False
    except OSError:
        ok = True
    assert ok and f.read("z") == b"0123a56789"


def test_flash_backends():
    for f, d in both_flashes("flash"):
        check_flash_basics(f)
        check_flash_faults(f)
        if d:
            rmtree(d)


def test_powerloss_is_not_an_ordinary_error():
    # firmware `except Exception`/`except OSError` handlers must not swallow it
    assert not issubclass(flash.PowerLoss, Exception)
    assert not issubclass(flash.PowerLoss, OSError)


def test_fileflash_persists_across_instances():
    d = tmpdir("persist")
    f = flash.FileFlash(d)
    f.write("k", b"\x00\x01\xff")
    assert flash.FileFlash(d).read("k") == b"\x00\x01\xff"
    sub = flash.FileFlash(d + "/deep/er")
    sub.write("k", b"1")
    assert flash.FileFlash(d + "/deep/er/").read("k") == b"1"
    rmtree(d + "/deep/er")
    os.rmdir(d + "/deep")
    rmtree(d)


# ---- A/B store ------------------------------------------------------------


def test_empty_store_loads_none():
    assert store.StateStore(flash.MemoryFlash()).load() is None


def test_roundtrip_and_alternating_slots():
    for f, d in both_flashes("ab"):
        s = store.StateStore(f)
        assert s.save({"v": 1, "prog": {"steps": [[0, 500000]]}}) == 1
        assert s.save({"v": 2}) == 2
        assert s.save({"v": 3}) == 3
        assert f.read("state.a") is not None and f.read("state.b") is not None
        s2 = store.StateStore(f)
        assert s2.load() == {"v": 3}
        assert s2.seq == 3
        assert s2.save({"v": 4}) == 4
        assert store.StateStore(f).load() == {"v": 4}
        if d:
            rmtree(d)


def test_payload_is_canonical():
    f1 = flash.MemoryFlash()
    f2 = flash.MemoryFlash()
    store.StateStore(f1).save({"b": 1, "a": [1, 2], "c": {"y": 0, "x": None}})
    store.StateStore(f2).save({"c": {"x": None, "y": 0}, "a": [1, 2], "b": 1})
    assert f1.read("state.a") == f2.read("state.a")
    assert f1.read("state.a")[16:] == b'{"a":[1,2],"b":1,"c":{"x":null,"y":0}}'


def torn_case(f, k, blob_len):
    s = store.StateStore(f)
    s.save({"gen": 1, "pad": "x" * 10})
    s.save({"gen": 2, "pad": "y" * 10})
    f.tear_next_write_after = k
    lost = False
    try:
        s.save({"gen": 3, "pad": "z" * 10})
    except flash.PowerLoss:
        lost = True
    after = store.StateStore(f)  # reboot
    got = after.load()
    if k < blob_len:
        assert lost
        assert got == {"gen": 2, "pad": "y" * 10}, k
        assert after.seq == 2
    else:
        assert got == {"gen": 3, "pad": "z" * 10}
    # the store keeps working after the reboot
    after.save({"gen": 4})
    assert store.StateStore(f).load() == {"gen": 4}


def test_torn_write_at_every_byte_offset():
    probe = flash.MemoryFlash()
    ps = store.StateStore(probe)
    ps.save({"gen": 1, "pad": "x" * 10})
    ps.save({"gen": 2, "pad": "y" * 10})
    ps.save({"gen": 3, "pad": "z" * 10})
    blob_len = len(probe.read("state.a"))
    for k in range(blob_len + 1):
        torn_case(flash.MemoryFlash(), k, blob_len)


def test_torn_write_on_files():
    d = tmpdir("torn")
    for k in (0, 3, 15, 16, 20, 1000):
        f = flash.FileFlash(d)
        f.remove("state.a")
        f.remove("state.b")
        torn_case(f, k, 16 + len(b'{"gen":3,"pad":"zzzzzzzzzz"}'))
    rmtree(d)


def test_torn_first_ever_save_leaves_nothing():
    f = flash.MemoryFlash()
    f.tear_next_write_after = 10
    try:
        store.StateStore(f).save({"a": 1})
    except flash.PowerLoss:
        pass
    assert store.StateStore(f).load() is None


def test_write_failure_raises_e_flash_and_keeps_previous():
    f = flash.MemoryFlash()
    s = store.StateStore(f)
    s.save({"v": 1})
    s.save({"v": 2})
    f.fail_writes = 1
    assert raises_code(lambda: s.save({"v": 3}), "E_FLASH")
    assert store.StateStore(f).load() == {"v": 2}
    assert s.save({"v": 3}) == 3
    assert store.StateStore(f).load() == {"v": 3}


class CorruptingFlash(flash.MemoryFlash):
    """Stores a flipped bit (failing flash cell): the verify step must notice."""

    def __init__(self):
        flash.MemoryFlash.__init__(self)
        self.bad = False

    def write(self, name, data):
        if self.bad:
            data = data[:-1] + bytes([data[-1] ^ 1])
        flash.MemoryFlash.write(self, name, data)


def test_readback_mismatch_detected():
    f = CorruptingFlash()
    s = store.StateStore(f)
    s.save({"v": 1})
    f.bad = True
    assert raises_code(lambda: s.save({"v": 2}), "E_FLASH")
    f.bad = False
    assert store.StateStore(f).load() == {"v": 1}
    assert s.save({"v": 3}) == 2
    assert store.StateStore(f).load() == {"v": 3}


def test_corrupt_newest_slot_falls_back():
    f = flash.MemoryFlash()
    s = store.StateStore(f)
    s.save({"v": 1})  # slot a
    s.save({"v": 2})  # slot b
    blob = bytearray(f.read("state.b"))
    blob[-2] ^= 0x40
    f.write("state.b", bytes(blob))
    s2 = store.StateStore(f)
    assert s2.load() == {"v": 1}
    assert s2.save({"v": 9}) == 2  # overwrites the bad slot
    assert f.read("state.a") is not None
    assert store.StateStore(f).load() == {"v": 9}


def test_parse_rejects_garbage():
    assert store.parse(None) is None
    assert store.parse(b"") is None
    assert store.parse(b"PST1" + bytes(12)) is None
    assert store.parse(b"XXXX" + bytes(40)) is None


def test_erase():
    f = flash.MemoryFlash()
    s = store.StateStore(f)
    s.save({"v": 1})
    s.erase()
    assert store.StateStore(f).load() is None
    assert f.names() == []


# Requirement ids proven by each test (requirements/requirements.toml; read by tools/trace.py).
REQS = {
    "test_torn_write_at_every_byte_offset": ["STORE-ATOMIC"],
}
