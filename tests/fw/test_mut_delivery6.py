"""Issue 8, round-6 mutation survivors in the ledger's piece cache (delivery.py): situations the
differential tests of test_delivery_fastpath.py did not reach.

Oracle, as there: `Ledger.volume_exact_nl` / `first_t_reaching_exact`, the full integral that
tests/host/test_schedule_props.py proves against a Fraction reference. Every expected value
comes from that path, never from the cache under test. What is new here is where the queries
are made: a ledger with a carried base volume (every ledger after its first programme change),
a stopped pump with a bolus, a new plan or a new UTC offset after a day of cached pieces, a
bolus that starts exactly where a plan piece starts, targets one nanolitre ahead of the cursor,
and a query from before the ledger's anchor.
"""
import pumpmodel as pm
import schedule
from delivery import Ledger
from pumpkit import BOLUSY, DAY, NIGHT, T0

STROKE = 250
# NIGHT at 1.5 times the dose: the same breakpoints, other coefficients
NIGHT15 = {"mode": "flex", "lead_min": 120, "steps": [
    {"effect_min": 7 * 60, "dose_ng_day": 750000, "shape": "ramp"},
    {"effect_min": 22 * 60, "dose_ng_day": 900000, "shape": "ramp"}]}


def _plan(prog, conc):
    return schedule.Plan(schedule.normalise(prog, conc, pm.model(20)))


def _ledger(prog, conc=2000, offset=3600, t0=T0):
    led = Ledger()
    led.rebase(t0, plan=_plan(prog, conc) if prog else None, conc_ug_ml=conc, utc_offset_s=offset)
    return led


def _strokes(led, t, until):
    """Stroke by stroke from t to `until`, as the controller does (the cache moves with the
    strokes); every stroke time and volume checked against the full integral. Returns the
    last stroke time."""
    n = 0
    k = led.volume_nl(t) // STROKE
    while True:
        k += 1
        got = led.first_t_reaching(k * STROKE, t)
        want = led.first_t_reaching_exact(k * STROKE, t)
        if got != want:
            raise AssertionError("stroke %d from %d: %r, full integral %r" % (k, t, got, want))
        if got is None or got > until:
            break
        if led.volume_nl(got) != led.volume_exact_nl(got):
            raise AssertionError("volume at %d" % got)
        t = got
        n += 1
    if n < 20:
        raise AssertionError("only %d strokes" % n)
    return t


