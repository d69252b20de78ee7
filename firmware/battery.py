"""Integer battery model: quiescent drain + per-stroke + per-communication cost.

ERI (elective replacement indicator) when the remaining life at the current consumption
falls under 90 days; EOS (end of service: delivery stops) 90 days after ERI or at
depletion, whichever is first; service ends 84 months after implant, announced by an ERI
90 days before (issue 2, after the class of pumps this imitates; the forecasts are in
endoflife.py, issue 8). Charge in nAh; currents in nA.
"""
from compat import const

CAPACITY_NAH = const(600000000)   # 600 mAh primary cell
QUIESCENT_NA = const(7000)        # 7 uA: timekeeping, telemetry listen, supervision
STROKE_NAH = const(20)            # one 250 nL piston stroke
# One telemetry command (receive + reply): ~5 mA radio for ~4 ms = 5.6 nAh. Small enough
# that forecasts made at the last reschedule stay within seconds however many commands follow.
COMM_NAH = const(5)
EOS_AFTER_ERI_S = const(7776000)  # 90 days: ERI is raised while 90 days of delivery remain (endoflife.py)
SERVICE_LIFE_MONTHS = const(84)

# Cell voltage curve for the ADC cross-check (board HAL): mV at full and at depletion.
CELL_FULL_MV = const(3200)
CELL_EMPTY_MV = const(2600)


def consumed_nah(elapsed_s, strokes, comms, extra_nah=0):
    return QUIESCENT_NA * elapsed_s // 3600 + STROKE_NAH * strokes + COMM_NAH * comms + extra_nah


def current_na(strokes_per_day):
    # nAh/day of strokes over 24 h -> mean nA, rounded up: the displayed life never flatters.
    return QUIESCENT_NA + (STROKE_NAH * strokes_per_day + 23) // 24


def life_s(remaining_nah, current_na_):
    if remaining_nah <= 0:
        return 0
    return remaining_nah * 3600 // current_na_


def voltage_mv(remaining_nah):
    """Nominal cell voltage for a remaining charge (linear; for display and ADC checks)."""
    if remaining_nah < 0:
        remaining_nah = 0
    return CELL_EMPTY_MV + (CELL_FULL_MV - CELL_EMPTY_MV) * remaining_nah // CAPACITY_NAH


def remaining_from_mv(mv):
    """Inverse of voltage_mv, clamped: what an ADC reading says about remaining charge."""
    if mv <= CELL_EMPTY_MV:
        return 0
    if mv >= CELL_FULL_MV:
        return CAPACITY_NAH
    return (mv - CELL_EMPTY_MV) * CAPACITY_NAH // (CELL_FULL_MV - CELL_EMPTY_MV)


# --- calendar (proleptic Gregorian, days since the pump epoch 2024-01-01) ------------
def _days_from_civil(y, m, d):
    y -= m <= 2
    era = y // 400   # floor division: the C original's "y - 399 if negative" would be wrong here
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468 - 19723  # 19723 = days 1970-01-01 .. 2024-01-01


def days_from_civil(y, m, d):
    """Days since the pump epoch (2024-01-01) for a proleptic Gregorian date."""
    return _days_from_civil(y, m, d)


def civil_from_t_s(t_s):
    """(year, month, day, hh, mm, ss) in UTC for a pump-epoch time."""
    days = t_s // 86400
    sod = t_s - days * 86400
    z = days + 19723 + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return (y + (m <= 2), m, d, sod // 3600, sod % 3600 // 60, sod % 60)


def add_months(t_s, months):
    """Same time of day, `months` calendar months later (day clamped to month length)."""
    y, m, d, hh, mm, ss = civil_from_t_s(t_s)
    m0 = m - 1 + months
    y += m0 // 12
    m = m0 % 12 + 1
    while d > 28 and civil_from_t_s(_days_from_civil(y, m, d) * 86400)[1] != m:
        d -= 1
    return _days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss


def iso(t_s):
    y, m, d, hh, mm, ss = civil_from_t_s(t_s)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, m, d, hh, mm, ss)
