"""Issue 8 (mutation survivors in argspec): the schema tuples the import-time builders make, and
the exact error text of a refused argument.

Oracles: every expected tuple below is written out again from docs/protocol.md's argument tables
(range, unit, required, default) and the field layout documented at the top of argspec.py
(name, kind, lo, hi, unit, required, default, sub, code); the builders are `# pragma: no mutate
block` because they run at import, before mutmut forks, so only this check guards them.
The error text follows docs/protocol.md, "Commands": `msg` names the field's path, the value,
the range and the unit, e.g. `programme.steps[2].effect_min=1440: out of range; expected integer
0..1439 min`; values longer than 24 characters are cut to 21 + "..." (argspec._show's contract).
"""
import argspec
from protocol import PumpError

E = "E_BAD_ARGS"


def _field(cmd, *path):
    fields = argspec.COMMAND_ARGS[cmd]
    f = None
    for name in path:
        f = [x for x in fields if x[0] == name][0]
        fields = f[7] if f[1] == "obj" else None
    return f


def test_builder_tuples_match_the_documented_argument_tables():
    # int: no unit-less ints, required/default/code in their slots
    assert _field("time_set", "t_s") == ("t_s", "int", 31622400, (1 << 30) - 1, "s", True, None, None, "E_CLOCK")
    assert _field("alarms_silence", "duration_min") == ("duration_min", "int", 1, 1440, "min", False, 60, None, E)
    assert _field("settings_set", "utc_offset_s") == ("utc_offset_s", "int", -50400, 50400, "s", False, None, None, E)
    assert _field("refill_stage", "conc_ug_ml")[8] == "E_CONC"
    assert _field("settings_set", "low_res_nl")[8] == "E_THRESHOLD_RANGE"
    # bool
    assert _field("programme_stage", "restart") == ("restart", "bool", None, None, "", False, False, None, E)
    # str (text)
    assert _field("time_set", "reason") == ("reason", "str", 1, 80, "chars", False, None, None, E)
    # hex: fixed and ranged lengths
    assert _field("auth", "mac") == ("mac", "hex", 64, 64, "hex digits", True, None, None, E)
    assert _field("provision", "keys", "clinician") == ("clinician", "hex", 32, 128, "hex digits", False, None,
                                                       None, E)
    # enum: values kept as a tuple, required or defaulted
    assert _field("auth_begin", "role") == ("role", "enum", None, None, "", True, None,
                                            ("patient", "clinician", "service"), E)
    assert _field("bolus", "kind") == ("kind", "enum", None, None, "", False, "single", ("single", "prime"), E)
    # list: item field in `sub`, a specific count code where the protocol has one
    steps = _field("programme_stage", "programme", "steps")
    assert steps[:7] == ("steps", "list", 1, 64, "items", False, None) and steps[8] == "E_STEP_COUNT"
    assert steps[7][:7] == ("step", "obj", None, None, "", False, None)
    assert [s[0] for s in steps[7][7]] == ["day", "effect_min", "dose_ng_day", "shape"]
    assert steps[7][7][0] == ("day", "int", -1, 6, "weekday", False, -1, None, E)
    assert steps[7][7][3] == ("shape", "enum", None, None, "", False, "ramp", ("ramp", "step"), E)
    names = _field("alarms_clear", "names")
    assert names[:7] == ("names", "list", 1, len(names[7][7]), "items", False, None) and names[8] == E
    assert names[7][:7] == ("name", "enum", None, None, "", False, None)
    # obj: required and optional, members in `sub`
    prog = _field("programme_stage", "programme")
    assert prog[:7] == ("programme", "obj", None, None, "", True, None) and prog[8] == E
    assert [s[0] for s in prog[7]] == ["mode", "lead_min", "dose_ng_day", "steps", "boluses"]
    assert prog[7][1] == ("lead_min", "int", 0, 240, "min", False, 120, None, E)
    keys = _field("provision", "keys")
    assert keys[:7] == ("keys", "obj", None, None, "", False, None)
    assert [s[0] for s in keys[7]] == ["patient", "clinician", "service"]


def _msg(code, cmd, args):
    try:
        argspec.check_args(cmd, args)
    except PumpError as e:
        assert e.code == code, (e.code, e.detail)
        return e.detail
    raise AssertionError("accepted: %s %r" % (cmd, args))


def test_error_text_names_path_value_range_and_unit_for_every_kind():
    assert _msg(E, "alarms_silence", {"duration_min": 0}) == "duration_min=0: out of range; expected integer 1..1440 min"
    assert _msg(E, "alarms_silence", {"duration_min": True}) == \
        "duration_min=true: wrong type; expected integer 1..1440 min"
    assert _msg(E, "programme_stage", {"programme": {"mode": "continuous"}, "restart": 1}) == \
        "restart=1: wrong type; expected true or false"
    assert _msg(E, "time_set", {"t_s": 40000000, "reason": ""}) == \
        'reason="": wrong length; expected text of 1..80 printable characters (up to U+FFFF)'
    assert _msg(E, "auth", {"role": "clinician", "mac": "ab"}) == 'mac="ab": wrong length; expected 64 hex digits'
    assert _msg(E, "provision", {"keys": {"service": "ab"}}) == \
        'keys.service="ab": wrong length; expected 32..128 hex digits'
    assert _msg(E, "bolus", {"kind": "x"}) == 'kind="x": not allowed; expected one of single, prime'
    assert _msg("E_STEP_COUNT", "programme_stage", {"programme": {"mode": "flex", "steps": []}}) == \
        "programme.steps=[]: 0 items; expected list of 1..64 (object {day, effect_min, dose_ng_day, shape})"
    assert _msg(E, "programme_stage", {"programme": 1}) == \
        "programme=1: wrong type; expected object {mode, lead_min, dose_ng_day, steps, boluses}"
    assert _msg(E, "programme_stage", {"programme": {"mode": "flex", "steps": [{"effect_min": 1, "dose_ng_day": 1,
                                                                              "shape": 0}]}}) == \
        "programme.steps[1].shape=0: not allowed; expected one of ramp, step"
    assert _msg(E, "alarms_silence", {"duration_min": None}) == \
        "duration_min=null: wrong type; expected integer 1..1440 min"


