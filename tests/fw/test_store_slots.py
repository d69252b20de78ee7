"""A/B store properties the mutation run of store.py showed unpinned (docs/verification.md).
Expected values come from the store's documented format (store.py docstring: magic b"PST1", seq,
len, CRC-32 of seq/len/payload; "save() overwrites the slot NOT holding the newest good record"),
with CRCs computed here by binascii, not by the code under test."""
import binascii
import json
import struct

from flash import MemoryFlash, PowerLoss
from store import StateStore

REQS = {
    "test_first_save_after_reopening_spares_the_newest_slot": ["STORE-ATOMIC"],
    "test_save_without_load_continues_the_sequence": ["STORE-ATOMIC"],
    "test_a_record_with_a_foreign_magic_is_ignored": ["STORE-ATOMIC"],
    "test_valid_crc_around_bad_json_in_one_slot_falls_back_to_the_other": ["STORE-ATOMIC"],
}
ORACLES = {
    "test_first_save_after_reopening_spares_the_newest_slot": "spec",
    "test_save_without_load_continues_the_sequence": "spec",
    "test_a_record_with_a_foreign_magic_is_ignored": "spec",
    "test_valid_crc_around_bad_json_in_one_slot_falls_back_to_the_other": "spec",
}


def _rec(seq, obj, magic=b"PST1"):
    payload = json.dumps(obj).encode()
    head = struct.pack("<II", seq, len(payload))
    crc = binascii.crc32(payload, binascii.crc32(head)) & 0xFFFFFFFF
    return magic + head + struct.pack("<I", crc) + payload


def test_first_save_after_reopening_spares_the_newest_slot():
    fl = MemoryFlash()
    s = StateStore(fl)
    s.save({"v": 1})     # seq 1 -> slot a
    s.save({"v": 2})     # seq 2 -> slot b
    s.save({"v": 3})     # seq 3 -> slot a (newest)
    s2 = StateStore(fl)  # a reboot
    assert s2.load() == {"v": 3}
    fl.tear_next_write_after = 10          # the first save after the reboot is cut
    try:
        s2.save({"v": 4})
    except PowerLoss:
        pass
    assert StateStore(fl).load() == {"v": 3}, "a cut in the first save after a reboot lost the newest state"


def test_save_without_load_continues_the_sequence():
    fl = MemoryFlash()
    fl.write("state.a", _rec(7, {"v": 7}))
    fl.write("state.b", _rec(6, {"v": 6}))
    s = StateStore(fl)
    assert s.save({"v": 8}) == 8
    assert fl.read("state.a") == _rec(7, {"v": 7})        # the newest slot was spared
    assert StateStore(fl).load() == {"v": 8}


def test_a_record_with_a_foreign_magic_is_ignored():
    fl = MemoryFlash()
    fl.write("state.a", _rec(5, {"v": 5}, magic=b"PST2"))  # right length, right CRC, other format
    fl.write("state.b", _rec(4, {"v": 4}))
    assert StateStore(fl).load() == {"v": 4}
    fl.remove("state.b")
    assert StateStore(fl).load() is None


def test_valid_crc_around_bad_json_in_one_slot_falls_back_to_the_other():
    fl = MemoryFlash()
    payload = b'{"v":'                       # CRC-valid, JSON-invalid
    head = struct.pack("<II", 9, len(payload))
    crc = binascii.crc32(payload, binascii.crc32(head)) & 0xFFFFFFFF
    fl.write("state.a", b"PST1" + head + struct.pack("<I", crc) + payload)
    fl.write("state.b", _rec(3, {"v": 3}))
    assert StateStore(fl).load() == {"v": 3}
