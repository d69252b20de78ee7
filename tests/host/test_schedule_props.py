"""Property tests of the exact dosing maths (issue 2), CPython only (hypothesis, Fraction)."""
from fractions import Fraction

import pytest

from hypothesis import assume, given, settings, strategies as st

import pumpmodel as pm
import schedule
from delivery import Ledger
from protocol import PumpError
from hal_sim import SimHal
from controller import Controller
from runprofile import examples

M20 = pm.model(20)


@st.composite
def programmes(draw):
    lead = draw(st.sampled_from([0, 30, 60, 90, 120]))
    n = draw(st.integers(1, 8))
    gap = max(lead, 1) + draw(st.integers(0, 60))
    if n * gap > 1440:
        n = max(1, 1440 // gap)
    start = draw(st.integers(0, 1439))
    steps = [{"effect_min": (start + i * gap) % 1440,
              "dose_ng_day": draw(st.integers(100000, 1400000)),
              "shape": draw(st.sampled_from(["ramp", "step"]))} for i in range(n)]
    boluses = [{"at_min": draw(st.integers(0, 1439)), "dose_ng": draw(st.integers(1000, 80000)),
                "duration_min": draw(st.integers(1, 120))} for _ in range(draw(st.integers(0, 2)))]
    return {"mode": "flex", "lead_min": lead, "steps": steps, "boluses": boluses}


def reference_rate(norm, local_t):
    """Exact rate (Fraction ng/day) from the textual definition, independent of Plan."""
    L = norm["lead_min"] * 60
    steps = norm["steps"]
    tod = local_t % 86400
    rate = None
    n = len(steps)
    for i, s in enumerate(steps):
        e = s["effect_min"] * 60
        prev = steps[i - 1]["dose_ng_day"]
        # time since this step's change window started, wrapped into [0, 86400)
        since = (tod - (e - L)) % 86400
        if n == 1:
            rate = Fraction(s["dose_ng_day"])
        elif s["shape"] == "ramp" and since < L:
            rate = Fraction(prev) + Fraction(s["dose_ng_day"] - prev, L) * since
        elif since < (steps[(i + 1) % n]["effect_min"] * 60 - L - (e - L)) % 86400 or n == 1:
            rate = Fraction(s["dose_ng_day"])
    for b in norm["boluses"]:
        if (tod - b["at_min"] * 60) % 86400 < b["duration_min"] * 60:
            rate += b["rate_ng_day"]
    return rate


def exact_ng(norm, a, b):
    # Change points are whole seconds and the rate is linear inside every second, so
    # the midpoint rule is exact per second (and right at steps and bolus edges).
    half = Fraction(1, 2)
    return sum((reference_rate(norm, t + half) for t in range(a, b)), Fraction(0)) / 86400


def normalise_or_none(prog, conc=2000):
    """None when the pump would refuse the programme (those draws are discarded by assume)."""
    try:
        return schedule.normalise(prog, conc, M20)
    except PumpError:
        return None


@pytest.mark.req("CORE-DAILY-TOTAL")
@pytest.mark.oracle("fraction")
@settings(max_examples=examples(40))
@given(programmes(), st.integers(0, 86399), st.integers(1, 7200))
def test_plan_integral_equals_fraction_reference(prog, a, width):
    norm = normalise_or_none(prog)
    assume(norm is not None)
    p = schedule.Plan(norm)
    got = Fraction(p.G(a + width) - p.G(a), p.scale * 86400)
    assert got == exact_ng(norm, a, a + width)


@settings(max_examples=examples(60))
@given(programmes(), st.integers(0, 7 * 86400))
def test_daily_total_is_the_integral_over_any_whole_day(prog, offset):
    norm = normalise_or_none(prog)
    assume(norm is not None)
    p = schedule.Plan(norm)
    assert p.G(offset + 86400) - p.G(offset) == p.cycle


@settings(max_examples=examples(30))
@given(programmes(), st.lists(st.integers(1, 20000), min_size=1, max_size=40))
def test_partitions_give_identical_state_and_volume_never_decreases(prog, chunks):
    norm = normalise_or_none(prog)
    assume(norm is not None)

    def run(parts):
        hal = SimHal(start_t_s=90000000)
        ctl = Controller(hal)
        ctl.boot()
        st_ = ctl.command("refill_stage", {"withdrawn_nl": 0, "added_nl": 20000000, "conc_ug_ml": 2000}, "clinician")
        ctl.command("refill_commit", {"hash": st_["hash"]}, "clinician")
        st_ = ctl.command("programme_stage", {"programme": norm}, "clinician")
        ctl.command("programme_commit", {"hash": st_["hash"]}, "clinician")
        last = 0
        for c in parts:
            hal.advance_s(c)
            ctl.advance(ctl.now_s())
            assert hal.strokes >= last
            last = hal.strokes
        snap = ctl.snapshot()
        snap.pop("comms")
        snap.pop("clock_offset_s")
        return snap

    total = sum(chunks)
    assert run(chunks) == run([total])


@settings(max_examples=examples(40))
@given(programmes(), st.integers(1, 2000), st.lists(st.integers(1, 50000), min_size=1, max_size=10))
def test_rebasing_anywhere_keeps_the_exact_volume(prog, conc, cuts):
    norm = normalise_or_none(prog, conc)
    assume(norm is not None)
    p = schedule.Plan(norm)
    a, b = Ledger(), Ledger()
    a.rebase(0, plan=p, conc_ug_ml=conc)
    b.rebase(0, plan=p, conc_ug_ml=conc)
    t = 0
    for c in cuts:
        t += c
        b.rebase(t)
    assert a.volume_nl(t) == b.volume_nl(t)
    exact = Fraction(p.G(t) - p.G(0), p.scale * 86400) * 1000 / conc
    assert a.volume_nl(t) == exact.numerator // exact.denominator


@given(st.integers(0, 10**6), st.integers(1, 10**6), st.integers(0, 2 * 10**6), st.integers(1, 3 * 10**6))
def test_first_true_finds_the_threshold_whatever_the_guess(lo, dist, guess, span):
    from delivery import first_true
    k = lo + dist
    hi = lo + span
    got = first_true(lo, hi, lambda t: t >= k, guess)
    assert got == (k if k <= hi else None)
