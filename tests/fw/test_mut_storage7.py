"""Issue 8, round-7 mutation survivors in store and flash: the E_FLASH refusal texts of a state
save, and the flash fault injection the emulator and the tests rely on.

Oracles: docs/protocol.md's error table (53 E_FLASH "persistent storage write failed"); the
refusal details are change detectors for documented texts ("errors name cause and fix": which
write failed and why); flash.py's module docstring ("fail_writes = N: the next N writes raise
OSError(EIO)", EIO being errno 5; "tear_next_write_after = k: the next write stores only its first
k bytes, then raises PowerLoss"); docs/protocol.md `sim_fault` power_loss: `after_bytes` = "bytes
of the next state write that land".
"""
from flash import MemoryFlash, PowerLoss
from pumpkit import refusal
from store import StateStore

EIO = 5         # errno EIO (POSIX), not read from flash.py


class FlippingFlash(MemoryFlash):
    """Stores the last byte of a write with one bit flipped while `bad` (a failing cell)."""

    def __init__(self):
        MemoryFlash.__init__(self)
        self.bad = False

    def write(self, name, data):
        if self.bad:
            data = data[:-1] + bytes([data[-1] ^ 1])
        MemoryFlash.write(self, name, data)


def test_a_failed_state_save_says_which_step_failed():
    """E_FLASH both ways, with a detail naming the failed step: "state write: <the OSError>" (the
    errno 5 shows in it on both runtimes) when the flash refuses the write, "state readback
    mismatch" when the write landed wrong. Either way the previous state still loads."""
    fl = MemoryFlash()
    st = StateStore(fl)
    assert st.save({"v": 1}) == 1
    fl.fail_writes = 1
    got = refusal(lambda: st.save({"v": 2}))
    assert got is not None and got[0] == "E_FLASH", got
    assert got[1].startswith("state write: ") and str(EIO) in got[1][len("state write: "):], got
    assert StateStore(fl).load() == {"v": 1}

    fl = FlippingFlash()
    st = StateStore(fl)
    assert st.save({"v": 1}) == 1
    fl.bad = True
    assert refusal(lambda: st.save({"v": 2})) == ("E_FLASH", "state readback mismatch")
    assert StateStore(fl).load() == {"v": 1}


def test_injected_write_failure_is_eio_and_every_attempt_is_counted():
    """fail_writes: the write raises OSError with errno EIO (5) and changes nothing; `writes`
    counts completed and attempted writes from 0 on a fresh flash."""
    fl = MemoryFlash()
    assert fl.writes == 0
    fl.write("x", b"abc")
    assert fl.writes == 1
    fl.fail_writes = 1
    err = None
    try:
        fl.write_at("x", 1, b"Z")
    except OSError as e:
        err = e
    assert err is not None and err.args[0] == EIO, err
    assert fl.read("x") == b"abc" and fl.writes == 2
    fl.write_at("x", 1, b"Z")
    assert fl.read("x") == b"aZc" and fl.writes == 3


def test_a_tear_point_at_or_past_the_end_of_the_write_lets_it_land_whole():
    """k bytes of the write land: a write of k + 1 bytes is torn (k land, PowerLoss); a write of
    exactly k bytes, or fewer, lands whole and nothing is raised. The tear is used up either way."""
    for n in (1, 5, 24):
        fl = MemoryFlash()
        fl.tear_next_write_after = n
        fl.write("w", bytes(range(1, n + 1)))                    # exactly k: whole, no PowerLoss
        assert fl.read("w") == bytes(range(1, n + 1)) and fl.tear_next_write_after is None
        fl.tear_next_write_after = n
        fl.write_at("w", 0, bytes(n - 1) if n > 1 else b"")       # fewer: whole
        assert fl.tear_next_write_after is None
        fl.tear_next_write_after = n
        cut = False
        try:
            fl.write("t", bytes(range(1, n + 2)))                # k + 1: torn after k
        except PowerLoss:
            cut = True
        assert cut and fl.read("t") == bytes(range(1, n + 1)), n
        fl.tear_next_write_after = n
        cut = False
        try:
            fl.write_at("u", 0, bytes(range(1, n + 1)))          # write_at, exactly k: whole
        except PowerLoss:
            cut = True
        assert not cut and fl.read("u") == bytes(range(1, n + 1)), n


def test_a_slot_that_decayed_since_the_last_save_is_not_counted_as_the_good_one():
    """Store docstring and issue 2: "a torn write leaves the previous good state" - save() writes
    the slot NOT holding the newest good record. Here the newest record (slot b, v2) decays in
    flash after it was written and read back (a failing cell); the next save must then spare
    slot a (v1, the only good record left), so a power cut during that save still leaves v1.
    Found by mutation round 7 (store `_scan` 25/26): a store that trusted its memory of which
    slot was current overwrote v1, and the cut left nothing loadable (the pump forgot its
    programme, reservoir and keys)."""
    for k in (0, 10, 16, 22):                                # the v3 record is 23 bytes
        fl = MemoryFlash()
        st = StateStore(fl)
        st.save({"v": 1})
        st.save({"v": 2})
        b = bytearray(fl.read("state.b"))
        b[-1] ^= 1                                          # slot b decays
        fl.write("state.b", bytes(b))
        fl.tear_next_write_after = k
        cut = False
        try:
            st.save({"v": 3})
        except PowerLoss:
            cut = True
        assert cut and StateStore(fl).load() == {"v": 1}, k
        assert st.save({"v": 4}) > 1 and StateStore(fl).load() == {"v": 4}


class ReadFailFlash(MemoryFlash):
    """read() raises OSError(EIO) while `bad` (a HAL whose reads can fail)."""

    def __init__(self):
        MemoryFlash.__init__(self)
        self.bad = False

    def read(self, name):
        if self.bad:
            raise OSError(EIO)
        return MemoryFlash.read(self, name)


def test_a_save_whose_slot_read_fails_is_refused_as_e_flash_and_changes_nothing():
    """save() reads both slots before writing: a read that fails refuses the save with E_FLASH
    (the controller raises its memory alarm on E_FLASH; any other exception would escape it),
    detail "state read: <the OSError>", and writes nothing: the previous state still loads."""
    fl = ReadFailFlash()
    st = StateStore(fl)
    assert st.save({"v": 1}) == 1
    before = fl.writes
    fl.bad = True
    got = refusal(lambda: st.save({"v": 2}))
    assert got is not None and got[0] == "E_FLASH", got
    assert got[1].startswith("state read: ") and str(EIO) in got[1][len("state read: "):], got
    assert fl.writes == before
    fl.bad = False
    assert StateStore(fl).load() == {"v": 1}


def test_seq_is_that_of_the_newest_good_record_and_zero_without_one():
    """store.seq: the seq of the newest good record, 0 when there is none (a fresh store on an
    empty flash, and after erase); saves count 1, 2, 3 from there (module docstring)."""
    fl = MemoryFlash()
    st = StateStore(fl)
    assert st.seq == 0
    assert st.save({"v": 1}) == 1 and st.save({"v": 2}) == 2 and st.seq == 2
    st.erase()
    assert st.seq == 0 and st.load() is None and st.seq == 0
    assert st.save({"v": 3}) == 1 and StateStore(fl).load() == {"v": 3}
