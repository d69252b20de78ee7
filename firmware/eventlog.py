"""Persistent ring event log (issue 2, "Persistence and log": "ring of at least
1 000 entries (sequence number, time, code, data), persisted, readable by
sequence range").

One flash file `<name>` of `capacity` fixed 24-byte records; the record with
sequence number seq lives at byte offset (seq % capacity) * 24:
    offset 0   seq   u32 LE   1, 2, 3, ... (0 never used: zero-filled = empty)
    offset 4   t_s   i32 LE   pump time (seconds since the pump epoch)
    offset 8   code  u16 LE   CODES value
    offset 10  rsv   u16 LE   0 (reserved)
    offset 12  a     i32 LE   first datum (meaning per ARGS; clamped to i32)
    offset 16  b     i32 LE   second datum
    offset 20  crc   u32 LE   CRC-32 of bytes 0..20
append() is one write_at of 24 bytes (no rewrite of the ring). On construction
the ring is scanned and the log resumes after the highest valid seq; a record
torn by power loss fails its CRC (or sits at the wrong slot) and is ignored,
and the next append reuses its seq and slot.
"""

import struct

import compat
from protocol import PumpError

REC_LEN = 24
_FMT = "<IiHHii"
_BODY = 20
I32_MAX = 0x7FFFFFFF
I32_MIN = -0x80000000
SCAN_CHUNK = 32  # records per read during recovery (768 bytes)

# Stable event codes. Numbers never change once released; add at the end.
CODES = {
    "reset": 1,  # clean restart (commanded or after provisioning)
    "programme": 2,
    "refill": 3,
    "boot": 4,
    "reset_unclean": 5,
    "fill_rejected": 6,
    "bolus_start": 7,
    "bolus_refused": 8,
    "bolus_end": 9,
    "patient_bolus": 10,
    "patient_bolus_refused": 11,
    "alarm_raised": 12,
    "alarm_cleared": 13,
    "alarm_silenced": 14,
    "stop": 15,
    "resume": 16,
    "time_set": 17,
    "settings": 18,
    "override": 19,
    "auth_fail": 20,
    "stall": 21,
    "flash_error": 22,
    "eri": 23,
    "eos": 24,
    "profile": 25,
    "bridge_start": 26,
    "prime_start": 27,
    "alarm_test": 28,
    "refill_check": 29,     # the expected-vs-withdrawn check a committed refill passed (issue 11)
    "programme_peak": 30,   # highest basal step of the old and new programme (issue 11: old vs new)
}

# Meaning of (a, b) per code, for the host's log display. Unlisted: unused (0). Every writer
# follows it (tests/fw/test_log_fields.py checks each field against the kind its name says).
ARGS = {
    "reset_unclean": ("checkpoint_t_s", "assumed_nl"),
    "programme": ("old_ng_day", "new_ng_day"),
    "refill": ("added_nl", "conc_ug_ml"),
    "fill_rejected": ("requested_nl", "capacity_nl"),
    "bolus_start": ("dose_ng", "duration_s"),
    "bolus_refused": ("dose_ng", "reason_1state_2rate_3bridge"),
    "bolus_end": ("delivered_nl", "cancelled"),
    "patient_bolus": ("dose_ng", "count_24h"),
    "patient_bolus_refused": ("reason_0off_1lockout_2max_3daily_4state", "wait_s_count_or_dose"),
    "alarm_raised": ("alarm_id", "detail"),
    "alarm_cleared": ("alarm_id", "role"),
    "alarm_silenced": ("duration_s", "until_t_s"),   # silencing mutes every active alarm
    "time_set": ("old_t_s", "new_t_s"),
    "settings": ("setting_id", "value"),
    "override": ("reason_id", "value"),
    "auth_fail": ("role", "failures"),
    "stall": ("strokes_requested", "strokes_done"),
    "flash_error": ("what", "errno"),
    "profile": ("indication", "age_group"),
    "bridge_start": ("volume_nl", "old_conc_ug_ml"),
    "prime_start": ("volume_nl", "rate_nl_day"),
    # Written at refill_commit just before "refill": the discrepancy is exactly |a - b| (issue 4).
    "refill_check": ("expected_nl", "withdrawn_nl"),
    # Written at programme_commit just after "programme" (which carries the daily totals).
    "programme_peak": ("old_peak_ng_day", "new_peak_ng_day"),
}

# `role` fields (alarm_cleared, auth_fail): the session's role.
ROLE_IDS = {"patient": 1, "clinician": 2, "service": 3}
# `setting_id` of "settings" entries: one entry per setting a settings_set carried.
SETTINGS = ("low_res_nl", "catheter_nl", "pb_dose_ng", "pb_duration_min", "pb_lockout_min", "pb_max_24h",
            "utc_offset_s")   # setting_id = position + 1; never reorder, add at the end
SETTING_IDS = {}
for _i, _k in enumerate(SETTINGS):
    SETTING_IDS[_k] = _i + 1

NAMES = {}
for _k in CODES:
    NAMES[CODES[_k]] = _k


def _clamp(v):
    if v > I32_MAX:
        return I32_MAX
    if v < I32_MIN:
        return I32_MIN
    return v


