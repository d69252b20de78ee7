"""Human formatting for pumpctl: exact integer units -> mcg, mL and pump local dates.

Conversions are decimal (``Decimal``), never float, so what is printed is the pump's
integer exactly divided (mcg = ng / 1000; mL = nL / 1 000 000), rounded only for display.
"""
import datetime
import json
import sys
from decimal import ROUND_HALF_EVEN, Decimal

from pumpctl import fwpath

fwpath.ensure()
from compat import PUMP_EPOCH_UNIX  # noqa: E402

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def dec(n, div, places=None):
    """n / div as a decimal string, exact (trailing zeros dropped) or rounded to `places`."""
    if n is None:
        return "-"
    d = Decimal(n) / Decimal(div)
    if places is not None:
        return str(d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))
    s = format(d.normalize(), "f")
    return s


def mcg(ng):
    return dec(ng, 1000)


def ml(nl, places=3):
    return dec(nl, 1000000, places)


def unix(t_s):
    return PUMP_EPOCH_UNIX + t_s


def iso(t_s):
    """Pump time -> ISO 8601 UTC (for JSON)."""
    if t_s is None:
        return None
    return datetime.datetime.fromtimestamp(unix(t_s), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def local(t_s, utc_offset_s=0, seconds=False):
    """Pump time -> "YYYY-MM-DD HH:MM" in pump local time (design.md: tod = t_s + utc_offset_s)."""
    if t_s is None:
        return "-"
    dt = datetime.datetime.fromtimestamp(unix(t_s) + (utc_offset_s or 0), datetime.timezone.utc)
    return dt.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def hhmm(minutes):
    minutes %= 1440
    return "%02d:%02d" % (minutes // 60, minutes % 60)


def tod(seconds):
    return hhmm(seconds // 60)


def duration(s):
    if s is None:
        return "-"
    days, s = divmod(int(s), 86400)
    h, s = divmod(s, 3600)
    m = s // 60
    if days:
        return "%dd %dh" % (days, h)
    if h:
        return "%dh %02dm" % (h, m)
    return "%dm" % m


def table(rows, headers, out=None):
    """Plain aligned columns."""
    out = out or sys.stdout
    rows = [[str(c) for c in r] for r in rows]
    widths = [len(h) for h in headers]
    for r in rows:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))
    fmt = "  ".join("%%-%ds" % w for w in widths)
    out.write((fmt % tuple(headers)).rstrip() + "\n")
    out.write((fmt % tuple("-" * w for w in widths)).rstrip() + "\n")
    for r in rows:
        out.write((fmt % tuple(r)).rstrip() + "\n")


def pairs(items, out=None):
    """"key: value" lines with aligned keys."""
    out = out or sys.stdout
    w = max((len(k) for k, _ in items), default=0)
    for k, v in items:
        out.write("%s  %s\n" % ((k + ":").ljust(w + 1), v))


def side_by_side(rows, headers, out=None):
    """rows: [(label, [left lines], [right lines])] -> three columns, multi-line cells."""
    flat = []
    for label, left, right in rows:
        n = max(len(left), len(right), 1)
        for i in range(n):
            flat.append([label if i == 0 else "", left[i] if i < len(left) else "",
                         right[i] if i < len(right) else ""])
    table(flat, headers, out)


def dump_json(obj, out=None):
    out = out or sys.stdout
    out.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def step_lines(programme, lead_min=None):
    """Per-step rates with their change windows, e.g. "22:00  600 mcg/day  ramp 20:00-22:00"."""
    if not programme:
        return ["none"]
    if programme.get("mode") == "continuous":
        return ["%s mcg/day continuous" % mcg(programme["dose_ng_day"])]
    lead = programme.get("lead_min", 120) if lead_min is None else lead_min
    out = []
    for s in programme["steps"]:
        day = DAYS[s["day"]] + " " if s.get("day", -1) >= 0 else ""
        start = hhmm(s["effect_min"] - lead)
        if s.get("shape", "ramp") == "ramp":
            how = "ramp %s-%s" % (start, hhmm(s["effect_min"]))
        else:
            how = "step at %s" % start
        out.append("%s%s  %s mcg/day  %s" % (day, hhmm(s["effect_min"]), mcg(s["dose_ng_day"]), how))
    return out


def bolus_lines(programme):
    if not programme or not programme.get("boluses"):
        return ["none"]
    out = []
    for b in programme["boluses"]:
        day = DAYS[b["day"]] + " " if b.get("day", -1) >= 0 else ""
        out.append("%s%s  %s mcg over %d min" % (day, hhmm(b["at_min"]), mcg(b["dose_ng"]), b["duration_min"]))
    return out


def parse_iso(text, what="date"):
    """ISO 8601 date or date-time (UTC unless it says otherwise) -> pump t_s."""
    try:
        dt = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        from pumpctl.clinical.prescription import PrescriptionError

        raise PrescriptionError("%s %r is not an ISO date" % (what, text), "write e.g. 2026-12-01 or 2026-12-01T08:00Z")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) - PUMP_EPOCH_UNIX


LEVEL_TAGS = {"refuse": "REFUSED", "confirm": "CONFIRM", "override": "OVERRIDE", "warn": "WARNING", "info": "note"}


def finding_lines(findings):
    """Drug-library findings (druglib.evaluate) as "TAG RULE: message" lines; guidance made readable."""
    out = []
    for f in findings:
        msg = f["message"]
        if f["rule"] == "TIT-GUIDANCE":
            msg = "typical increase %s %% (%s mcg/day), at refill %s %% (%s), cut for side effects %s %% (%s)" % (
                _span(f["titration_pct"]), _span([mcg(x) for x in f["titration_ng_day"]]), _span(f["refill_pct"]),
                _span([mcg(x) for x in f["refill_ng_day"]]), _span(f["decrease_pct"]),
                _span([mcg(x) for x in f["decrease_ng_day"]]))
        out.append("%s %s: %s" % (LEVEL_TAGS.get(f["level"], f["level"]), f["rule"], msg))
    return out


def _span(xs):
    xs = [str(x) for x in xs]
    return xs[0] if len(set(xs)) == 1 else "%s-%s" % (xs[0], xs[-1])
