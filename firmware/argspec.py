"""Argument schema of every protocol command, and the one check the link runs before any handler.

Issue 8, defect 5: "Every argument of every command needs a declared type, range and unit,
checked before use: one schema table (in the protocol module) that the firmware enforces, the
host reuses, and docs/protocol.md is generated from."

Plain data, so the host imports it (pumpctl.fwpath) and tools/protocol_doc/gendoc.py renders it.
What each field means in words is host-side (host/pumpctl/argmeaning.py, keyed by the same
argument paths): the pump never reads it, and on the board every string of a loaded module
stays in RAM (issue 9, "Budgets"; docs/design.md, RAM). A field is a tuple indexed by the
constants below:
    (name, kind, lo, hi, unit, required, default, sub, code)
kind    "int"  lo..hi is the value range (bool is NOT an int)
        "bool" true/false only
        "str"  lo..hi is the length in characters
        "hex"  lo..hi is the length in hex digits (either case)
        "enum" sub is the tuple of allowed strings
        "list" lo..hi is the item count; sub is the item's field
        "obj"  sub is the tuple of member fields; unknown members are refused
default the value the handler uses when the field is absent (None: no fixed default; the
        host-side meaning says what absence means)
code    the error code for a value of the right type outside lo..hi (E_BAD_ARGS unless the
        protocol already had a specific one, e.g. E_CONC, E_THRESHOLD_RANGE)
Conditional rules (e.g. dose_ng_day only in continuous mode) and limits that depend on the
pump (reservoir capacity, flow at a concentration) stay in the handlers; this table is what
any value must satisfy whatever the pump's state.
"""
from protocol import MAX_ID, ROLES, PumpError, canonical_json
import pumpmodel as pm
from alarms import CATALOGUE
from battery import CAPACITY_NAH
import clinical

NAME, KIND, LO, HI, UNIT, REQUIRED, DEFAULT, SUB, CODE = 0, 1, 2, 3, 4, 5, 6, 7, 8
E = "E_BAD_ARGS"

REASON_MAX = clinical.REASON_MAX       # override_reason: 1..80 characters (clinical.py)
MAX_WARP_S = 10 * 366 * 86400          # sim_warp: ten years at most in one call
LOG_PAGE = 24                           # log_read: entries per reply, well inside one frame
SIM_FAULTS = ("motor_stall", "battery_drain", "flash_fail", "power_loss", "serial_noise")
ALARM_NAMES = tuple(sorted(CATALOGUE))
# Design choice: a catheter holds some volume (about 2 uL/cm; 0.01 mL is a 5 cm catheter). 0 made
# the prime bolus skip the catheter and the concentration bridge end before the new strength arrived.
CATHETER_MIN_NL = 10000
# AHFS (shared/seeds/002): "the onset of action in adult patients generally is 0.5-1 hour following
# injection": a patient-bolus lockout shorter than an hour lets a second bolus stack on the first
# before it acts; 0 (no lockout) was accepted before issue 8.
PB_LOCKOUT_MIN_MIN = 60
# Design choice: clock steps. A crystal drifts ~20 ppm (under 3 min between 3-monthly refills),
# so a sync moves the set clock by seconds to minutes. A larger step (either way) re-opens or
# skips the 24-hour titration and bolus windows and ages the battery model: it needs a stated
# `reason`. Once set, moving before the pump's first boot is refused whatever the reason
# (issue 8: t_s=0 made battery_nah read above the cell's capacity); the first setting of a
# never-set clock moves the first-boot time with it (that time came from the unset clock).
MAX_CLOCK_STEP_S = 900
# No pump runs this firmware before 2025-01-01T00:00:00Z (pump epoch 2024-01-01): an earlier
# time is a wrong clock, never a correction (issue 8: t_s=0 moved the clock back 2.9 years).
CLOCK_MIN_T_S = 31622400
DOSE_NG_DAY_MAX = 100 * pm.DOSE_MAX_NG_DAY  # type range; E_DOSE_RANGE checks the daily total
ADDED_NL_MAX = 1000000000                  # type range; E_OVERFILL checks the model's capacity
WITHDRAWN_NL_MAX = 2 * 40000000            # type range; the handler checks 2x this model's capacity
KEY_HEX_MIN = 32                            # 16-byte keys at least (auth.MIN_KEY_BYTES)
KEY_HEX_MAX = 128


