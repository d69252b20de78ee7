"""The proleptic Gregorian calendar behind battery.days_from_civil, outside the pump's years too
(issue 8, round 7: battery._days_from_civil 8-13 survived every test, because its negative-year
branch, ported from a C algorithm written for truncating division, was never run; under Python's
floor division it was wrong for years -399..-1 and every 400th before).

Oracle: the Gregorian calendar's own facts: 400 years are 146 097 days (97 leap years), and
1 March follows 28 February (29 in a leap year: divisible by 4, not by 100 unless by 400).
"""
from battery import days_from_civil

REQS = {
    "test_every_400_years_are_146097_days_in_any_era": ["SAFE-EOL-90D"],
    "test_march_1st_follows_the_last_day_of_february_in_every_year": ["SAFE-EOL-90D"],
}


def _leap(y):
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def test_every_400_years_are_146097_days_in_any_era():
    for y in range(-1200, 2801, 37):
        for m, d in ((1, 1), (2, 28), (3, 1), (12, 31)):
            assert days_from_civil(y + 400, m, d) - days_from_civil(y, m, d) == 146097, (y, m, d)


def test_march_1st_follows_the_last_day_of_february_in_every_year():
    for y in range(-801, 801):
        feb = 29 if _leap(y) else 28
        assert days_from_civil(y, 3, 1) - days_from_civil(y, 2, feb) == 1, y
        assert days_from_civil(y + 1, 1, 1) - days_from_civil(y, 1, 1) == (366 if _leap(y) else 365), y
