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
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    try:
        h, m = str(text).split(":")
        h, m = int(h), int(m)
    except ValueError:
        raise PrescriptionError("%s: %r is not a time of day" % (what, text), 'write "HH:MM", e.g. "22:00"')
    if not (0 <= h < 24 and 0 <= m < 60):
        raise PrescriptionError("%s: %r is outside 00:00..23:59" % (what, text), 'write "HH:MM"')
    return h * 60 + m


def _day(v, what):
    if v is None:
        return None
    if isinstance(v, str) and v.lower()[:3] in DAYS:
        return DAYS.index(v.lower()[:3])
    raise PrescriptionError("%s: day %r is not a weekday" % (what, v), "use mon, tue, wed, thu, fri, sat or sun")


def _need(d, key, what):
    if key not in d:
        raise PrescriptionError("%s: missing '%s'" % (what, key), "see examples/night_ramp.toml")
    return d[key]


def parse(text, name="prescription"):
    """Prescription text -> {"conc_ug_ml", "programme", "name", "note"}; raises PrescriptionError."""
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as e:
        raise PrescriptionError("%s is not valid TOML: %s" % (name, e), "fix the syntax (see examples/)") from e
    drug = doc.get("drug", {})
    prog = _need(doc, "programme", name)
    conc = exact_units(_need(drug, "concentration_mcg_ml", name + " [drug]"), 1, "concentration_mcg_ml")
    mode = prog.get("mode", "flex")
    out = {"mode": mode, "lead_min": int(prog.get("lead_min", 120))}
    if mode == "continuous":
        out["dose_ng_day"] = mcg_to_ng(_need(prog, "dose_mcg_day", name + " [programme]"), "dose_mcg_day")
    elif mode == "flex":
        steps = []
        for i, s in enumerate(_need(prog, "steps", name + " [programme]")):
            what = "step %d" % (i + 1)
            step = {"effect_min": clock_min(_need(s, "effect", what), what + " effect"),
                    "dose_ng_day": mcg_to_ng(_need(s, "dose_mcg_day", what), what + " dose_mcg_day"),
                    "shape": s.get("shape", "ramp")}
            day = _day(s.get("day"), what)
            if day is not None:
                step["day"] = day
            steps.append(step)
        out["steps"] = steps
    else:
        raise PrescriptionError("%s: mode %r" % (name, mode), 'mode is "flex" or "continuous"')
    boluses = []
    for i, b in enumerate(prog.get("boluses", [])):
        what = "bolus %d" % (i + 1)
        bol = {"at_min": clock_min(_need(b, "at", what), what + " at"),
               "dose_ng": mcg_to_ng(_need(b, "dose_mcg", what), what + " dose_mcg"),
               "duration_min": int(_need(b, "duration_min", what))}
        day = _day(b.get("day"), what)
        if day is not None:
            bol["day"] = day
        boluses.append(bol)
    out["boluses"] = boluses
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
        raise PrescriptionError("prescription refused by the pump's rules: %s %s" % (e.code, e.detail),
                                "change the prescription") from e