# The builders run only at import, before mutmut forks its mutants, so a mutation in them can
# never be observed (`# pragma: no mutate block`); tests/fw/test_mut_argspec.py checks the
# tuples they build against fields written out from docs/protocol.md instead.
def _f(name, kind, lo, hi, unit, required=False, default=None, sub=None, code=E):  # pragma: no mutate block
    return (name, kind, lo, hi, unit, required, default, sub, code)


def I(name, lo, hi, unit, required=False, default=None, code=E):  # noqa: E743 (stable name)  # pragma: no mutate block
    return _f(name, "int", lo, hi, unit, required, default, None, code)


def B(name, default=False):  # pragma: no mutate block
    return _f(name, "bool", None, None, "", False, default)


def S(name, lo, hi, required=False):  # pragma: no mutate block
    return _f(name, "str", lo, hi, "chars", required)


def H(name, lo, hi, required=False):  # pragma: no mutate block
    return _f(name, "hex", lo, hi, "hex digits", required)


def N(name, values, required=False, default=None):  # pragma: no mutate block
    return _f(name, "enum", None, None, "", required, default, tuple(values))


def L(name, lo, hi, item, required=False, code=E):  # pragma: no mutate block
    return _f(name, "list", lo, hi, "items", required, None, item, code)


def O(name, fields, required=False):  # noqa: E743 (stable name)  # pragma: no mutate block
    return _f(name, "obj", None, None, "", required, None, tuple(fields))


REASON = S("override_reason", 1, REASON_MAX)
STEP = O("step", (
    I("day", -1, 6, "weekday", default=-1),
    I("effect_min", 0, 1439, "min", required=True),
    I("dose_ng_day", 1, DOSE_NG_DAY_MAX, "ng/day", required=True),
    N("shape", ("ramp", "step"), default="ramp"),
))
PERIODIC_BOLUS = O("bolus", (
    I("at_min", 0, 1439, "min", default=0),
    I("day", -1, 6, "weekday", default=-1),
    I("duration_min", 1, pm.BOLUS_MAX_DURATION_MIN, "min", required=True),
    I("dose_ng", 1, pm.DOSE_MAX_NG_DAY, "ng", required=True),
    I("rate_ng_day", 1, pm.DOSE_MAX_NG_DAY * 1440, "ng/day"),
))
PROGRAMME = O("programme", (
    N("mode", ("continuous", "flex"), required=True),
    I("lead_min", 0, pm.LEAD_MAX_MIN, "min", default=pm.LEAD_DEFAULT_MIN),
    I("dose_ng_day", 1, DOSE_NG_DAY_MAX, "ng/day"),
    L("steps", 1, pm.MAX_STEPS_TOTAL, STEP, code="E_STEP_COUNT"),
    L("boluses", 0, pm.MAX_PERIODIC_BOLUSES, PERIODIC_BOLUS),
), required=True)
PROFILE = O("profile", (
    N("indication", sorted(clinical.RULES), required=True),
    N("age_group", sorted(clinical.AGE_GROUPS)),
    N("phase", clinical.PHASES, default="titration"),
    L("risk", 0, len(clinical.RISK_FLAGS), N("flag", clinical.RISK_FLAGS)),
    I("implant_t_s", -(1 << 30), 1 << 30, "s"),
    I("initial_ng_day", 1, clinical.INITIAL_MAX_NG_DAY, "ng/day"),
), required=True)
KEYS = O("keys", tuple(H(r, KEY_HEX_MIN, KEY_HEX_MAX) for r in ROLES))
HASH = H("hash", 16, 16, required=True)
NO_ARGS = ()

