"""TOML prescription -> the firmware's programme dict (schedule.py format), exactly.

Humans write mcg/day, mcg and mL; the pump counts ng/day, ng and nL (docs/design.md
"Units"). Numbers are parsed as decimals (``tomllib`` with ``parse_float=Decimal``, CLI
strings with ``Decimal``), never binary floats, so "0.048" mL is exactly 48 000 nL and a
value finer than the pump's unit (1 ng, 1 nL) is refused rather than rounded.

    [drug]
    concentration_mcg_ml = 2000         # what the reservoir holds
    [programme]
    mode = "flex"                       # or "continuous" with dose_mcg_day = N
    lead_min = 120                      # labeling: start 2 h before the desired effect
    [[programme.steps]]
    effect = "22:00"                    # time of desired clinical effect (pump local time)
    dose_mcg_day = 600
    shape = "ramp"                      # or "step"; day = "mon".."sun" for weekly plans
    [[programme.boluses]]
    at = "12:00"
    dose_mcg = 50
    duration_min = 30
"""
import decimal
import tomllib
from decimal import Decimal

from pumpctl.link.client import PumpClientError

NG_PER_MCG = 1000
NL_PER_ML = 1000000
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # design.md: 2024-01-01 is a Monday = day 0


class PrescriptionError(PumpClientError):
    pass


class LimitRefused(PumpClientError):
    """The prescription is well formed but outside the pump's limits (exit EXIT_REFUSED, 7)."""


def exact_units(value, factor, what):
    """int(value * factor) for int / Decimal / decimal-string input; refuses floats and fractions."""
    if isinstance(value, bool) or isinstance(value, float):
        raise PrescriptionError("%s: %r is a binary float" % (what, value), "write the number as a decimal string")
    try:
        d = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except (decimal.InvalidOperation, TypeError, ValueError, AttributeError):
        raise PrescriptionError("%s: %r is not a number" % (what, value), "write a decimal number, e.g. 0.5")
    if not d.is_finite():
        raise PrescriptionError("%s: %r is not a finite number" % (what, value), "write a decimal number")
    scaled = d * factor
    if scaled != scaled.to_integral_value():
        raise PrescriptionError("%s: %s is finer than the pump's resolution (1/%d)" % (what, value, factor),
                                "round it to at most %d decimal places" % (len(str(factor)) - 1))
    return int(scaled)


def mcg_to_ng(value, what="dose"):
    return exact_units(value, NG_PER_MCG, what + " (mcg)")


def ml_to_nl(value, what="volume"):
    return exact_units(value, NL_PER_ML, what + " (mL)")


def clock_min(text, what):
    """"HH:MM" -> minutes after local midnight."""
    if type(text) is not str:
        raise PrescriptionError("%s: %s is not a time of day" % (what, _show(text)), 'write "HH:MM" in quotes, e.g. "22:00"')
    h, sep, m = text.partition(":")
    if not (sep and h.isdigit() and m.isdigit() and len(m) == 2 and 1 <= len(h) <= 2):
        raise PrescriptionError("%s: %r is not a time of day" % (what, text), 'write "HH:MM", e.g. "22:00"')
    h, m = int(h), int(m)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise PrescriptionError("%s: %r is outside 00:00..23:59" % (what, text), 'write "HH:MM"')
    return h * 60 + m


DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _day(v, what):
    if type(v) is str and (v.lower() in DAYS or v.lower() in DAY_NAMES):
        return DAYS.index(v.lower()[:3])
    raise PrescriptionError("%s: day %s is not a weekday" % (what, _show(v)), 'use "mon", "tue", ... "sun"')


# --- strict schema: the prescription's keys mapped onto the pump's own argument schema (firmware/argspec.py) ---
# user key -> (pump field, how the value converts). Ranges, enums and units come from argspec, not from here.
TOP_KEYS = ("name", "note", "drug", "programme")
DRUG_KEYS = ("concentration_mcg_ml",)
PROGRAMME_KEYS = {"mode": ("mode", "enum"), "lead_min": ("lead_min", "int"), "dose_mcg_day": ("dose_ng_day", "mcg"),
                  "steps": ("steps", "list"), "boluses": ("boluses", "list")}
STEP_KEYS = {"effect": ("effect_min", "clock"), "dose_mcg_day": ("dose_ng_day", "mcg"), "shape": ("shape", "enum"),
             "day": ("day", "day")}
