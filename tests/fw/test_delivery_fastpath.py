"""The ledger's piece cache (small-allocation path) gives exactly the numbers of the full
integral (issue 9, "Allocation": a stroke tick allocates <= 512 B; exactness kept).

The reference here is `Ledger.volume_exact_nl` / `first_t_reaching_exact`: the full integral
that tests/host/test_schedule_props.py proves against a Fraction reference. Every expected
value comes from that path, never from the piece cache under test.
"""
import pumpmodel as pm
import schedule
from delivery import Ledger
from pumpkit import BOLUSY

REQS = {
    "test_cached_volume_equals_the_full_integral_at_random_times": ["BUDGET-ALLOC-EXACT"],
    "test_next_stroke_times_equal_the_reference_search_stroke_by_stroke": ["BUDGET-ALLOC-EXACT"],
    "test_random_targets_from_random_times_equal_the_reference_search": ["BUDGET-ALLOC-EXACT"],
    "test_stale_piece_is_never_used_after_outside_changes": ["BUDGET-ALLOC-EXACT"],
    "test_target_reached_at_the_start_and_beyond_the_piece_end": ["BUDGET-ALLOC-EXACT"],
    "test_target_already_reached_inside_a_ramp_after_a_stroke": ["BUDGET-ALLOC-EXACT"],
    "test_forecast_leaves_the_piece_at_the_strokes_and_the_coefficient_cache_bounded": ["BUDGET-ALLOC-EXACT"],
}

DAY = 86400
T0 = 90000000
STROKE = 250
# The labelling's night ramp (examples/night_ramp.toml): +20 % from 22:00, 2 h ramps.
NIGHT = {"mode": "flex", "lead_min": 120, "steps": [
    {"effect_min": 7 * 60, "dose_ng_day": 500000, "shape": "ramp"},
    {"effect_min": 22 * 60, "dose_ng_day": 600000, "shape": "ramp"}]}


def _rng(seed):
    box = [seed]

    def nxt(n):
        box[0] = (box[0] * 1103515245 + 12345) & 0x7FFFFFFF   # portable LCG
        return box[0] % n
    return nxt


def _ledger(prog, conc=2000, offset=3600, t0=T0):
    norm = schedule.normalise(prog, conc, pm.model(20))
    led = Ledger()
    led.rebase(t0, plan=schedule.Plan(norm), conc_ug_ml=conc, utc_offset_s=offset)
    return led


def test_cached_volume_equals_the_full_integral_at_random_times():
    led = _ledger(BOLUSY)
    led.add_override(T0 + 5000, T0 + 9000, 700000, False)      # a bolus on top of the plan
    led.add_override(T0 + 30000, T0 + 33000, 900000, True)     # a bridge replacing it
    led.add_override(T0 + 32000, T0 + 36000, 400000, True)     # overlapping the bridge
    rnd = _rng(7)
    t = T0
    checked = 0
    while t < T0 + 2 * DAY:
        led.first_t_reaching(led.volume_exact_nl(t) + STROKE, t)   # builds the piece at t
        if led._pc:
            lo, hi = led._pc[0], led._pc[1]
            for _ in range(4):
                u = lo + rnd(hi - lo + 1)
                assert led._piece_has(u)
                assert led.volume_nl(u) == led.volume_exact_nl(u)
                checked += 1
            assert led.volume_nl(hi) == led.volume_exact_nl(hi)
        t += 1 + rnd(4000)
    assert checked > 100


def test_next_stroke_times_equal_the_reference_search_stroke_by_stroke():
    for prog, conc, n in ((NIGHT, 2000, 2600), (BOLUSY, 500, 1500)):
        led = _ledger(prog, conc)
        ref = _ledger(prog, conc)
        t = T0
        k = led.volume_nl(t) // STROKE
        for i in range(n):
            if i == n // 2:
                # a refill at an odd second with a new strength: the ledger now carries a
                # non-zero sub-nanolitre remainder into a new denominator
                for x in (led, ref):
                    x.rebase(t + 7, conc_ug_ml=conc - 300)
                    x.base_nl = 0
                t += 7
                k = led.volume_exact_nl(t) // STROKE
                assert led.rem != 0
            k += 1
            got = led.first_t_reaching(k * STROKE, t)
            want = ref.first_t_reaching_exact(k * STROKE, t)
            assert got == want, (k, t, got, want)
            assert led.volume_nl(got) == ref.volume_exact_nl(got)
            t = got


