"""Issue 8, round-7 mutation survivors in endoflife: remaining charge, projected strokes, and
the ERI / EOS forecasts at their exact boundaries.

Oracle: the issue's rule ("EOS exactly 90 days after ERI at every flow; ERI 90 days before any
end of service, incl. the 84-month service limit", endoflife.py docstring: ERI is due at the
first t at which the cell would hold less than the 50 uAh reserve at t + 90 days; EOS is 90
days after ERI, earlier only if the cell really empties) and the battery model's published
constants (battery.py docstring, docs/verification.md SAFE-EOL-90D: 600 mAh cell, 7 uA
quiescent, 20 nAh per 250 nL stroke, 5 nAh per command, 50 uAh ERI reserve). Every expected
time or charge is that arithmetic done here by hand; the 84 months are counted in years.

The forecasts only read a few controller fields and the ledger's cumulative volume, so the
pump is a small stand-in (_Pump) with a constant-flow ledger: that pins each boundary to the
second, which a whole simulated pump cannot do.
"""
import endoflife as eol

CAP_NAH = 600000000
QUIESCENT_NA = 7000
STROKE_NAH = 20
COMM_NAH = 5
RESERVE_NAH = 50000
DAY = 86400
NOTICE_S = 90 * DAY
# 2024-01-01 (pump epoch) + 84 months = 2031-01-01: 7 years, 2024 and 2028 leap.
SERVICE_END_S = (7 * 365 + 2) * DAY


class _Ledger:
    """Cumulative programme volume since the last fill: flow_nl_day from t0_s, plus base_nl."""

    def __init__(self, flow_nl_day=0, base_nl=0, t0_s=0):
        self.flow = flow_nl_day
        self.base = base_nl
        self.t0 = t0_s

    def volume_nl(self, t_s):
        return self.base + self.flow * (t_s - self.t0) // DAY


class _Pump:
    def __init__(self, ledger=None, implant_t_s=0, strokes_total=0, strokes_fill=0,
                 fill_nl=20000000, comms=0, drain_nah=0):
        self.ledger = ledger or _Ledger()
        self.implant_t_s = implant_t_s
        self.strokes_total = strokes_total
        self.strokes_fill = strokes_fill
        self.stroke_nl = 250
        self.fill_nl = fill_nl
        self.comms = comms
        self.drain_nah = drain_nah


def _used_nah(elapsed_s, strokes, comms=0, drain=0):
    return QUIESCENT_NA * elapsed_s // 3600 + STROKE_NAH * strokes + COMM_NAH * comms + drain


def test_remaining_charge_uses_the_strokes_asked_for_and_reads_zero_only_when_empty():
    """Remaining = capacity - quiescent - strokes - commands - drain, with the stroke count
    the caller projects (the controller's own count when none is given); 1 nAh left is 1 nAh,
    exactly empty or overdrawn reads 0."""
    p = _Pump(implant_t_s=1000, strokes_total=7, comms=3, drain_nah=11)
    t = 1000 + 36000                                    # 10 h: 70 000 nAh quiescent
    assert eol.remaining_nah(p, t) == CAP_NAH - (70000 + 140 + 15 + 11)
    assert eol.remaining_nah(p, t, 5000) == CAP_NAH - (70000 + 100000 + 15 + 11)
    assert eol.remaining_nah(p, t, 0) == CAP_NAH - (70000 + 15 + 11)
    assert eol.remaining_nah(_Pump(implant_t_s=None), t) == CAP_NAH
    for drain, left in ((CAP_NAH - 70000 - 1, 1), (CAP_NAH - 70000 - 2, 2),
                        (CAP_NAH - 70000, 0), (CAP_NAH - 70000 + 9, 0)):
        assert eol.remaining_nah(_Pump(drain_nah=drain), 36000, 0) == left, drain


def test_projected_strokes_count_whole_strokes_from_the_fill_never_back_and_never_past_empty():
    """Strokes made by t = strokes already made + whole 250 nL strokes the programme is due
    since the fill (its cumulative volume // 250) beyond the strokes_fill already made; never
    fewer than already made; capped (the default: what will happen) at the reservoir's whole
    strokes, uncapped (refilled in time: what ERI plans for) not."""
    def at(volume_nl, fill_nl=20000000, **kw):
        return _Pump(_Ledger(base_nl=volume_nl), strokes_total=1000, strokes_fill=40,
                     fill_nl=fill_nl), kw
    cases = (
        (41 * 250 + 100, 1001),     # 41 whole strokes due, 40 made: one more
        (41 * 250, 1001),
        (40 * 250 + 249, 1000),     # not yet a 41st whole stroke
        (30 * 250, 1000),           # ledger behind what was made: no strokes un-made
        (0, 1000),
        (45 * 250 + 7, 1005),
    )
    for vol, want in cases:
        p, _ = at(vol)
        assert eol.projected_strokes_total(p, 0) == want, vol
        assert eol.projected_strokes_total(p, 0, False) == want, vol
    # 12 600 nL filled: 50 whole strokes, 40 made, so at most 10 more; 100 are due
    p, _ = at(100 * 250, fill_nl=50 * 250 + 100)
    assert eol.projected_strokes_total(p, 0) == 1010
    assert eol.projected_strokes_total(p, 0, True) == 1010
    assert eol.projected_strokes_total(p, 0, False) == 1060
    p, _ = at(50 * 250 + 100, fill_nl=50 * 250 + 100)   # due exactly the cap
    assert eol.projected_strokes_total(p, 0) == 1010
    p, _ = at(49 * 250, fill_nl=50 * 250 + 100)         # below the cap
    assert eol.projected_strokes_total(p, 0) == 1009
    for vol, want in cases:                             # the results are whole strokes (ints)
        assert type(eol.projected_strokes_total(at(vol)[0], 0)) is int


