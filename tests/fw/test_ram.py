"""Issue 9, "Budgets" (peak heap <= 96 KB on the 32-bit port): heap the pump keeps for itself must
stay bounded whatever the host sends. Expected JSON texts are written out by hand from RFC 8259
(sorted keys, no spaces), not produced by the encoder under test."""
import protocol
from protocol import canonical_json

REQS = {
    "test_json_cache_keeps_object_keys_only_and_stays_bounded": ["RAM-JSON-CACHE-BOUND"],
    "test_canonical_json_text_is_unchanged_by_the_cache": ["RAM-JSON-CACHE-BOUND"],
    "test_string_escaping_in_runs_gives_the_same_text": ["RAM-JSON-CACHE-BOUND"],
    "test_handler_registry_keeps_no_wrapper_per_command_and_the_schema_still_runs_first": [
        "RAM-DISPATCH-NO-WRAPPERS"],
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


def test_string_escaping_in_runs_gives_the_same_text():
    # RFC 8259 section 7 escapes, as this protocol writes them (docs/protocol.md: printable
    # ASCII as is, everything else \uXXXX, astral characters as a surrogate pair).
    cases = (
        ("", '""'),
        ("plain", '"plain"'),
        ('"', '"\\""'),
        ('a"b\\c\nd', '"a\\"b\\\\c\\u000ad"'),
        ("\x7f\x1f ~", '"\\u007f\\u001f ~"'),
        ("caf\u00e9s", '"caf\\u00e9s"'),
        ("\u00e9", '"\\u00e9"'),
        ("x\U0001f600y", '"x\\ud83d\\ude00y"'),
        ("end\\", '"end\\\\"'),
    )
    for s, want in cases:
        assert canonical_json(s) == want.encode(), (s, canonical_json(s))
        assert canonical_json({s: s}) == ("{%s:%s}" % (want, want)).encode(), s
    protocol._JCACHE.clear()


def test_handler_registry_keeps_no_wrapper_per_command_and_the_schema_still_runs_first():
    # A checking closure per command stayed on the heap for the pump's lifetime (~2.3 KB); the
    # registry now holds the command modules' own functions and Controller.command checks.
    import commands
    import commands_admin
    import commands_sim
    import dispatch
    from pumpkit import ready_pump, raises
    h = dispatch.handlers()
    for name in h:
        own = getattr(commands, name, None) or getattr(commands_admin, name, None) or getattr(commands_sim, name)
        assert h[name] is own, name
    hal, ctl = ready_pump({"mode": "continuous", "dose_ng_day": 500000})
    before = ctl.comms
    # Out of range by one either side of the schema's 1..1440 (argspec), and the type checks.
    for bad in (0, 1441, True, "60", None):
        e = raises("E_BAD_ARGS", ctl.command, "alarms_silence", {"duration_min": bad}, "clinician")
        assert e.detail.startswith("duration_min="), e.detail
    raises("E_BAD_ARGS", ctl.command, "alarms_silence", {"minutes": 5}, "clinician")
    assert ctl.command("alarms_silence", {"duration_min": 1440}, "clinician") is not None
    assert ctl.command("alarms_silence", {"duration_min": 1}, "clinician") is not None
    assert ctl.comms == before + 8
