"""Programmes: validation, normalisation, and the exact integral of the dose rate.

A programme is a cyclic dose-rate function of local time (period one day, or one week for
weekday plans). Each flex step is programmed by its *effect time*; the change starts
`lead_min` earlier (labeling: "Changes in flow rate should be programmed to start 2 hrs
before time of desired clinical effect"), either as a linear ramp reaching the new rate
at the effect time, or as a step at effect - lead.

Exactness: rates are integer ng/day; ramps have width L seconds, so with the scale
S = 2L the integral  S * integral(rate dt)  is an integer (units ng*s/day * S) for every
integer time. Volumes are floors of that exact integer divided by S*86400*conc/1000.
"""
from compat import const
from protocol import PumpError
import pumpmodel as pm

SHAPES = ("ramp", "step")
MIN_PER_DAY = const(1440)


def _get_int(d, key, lo, hi, default=None):
    v = d.get(key, default)
    if v is None:
        raise PumpError("E_BAD_ARGS", "missing '%s'" % key)
    if type(v) is not int:
        raise PumpError("E_BAD_ARGS", "'%s' must be an integer" % key)
    if v < lo or v > hi:
        raise PumpError("E_BAD_ARGS", "'%s'=%d outside %d..%d" % (key, v, lo, hi))
    return v


def _check_flow(dose_ng_day, conc_ug_ml, model, what):
    flow = pm.flow_nl_day(dose_ng_day, conc_ug_ml)
    if flow < model["flow_min_nl_day"] or flow > model["flow_max_nl_day"]:
        raise PumpError(
            "E_FLOW_RANGE",
            "%s: %d ng/day at %d mcg/mL is %d nL/day, outside %d..%d nL/day"
            % (what, dose_ng_day, conc_ug_ml, flow, model["flow_min_nl_day"], model["flow_max_nl_day"]),
        )


def normalise(prog, conc_ug_ml, model):
    """Validate a programme dict and return its canonical normalised form.

    Raises PumpError with a named code on the first violation; never mutates `prog`.
    """
    if type(prog) is not dict:
        raise PumpError("E_BAD_ARGS", "programme must be an object")
    mode = prog.get("mode")
    lead_min = _get_int(prog, "lead_min", 0, pm.LEAD_MAX_MIN, pm.LEAD_DEFAULT_MIN)
    if mode == "continuous":
        dose = _get_int(prog, "dose_ng_day", 1, 100 * pm.DOSE_MAX_NG_DAY)
        steps = [{"day": -1, "effect_min": 0, "dose_ng_day": dose, "shape": "step"}]
    elif mode == "flex":
        raw = prog.get("steps")
        if type(raw) is not list or not raw:
            raise PumpError("E_STEP_COUNT", "flex programme needs at least one step")
        steps = []
        for i, s in enumerate(raw):
            if type(s) is not dict:
                raise PumpError("E_BAD_ARGS", "step %d must be an object" % (i + 1))
            shape = s.get("shape", "ramp")
            if shape not in SHAPES:
                raise PumpError("E_BAD_ARGS", "step %d: shape must be ramp or step" % (i + 1))
            steps.append({
                "day": _get_int(s, "day", -1, 6, -1),
                "effect_min": _get_int(s, "effect_min", 0, MIN_PER_DAY - 1),
                "dose_ng_day": _get_int(s, "dose_ng_day", 1, 100 * pm.DOSE_MAX_NG_DAY),
                "shape": shape,
            })
    else:
        raise PumpError("E_BAD_ARGS", "mode must be 'continuous' or 'flex'")
    weekly = steps[0]["day"] >= 0
    for s in steps:
        if (s["day"] >= 0) != weekly:
            raise PumpError("E_BAD_ARGS", "either every step names a weekday or none does")
    per_day = {}
    for s in steps:
        per_day[s["day"]] = per_day.get(s["day"], 0) + 1
    if len(steps) > pm.MAX_STEPS_TOTAL:
        raise PumpError("E_STEP_COUNT", "at most %d steps in a programme" % pm.MAX_STEPS_TOTAL)
    for n in per_day.values():
        if n > pm.MAX_STEPS_PER_DAY:
            raise PumpError("E_STEP_COUNT", "at most %d steps per day" % pm.MAX_STEPS_PER_DAY)
    for i, s in enumerate(steps):
        _check_flow(s["dose_ng_day"], conc_ug_ml, model, "step %d" % (i + 1))
    boluses = []
    raw_b = prog.get("boluses", [])
    if type(raw_b) is not list or len(raw_b) > pm.MAX_PERIODIC_BOLUSES:
        raise PumpError("E_BAD_ARGS", "boluses: a list of at most %d" % pm.MAX_PERIODIC_BOLUSES)
    for i, b in enumerate(raw_b):
        if type(b) is not dict:
            raise PumpError("E_BAD_ARGS", "bolus %d must be an object" % (i + 1))
        boluses.append(normalise_bolus(b, weekly, i + 1))
    norm = {
        "mode": mode,
        "lead_min": lead_min,
        "steps": sorted(steps, key=_step_key),
        "boluses": sorted(boluses, key=_bolus_key),
    }
    if mode == "continuous":
        norm["dose_ng_day"] = steps[0]["dose_ng_day"]   # normalising is idempotent
    plan = Plan(norm)  # raises E_STEP_OVERLAP
    _check_boluses(norm, boluses, conc_ug_ml, model)
    for day, total_ng in plan.day_totals_ng():
        if total_ng < pm.DOSE_MIN_NG_DAY or total_ng > pm.DOSE_MAX_NG_DAY:
            raise PumpError(
                "E_DOSE_RANGE",
                "daily total %sis %d ng; the pump accepts %d..%d ng/day (label range 12-2003 mcg/day)"
                % ("" if day < 0 else "(weekday %d) " % day, total_ng, pm.DOSE_MIN_NG_DAY, pm.DOSE_MAX_NG_DAY),
            )
    return norm


