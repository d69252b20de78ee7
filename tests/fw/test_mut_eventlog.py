"""eventlog.read after the ring wrapped (issue 8, mutation survivor `read` 9): a page that starts
before the oldest kept entry starts at the oldest one, without visiting the overwritten seqs.

Oracle: the ring arithmetic (capacity 8, 100 appends: seqs 93..100 are kept) and docs/protocol.md
`log_read` ("from first_seq"; first_seq 0 is the default). A reader that walked up from seq 0 would
return the same entries after 92 useless reads: on the board, with 1024 records and years of
entries, that is a log_read running into the watchdog, so the number of flash reads is checked.
"""
import eventlog
from flash import MemoryFlash


class CountingFlash(MemoryFlash):
    def __init__(self):
        MemoryFlash.__init__(self)
        self.reads = 0

    def read_at(self, name, offset, n):
        self.reads += 1
        return MemoryFlash.read_at(self, name, offset, n)


def test_read_from_before_the_oldest_entry_starts_at_the_oldest():
    fl = CountingFlash()
    log = eventlog.EventLog(fl, capacity=8)
    for i in range(100):
        log.append(1000 + i, 4, i, 0)
    assert (log.first_seq, log.last_seq) == (93, 100)
    fl.reads = 0
    recs = log.read(0, 3)
    assert [r[0] for r in recs] == [93, 94, 95] and [r[3] for r in recs] == [92, 93, 94]
    assert fl.reads == 3, fl.reads
    assert log.read(99, 0) == [] and log.read(0, 0) == []
    assert eventlog.EventLog(MemoryFlash(), capacity=8).read(0, 5) == []


def test_discard_after_walks_only_the_kept_ring_and_reports_a_flash_failure():
    """discard_after(seq) (docs: "Invalidate every record newer than seq ... Returns how many, or -1
    if a flash write failed"): after a wrap (capacity 8, seqs 93..100 kept) discarding everything
    after 0 zeroes the 8 kept records in 8 reads; a negative seq means the same as 0."""
    fl = CountingFlash()
    log = eventlog.EventLog(fl, capacity=8)
    for i in range(100):
        log.append(1000 + i, 4, i, 0)
    fl.reads = 0
    assert log.discard_after(0) == 8 and fl.reads == 8, fl.reads
    assert (log.first_seq, log.last_seq) == (0, 0) and log.read(0, 24) == []
    again = eventlog.EventLog(fl, capacity=8)
    assert (again.first_seq, again.last_seq) == (0, 0)
    # a negative seq is 0: every record goes
    log2 = eventlog.EventLog(MemoryFlash(), capacity=8)
    for i in range(5):
        log2.append(1000 + i, 4, i, 0)
    assert log2.discard_after(-3) == 5 and (log2.first_seq, log2.last_seq) == (0, 0)
    # a failed write: -1, nothing else changed
    fl3 = MemoryFlash()
    log3 = eventlog.EventLog(fl3, capacity=8)
    for i in range(5):
        log3.append(1000 + i, 4, i, 0)
    fl3.fail_writes = 1
    assert log3.discard_after(2) == -1 and log3.last_seq == 5


def test_unpack_reads_a_record_at_offset_0_by_default_and_refuses_a_short_one():
    """Record layout (docs/verification.md: 24-byte records, CRC-32 over the first 20): the
    whole file's first slot unpacks without an offset; a blob shorter than one record is None."""
    fl = MemoryFlash()
    log = eventlog.EventLog(fl, capacity=8)
    log.append(1234, 4, 5, 6)          # seq 1, in slot 1
    raw = fl.read("events")
    rec = raw[24:48]
    assert eventlog.unpack(rec) == (1, 1234, 4, 5, 6)
    assert eventlog.unpack(raw, 24) == (1, 1234, 4, 5, 6)
    assert eventlog.unpack(rec[:23]) is None and eventlog.unpack(b"") is None
