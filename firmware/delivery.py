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
        self._pc = []  # type: list  # the piece cache (see _piece_start); [] = none
        self._cc = []  # type: list  # [plan, den, {local start: reduced coefficients}]

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
        if self._piece_fresh():
            c = self._pc
            n = 0
            while t_s > c[1] and n < 2:   # just past the piece (a stroke after a breakpoint)
                self._piece_next()
                c = self._pc
                n += 1
            if c[0] <= t_s <= c[1]:
                return self._piece_volume(t_s)
        return self.base_nl + self._num(t_s) // self.den

    def volume_exact_nl(self, t_s):
        """The reference path: V(t) from the full integral, never from the piece cache."""
        return self.base_nl + self._num(t_s) // self.den

    # --- the piece cache: the same exact numbers with fewer long-int operations ----------
    # Between two breakpoints (a plan segment edge, a periodic-bolus edge, an override edge)
    # the numerator N(t) is a quadratic in t with integer coefficients (ramps are linear in
    # rate, so their integral is quadratic): N(lo + d) = n0 + c1*d + c2*d*d, c1 and c2 read
    # off the plan segment, the active boluses and overrides (_coeffs). Dividing c1, c2 and
    # den by their common factor g (floor((r + g*m) / (g*den')) = floor((r//g + m) / den')
    # for 0 <= r) and keeping a cursor (d_c, volume there, remainder there < den') makes
    # V(t) and the next stroke time small-int arithmetic for the usual strengths: the step
    # from the cursor is (d - d_c) * (c1' + c2' * (d + d_c)), about one stroke's worth of
    # 1/den' nL. The next piece starts from the exact N at the previous one's end, so only
    # a cold start evaluates the full integral. Values are identical by construction
    # (tests/fw/test_delivery_fastpath.py compares both paths at random times).
    # Budget: a stroke tick allocates <= 512 B (issue 9).
    def _next_break(self, t_s):
        """First breakpoint strictly after t_s (or t_s + HORIZON_S)."""
        hi = t_s + HORIZON_S
        for o in self.overrides:
            if t_s < o[0] < hi:
                hi = o[0]
            if t_s < o[1] < hi:
                hi = o[1]
        p = self.plan
        if p is not None:
            x = (t_s + self.utc_offset_s - p.origin_s) % p.period_s
            i = p._seg_index(x)
            if t_s + p.xs[i + 1] - x < hi:
                hi = t_s + p.xs[i + 1] - x
            for a, e, _ in p.bolus_segs:
                if x < a and t_s + a - x < hi:
                    hi = t_s + a - x
                if x < e and t_s + e - x < hi:
                    hi = t_s + e - x
        return hi

    def _piece_fresh(self):
        c = self._pc
        # Any change to the ledger (also by code outside this module) changes one of these
        # objects, so a stale piece is never used. base_nl is added outside the cache.
        return (len(c) == 20 and c[2] is self.plan and c[3] is self.overrides
                and c[4] == len(self.overrides) and c[5] == self.anchor_t_s and c[6] == self.utc_offset_s
                and c[7] == self.rem and c[8] == self.den and c[9] == self._g_anchor)

    def _piece_has(self, t_s):
        return self._piece_fresh() and self._pc[0] <= t_s <= self._pc[1]

    def _coeffs(self, lo):
        """(a, b): N(lo + d) - N(lo) = 1000 * (a*d + b*d*d) up to the next breakpoint. Mirrors
        _num term by term: the plan segment (ramp: rate r0 + slope*x/L, scaled integral
        scale*r0*x + slope*x*x), periodic boluses, overrides (a replacing one cancels the plan)."""
        scale = self._scale()
        a = b = 0
        keep = 1
        for t0, t1, rate, replace in self.overrides:
            if t0 <= lo < t1:
                a += scale * rate
                if replace:
                    keep -= 1
        p = self.plan
        if p is not None and keep:
            x = (lo + self.utc_offset_s - p.origin_s) % p.period_s
            i = p._seg_index(x)
            pa = scale * p.r0s[i] + 2 * p.slopes[i] * (x - p.xs[i])
            for s0, s1, rate in p.bolus_segs:
                if s0 <= x < s1:
                    pa += scale * rate
            a += keep * pa
            b += keep * p.slopes[i]
        return a, b

    def _piece_start(self, lo, n0, fresh_list=False):
        den = self.den
        co = key = None
        p = self.plan
        if p is not None and not self.overrides:
            # Plan-only pieces repeat every cycle: keep their reduced coefficients by the
            # local start, so a piece change costs no gcd (a bounded dict, per plan and den).
            key = (lo + self.utc_offset_s - p.origin_s) % p.period_s
            cc = self._cc
            if not cc or cc[0] is not p or cc[1] != den:
                cc = self._cc = [p, den, {}]
            co = cc[2].get(key)
        if co is None:
            a, b = self._coeffs(lo)
            c1 = 1000 * a
            c2 = 1000 * b
            g = _gcd(_gcd(c1, c2), den)
            co = (c1 // g, c2 // g, den // g, g)
            if key is not None:
                if len(cc[2]) >= 32:
                    cc[2].clear()
                cc[2][key] = co
        r0 = n0 % den
        g = co[3]
        c = self._pc
        if not c or fresh_list:
            c = [None] * 20  # type: list
            self._pc = c
        # element by element: a new 20-item list per piece would cost ~100 B (issue 9 budget)
        c[0], c[1], c[2] = lo, self._next_break(lo), p
        c[3], c[4], c[5] = self.overrides, len(self.overrides), self.anchor_t_s
        c[6], c[7], c[8] = self.utc_offset_s, self.rem, den
        c[9], c[10], c[11] = self._g_anchor, n0 // den, co[0]    # 10 q0, 11 c1'
        c[12], c[13], c[14] = co[1], co[2], 0                     # 12 c2', 13 den', 14 d_c
        c[15], c[16], c[17] = 0, r0 // g, 0                       # 15 v_c, 16 x_c, 17 gap
        c[18], c[19] = g, r0 % g                                  # 18 g, 19 s0

    def _piece_build(self, t_s):
        """Cold start: cache the piece holding t_s from one full evaluation of N(t_s)."""
        self._pc = []
        if t_s < self.anchor_t_s:
            return False
        self._piece_start(t_s, self._num(t_s))
        return True

    def _piece_next(self, fresh_list=False):
        """Continue with the piece after the current one, from the exact N at its end:
        N(lo + d) = (q0 + v_c) * den + s0 + g * x_c with the cursor moved to the end."""
        c = self._pc
        self._piece_volume(c[1])
        self._piece_start(c[1], (c[10] + c[15]) * c[8] + c[19] + c[18] * c[16], fresh_list)

    def _piece_volume(self, t_s):
        """V(t) from the cursor, and move the cursor there (the next stroke starts from it)."""
        c = self._pc
        d = t_s - c[0]
        dc = c[14]
        if d != dc:
            x = c[16] + (d - dc) * (c[11] + c[12] * (d + dc))
            c[14] = d
            c[15] += x // c[13]
            c[16] = x % c[13]
        return self.base_nl + c[10] + c[15]

    def _piece_first(self, target_nl, t_from):
        """first_t_reaching within the cached piece: the time, or None if beyond its end."""
        c = self._pc
        d0 = t_from - c[0]
        span = c[1] - c[0]
        dc, c1, c2 = c[14], c[11], c[12]
        # h(d) = (d - d_c) * (c1' + c2' * (d + d_c)) is what the numerator gains from the
        # cursor (monotone: the rate is never negative); the target needs h(d) >= need.
        need = (target_nl - self.base_nl - c[10] - c[15]) * c[13] - c[16]
        if d0 == dc:
            h0 = 0
        else:
            h0 = (d0 - dc) * (c1 + c2 * (d0 + dc))
        if h0 >= need:
            return t_from
        if c2 == 0:
            if c1 <= 0:
                return None
            d = dc - ((-need) // c1)   # ceil: the exact first second, no search
            if d < d0:
                d = d0
            return c[0] + d if d <= span else None
        # Ramp: guess the gap the previous stroke needed (the rate hardly changes between
        # strokes), else a Newton step from d0; then walk h by single seconds to the first d
        # with h(d) >= need (zero or one step), bisecting if the guess was far off.
        gap = c[17]
        if gap <= 0:
            slope = c1 + c2 * (2 * d0 + 1)
            gap = -((h0 - need) // slope) if slope > 0 else 1
        d = d0 + gap
        if d > span:
            d = span
        if (d - dc) * (c1 + c2 * (d + dc)) >= need:
            lo, hi = d0, d               # h(d0) < need <= h(hi)
            for _ in range(4):
                d = hi - 1
                if d == lo:
                    break
                if (d - dc) * (c1 + c2 * (d + dc)) < need:
                    lo = d
                    break
                hi = d
        else:
            lo, hi = d, span             # h(lo) < need
            if (span - dc) * (c1 + c2 * (span + dc)) < need:
                return None
            for _ in range(4):
                d = lo + 1
                if d == hi:
                    break
                if (d - dc) * (c1 + c2 * (d + dc)) >= need:
                    hi = d
                    break
                lo = d
        while hi - lo > 1:               # guess far off: bisect the bracket
            d = (lo + hi) >> 1
            if (d - dc) * (c1 + c2 * (d + dc)) >= need:
                hi = d
            else:
                lo = d
        c[17] = hi - d0
        return c[0] + hi

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
        if self._piece_has(t_from) or self._piece_build(t_from):
            keep = self._pc
            for i in range(3):
                t = self._piece_first(target_nl, t_from)
                if t is not None:
                    return t
                # Not reached by the piece's end: V(end) < target, so go on from there (in
                # a new list: `keep` stays as it was).
                self._piece_next(i == 0)
                t_from = self._pc[0]
            # A forecast (days ahead): leave the cache where the strokes are.
            self._pc = keep
        return self.first_t_reaching_exact(target_nl, t_from)

    def first_t_reaching_exact(self, target_nl, t_from):
        """The reference search (exponential probe + bisection over the exact volume)."""
        v = self.volume_exact_nl(t_from)
        if v >= target_nl:
            return t_from
        # Seed the search with the time the current flow needs: exact while the rate is
        # constant, so the next stroke costs ~3 volume evaluations instead of ~13.
        guess = 0
        flow = self.rate_ng_day(t_from) * 1000 // self.conc_ug_ml
        if flow > 0:
            guess = (target_nl - v) * 86400 // flow
        return first_true(t_from, t_from + HORIZON_S, lambda t: self.volume_exact_nl(t) >= target_nl,
                          guess)

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


def _gcd(a, b):
    """Greatest common divisor of |a| and |b| (math.gcd is not on MicroPython)."""
    a = -a if a < 0 else a
    b = -b if b < 0 else b
    while b:
        a, b = b, a % b
    return a


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