BOLUS_KEYS = {"at": ("at_min", "clock"), "dose_mcg": ("dose_ng", "mcg"), "duration_min": ("duration_min", "int"),
              "day": ("day", "day")}
UNIT_HINTS = {"mg": "the pump takes mcg (1 mg = 1000 mcg): write dose_mcg_day / dose_mcg",
              "ug": "write mcg, not ug", "hour": "durations are in minutes (lead_min, duration_min)"}


def _argspec():
    from pumpctl import fwpath

    fwpath.ensure()
    import argspec

    return argspec


def _member(obj_field, name):
    a = _argspec()
    for f in obj_field[a.SUB]:
        if f[a.NAME] == name:
            return f
    raise KeyError(name)


def _show(v):
    if type(v) is bool:
        return "true" if v else "false"
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, (dict, list)):
        return "a table" if isinstance(v, dict) else "a list"
    return str(v)


def _check_keys(d, allowed, where):
    """Unknown keys and tables are refused, with the nearest allowed name (a typo must not fall back to a default)."""
    import difflib

    if not isinstance(d, dict):
        raise PrescriptionError("%s must be a table, not %s" % (where, _show(d)), "see examples/night_ramp.toml")
    for key in d:
        if key in allowed:
            continue
        near = difflib.get_close_matches(key, list(allowed), 1, 0.6)
        hint = [h for k, h in UNIT_HINTS.items() if k in key.lower().split("_")]
        raise PrescriptionError("%s: unknown key %r%s" % (where, key, " (did you mean %r?)" % near[0] if near else ""),
                                "%sallowed here: %s" % (hint[0] + "; " if hint else "", ", ".join(allowed)))


def _value(v, key, field, how, where):
    """One user value -> the pump unit, with its type, precision and range checked against the pump's field."""
    a = _argspec()
    what = "%s %s" % (where, key)
    if how == "clock":
        n = clock_min(v, what)
    elif how == "day":
        n = _day(v, what)
    elif how == "enum":
        if type(v) is not str or v not in field[a.SUB]:
            raise PrescriptionError("%s = %s is not allowed" % (what, _show(v)),
                                    "write one of: %s" % ", ".join('"%s"' % x for x in field[a.SUB]))
        return v
    elif how == "int":
        if type(v) is not int:
            kind = ("true/false" if type(v) is bool else "text" if isinstance(v, str) else
                    "not a whole number (refused, not rounded)" if isinstance(v, Decimal) else _show(v))
            raise PrescriptionError("%s = %s is %s; expected a whole number of %s (%d..%d)" % (
                what, _show(v), kind, field[a.UNIT], field[a.LO], field[a.HI]),
                "write a whole number without quotes, e.g. %s = %d" % (key, field[a.DEFAULT] or field[a.LO]))
        n = v
    else:  # mcg
        if type(v) is bool or isinstance(v, str):
            raise PrescriptionError("%s = %s is %s; expected a number of mcg" % (
                what, _show(v), "true/false" if type(v) is bool else "text"), "write a number without quotes, e.g. "
                                                                               "%s = 500" % key)
        n = exact_units(v, NG_PER_MCG, what + " (mcg)")
    if field[a.KIND] == "int" and not field[a.LO] <= n <= field[a.HI]:
        scale = NG_PER_MCG if how == "mcg" else 1
        unit = {"ng/day": "mcg/day", "ng": "mcg"}.get(field[a.UNIT], field[a.UNIT])
        raise PrescriptionError("%s = %s is outside the pump's range %s..%s %s" % (
            what, _show(v), _user(field[a.LO], scale), _user(field[a.HI], scale), unit), "correct the prescription")
    return n


def _user(n, scale):
    return str(Decimal(n) / scale) if scale != 1 else str(n)


def _fields(d, keymap, obj_field, where):
    _check_keys(d, list(keymap), where)
    out = {}
    for key, (name, how) in keymap.items():
        if key in d and how != "list":
            out[name] = _value(d[key], key, _member(obj_field, name), how, where)
    return out


def _need(d, key, what):
    if key not in d:
        raise PrescriptionError("%s: missing '%s'" % (what, key), "see examples/night_ramp.toml")
    return d[key]


