"""A titration / refill-cap refusal states the increase so it never contradicts the cap.

The percentages below are the label arithmetic done by hand (new - old) / old, shown to one
decimal and rounded away from the cap: +30.07 % is above the 30 % cap, so it reads "+30.1 %"
(rounding down gave "+30 % ... at most 30 %", which reads as allowed).
"""
from pumpkit import make_pump, warp, cmd, refill, raises, DAY
import clinical

REQS = {
    "test_titration_cap_boundary_and_message": ["RPTLOG-CAP-PERCENT"],
    "test_refill_cap_boundary_and_message": ["RPTLOG-CAP-PERCENT"],
}

SPINAL = {"indication": "spinal", "age_group": "adult"}


def _cont(ng):
    return {"mode": "continuous", "dose_ng_day": ng}


def _stage(ctl, ng):
    return cmd(ctl, "programme_stage", programme=_cont(ng))


def _commit(ctl, ng, **extra):
    st = cmd(ctl, "programme_stage", programme=_cont(ng), **extra)
    return cmd(ctl, "programme_commit", hash=st["hash"])


def _pump(profile, first_ng):
    hal, ctl = make_pump(build="test")
    refill(ctl, 20000000, 500)
    cmd(ctl, "profile_set", profile=profile)
    extra = {}
    if first_ng > clinical.INITIAL_MAX_NG_DAY:
        extra["override_reason"] = "replacement pump, patient on maintenance"
    _commit(ctl, first_ng, **extra)
    return hal, ctl


def test_titration_cap_boundary_and_message():
    hal, ctl = _pump(SPINAL, 100000)
    warp(hal, ctl, DAY)
    # 130100 / 100000: +30.1 % exactly.
    e = raises("E_TITRATION", _stage, ctl, 130100)
    assert e.detail.startswith("+30.1 %;"), e.detail
    assert "at most 30 %" in e.detail, e.detail
    # 130070: +30.07 %, above the cap: rounded away from it, never "+30 %" or "+30.0 %".
    e = raises("E_TITRATION", _stage, ctl, 130070)
    assert e.detail.startswith("+30.1 %;"), e.detail
    # 130001: +30.001 %, the smallest refused step: still shown above the cap.
    e = raises("E_TITRATION", _stage, ctl, 130001)
    assert e.detail.startswith("+30.1 %;"), e.detail
    # 131000: +31 %, exact tenths stay as they are.
    e = raises("E_TITRATION", _stage, ctl, 131000)
    assert e.detail.startswith("+31.0 %;"), e.detail
    # 130000: +30.0 %, at the cap: accepted.
    _commit(ctl, 130000)
    assert ctl.daily_ng() == 130000


def test_refill_cap_boundary_and_message():
    hal, ctl = _pump(dict(SPINAL, phase="maintenance"), 400000)
    warp(hal, ctl, 30 * DAY)
    refill(ctl, 20000000, 500)
    # 560400 / 400000: +40.1 %.
    e = raises("E_REFILL_INCREASE", _stage, ctl, 560400)
    assert e.detail.startswith("+40.1 % at refill;"), e.detail
    assert "at most 40 %" in e.detail, e.detail
    # 560001: +40.00025 %, rounded away from the cap.
    e = raises("E_REFILL_INCREASE", _stage, ctl, 560001)
    assert e.detail.startswith("+40.1 % at refill;"), e.detail
    # 560000: +40.0 %, at the cap: accepted.
    _commit(ctl, 560000)
    assert ctl.daily_ng() == 560000