def test_strokes_after_a_programme_change_carry_the_base_volume():
    # Every rebase folds the volume so far into base_nl; the stroke search must count it.
    led = _ledger(NIGHT)
    t = _strokes(led, T0, T0 + DAY // 2)
    led.rebase(t, plan=_plan(BOLUSY, 2000))     # programme change: base_nl kept
    if led.base_nl <= 0:
        raise AssertionError("no base volume carried")
    _strokes(led, t, t + DAY)


def test_a_new_plan_with_the_same_breakpoints_never_reuses_the_old_plans_pieces():
    led = _ledger(NIGHT)
    t = _strokes(led, T0, T0 + DAY)              # a day of pieces cached for NIGHT
    led.rebase(t, plan=_plan(NIGHT15, 2000))     # same strength, same local breakpoints
    _strokes(led, t, t + DAY)


def test_a_new_utc_offset_never_reuses_pieces_cached_at_the_old_local_times():
    # +2 h: the new 07:00 piece starts where the old 05:00 piece started (NIGHT's ramps are 2 h)
    led = _ledger(NIGHT, offset=3600)
    t = _strokes(led, T0, T0 + DAY)
    led.rebase(t, utc_offset_s=3600 + 7200)
    _strokes(led, t, t + DAY)
    led.rebase(t + DAY, utc_offset_s=-18000)
    _strokes(led, t + DAY, t + 2 * DAY)


def test_a_bolus_starting_where_a_cached_plan_piece_starts_is_delivered():
    led = _ledger(NIGHT, offset=3600)
    # local 05:00 (the morning ramp starts, 2 h before its 07:00 effect), T0 is local 17:00
    ramp = T0 - (T0 + 3600) % DAY + 5 * 3600 + DAY
    t = _strokes(led, T0, ramp + 3600)           # the plan's 05:00 piece is cached
    led.add_override(ramp + DAY, ramp + DAY + 1800, 900000, False)
    led.add_override(ramp + 2 * DAY, ramp + 2 * DAY + 1800, 900000, True)
    _strokes(led, t, ramp + 3 * DAY)


def test_a_stopped_pump_delivers_a_bolus_from_the_cache_exactly():
    # No plan (stopped), one override: a prime or clinician bolus, or a bridge.
    led = _ledger(None, conc=500)
    led.add_override(T0 + 100, T0 + 100 + 3600, 2400000, False)
    _strokes(led, T0, T0 + 3600 + 100)


def test_a_target_one_nanolitre_ahead_of_the_cursor_at_every_second():
    # The cursor is where the last volume was read; a target 1 nL ahead probes the
    # sub-nanolitre remainder at every phase (constant flow and a ramp).
    for t0 in (T0 + 30000, T0 + 12000):           # local 01:20 (flat) and 20:20 (the evening ramp)
        led = _ledger(NIGHT, offset=3600)
        for t in range(t0, t0 + 1500):
            v = led.volume_nl(t)
            want = led.first_t_reaching_exact(v + 1, t)
            got = led.first_t_reaching(v + 1, t)
            if got != want:
                raise AssertionError("at %d: %r, full integral %r" % (t, got, want))


def test_a_target_reached_since_the_cursor_inside_a_ramp_answers_the_query_time():
    led = _ledger(NIGHT, offset=3600)
    t = T0 + 10800 + 1200                       # local 20:20: inside the evening ramp
    if led.plan.rate_ng_day(t + 3600) in (500000, 600000):
        raise AssertionError("not in a ramp")
    led.first_t_reaching(led.volume_exact_nl(t) + STROKE, t)   # the piece starts at t
    led.volume_nl(t + 300)                      # the cursor 300 s into it
    v = led.volume_exact_nl(t + 300)
    for k in range(1, 30):                      # each nL the ramp reaches after the cursor
        hit = led.first_t_reaching_exact(v + 40 * k, t + 300)
        if led.first_t_reaching(v + 40 * k, hit) != hit:
            raise AssertionError("reached at %d, not answered there" % hit)


def _whole_seconds(led, lo, hi):
    """The seconds in [lo, hi) at which the exact volume is a whole number of nL (zero
    remainder), from the reference numerator (`_num`, the full integral)."""
    return [t for t in range(lo, hi) if led._num(t) % led.den == 0]


def test_a_target_met_exactly_at_a_whole_second_is_answered_at_that_second():
    # V(t) = floor(N(t) / den): at a second where N is a multiple of den, the volume reaches
    # that whole nL exactly there and not one second earlier. In a ramp (both directions).
    found = 0
    for conc in (2000, 500, 1500):
        for lo in (T0 + 10800, T0 + 43200):     # the evening (up) and morning (down) ramps
            led = _ledger(NIGHT, conc, offset=3600)
            for t in _whole_seconds(led, lo, lo + 7200)[:6]:
                v = led.volume_exact_nl(t)
                if not led.volume_exact_nl(t - 1) < v:
                    raise AssertionError("reached before %d" % t)
                for back in (0, 1, 2, 5, 37, 300):
                    if led.first_t_reaching_exact(v, t - back) != t:
                        raise AssertionError("reference search at %d" % t)
                    led._pc = []                                # cold start at the query
                    if led.first_t_reaching(v, t - back) != t:
                        raise AssertionError("cold, %d s before %d" % (back, t))
                    led.first_t_reaching(v - STROKE, t - back - 50)   # a stroke: gap cached
                    led.volume_nl(t - back - 20)                      # cursor moved (20 s back)
                    if led.first_t_reaching(v, t - back) != t:
                        raise AssertionError("warm, %d s before %d" % (back, t))
                found += 1
    if found < 12:
        raise AssertionError("only %d whole-nL seconds" % found)


def test_targets_in_the_last_seconds_of_a_ramp_from_a_cursor_in_its_middle():
    # The search must see that the piece still reaches the target in its last seconds (and in
    # its very last one), whatever the cursor and the previous stroke's gap.
    for conc in (2000, 500):
        for lo in (T0 + 10800, T0 + 43200):     # the evening (up) and morning (down) ramps
            led = _ledger(NIGHT, conc, offset=3600)
            end = lo + 7200
            for k in (0, 1, 2, 3, 7, 30):
                v = led.volume_exact_nl(end - k)
                want = led.first_t_reaching_exact(v, lo + 3600)
                for gap_from in (lo + 3000, end - k - 40):
                    led._pc = []
                    led.first_t_reaching(led.volume_exact_nl(gap_from) + 1, gap_from)  # piece, gap
                    led.volume_nl(lo + 3500)                                            # cursor
                    got = led.first_t_reaching(v, lo + 3600)
                    if got != want:
                        raise AssertionError("%d s before the end: %r, full integral %r" % (k, got, want))


def test_a_flow_of_one_reduced_unit_per_second_is_delivered_exactly():
    # 1 nL/s (86.4 mcg/day per mg/mL): the reduced coefficient c1' is 1 (the model's minimum
    # flow, 48 000 nL/day, allows no smaller whole fraction of a nL per second).
    for conc, dose in ((500, 43200), (2000, 172800), (1000, 86400)):
        led = _ledger({"mode": "continuous", "dose_ng_day": dose}, conc)
        _strokes(led, T0, T0 + 6 * 3600)
        v = led.volume_exact_nl(T0 + 5000)
        for t in range(T0 + 4990, T0 + 5010):
            if led.first_t_reaching(v, t) != led.first_t_reaching_exact(v, t):
                raise AssertionError("target %d from %d" % (v, t))


def test_a_query_from_before_the_anchor_uses_the_full_integral_and_keeps_the_cache_usable():
    led = _ledger(NIGHT, offset=3600)
    v = led.volume_exact_nl(T0 + 5000)
    if led.first_t_reaching(v, T0 - 50) != led.first_t_reaching_exact(v, T0 - 50):
        raise AssertionError("before the anchor")
    if led.volume_nl(T0 + 6000) != led.volume_exact_nl(T0 + 6000):
        raise AssertionError("after")
    _strokes(led, T0, T0 + 6 * 3600)


def test_the_coefficient_cache_never_holds_more_than_32_pieces():
    # White-box (allocation budget, issue 9; values are checked above): bounded at every step.
    led = _ledger(BOLUSY)
    u = T0
    for i in range(100):
        u += 977
        led._pc = []
        led.first_t_reaching(led.volume_exact_nl(u) + STROKE, u)
        if not 0 < len(led._cc[2]) <= 32:
            raise AssertionError("%d pieces after %d cold starts" % (len(led._cc[2]), i + 1))
