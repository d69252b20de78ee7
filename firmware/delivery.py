"""The delivery ledger: programmed cumulative volume as an exact function of time.

V(t) = base_nl + floor((rem + 1000 * N(t)) / den), where N(t) is the plan's scaled
integral since the anchor (plus one-shot overrides) and den = scale * 86400 * conc.
Rebasing (programme change, refill, stop/resume, time change) folds V into base_nl and
keeps the exact remainder, so nothing depends on how often V is evaluated: advancing a
day in one call or in 86 400 calls gives the same numbers.
"""
from compat import const
import pumpmodel as pm

HORIZON_S = const(400000000)  # ~12.7 years: further than any pump lives


class Ledger:
    def __init__(self):
        self.plan = None          # schedule.Plan while running, None while stopped
        self.conc_ug_ml = 500
        self.utc_offset_s = 0
        self.anchor_t_s = 0
        self.base_nl = 0
        self.rem = 0
        self.overrides = []       # [t0_s, t1_s, rate_ng_day, replace]
        self.den = 2 * pm.DAY_S * 500
        self._g_anchor = 0

    # --- exact volume -------------------------------------------------------------
    def _scale(self):
        return self.plan.scale if self.plan is not None else 2

    def _num(self, t_s):
        """Scaled integral since the anchor, in the ledger's current denominator."""
        n = 0
        if self.plan is not None:
            n = self.plan.G(t_s + self.utc_offset_s) - self._g_anchor
        scale = self._scale()
        for t0, t1, rate, replace in self.overrides:
            a = t0 if t0 > self.anchor_t_s else self.anchor_t_s
            b = t1 if t1 < t_s else t_s
            if b > a:
                n += scale * rate * (b - a)
                if replace and self.plan is not None:
                    off = self.utc_offset_s
                    n -= self.plan.G(b + off) - self.plan.G(a + off)
        return self.rem + 1000 * n

    def volume_nl(self, t_s):
        return self.base_nl + self._num(t_s) // self.den

    def rebase(self, t_s, plan=None, conc_ug_ml=None, utc_offset_s=None, keep_plan=True):
        """Fold everything up to t_s into base_nl; then switch plan/conc/offset."""
        n = self._num(t_s)
        self.base_nl += n // self.den
        rem = n % self.den
        if not keep_plan or plan is not None:
            self.plan = plan
        if conc_ug_ml is not None:
            self.conc_ug_ml = conc_ug_ml
        if utc_offset_s is not None:
            self.utc_offset_s = utc_offset_s
        den = self._scale() * pm.DAY_S * self.conc_ug_ml
        # Carry the sub-nanolitre remainder into the new denominator (loses < 1/den nL).
        self.rem = rem * den // self.den
        self.den = den
        self.anchor_t_s = t_s
        self.overrides = [o for o in self.overrides if o[1] > t_s]
        self._g_anchor = self.plan.G(t_s + self.utc_offset_s) if self.plan is not None else 0

    def add_override(self, t0_s, t1_s, rate_ng_day, replace):
        self.overrides.append([t0_s, t1_s, rate_ng_day, replace])

    def clear_overrides(self, t_s):
        self.rebase(t_s)
        self.overrides = []

    def next_override_end(self, t_s):
        best = None
        for o in self.overrides:
            if o[1] > t_s and (best is None or o[1] < best):
                best = o[1]
        return best

    def rate_ng_day(self, t_s):
        r = 0
        replaced = False
        for t0, t1, rate, replace in self.overrides:
            if t0 <= t_s < t1:
                r += rate
                replaced = replaced or replace
        if self.plan is not None and not replaced:
            r += self.plan.rate_ng_day(t_s + self.utc_offset_s)
        return r

    def first_t_reaching(self, target_nl, t_from):
        """Smallest integer t >= t_from with volume_nl(t) >= target_nl, or None."""
        v = self.volume_nl(t_from)
        if v >= target_nl:
            return t_from
        # Seed the search with the time the current flow needs: exact while the rate is
        # constant, so the next stroke costs ~3 volume evaluations instead of ~13.
        guess = 0
        flow = self.rate_ng_day(t_from) * 1000 // self.conc_ug_ml
        if flow > 0:
            guess = (target_nl - v) * 86400 // flow
        return first_true(t_from, t_from + HORIZON_S, lambda t: self.volume_nl(t) >= target_nl, guess)

    # --- persistence ----------------------------------------------------------------
    def to_dict(self):
        return {
            "anchor_t_s": self.anchor_t_s, "base_nl": self.base_nl, "rem": self.rem,
            "den": self.den, "conc_ug_ml": self.conc_ug_ml, "utc_offset_s": self.utc_offset_s,
            "overrides": [list(o) for o in self.overrides], "running": self.plan is not None,
        }

    def load(self, d, plan):
        self.anchor_t_s = d["anchor_t_s"]
        self.base_nl = d["base_nl"]
        self.rem = d["rem"]
        self.den = d["den"]
        self.conc_ug_ml = d["conc_ug_ml"]
        self.utc_offset_s = d["utc_offset_s"]
        self.overrides = [list(o) for o in d["overrides"]]
        self.plan = plan if d["running"] else None
        self._g_anchor = self.plan.G(self.anchor_t_s + self.utc_offset_s) if self.plan is not None else 0


def first_true(lo, hi, pred, guess=0):
    """Smallest integer t in (lo, hi] with pred(t) true, for a monotone pred false at lo.
    Exponential probe from lo (or from a guessed distance), then bisection: O(log(t - lo))
    evaluations, two or three when the guess is right."""
    step = 1
    prev = lo
    if guess > 0 and lo + guess < hi:
        g = lo + guess
        if pred(g):
            if not pred(g - 1):
                return g
            hi = g - 1      # answer in (lo, g - 1]: search there
        elif pred(g + 1):
            return g + 1
        else:
            prev = g + 1    # answer beyond the guess: probe onwards from it
            lo = g + 1
    while True:
        probe = lo + step
        if probe >= hi:
            probe = hi
        if pred(probe):
            break
        if probe == hi:
            return None
        prev = probe
        step <<= 1
    a, b = prev, probe  # pred(a) false, pred(b) true
    while b - a > 1:
        mid = (a + b) >> 1
        if pred(mid):
            b = mid
        else:
            a = mid
    return b
