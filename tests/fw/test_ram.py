"""Issue 9, "Budgets" (peak heap <= 96 KB on the 32-bit port): heap the pump keeps for itself must
stay bounded whatever the host sends. Expected JSON texts are written out by hand from RFC 8259
(sorted keys, no spaces), not produced by the encoder under test."""
import protocol
from protocol import canonical_json

REQS = {
    "test_json_cache_keeps_object_keys_only_and_stays_bounded": ["RAM-JSON-CACHE-BOUND"],
    "test_canonical_json_text_is_unchanged_by_the_cache": ["RAM-JSON-CACHE-BOUND"],
}


def test_json_cache_keeps_object_keys_only_and_stays_bounded():
    # Every frame's MAC is computed over canonical_json of what the host sent: short string
    # values (hashes, reasons) and unknown keys used to fill the cache up to 256 entries.
    protocol._JCACHE.clear()
    for i in range(300):
        canonical_json({"hash": "%016x" % i, "reason": "r%d" % i})
    assert len(protocol._JCACHE) == 2, sorted(protocol._JCACHE)
    for i in range(300):
        canonical_json({"k%d" % i: 1})
    assert len(protocol._JCACHE) == protocol.JCACHE_MAX, len(protocol._JCACHE)
    assert protocol.JCACHE_MAX <= 128
    protocol._JCACHE.clear()


def test_canonical_json_text_is_unchanged_by_the_cache():
    obj = {"b": ["x\"y", "\\", "\u00e9", 1, None, True], "a": {"z": "ramp", "y": False}}
    want = b'{"a":{"y":false,"z":"ramp"},"b":["x\\"y","\\\\","\\u00e9",1,null,true]}'
    protocol._JCACHE.clear()
    assert canonical_json(obj) == want          # cold cache
    assert canonical_json(obj) == want          # warm cache
    protocol._JCACHE.clear()