def unpack(blob, off=0):
    """(seq, t_s, code, a, b) of the record at `off`, or None if invalid."""
    if len(blob) < off + REC_LEN:
        return None
    crc = struct.unpack_from("<I", blob, off + _BODY)[0]
    if compat.crc32(blob[off : off + _BODY]) != crc:
        return None
    seq, t_s, code, _rsv, a, b = struct.unpack_from(_FMT, blob, off)
    if seq == 0:
        return None
    return (seq, t_s, code, a, b)


class EventLog:
    def __init__(self, flash, capacity=1024, name="events"):
        if capacity < 1:
            raise PumpError("E_BAD_ARGS", "capacity")
        self.flash = flash
        self.capacity = capacity
        self.name = name
        self._buf = bytearray(REC_LEN)
        self._body = memoryview(self._buf)[:_BODY]
        self._has_read_at = hasattr(flash, "read_at")
        self._recover()   # sets first_seq and last_seq

    def _chunks(self):
        """Yield (first_slot, blob) over the ring file; read_at keeps the peak
        RAM to one chunk (the Pico has ~200 KiB of heap), else one read()."""
        if not self._has_read_at:
            blob = self.flash.read(self.name)
            if blob:
                yield 0, blob
            return
        slot = 0
        while slot < self.capacity:
            n = self.capacity - slot
            if n > SCAN_CHUNK:
                n = SCAN_CHUNK
            blob = self.flash.read_at(self.name, slot * REC_LEN, n * REC_LEN)
            if not blob:
                return
            yield slot, blob
            if len(blob) < n * REC_LEN:
                return
            slot += n

    def _recover(self):
        first = 0
        last = 0
        cap = self.capacity
        for slot0, blob in self._chunks():
            # A whole-file read may run past the ring (a file left by a larger capacity): the
            # slot check below rejects those records, as seq % cap < cap <= slot0 + i.
            for i in range(len(blob) // REC_LEN):
                rec = unpack(blob, i * REC_LEN)
                if rec is None or rec[0] % cap != slot0 + i:
                    continue
                s = rec[0]
                if s > last:
                    last = s
                if first == 0 or s < first:
                    first = s
        # Only the newest `capacity` seqs can be present; older valid-looking
        # records cannot exist unless the ring was damaged.
        if last and first <= last - self.capacity:
            first = last - self.capacity + 1
        self.first_seq = first   # 0 with last_seq 0: empty
        self.last_seq = last

    def append(self, t_s, code, a=0, b=0):
        """Write one record; returns its seq. On a flash error raises
        PumpError("E_FLASH") and the seq is not consumed."""
        seq = self.last_seq + 1
        buf = self._buf
        struct.pack_into(_FMT, buf, 0, seq, _clamp(t_s), code, 0, _clamp(a), _clamp(b))
        struct.pack_into("<I", buf, _BODY, compat.crc32(self._body))
        try:
            self.flash.write_at(self.name, (seq % self.capacity) * REC_LEN, buf)
        except OSError as e:
            raise PumpError("E_FLASH", "event write: %s" % e)
        self.last_seq = seq
        if self.first_seq == 0:
            self.first_seq = seq
        elif seq - self.first_seq >= self.capacity:
            self.first_seq = seq - self.capacity + 1
        return seq

    def discard_after(self, seq):
        """Invalidate every record newer than `seq` (zero it on flash) and resume after `seq`.

        Boot calls this with the log seq the committed state reached: entries appended after
        the last state save describe changes a power cut rolled back (issue 8, defect 3).
        Idempotent, so a cut during it is finished by the next boot. Returns how many, or -1
        if a flash write failed (the caller raises the memory alarm)."""
        n = 0
        if seq < 0:
            seq = 0
        s = self.last_seq
        lo = s - self.capacity if s - self.capacity > seq else seq   # older seqs are overwritten
        zero = bytes(REC_LEN)
        while s > lo:
            if self._read_rec(s) is not None:
                try:
                    self.flash.write_at(self.name, (s % self.capacity) * REC_LEN, zero)
                except OSError:
                    return -1
                n += 1
            s -= 1
        if self.last_seq > seq:
            self.last_seq = seq
            if self.first_seq > seq:
                self.first_seq = seq             # >= 0: clamped above
        return n

    def _read_rec(self, seq):
        off = (seq % self.capacity) * REC_LEN
        if self._has_read_at:
            blob = self.flash.read_at(self.name, off, REC_LEN)
            off = 0
        else:
            blob = self.flash.read(self.name)
        if blob is None:
            return None
        rec = unpack(blob, off)
        if rec is None or rec[0] != seq:
            return None
        return rec

    def read(self, first_seq, max_n):
        """Up to max_n records (seq, t_s, code, a, b) with seq >= first_seq,
        ascending; records lost to a torn write are skipped."""
        out = []
        if self.last_seq == 0 or max_n <= 0:
            return out
        s = first_seq if first_seq > self.first_seq else self.first_seq
        while s <= self.last_seq and len(out) < max_n:
            rec = self._read_rec(s)
            if rec is not None:
                out.append(rec)
            s += 1
        return out

    def __len__(self):
        if self.last_seq == 0:
            return 0
        return self.last_seq - self.first_seq + 1
