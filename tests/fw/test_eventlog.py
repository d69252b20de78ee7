"""Persistent ring event log (issue 2, "Persistence and log": ring of at least
1 000 entries, persisted, readable by sequence range)."""


import eventlog
import flash
from protocol import PumpError

from pumpkit import tmpdir, rmtree


PROG = eventlog.CODES["programme"]


def fill(log, n, t0=100):
    for i in range(n):
        log.append(t0 + i, PROG, i, -i)


def test_codes_table():
    c = eventlog.CODES
    assert c["reset"] == 1 and c["programme"] == 2 and c["refill"] == 3
    for name in (
        "boot",
        "reset_unclean",
        "programme",
        "refill",
        "fill_rejected",
        "bolus_start",
        "bolus_refused",
        "bolus_end",
        "patient_bolus",
        "patient_bolus_refused",
        "alarm_raised",
        "alarm_cleared",
        "alarm_silenced",
        "stop",
        "resume",
        "time_set",
        "settings",
        "override",
        "auth_fail",
        "stall",
        "flash_error",
        "eri",
        "eos",
        "profile",
        "bridge_start",
        "prime_start",
    ):
        assert name in c, name
    assert len(eventlog.NAMES) == len(c)  # codes unique
    for name in c:
        assert eventlog.NAMES[c[name]] == name
        assert 0 < c[name] < 0x10000
    for name in eventlog.ARGS:
        assert name in c
        assert len(eventlog.ARGS[name]) == 2


def test_default_capacity_at_least_1000():
    log = eventlog.EventLog(flash.MemoryFlash())
    assert log.capacity >= 1000


def test_append_and_read():
    f = flash.MemoryFlash()
    log = eventlog.EventLog(f, capacity=16)
    assert log.first_seq == 0 and log.last_seq == 0 and len(log) == 0
    assert log.read(1, 10) == []
    assert log.append(5, eventlog.CODES["boot"]) == 1
    assert log.append(6, PROG, 500000, 600000) == 2
    assert log.append(-3, eventlog.CODES["time_set"], -3, 1000) == 3
    assert log.first_seq == 1 and log.last_seq == 3 and len(log) == 3
    assert log.read(1, 10) == [
        (1, 5, 4, 0, 0),
        (2, 6, 2, 500000, 600000),
        (3, -3, 17, -3, 1000),
    ]
    assert log.read(2, 1) == [(2, 6, 2, 500000, 600000)]
    assert log.read(4, 10) == []
    assert log.read(0, 0) == []


def test_one_small_write_per_append():
    f = flash.MemoryFlash()
    log = eventlog.EventLog(f, capacity=8)
    before = f.writes
    fill(log, 5)
    assert f.writes - before == 5
    assert len(f.read("events")) == 6 * eventlog.REC_LEN  # slots 0..5, seq 1..5


def test_wrap_around_past_capacity():
    f = flash.MemoryFlash()
    log = eventlog.EventLog(f, capacity=8)
    fill(log, 21)
    assert log.last_seq == 21 and log.first_seq == 14 and len(log) == 8
    assert len(f.read("events")) == 8 * eventlog.REC_LEN
    got = log.read(1, 100)
    assert [r[0] for r in got] == list(range(14, 22))
    assert got[0] == (14, 113, PROG, 13, -13)
    assert [r[0] for r in log.read(16, 3)] == [16, 17, 18]
    assert [r[0] for r in log.read(20, 5)] == [20, 21]


def test_read_by_seq_range_pages():
    log = eventlog.EventLog(flash.MemoryFlash(), capacity=1024)
    fill(log, 1030)
    assert log.first_seq == 7 and log.last_seq == 1030
    seqs = []
    s = 1
    while True:
        page = log.read(s, 50)
        if not page:
            break
        seqs.extend(r[0] for r in page)
        s = page[-1][0] + 1
    assert seqs == list(range(7, 1031))


def test_recovery_resumes_at_highest_seq():
    f = flash.MemoryFlash()
    fill(eventlog.EventLog(f, capacity=8), 3)
    log = eventlog.EventLog(f, capacity=8)
    assert (log.first_seq, log.last_seq) == (1, 3)
    assert log.append(200, PROG) == 4
    fill(log, 10)
    log = eventlog.EventLog(f, capacity=8)
    assert (log.first_seq, log.last_seq) == (7, 14)
    assert [r[0] for r in log.read(0, 99)] == list(range(7, 15))


