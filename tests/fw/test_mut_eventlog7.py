"""Issue 8, round-7 mutation survivors in eventlog: the ring's bookkeeping after every append, the
recovery scan's flash reads, a damaged ring, the capacity refusal, the record layout.

Oracles: the record layout and ring rules in eventlog's module docstring (24-byte records, seq at
slot seq % capacity, rsv 0, "the next append reuses its seq"), the ring arithmetic done in the
test (with capacity C, after appending seq s the kept seqs are max(1, s - C + 1)..s),
SCAN_CHUNK's comment ("records per read during recovery (768 bytes)": 32 x 24, computed here),
docs/protocol.md's error table (E_BAD_ARGS, E_FLASH) and flash.py's fault injection (EIO = 5).
"""
import struct

import eventlog
from flash import MemoryFlash
from pumpkit import refusal

REC = 24        # bytes per record (module docstring), not read from the module


class ReadLog(MemoryFlash):
    """Records every read_at as (offset, n)."""

    def __init__(self):
        MemoryFlash.__init__(self)
        self.calls = []

    def read_at(self, name, offset, n):
        self.calls.append((offset, n))
        return MemoryFlash.read_at(self, name, offset, n)


class PlainFlash:
    """A HAL flash with only the design.md minimum (no read_at): recovery reads the whole file."""

    def __init__(self, inner):
        self.inner = inner

    def read(self, name):
        return self.inner.read(name)

    def write_at(self, name, offset, data):
        self.inner.write_at(name, offset, data)


def test_first_and_last_seq_follow_the_ring_after_every_append():
    """After appending seq s to a ring of C records the log holds max(1, s - C + 1)..s, and
    len() is their count: checked after EVERY append, before and after the wrap, for C = 8
    and C = 1 (one record: only the newest is kept; capacity 1 is a valid ring, < 1 is not)."""
    for cap in (8, 1):
        log = eventlog.EventLog(MemoryFlash(), capacity=cap)
        assert (log.first_seq, log.last_seq, len(log)) == (0, 0, 0)
        for s in range(1, 3 * cap + 3):
            assert log.append(100 + s, 4, s, -s) == s
            first = s - cap + 1 if s - cap + 1 > 1 else 1
            assert (log.first_seq, log.last_seq) == (first, s), (cap, s, log.first_seq)
            assert len(log) == s - first + 1
            assert [r[0] for r in log.read(0, 99)] == list(range(first, s + 1))


def test_capacity_below_one_is_refused_with_its_code_and_cause():
    """docs/protocol.md: E_BAD_ARGS; the detail names the argument ("capacity": a change detector
    for the refusal text, which names the cause)."""
    assert refusal(lambda: eventlog.EventLog(MemoryFlash(), capacity=0)) == ("E_BAD_ARGS", "capacity")
    assert refusal(lambda: eventlog.EventLog(MemoryFlash(), capacity=-5)) == ("E_BAD_ARGS", "capacity")


def test_default_ring_reads_the_1024_record_format_written_before():
    """Change detector for the on-flash format: the default ring is 1024 records (the Pico's file
    of 24 576 bytes). A firmware update that changed the default would find the existing records
    at the wrong slots and drop them (test_eventlog's capacity-change test), so a ring written with
    an explicit 1024 must be recovered whole by the default log: 1030 appends keep 7..1030."""
    fl = MemoryFlash()
    old = eventlog.EventLog(fl, capacity=1024)
    for s in range(1, 1031):
        old.append(s, 4, s, 0)
    log = eventlog.EventLog(fl)
    assert (log.capacity, log.first_seq, log.last_seq, len(log)) == (1024, 7, 1030, 1024)
    assert len(fl.read("events")) == 1024 * REC


def _reopened(capacity, n):
    """A ring of `capacity` with records 1..n appended, then recovered afresh: (its reads, log)."""
    fl = ReadLog()
    log = eventlog.EventLog(fl, capacity=capacity)
    for s in range(1, n + 1):
        log.append(s, 4)
    fl.calls = []
    return fl, eventlog.EventLog(fl, capacity=capacity)