def test_random_targets_from_random_times_equal_the_reference_search():
    led = _ledger(BOLUSY, 700, offset=-18000)
    led.add_override(T0 + 40000, T0 + 46000, 300000, False)
    rnd = _rng(11)
    for _ in range(150):
        t = T0 + rnd(3 * DAY)
        v = led.volume_exact_nl(t)
        # near targets (the next stroke), mid (hours: guess far off, bisection), far (days)
        target = v + (1 + rnd(3 * STROKE), 1 + rnd(200000), 1 + rnd(3000000))[rnd(3)]
        assert led.first_t_reaching(target, t) == led.first_t_reaching_exact(target, t)


def test_stale_piece_is_never_used_after_outside_changes():
    led = _ledger(NIGHT)
    t = T0 + 100
    led.first_t_reaching(led.volume_exact_nl(t) + STROKE, t)
    assert led._piece_has(t + 10)
    # what commands_admin does on a time change: new overrides list, anchor moved
    led.overrides = [[T0, T0 + 50000, 100000, False]]
    assert not led._piece_has(t + 10)
    assert led.volume_nl(t + 10) == led.volume_exact_nl(t + 10)
    led.first_t_reaching(led.volume_exact_nl(t) + STROKE, t)
    led.overrides.append([T0 + 200, T0 + 300, 100000, False])  # appended in place
    assert not led._piece_has(t + 10)
    led.first_t_reaching(led.volume_exact_nl(t) + STROKE, t)
    led.rebase(t + 5, conc_ug_ml=500)                           # new denominator, remainder
    assert not led._piece_has(t + 10)
    assert led.volume_nl(t + 10) == led.volume_exact_nl(t + 10)
    led.first_t_reaching(led.volume_exact_nl(t + 5) + STROKE, t + 5)
    led.base_nl -= 1000                                         # commands.refill_stage style
    assert led._piece_has(t + 10)                               # base is outside the cache
    assert led.volume_nl(t + 10) == led.volume_exact_nl(t + 10)


def test_target_reached_at_the_start_and_beyond_the_piece_end():
    led = _ledger(NIGHT)
    t = T0 + 1000
    v = led.volume_exact_nl(t)
    assert led.first_t_reaching(v, t) == t               # already reached: t itself (accepted)
    assert led.first_t_reaching(v - 5, t) == t
    far = v + 5 * led.volume_exact_nl(T0 + DAY)          # days away: past every piece
    assert led.first_t_reaching(far, t) == led.first_t_reaching_exact(far, t)
    # the first second that reaches the target, and not one second earlier (refused)
    got = led.first_t_reaching(v + STROKE, t)
    assert led.volume_exact_nl(got) >= v + STROKE > led.volume_exact_nl(got - 1)


def test_target_already_reached_inside_a_ramp_after_a_stroke():
    """The ramp search seeds from the previous stroke's gap; a target already met at t_from
    must still answer t_from (not the second after)."""
    led = _ledger(NIGHT)
    t = T0 + 12000                       # 20:20 local (offset +1 h): inside the 20:00-22:00 ramp
    assert led.plan.rate_ng_day(t + 3600) not in (500000, 600000)
    v = led.volume_exact_nl(t)
    t1 = led.first_t_reaching(v + STROKE, t)       # a stroke: the gap is now cached
    assert t1 == led.first_t_reaching_exact(v + STROKE, t)
    t2 = t1 + 37
    v2 = led.volume_exact_nl(t2)
    assert led.first_t_reaching(v2, t2) == t2
    assert led.first_t_reaching(v2 + 1, t2) == led.first_t_reaching_exact(v2 + 1, t2)


def test_forecast_leaves_the_piece_at_the_strokes_and_the_coefficient_cache_bounded():
    """White-box (allocation budget, not values): a forecast days ahead must not move the
    piece away from the stroke times, and the per-plan coefficient cache stays bounded."""
    led = _ledger(BOLUSY)
    t = T0 + 100
    nxt = led.first_t_reaching(led.volume_exact_nl(t) + STROKE, t)
    far = led.volume_exact_nl(T0 + 3 * DAY)
    assert led.first_t_reaching(far, nxt) == led.first_t_reaching_exact(far, nxt)
    assert led._piece_has(nxt)
    rnd = _rng(3)
    for _ in range(200):                 # cold starts at many local times of day
        u = T0 + rnd(DAY)
        led._pc = []
        led.first_t_reaching(led.volume_exact_nl(u) + STROKE, u)
    assert 0 < len(led._cc[2]) <= 32