def test_recovery_after_torn_record_every_offset():
    for k in range(eventlog.REC_LEN):
        f = flash.MemoryFlash()
        log = eventlog.EventLog(f, capacity=8)
        fill(log, 10)  # wrapped: seq 3..10 present
        f.tear_next_write_after = k
        lost = False
        try:
            log.append(999, eventlog.CODES["alarm_raised"], 7, 0)
        except flash.PowerLoss:
            lost = True
        assert lost
        log = eventlog.EventLog(f, capacity=8)  # reboot
        assert log.last_seq == 10, k
        # seq 3's slot was being overwritten by seq 11: it is gone or intact
        assert log.first_seq in (3, 4)
        recs = log.read(0, 99)
        assert [r[0] for r in recs][-7:] == list(range(4, 11))
        assert log.append(1000, eventlog.CODES["reset_unclean"], 1, 2) == 11
        assert log.read(11, 1) == [(11, 1000, eventlog.CODES["reset_unclean"], 1, 2)]
        log = eventlog.EventLog(f, capacity=8)
        assert (log.first_seq, log.last_seq) == (4, 11)


def test_torn_record_in_fresh_log():
    f = flash.MemoryFlash()
    f.tear_next_write_after = 10
    try:
        eventlog.EventLog(f, capacity=8).append(1, PROG)
    except flash.PowerLoss:
        pass
    log = eventlog.EventLog(f, capacity=8)
    assert (log.first_seq, log.last_seq) == (0, 0)
    assert log.append(2, PROG) == 1


def test_corrupt_record_skipped_in_read():
    f = flash.MemoryFlash()
    log = eventlog.EventLog(f, capacity=8)
    fill(log, 5)
    f.write_at("events", 3 * eventlog.REC_LEN + 13, b"\xff")  # damage seq 3
    assert [r[0] for r in log.read(1, 10)] == [1, 2, 4, 5]
    assert [r[0] for r in log.read(1, 3)] == [1, 2, 4]


def test_flash_failure_raises_and_does_not_consume_seq():
    f = flash.MemoryFlash()
    log = eventlog.EventLog(f, capacity=8)
    fill(log, 2)
    f.fail_writes = 1
    try:
        log.append(7, PROG)
        code = None
    except PumpError as e:
        code = e.code
    assert code == "E_FLASH"
    assert log.last_seq == 2
    assert log.append(8, PROG) == 3


def test_values_clamped_to_i32():
    log = eventlog.EventLog(flash.MemoryFlash(), capacity=8)
    log.append(1, PROG, 1 << 40, -(1 << 40))
    assert log.read(1, 1)[0][3:] == (0x7FFFFFFF, -0x80000000)


def test_capacity_change_ignores_misplaced_records():
    f = flash.MemoryFlash()
    fill(eventlog.EventLog(f, capacity=8), 5)
    log = eventlog.EventLog(f, capacity=4)
    # seq 1..3 sit at slots 1..3, which match seq % 4: valid; seq 4, 5 beyond
    assert log.last_seq == 3


def test_file_backed_log():
    d = tmpdir("log")
    f = flash.FileFlash(d)
    log = eventlog.EventLog(f, capacity=8)
    fill(log, 11)
    f.tear_next_write_after = 7
    try:
        log.append(1, PROG)
    except flash.PowerLoss:
        pass
    log = eventlog.EventLog(flash.FileFlash(d), capacity=8)
    assert log.last_seq == 11
    assert [r[0] for r in log.read(0, 99)] == list(range(5, 12))
    assert log.append(5, PROG) == 12
    rmtree(d)


class PlainFlash:
    """A HAL flash offering only the design.md minimum (no read_at)."""

    def __init__(self):
        self.inner = flash.MemoryFlash()

    def read(self, name):
        return self.inner.read(name)

    def write(self, name, data):
        self.inner.write(name, data)

    def write_at(self, name, offset, data):
        self.inner.write_at(name, offset, data)

    def remove(self, name):
        self.inner.remove(name)


def test_recovery_chunked_and_without_read_at():
    for f in (flash.MemoryFlash(), PlainFlash()):
        log = eventlog.EventLog(f, capacity=100)  # > SCAN_CHUNK, not a multiple
        fill(log, 250)
        log = eventlog.EventLog(f, capacity=100)
        assert (log.first_seq, log.last_seq) == (151, 250)
        assert [r[0] for r in log.read(0, 1000)] == list(range(151, 251))
        log = eventlog.EventLog(f, capacity=100)
        fill(log, 37)
        log = eventlog.EventLog(f, capacity=100)
        assert (log.first_seq, log.last_seq) == (188, 287)


# Requirement ids proven by each test (requirements/requirements.toml; read by tools/trace.py).
REQS = {
    "test_default_capacity_at_least_1000": ["LOG-RING-1000"],
    "test_wrap_around_past_capacity": ["LOG-RING-1000"],
}
