"""End of service: when the elective-replacement indicator (ERI) and end of service (EOS) fall.

Issue 8, defect 6: "EOS must come exactly 90 days after ERI at every flow" and "the user
must always get the elective-replacement alarm 90 days before any end of service, whatever
causes it". So:
- ERI is due at the first time t at which the cell, projected with the battery model itself
  (quiescent drain, one charge per stroke of the programme's exact volume integral, therapy
  going on as programmed), would hold less than ERI_RESERVE_NAH at t + 90 days; or 90 days
  before the 84-month service limit, whichever is first. Projecting with the same integer
  model the pump charges (not a rounded mean current) is what makes the 90 days exact.
- EOS is 90 days after ERI, earlier only if the cell really empties first (a programme raised
  after ERI). The reserve covers what the forecast cannot know: telemetry after ERI.
Forecasts bisect over time (delivery.first_true): run at reschedule, never per tick.
"""
from compat import const
import battery as bat
from delivery import first_true, HORIZON_S

# Design choice: 50 uAh left at EOS pays for 10 000 telemetry commands after ERI (5 nAh each),
# about 7 h of quiescent drain; the cell never empties before the EOS the ERI announced.
ERI_RESERVE_NAH = const(50000)


def consumed_nah(ctl, t_s, strokes_total):
    return bat.consumed_nah(t_s - ctl.implant_t_s, strokes_total, ctl.comms, ctl.drain_nah)


def remaining_nah(ctl, t_s, strokes_total=None):
    """Charge left at t_s (never below zero: an empty cell reads empty)."""
    if ctl.implant_t_s is None:
        return bat.CAPACITY_NAH
    r = bat.CAPACITY_NAH - consumed_nah(ctl, t_s, ctl.strokes_total if strokes_total is None else strokes_total)
    return r if r > 0 else 0


def projected_strokes_total(ctl, t_s, capped=True):
    """Strokes made by t_s if the current programme runs on; `capped`: the reservoir empties
    (what will happen), else refilled in time (what ERI must plan for)."""
    due = ctl.ledger.volume_nl(t_s) // ctl.stroke_nl - ctl.strokes_fill
    if capped:
        cap = ctl.fill_nl // ctl.stroke_nl - ctl.strokes_fill
        if due > cap:
            due = cap
    return ctl.strokes_total + (due if due > 0 else 0)


def service_end_t_s(ctl):
    return bat.add_months(ctl.implant_t_s, bat.SERVICE_LIFE_MONTHS)


def eri_due_t_s(ctl, t_s):
    """First t >= t_s at which ERI is due (see the module docstring)."""
    lead = bat.EOS_AFTER_ERI_S
    limit = bat.CAPACITY_NAH - ERI_RESERVE_NAH

    def short(t):
        return consumed_nah(ctl, t + lead, projected_strokes_total(ctl, t + lead, False)) > limit

    due = first_or_none(t_s, short)
    service = service_end_t_s(ctl) - lead
    if service < t_s:
        service = t_s
    return service if due is None or service < due else due


def eos_t_s(ctl, t_s, eri_t_s):
    """EOS: 90 days after the ERI (raised or due), or when the cell empties if that is sooner."""
    hard = eri_t_s + bat.EOS_AFTER_ERI_S
    dep = first_or_none(t_s, lambda t: remaining_nah(ctl, t, projected_strokes_total(ctl, t)) <= 0)
    return dep if dep is not None and dep < hard else hard


def first_or_none(t_s, pred):
    return t_s if pred(t_s) else first_true(t_s, t_s + HORIZON_S, pred)
