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
