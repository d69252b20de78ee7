"""Independent reference model of the pump, for the stateful, power-loss and fuzz machinery.

Nothing here imports firmware modules or calls firmware functions: every expectation is computed
from the sources (the labeling, docs/protocol.md, docs/design.md) with exact Fractions, so a defect
in the firmware's arithmetic cannot also be in the oracle.

- rate_ng_day / volume_nl: the programmed dose rate and its exact integral. Labeling: "Changes in
  flow rate should be programmed to start 2 hrs before time of desired clinical effect" -> a ramp
  step changes linearly over the lead window that ends at its effect time; a "step" step changes at
  the start of that window (docs/protocol.md, programmes).
- ROLES: who may send what (docs/protocol.md, command table), written out here, not read from
  protocol.COMMANDS.
- Lockout: 3 consecutive failed logins lock the role for 30 s, doubling per further failure, at
  most 1 h (docs/protocol.md, "Authentication").
- parse_log: the event-log record format of docs/design.md / eventlog's docstring (24-byte records,
  CRC-32 from zlib), decoded here with struct + zlib.
"""
import struct
import zlib
from fractions import Fraction

DAY_S = 86400
STROKE_NL = 250          # pump model 20/40 stroke volume (docs/design.md, pumpmodel)

OPEN = ()
C = ("clinician",)
ROLES = {
    "hello": OPEN, "status": OPEN, "auth_begin": OPEN, "auth": OPEN, "logout": OPEN,
    "programme_get": OPEN, "programme_stage": C, "programme_commit": C, "refill_stage": C,
    "refill_commit": C, "bolus": C, "patient_bolus": ("patient",), "bolus_cancel": C, "stop": C,
    "resume": C, "alarms_list": OPEN, "alarms_clear": C, "alarms_silence": ("patient", "clinician"),
    "alarms_test": C, "log_read": ("clinician", "service"), "time_get": OPEN,
    "time_set": ("clinician", "service"), "settings_get": OPEN, "settings_set": C, "profile_get": OPEN,
    "profile_set": C, "provision": ("service",), "sim_warp": ("service",), "sim_fault": ("service",),
    "sim_reset": ("service",),
}
READ_ONLY = ("hello", "status", "programme_get", "alarms_list", "log_read", "time_get", "settings_get",
             "profile_get")
CRITICAL = ("reservoir_empty", "eos", "motor_stall", "memory_critical")

# docs/design.md event log codes used by the agreement checks
LOG_PROGRAMME = 2
LOG_REFILL = 3

LOCK_AFTER = 3
LOCK_BASE_S = 30
LOCK_MAX_S = 3600


def lock_s(failures):
    """Lockout after `failures` consecutive failed logins (0: none)."""
    if failures < LOCK_AFTER:
        return 0
    return min(LOCK_BASE_S * (2 ** (failures - LOCK_AFTER)), LOCK_MAX_S)


# --- programme: exact rate and integral --------------------------------------------------
class RefProgramme:
    """A daily programme (continuous, or flex without weekdays and periodic boluses) as an exact
    periodic piecewise-linear rate function of local time of day."""

    def __init__(self, prog):
        if prog["mode"] == "continuous":
            self.knots = None
            self.const = Fraction(prog["dose_ng_day"])
            self.cycle = self.const * DAY_S
            return
        if prog.get("boluses"):
            raise ValueError("reference model: periodic boluses not modelled")
        lead = prog.get("lead_min", 120) * 60
        steps = sorted(prog["steps"], key=lambda s: s["effect_min"])
        if any(s.get("day", -1) != -1 for s in steps):
            raise ValueError("reference model: weekly programmes not modelled")
        n = len(steps)
        self.const = None
        if n == 1:
            self.const = Fraction(steps[0]["dose_ng_day"])
            self.cycle = self.const * DAY_S
            return
        # segments over three unrolled days: (t_start, t_end, r_start, r_end)
        events = []
        for k in (-1, 0, 1):
            for i, s in enumerate(steps):
                eff = s["effect_min"] * 60 + k * DAY_S
                prev = steps[i - 1]["dose_ng_day"]
                start = eff - lead
                end = eff if s.get("shape", "ramp") == "ramp" else start
                events.append((start, end, prev, s["dose_ng_day"]))
        events.sort()
        self.knots = events
        self.cycle = self._F(DAY_S) - self._F(0)

    def rate(self, x):
        """Exact rate (ng/day) at local time x (seconds, any integer or Fraction)."""
        if self.const is not None:
            return self.const
        x = Fraction(x) % DAY_S
        cur = None
        for start, end, r0, r1 in self.knots:
            if start <= x:
                cur = (start, end, r0, r1)
        start, end, r0, r1 = cur
        if x < end:
            return Fraction(r0) + Fraction(r1 - r0) * (x - start) / (end - start)
        return Fraction(r1)

    def _F(self, x):
        """Integral of rate from -DAY_S to x (0 <= x <= DAY_S), ng*s/day."""
        pts = {Fraction(-DAY_S), Fraction(x)}
        for start, end, _, _ in self.knots:
            for p in (start, end):
                if -DAY_S < p < x:
                    pts.add(Fraction(p))
        pts = sorted(pts)
        total = Fraction(0)
        for a, b in zip(pts, pts[1:]):
            total += self.rate((a + b) / 2) * (b - a)     # linear on each piece: midpoint is exact
        return total

    def integral(self, a, b):
        """Exact integral of the rate over local times [a, b], in ng*s/day."""
        if self.const is not None:
            return self.const * (b - a)

        def F(t):
            k, r = divmod(t, DAY_S)
            return k * self.cycle + self._F(r) - self._F(0)
        return F(b) - F(a)


def volume_nl(prog, t0_s, t1_s, conc_ug_ml, utc_offset_s=0):
    """Exact programmed volume (nL, Fraction) between pump times t0 and t1: ng = integral / 86400;
    nL = ng * 1000 / conc (conc in mcg/mL; docs/design.md units)."""
    ref = prog if isinstance(prog, RefProgramme) else RefProgramme(prog)
    ng = ref.integral(t0_s + utc_offset_s, t1_s + utc_offset_s) / DAY_S
    return ng * 1000 / conc_ug_ml


def daily_ng(prog):
    ref = RefProgramme(prog)
    return ref.cycle / DAY_S


# --- event log, decoded from the flash bytes ------------------------------------------------
def parse_log(blob, capacity=1024):
    """[(seq, t_s, code, a, b)] of every valid record, by seq (docs: 24-byte records, CRC-32 of
    bytes 0..20, record seq at offset (seq % capacity) * 24; zero seq = empty)."""
    out = []
    if not blob:
        return out
    for off in range(0, len(blob) - 23, 24):
        rec = blob[off:off + 24]
        seq, t_s, code, _rsv, a, b, crc = struct.unpack("<IiHHiiI", rec)
        if seq == 0 or zlib.crc32(rec[:20]) & 0xFFFFFFFF != crc:
            continue
        if (seq % capacity) * 24 != off:
            continue
        out.append((seq, t_s, code, a, b))
    out.sort()
    return out


def last_entry(entries, code):
    for e in reversed(entries):
        if e[2] == code:
            return e
    return None