def test_recovery_reads_the_ring_in_chunks_of_32_records_and_stops_at_its_end():
    """Recovery keeps the peak RAM to one chunk of 32 records (768 bytes), never asks past the
    ring's end, and stops at the end of a short file. Full ring of 100: 32 + 32 + 32 + 4 records;
    ring of 64 (a multiple): 2 reads; 5 records written in a ring of 100 (slots 0..5): one read
    that comes back short, and nothing after it; no file: one read."""
    c = 32 * REC
    fl, log = _reopened(100, 100)
    assert fl.calls == [(0, c), (c, c), (2 * c, c), (3 * c, 4 * REC)], fl.calls
    assert (log.first_seq, log.last_seq) == (1, 100)

    fl, log = _reopened(64, 69)
    assert fl.calls == [(0, c), (c, c)], fl.calls
    assert (log.first_seq, log.last_seq) == (6, 69)

    fl = ReadLog()
    log = eventlog.EventLog(fl, capacity=100)
    assert fl.calls == [(0, c)]
    for s in range(1, 6):
        log.append(s, 4)
    fl.calls = []
    log = eventlog.EventLog(fl, capacity=100)
    assert fl.calls == [(0, c)], fl.calls
    assert (log.first_seq, log.last_seq) == (1, 5)


def test_a_whole_file_longer_than_the_ring_keeps_only_the_ring():
    """A flash without read_at hands recovery the whole file. After a ring of 8 (seqs 1..7 at
    slots 1..7) is reopened as a ring of 4, only slots 0..3 belong to it: seqs 1..3 sit where
    seq % 4 says and are kept; seqs 4..7 sit beyond the ring and are ignored. The next append
    is seq 4 at slot 0. Same answer with read_at."""
    for plain in (True, False):
        inner = MemoryFlash()
        big = eventlog.EventLog(inner, capacity=8)
        for s in range(1, 8):
            big.append(s, 4, s, 0)
        fl = PlainFlash(inner) if plain else inner
        log = eventlog.EventLog(fl, capacity=4)
        assert (log.first_seq, log.last_seq) == (1, 3), plain
        assert [r[0] for r in log.read(0, 99)] == [1, 2, 3]
        assert log.append(50, 4, 9, 0) == 4
        assert eventlog.unpack(inner.read("events"), 0) == (4, 50, 4, 9, 0)


def test_a_stale_record_left_in_a_damaged_ring_does_not_extend_the_log():
    """Module docstring: only the newest `capacity` seqs can be present. A ring of 8 holding
    13..20 in which slot 1 (seq 17) was replaced by a valid old seq 1 (a damaged ring) still
    spans 13..20: first_seq 13, 8 entries, and the read skips the slot that lost seq 17."""
    old = MemoryFlash()
    eventlog.EventLog(old, capacity=8).append(11, 4, 1, 0)      # seq 1, slot 1
    stale = old.read_at("events", 1 * REC, REC)
    fl = MemoryFlash()
    log = eventlog.EventLog(fl, capacity=8)
    for s in range(1, 21):
        log.append(s, 4, s, 0)
    fl.write_at("events", 1 * REC, stale)
    log = eventlog.EventLog(fl, capacity=8)
    assert (log.first_seq, log.last_seq, len(log)) == (13, 20, 8)
    assert [r[0] for r in log.read(0, 99)] == [13, 14, 15, 16, 18, 19, 20]
    assert log.append(21, 4) == 21 and log.first_seq == 14


def test_record_layout_reserved_field_is_zero_and_a_flash_error_names_its_cause():
    """Layout: bytes 0..20 are seq, t_s, code, rsv 0, a, b packed here by hand ("<IiHHii");
    unpack() does not look at rsv, so only the raw bytes show it. A failed write: E_FLASH, seq
    not consumed, and the detail says what failed and carries the OSError (EIO, errno 5): a
    change detector for the documented refusal text."""
    fl = MemoryFlash()
    log = eventlog.EventLog(fl, capacity=8)
    log.append(1234, 12, -7, 9)
    raw = fl.read_at("events", 1 * REC, REC)
    assert raw[10:12] == b"\x00\x00"
    body = struct.pack("<IiHHii", 1, 1234, 12, 0, -7, 9)
    assert raw[:20] == body
    fl.fail_writes = 1
    got = refusal(lambda: log.append(1235, 12))
    assert got is not None and got[0] == "E_FLASH", got
    assert got[1].startswith("event write: ") and "5" in got[1][13:], got
    assert log.last_seq == 1 and log.append(1236, 12) == 2

