"""Issue 8, round-6 mutation survivors in battery.py: the calendar on every day of the pump's
time range, and the charge arithmetic.

Oracles: the calendar is checked against a naive day-by-day walk written here (month lengths and
the Gregorian leap rule: divisible by 4, except centuries not divisible by 400), not against the
firmware's era arithmetic; tests/host/test_calendar_oracle.py checks the same functions against
Python's datetime at random times. The pump's times run from its epoch 2024-01-01 to 2^30 s
later (argspec: time_set t_s < 2^30), i.e. to 2058-01-10. The charge figures are the model's
currents times time, worked out by hand: 7 uA for one hour is 7 000 nAh.
"""
import battery

DAY = 86400


def _month_len(y, m):
    if m == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    return 30 if m in (4, 6, 9, 11) else 31


def _days():
    """(days since 2024-01-01, (y, m, d)) for every day of the pump's time range."""
    y, m, d, n = 2024, 1, 1, 0
    while n * DAY < (1 << 30):
        yield n, (y, m, d)
        n += 1
        d += 1
        if d > _month_len(y, m):
            d, m = 1, m + 1
            if m > 12:
                m, y = 1, y + 1


def test_every_day_of_the_pump_time_range_has_its_calendar_date():
    count = 0
    for n, ymd in _days():
        sod = (n * 7919) % DAY                  # a different time of day each day
        got = battery.civil_from_t_s(n * DAY + sod)
        if got != ymd + (sod // 3600, sod % 3600 // 60, sod % 60):
            raise AssertionError("day %d: %r, expected %r" % (n, got, ymd))
        if battery.days_from_civil(*ymd) != n:
            raise AssertionError("days_from_civil%r" % (ymd,))
        count += 1
    if count != 12428:                          # 2^30 s is 12 427.6 days
        raise AssertionError(count)


def test_months_later_keep_the_day_or_clamp_it_to_the_months_end():
    # add_months on each day of 2024-2027, for 1, 13 and 84 months (the service limit)
    table = {ymd: n for n, ymd in _days()}
    for n, (y, m, d) in _days():
        if y > 2027:
            break
        for k in (1, 13, 84):
            m0 = m - 1 + k
            y2, m2 = y + m0 // 12, m0 % 12 + 1
            d2 = d if d <= _month_len(y2, m2) else _month_len(y2, m2)
            want = table[(y2, m2, d2)] * DAY + 3723
            got = battery.add_months(n * DAY + 3723, k)
            if got != want:
                raise AssertionError("%r + %d months: %d, expected %d" % ((y, m, d), k, got, want))


def test_charge_is_the_model_currents_times_time():
    assert battery.consumed_nah(3600, 0, 0) == 7000                 # 7 uA for 1 h
    assert battery.consumed_nah(DAY, 0, 0) == 168000                 # 7 uA for 24 h
    assert battery.consumed_nah(1799, 0, 0) == 3498                  # 7000 * 1799 / 3600 = 3498.06
    assert battery.consumed_nah(0, 1000, 0) == 20000                 # 20 nAh a stroke
    assert battery.consumed_nah(0, 0, 100) == 500                    # 5 nAh a command
    assert battery.consumed_nah(3600, 10, 2, 11) == 7000 + 200 + 10 + 11