COMMAND_ARGS = {
    "hello": NO_ARGS,
    "status": NO_ARGS,
    "auth_begin": (N("role", ROLES, required=True),),
    "auth": (N("role", ROLES, required=True),
             H("mac", 64, 64, required=True)),
    "logout": NO_ARGS,
    "programme_get": NO_ARGS,
    "programme_stage": (
        PROGRAMME,
        I("confirm_ratio", 0, MAX_ID, "%"),
        REASON,
        B("restart"),
        B("restore"),
    ),
    "programme_commit": (HASH,),
    "refill_stage": (
        I("withdrawn_nl", 0, WITHDRAWN_NL_MAX, "nL", required=True),
        I("added_nl", 0, ADDED_NL_MAX, "nL", required=True),
        I("conc_ug_ml", pm.CONC_MIN_UG_ML, pm.CONC_MAX_UG_ML, "mcg/mL", code="E_CONC"),
    ),
    "refill_commit": (HASH,),
    "bolus": (
        N("kind", ("single", "prime"), default="single"),
        I("dose_ng", 1, pm.DOSE_MAX_NG_DAY, "ng"),
        I("duration_min", 1, pm.BOLUS_MAX_DURATION_MIN, "min"),
        I("volume_nl", 1, pm.CATHETER_MAX_NL + 200000, "nL"),
    ),
    "patient_bolus": NO_ARGS,
    "bolus_cancel": NO_ARGS,
    "stop": NO_ARGS,
    "resume": NO_ARGS,
    "alarms_list": NO_ARGS,
    "alarms_clear": (L("names", 1, len(ALARM_NAMES), N("name", ALARM_NAMES)),),
    "alarms_silence": (I("duration_min", 1, 1440, "min", default=60),),
    "alarms_test": NO_ARGS,
    "log_read": (I("first_seq", 0, MAX_ID, "seq", default=0),
                 I("max_n", 1, LOG_PAGE, "entries", default=LOG_PAGE)),
    "time_get": NO_ARGS,
    "time_set": (I("t_s", CLOCK_MIN_T_S, MAX_ID, "s", required=True, code="E_CLOCK"),
                 S("reason", 1, REASON_MAX)),
    "settings_get": NO_ARGS,
    "settings_set": (
        I("low_res_nl", pm.LOW_RES_MIN_NL, pm.LOW_RES_MAX_NL, "nL", code="E_THRESHOLD_RANGE"),
        I("catheter_nl", CATHETER_MIN_NL, pm.CATHETER_MAX_NL, "nL"),
        I("utc_offset_s", -14 * 3600, 14 * 3600, "s"),
        I("pb_dose_ng", 0, pm.DOSE_MAX_NG_DAY // 4, "ng"),
        I("pb_duration_min", 1, 120, "min"),
        I("pb_lockout_min", PB_LOCKOUT_MIN_MIN, 1440, "min"),
        I("pb_max_24h", 0, 24, "boluses"),
    ),
    "profile_get": NO_ARGS,
    "profile_set": (PROFILE,),
    "provision": (KEYS,),
    "sim_warp": (I("seconds", 1, MAX_WARP_S, "s", required=True),),
    "sim_fault": (
        N("fault", SIM_FAULTS, required=True),
        I("nah", 1, CAPACITY_NAH, "nAh"),
        I("writes", 1, 1000, "writes", default=1),
        I("after_bytes", 0, 100000, "bytes", default=16),
        I("ppm", 0, 1000000, "ppm", default=0),
        I("count", 1, 1000, "strokes", default=1),
    ),
    "sim_reset": NO_ARGS,
}
# The builders only run at import: dropping them frees their code on the board (issue 9, RAM).
del I, B, S, H, N, L, O


def _show(v):
    # Short JSON rendering of an offending value for the error detail.
    try:
        text = canonical_json(v).decode()
    except Exception:
        text = "?"
    return text if len(text) <= 24 else text[:21] + "..."


def describe(f):
    """What a field accepts, e.g. 'integer 1..1440 min', for error details and docs."""
    k = f[KIND]
    if k == "int":
        return "integer %d..%d %s" % (f[LO], f[HI], f[UNIT])
    if k == "bool":
        return "true or false"
    if k == "str":
        return "text of %d..%d printable characters (up to U+FFFF)" % (f[LO], f[HI])
    if k == "hex":
        if f[LO] == f[HI]:
            return "%d hex digits" % f[LO]
        return "%d..%d hex digits" % (f[LO], f[HI])
    if k == "enum":
        return "one of " + ", ".join(f[SUB])
    if k == "list":
        return "list of %d..%d (%s)" % (f[LO], f[HI], describe(f[SUB]))
    return "object {%s}" % ", ".join(s[NAME] for s in f[SUB])


def _bad(path, v, f, why=None, code=E):
    raise PumpError(code, "%s=%s: %s; expected %s" % (path, _show(v), why or "wrong type", describe(f)))


def check_value(f, v, path):
    """Raise PumpError naming `path` unless `v` fits field `f` (recursively)."""
    k = f[KIND]
    if k == "int":
        if type(v) is not int:   # type(True) is bool on both runtimes: a bool is not an int
            _bad(path, v, f)
        if v < f[LO] or v > f[HI]:
            _bad(path, v, f, "out of range", f[CODE])
    elif k == "bool":
        if v is not True and v is not False:
            _bad(path, v, f)
    elif k == "str" or k == "hex":
        if type(v) is not str:
            _bad(path, v, f)
        if len(v) < f[LO] or len(v) > f[HI]:
            _bad(path, v, f, "wrong length", f[CODE])
        if k == "hex":
            for ch in v:
                if ch not in "0123456789abcdefABCDEF":
                    _bad(path, v, f, "not hex")
        else:
            # Text: printable, up to U+FFFF. MicroPython keeps an escaped surrogate pair as two
            # characters, CPython as one (jsonstrict.py): refusing both keeps lengths and the
            # logged CRC of the text the same on both runtimes.
            for ch in v:
                o = ord(ch)
                if o < 0x20 or o == 0x7F or 0xD800 <= o <= 0xDFFF or o > 0xFFFF:
                    _bad(path, v, f, "control character or character above U+FFFF")
    elif k == "enum":
        if type(v) is not str or v not in f[SUB]:
            _bad(path, v, f, "not allowed")
    elif k == "list":
        if type(v) is not list:
            _bad(path, v, f)
        if len(v) < f[LO] or len(v) > f[HI]:
            _bad(path, v, f, "%d items" % len(v), f[CODE])
        for i in range(len(v)):
            check_value(f[SUB], v[i], "%s[%d]" % (path, i + 1))
    else:
        if type(v) is not dict:
            _bad(path, v, f)
        check_fields(f[SUB], v, path + ".")


def check_fields(fields, obj, prefix=""):
    """Check an object's members: unknown names refused, required ones present, each value valid."""
    for key in obj:
        for f in fields:
            if f[NAME] == key:
                break
        else:
            allowed = ", ".join(f[NAME] for f in fields) or "none"
            raise PumpError(E, "%s%s: unknown argument; allowed: %s" % (prefix, _show(key)[1:-1][:32], allowed))
    for f in fields:
        name = f[NAME]
        if name in obj:
            check_value(f, obj[name], prefix + name)
        elif f[REQUIRED]:
            raise PumpError(E, "%s%s: missing; expected %s" % (prefix, name, describe(f)))


def check_args(cmd, args):
    """The check the firmware runs on every request before its handler. Raises PumpError
    (E_BAD_ARGS, or the field's specific code for a range) naming the field, range and unit."""
    fields = COMMAND_ARGS.get(cmd)
    if fields is None:
        raise PumpError("E_UNKNOWN_CMD", cmd[:32] if type(cmd) is str else "?")
    if args is None:
        args = {}
    if type(args) is not dict:
        raise PumpError(E, "args must be an object")
    check_fields(fields, args)


def given(cmd, args, name):
    """A top-level argument after check_args(cmd, args) passed: its value, or the default this
    table declares for it (None: no fixed default). The handlers read fixed defaults here, so a
    default is written once and its range is never re-checked (issue 8, mutation review)."""
    if name in args:
        return args[name]
    for f in COMMAND_ARGS[cmd]:
        if f[NAME] == name:
            return f[DEFAULT]
    raise KeyError(name)   # a handler reading a field its command does not declare: a bug