def _table_list(v, key, where):
    if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
        raise PrescriptionError("%s %s must be [[programme.%s]] tables, not %s" % (where, key, key, _show(v)),
                                "see examples/night_ramp.toml")
    return v


def parse(text, name="prescription"):
    """Prescription text -> {"conc_ug_ml", "programme", "name", "note"}; raises PrescriptionError.

    Strict (issue 10, defect 1): unknown keys and tables are refused with a did-you-mean; every value's type,
    unit, precision and range is checked against the pump's own argument schema (firmware/argspec.py)."""
    a = _argspec()
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as e:
        raise PrescriptionError("%s is not valid TOML: %s" % (name, e), "fix the syntax (see examples/)") from e
    _check_keys(doc, TOP_KEYS, name)
    for k in ("name", "note"):
        if k in doc and type(doc[k]) is not str:
            raise PrescriptionError("%s: %s = %s must be text" % (name, k, _show(doc[k])), 'write %s = "..."' % k)
    if "drug" not in doc:
        raise PrescriptionError("%s: missing the [drug] table with concentration_mcg_ml" % name,
                                "add [drug] concentration_mcg_ml = 500 (or 2000): what the reservoir holds")
    drug = doc["drug"]
    _check_keys(drug, DRUG_KEYS, name + " [drug]")
    conc_field = [f for f in a.COMMAND_ARGS["refill_stage"] if f[a.NAME] == "conc_ug_ml"][0]
    conc = _value(_need(drug, "concentration_mcg_ml", name + " [drug]"), "concentration_mcg_ml", conc_field, "int",
                  name + " [drug]")
    prog = _need(doc, "programme", name)
    where = name + " [programme]"
    out = _fields(prog, PROGRAMME_KEYS, a.PROGRAMME, where)
    out.setdefault("mode", "flex")
    out.setdefault("lead_min", 120)
    if out["mode"] == "continuous":
        _need(prog, "dose_mcg_day", where)
        if "steps" in prog:
            raise PrescriptionError("%s: continuous mode takes dose_mcg_day, not steps" % where,
                                    'remove the steps, or write mode = "flex"')
    else:
        if "dose_mcg_day" in prog:
            raise PrescriptionError("%s: flex mode takes [[programme.steps]], not dose_mcg_day" % where,
                                    'move the dose into a step, or write mode = "continuous"')
        steps = []
        for i, st in enumerate(_table_list(_need(prog, "steps", where), "steps", where)):
            w = "%s step %d" % (name, i + 1)
            step = _fields(st, STEP_KEYS, a.STEP, w)
            _need(st, "effect", w)
            _need(st, "dose_mcg_day", w)
            step.setdefault("shape", "ramp")
            steps.append(step)
        out["steps"] = steps
    boluses = []
    for i, b in enumerate(_table_list(prog.get("boluses", []), "boluses", where)):
        w = "%s bolus %d" % (name, i + 1)
        for k in ("at", "dose_mcg", "duration_min"):
            _need(b, k, w)
        boluses.append(_fields(b, BOLUS_KEYS, a.PERIODIC_BOLUS, w))
    out["boluses"] = boluses
    try:  # the pump's own check of the whole object, as a last line (same table the firmware enforces)
        a.check_value(a.PROGRAMME, out, "programme")
    except Exception as e:
        raise PrescriptionError("%s: %s" % (name, getattr(e, "detail", e)), "correct the prescription") from None
    return {"conc_ug_ml": conc, "programme": out, "name": doc.get("name", name), "note": doc.get("note", "")}


def load(path):
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except OSError as e:
        raise PrescriptionError("cannot read %s: %s" % (path, e.strerror or e), "check the file name") from e
    return parse(text, path)


def validate(rx, model_id=20):
    """Check with the firmware's own schedule.normalise (same code as the pump); returns the normalised dict."""
    from pumpctl import fwpath

    fwpath.ensure()
    import pumpmodel
    import schedule
    from protocol import PumpError

    try:
        return schedule.normalise(rx["programme"], rx["conc_ug_ml"], pumpmodel.model(model_id))
    except PumpError as e:
        from pumpctl.link.client import _FIXES, user_units

        # A limit, not a typo: exit 7 as documented for hard-limit refusals (issue 10, defect 6), not 2.
        raise LimitRefused("prescription refused by the pump's rules before sending: %s %s" % (
            e.code, user_units(e.detail)), _FIXES.get(e.code) or "change the prescription") from e