def test_eri_is_due_the_first_second_the_reserve_would_be_breached_90_days_later():
    """No flow, 1 h of quiescent drain plus 90 days short of the limit (capacity - 50 uAh):
    at t = 3600 s the charge used by t + 90 days is exactly capacity - reserve (not yet
    below the reserve); 7000 nA adds 1-2 nAh a second, so ERI is due at 3601 s, not 3600."""
    limit = CAP_NAH - RESERVE_NAH
    used_at_boundary = _used_nah(3600 + NOTICE_S, 0)
    assert used_at_boundary == 7000 * 2161              # (3600 + 7 776 000) s = 2161 h
    p = _Pump(drain_nah=limit - used_at_boundary)
    assert _used_nah(3600 + NOTICE_S, 0, drain=p.drain_nah) == limit
    assert _used_nah(3601 + NOTICE_S, 0, drain=p.drain_nah) > limit
    assert eol.eri_due_t_s(p, 0) == 3601
    assert eol.eri_due_t_s(p, 3000) == 3601
    assert eol.eri_due_t_s(p, 3601) == 3601
    assert eol.eri_due_t_s(p, 5000) == 5000             # already due: now


def test_eri_in_the_last_90_days_of_the_service_limit_is_due_now():
    """84 months after an implant at the epoch is 2031-01-01 (7 years, 2 leap days). A pump
    with a healthy cell is due ERI 90 days before that; asked within those 90 days, ERI is due
    at once (never after the time asked about, never missing)."""
    p = _Pump()
    assert eol.service_end_t_s(p) == SERVICE_END_S
    assert eol.eri_due_t_s(p, 0) == SERVICE_END_S - NOTICE_S
    assert eol.eri_due_t_s(p, SERVICE_END_S - NOTICE_S) == SERVICE_END_S - NOTICE_S
    for t in (SERVICE_END_S - NOTICE_S + 1, SERVICE_END_S - 1000, SERVICE_END_S + 5 * DAY):
        assert eol.eri_due_t_s(p, t) == t, t


def test_eos_is_the_first_second_the_cell_is_empty_when_that_comes_first():
    """No flow and 7001 nAh left at the implant: at 3600 s 7000 nAh are used (1 nAh left,
    not empty), at 3601 s 7001 nAh (empty): EOS 3601 s, well before ERI + 90 days."""
    p = _Pump(drain_nah=CAP_NAH - 7001)
    assert CAP_NAH - _used_nah(3600, 0, drain=p.drain_nah) == 1
    assert CAP_NAH - _used_nah(3601, 0, drain=p.drain_nah) == 0
    assert eol.eos_t_s(p, 0, 10 * DAY) == 3601
    assert eol.eos_t_s(p, 3601, 10 * DAY) == 3601
    assert eol.eos_t_s(p, 9000, 10 * DAY) == 9000       # already empty: now
    # a healthy cell: exactly 90 days after the ERI
    assert eol.eos_t_s(_Pump(), 0, 10 * DAY) == 100 * DAY


def test_eos_counts_the_strokes_the_programme_will_make():
    """0.5 mL/day = 2000 strokes a day (40 000 nAh/day) from a 20 mL fill: the reservoir
    empties after 40 days, 80 000 strokes = 1 600 000 nAh. With 16 120 000 nAh left and
    168 000 nAh/day quiescent, the cell empties after about 86.4 days, before ERI (at 0) + 90
    days; on quiescent drain alone it would last about 96 days. The EOS found is a second at
    which the test's own arithmetic (strokes = min(500 000 * t // 86 400 // 250, 80 000))
    says empty, and one second earlier not."""
    flow = 500000
    left0 = 16120000
    p = _Pump(_Ledger(flow_nl_day=flow), fill_nl=20000000, drain_nah=CAP_NAH - left0)

    def left(t):
        return CAP_NAH - _used_nah(t, min(flow * t // DAY // 250, 80000), drain=p.drain_nah)
    eos = eol.eos_t_s(p, 0, 0)
    assert 86 * DAY < eos < 87 * DAY, eos
    assert left(eos) <= 0 < left(eos - 1), (eos, left(eos), left(eos - 1))
    assert CAP_NAH - _used_nah(NOTICE_S, 0, drain=p.drain_nah) > 0   # strokes make the difference