def test_long_values_are_cut_to_24_characters_and_unrenderable_ones_shown_as_a_question_mark():
    # 22 hex digits render as 24 characters with their quotes: shown whole
    a22 = "a" * 22
    assert _msg(E, "auth", {"role": "clinician", "mac": a22}) == \
        'mac="%s": wrong length; expected 64 hex digits' % a22
    # 23 digits render as 25: cut to the first 21 characters and "..."
    assert _msg(E, "auth", {"role": "clinician", "mac": "a" * 23}) == \
        'mac="%s...: wrong length; expected 64 hex digits' % ("a" * 20)
    # a value JSON cannot carry (a float reaches the check only from a host-side caller)
    assert _msg(E, "alarms_silence", {"duration_min": 1.5}) == \
        "duration_min=?: wrong type; expected integer 1..1440 min"


def _ok(cmd, args):
    argspec.check_args(cmd, args)   # raises PumpError if refused


def test_text_is_printable_up_to_u_ffff_on_both_sides_of_every_bound():
    # docs/protocol.md: text is "printable characters (up to U+FFFF)"; a lone surrogate
    # (U+D800..U+DFFF) is refused because the runtimes would count it differently
    # (argspec.check_value's comment). Each bound below is checked from both sides.
    def text(o):
        return {"t_s": 40000000, "reason": "a" + chr(o) + "b"}
    for o in (0x20, 0x7E, 0x80, 0xD7FF, 0xE000, 0xFFFF):
        _ok("time_set", text(o))
    for o in (0x00, 0x1F, 0x7F, 0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0x10000, 0x10FFFF):
        msg = _msg(E, "time_set", text(o))
        assert msg.endswith(": control character or character above U+FFFF; expected text of 1..80 printable "
                            "characters (up to U+FFFF)"), (hex(o), msg)
        assert msg.startswith("reason="), msg
    assert _msg(E, "time_set", {"t_s": 40000000, "reason": "\x7f"}) == \
        'reason="\\u007f": control character or character above U+FFFF; expected text of 1..80 printable ' \
        'characters (up to U+FFFF)'


def test_hex_takes_either_case_and_names_the_first_non_hex_value():
    # argspec.py's layout: "hex" lo..hi is the length in hex digits (either case)
    _ok("auth", {"role": "clinician", "mac": "0123456789abcdef" * 4})
    _ok("auth", {"role": "clinician", "mac": "0123456789ABCDEF" * 4})
    for bad in ("g", "G", "x", "X", " ", "-"):   # X is no hex digit in either case
        msg = _msg(E, "auth", {"role": "clinician", "mac": "a" * 63 + bad})
        assert msg == 'mac="%s...: not hex; expected 64 hex digits' % ("a" * 20), msg


def test_wrong_types_show_the_value_given():
    assert _msg(E, "time_set", {"t_s": 40000000, "reason": 5}) == \
        "reason=5: wrong type; expected text of 1..80 printable characters (up to U+FFFF)"
    assert _msg(E, "alarms_clear", {"names": 7}).startswith("names=7: wrong type; expected list of 1..")
    assert _msg(E, "auth", {"role": "clinician", "mac": 12}) == "mac=12: wrong type; expected 64 hex digits"


def test_a_bool_field_takes_false_as_well_as_true():
    for flag in (False, True):
        _ok("programme_stage", {"programme": {"mode": "continuous", "dose_ng_day": 100000}, "restart": flag})
    for bad in (0, 1, None, "false"):
        assert _msg(E, "programme_stage", {"programme": {"mode": "continuous", "dose_ng_day": 100000},
                                           "restart": bad}).endswith(": wrong type; expected true or false")


def test_check_args_names_the_unknown_command_and_refuses_args_that_are_not_an_object():
    # docs/protocol.md: E_UNKNOWN_CMD for a command the pump does not have; the host reuses
    # check_args before sending, so its own texts are what a script sees.
    assert _msg("E_UNKNOWN_CMD", "no_such", {}) == "no_such"
    assert _msg("E_UNKNOWN_CMD", "x" * 40, {}) == "x" * 32             # cut to 32 characters
    assert _msg("E_UNKNOWN_CMD", 5, {}) == "?"                        # not a name at all
    assert _msg(E, "hello", []) == "args must be an object"
    _ok("hello", None)                                               # no args: none needed


def test_unknown_and_missing_arguments_name_what_is_allowed_and_expected():
    assert _msg(E, "hello", {"zz": 1}) == "zz: unknown argument; allowed: none"
    assert _msg(E, "auth", {"role": "clinician", "mac": "ab" * 32, "q": 1}) == \
        "q: unknown argument; allowed: role, mac"
    assert _msg(E, "programme_stage", {}) == \
        "programme: missing; expected object {mode, lead_min, dose_ng_day, steps, boluses}"
    assert _msg(E, "programme_stage", {"programme": {"mode": "flex", "steps": [{"dose_ng_day": 1}]}}) == \
        "programme.steps[1].effect_min: missing; expected integer 0..1439 min"
