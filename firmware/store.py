"""A/B atomic state store on a flash back-end (issue 2, "Persistence and log":
"Writes are atomic ... A/B slots with sequence + CRC; a torn write leaves the
previous good state").

Slot files `<name>.a` and `<name>.b`, each one record:
    offset 0   magic   4 bytes  b"PST1"
    offset 4   seq     u32 LE   save counter, 1 for the first save
    offset 8   len     u32 LE   payload length
    offset 12  crc     u32 LE   CRC-32 of bytes 4..12 (seq, len) + payload
    offset 16  payload          protocol.canonical_json(obj)
save() re-reads both slots, overwrites the one NOT holding the newest good
record, reads it back and compares. load() returns the valid slot with the
highest seq. A torn or failed write therefore only ever damages the older slot,
even when the newest one decayed in flash since it was written.
"""

import json
import struct

import compat
from protocol import PumpError, canonical_json

MAGIC = b"PST1"
HEADER = "<4sIII"
HEADER_LEN = 16
SLOTS = ("a", "b")


def _record(seq, payload):
    head = struct.pack("<II", seq, len(payload))
    crc = compat.crc32(payload, compat.crc32(head))
    return MAGIC + head + struct.pack("<I", crc) + payload


def parse(blob):
    """(seq, payload) if `blob` is a complete valid record, else None."""
    if blob is None or len(blob) < HEADER_LEN:
        return None
    magic, seq, n, crc = struct.unpack_from(HEADER, blob, 0)
    if magic != MAGIC or len(blob) != HEADER_LEN + n:
        return None
    payload = blob[HEADER_LEN:]
    if compat.crc32(payload, compat.crc32(blob[4:12])) != crc:
        return None
    return seq, payload


class StateStore:
    def __init__(self, flash, name="state"):
        self.flash = flash
        self.name = name
        self.seq = 0  # seq of the newest good record (0: none), as of the last load/save/erase

    def _slot_name(self, i):
        return self.name + "." + SLOTS[i]

    def _scan(self):
        best = None
        best_seq = 0
        best_i = None
        for i in (0, 1):
            rec = parse(self.flash.read(self._slot_name(i)))
            if rec is not None and (best is None or rec[0] > best_seq):
                try:
                    obj = json.loads(rec[1])
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    best, best_seq, best_i = obj, rec[0], i
        self.seq = best_seq
        self._cur = best_i  # slot index holding it (None: none); read only by save, after this
        return best

    def load(self):
        """The newest valid saved dict, or None if neither slot is valid."""
        return self._scan()

    def save(self, obj):
        """Persist `obj` (a dict of ints/str/bool/None/lists/dicts).

        Raises PumpError("E_FLASH") if the write fails or does not read back;
        the previous good record stays loadable. PowerLoss passes through."""
        # Re-read both slots rather than trust the one the last save wrote: that record may have
        # decayed since, and then the other slot holds the only good state, which this write
        # must spare (a cut mid-write would leave nothing loadable). A state is < 1 KiB.
        try:
            self._scan()
        except OSError as e:
            raise PumpError("E_FLASH", "state read: %s" % e)
        payload = canonical_json(obj)
        seq = self.seq + 1
        target = 0 if self._cur != 0 else 1
        blob = _record(seq, payload)
        name = self._slot_name(target)
        try:
            self.flash.write(name, blob)
            back = self.flash.read(name)
        except OSError as e:
            raise PumpError("E_FLASH", "state write: %s" % e)
        if back != blob:
            raise PumpError("E_FLASH", "state readback mismatch")
        self.seq = seq
        return seq

    def erase(self):
        """Forget both slots (factory reset / tests)."""
        for i in (0, 1):
            self.flash.remove(self._slot_name(i))
        self.seq = 0