def normalise_bolus(b, weekly, n):
    dur = _get_int(b, "duration_min", 1, pm.BOLUS_MAX_DURATION_MIN)
    dose = _get_int(b, "dose_ng", 1, pm.DOSE_MAX_NG_DAY)
    # Integer rate (ng/day) for exact integration; the dose is restated from it (the
    # rounding moves it by < 1 ng) so what is reported is exactly what is delivered.
    rate = (dose * MIN_PER_DAY + dur // 2) // dur
    given = b.get("rate_ng_day")
    if given is not None:   # an already-normalised bolus keeps its exact rate
        if type(given) is not int or given * dur // MIN_PER_DAY != dose:
            raise PumpError("E_BAD_ARGS", "bolus %d: rate_ng_day does not match dose_ng" % n)
        rate = given
    out = {
        "at_min": _get_int(b, "at_min", 0, MIN_PER_DAY - 1, 0),
        "day": _get_int(b, "day", -1, 6, -1),
        "duration_min": dur,
        "rate_ng_day": rate,
        "dose_ng": rate * dur // MIN_PER_DAY,
    }
    if out["day"] >= 0 and not weekly:
        raise PumpError("E_BAD_ARGS", "bolus %d names a weekday but the plan is daily" % n)
    return out


def _step_key(s):
    # Every step names a weekday or none does (checked before sorting), so day -1 only shifts
    # every key of a daily plan alike: the order is the steps' order in the cycle.
    return s["day"] * MIN_PER_DAY + s["effect_min"]


def _bolus_key(b):
    return (b["day"] if b["day"] >= 0 else 0) * MIN_PER_DAY + b["at_min"]


def _check_boluses(norm, boluses, conc_ug_ml, model):
    # Basal + bolus flow at the bolus's busiest moment must stay within the pump's rate.
    # `boluses` is the list as sent, so "bolus N" is the one the clinician wrote N-th.
    peak_basal = step_peak_ng_day(norm)
    for i, b in enumerate(boluses):
        flow = pm.flow_nl_day(peak_basal + b["rate_ng_day"], conc_ug_ml)
        if flow > model["flow_max_nl_day"]:
            raise PumpError(
                "E_BOLUS_RANGE",
                "bolus %d: %d ng over %d min needs %d nL/day with basal, above the pump maximum %d"
                % (i + 1, b["dose_ng"], b["duration_min"], flow, model["flow_max_nl_day"]),
            )


def step_peak_ng_day(prog):
    """Highest step rate of a normalised programme (0 for None)."""
    peak = 0
    for s in prog["steps"] if prog else ():
        if s["dose_ng_day"] > peak:
            peak = s["dose_ng_day"]
    return peak


def _fmt_step(s):
    day = "" if s["day"] < 0 else "day %d " % s["day"]
    return "%s%02d:%02d" % (day, s["effect_min"] // 60, s["effect_min"] % 60)


class Plan:
    """Compiled cyclic rate function. `G(local_t)` is the scaled cumulative integral
    from a fixed origin: integral(a..b) = G(b) - G(a), exact for any integer times."""

    def __init__(self, norm):
        self.period_s = pm.WEEK_S if norm["steps"][0]["day"] >= 0 else pm.DAY_S
        P = self.period_s
        lead_s = norm["lead_min"] * 60
        self.lead_s = lead_s
        self.scale = 2 * (lead_s if lead_s > 0 else 1)
        steps = norm["steps"]
        n = len(steps)
        pos = [(s["day"] if s["day"] >= 0 else 0) * pm.DAY_S + s["effect_min"] * 60 for s in steps]
        starts = [p - lead_s for p in pos]
        ends = [pos[i] if steps[i]["shape"] == "ramp" else starts[i] for i in range(n)]
        if n > 1:
            for i in range(n):
                j = (i + 1) % n
                nxt = starts[j] + (P if j == 0 else 0)
                if pos[j] + (P if j == 0 else 0) == pos[i] or nxt < ends[i]:
                    raise PumpError(
                        "E_STEP_OVERLAP",
                        "step %d (%s) and step %d (%s): lead windows overlap; effect times must be at least "
                        "the %d min lead apart" % (i + 1, _fmt_step(steps[i]), j + 1, _fmt_step(steps[j]),
                                                   norm["lead_min"]),
                    )
        origin = starts[0] % P if n > 1 else 0
        xs, r0s, slopes = [], [], []
        for i in range(n):
            x_s = starts[i] - starts[0] if n > 1 else 0
            x_e = ends[i] - starts[0] if n > 1 else 0
            prev = steps[i - 1]["dose_ng_day"]
            cur = steps[i]["dose_ng_day"]
            if x_e > x_s:
                xs.append(x_s)
                r0s.append(prev)
                slopes.append(cur - prev)
            xs.append(x_e)
            r0s.append(cur)
            slopes.append(0)
        xs.append(P)
        self.origin_s, self.xs, self.r0s, self.slopes = origin, xs, r0s, slopes
        f0 = [0]
        for i in range(len(r0s)):
            f0.append(f0[i] + self._seg_integral(i, xs[i + 1] - xs[i]))
        self.f0 = f0
        self.basal_cycle = f0[-1]
        self.bolus_segs = []
        days = range(7) if P == pm.WEEK_S else (0,)
        for b in norm["boluses"]:
            for d in ([b["day"]] if b["day"] >= 0 else days):
                a = (d * pm.DAY_S + b["at_min"] * 60 - origin) % P
                e = a + b["duration_min"] * 60
                if e > P:
                    self.bolus_segs.append((a, P, b["rate_ng_day"]))
                    self.bolus_segs.append((0, e - P, b["rate_ng_day"]))
                else:
                    self.bolus_segs.append((a, e, b["rate_ng_day"]))
        self.cycle = self.basal_cycle + self._bolus_F(P)

    def _seg_integral(self, i, dx):
        return self.scale * self.r0s[i] * dx + self.slopes[i] * dx * dx

    def _seg_index(self, x):
        xs = self.xs
        lo, hi = 0, len(xs) - 2
        while lo < hi:
            mid = (lo + hi + 1) >> 1
            if xs[mid] <= x:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def _bolus_F(self, x):
        total = 0
        for a, e, rate in self.bolus_segs:
            if x > a:
                total += self.scale * rate * ((e if x > e else x) - a)
        return total

    def G(self, local_t):
        x_abs = local_t - self.origin_s
        k = x_abs // self.period_s
        x = x_abs - k * self.period_s
        i = self._seg_index(x)
        return k * self.cycle + self.f0[i] + self._seg_integral(i, x - self.xs[i]) + self._bolus_F(x)

    def rate_ng_day(self, local_t):
        """Instantaneous programmed dose rate (floored to whole ng/day), boluses included."""
        x = (local_t - self.origin_s) % self.period_s
        i = self._seg_index(x)
        r = self.r0s[i]
        if self.slopes[i]:
            r += self.slopes[i] * (x - self.xs[i]) // self.lead_s
        for a, e, rate in self.bolus_segs:
            if a <= x < e:
                r += rate
        return r

    def ng_between(self, local_a, local_b):
        return (self.G(local_b) - self.G(local_a)) // (self.scale * pm.DAY_S)

    def day_totals_ng(self):
        """[(weekday or -1, ng)] for each local day of the cycle, ramps and boluses included."""
        if self.period_s == pm.DAY_S:
            return [(-1, self.cycle // (self.scale * pm.DAY_S))]
        return [(d, self.ng_between(d * pm.DAY_S, (d + 1) * pm.DAY_S)) for d in range(7)]

    def change_windows(self):
        """[(start_local_s, end_local_s)] of every rate-change window within one cycle (for plots)."""
        out = []
        for i in range(len(self.slopes)):
            if self.slopes[i]:
                a = (self.origin_s + self.xs[i]) % self.period_s
                out.append((a, a + self.xs[i + 1] - self.xs[i]))
        return out
