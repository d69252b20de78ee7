"""The firmware's calendar (battery.civil_from_t_s, days_from_civil, add_months, iso), on which the
84-month service limit and every displayed date rest, against Python's datetime as the independent
oracle (proleptic Gregorian, UTC). Mutation testing found 66 surviving mutants in these functions:
the existing tests only used a few dates."""
import datetime

import pytest
from hypothesis import given, settings, strategies as st

import battery
from runprofile import examples

EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
T = st.integers(min_value=-(1 << 30), max_value=(1 << 30) - 1)   # the pump's small-int time range


def _dt(t_s):
    return EPOCH + datetime.timedelta(seconds=t_s)


@pytest.mark.oracle("model")
@given(T)
@settings(max_examples=examples(400))
def test_civil_and_iso_match_datetime(t_s):
    d = _dt(t_s)
    assert battery.civil_from_t_s(t_s) == (d.year, d.month, d.day, d.hour, d.minute, d.second)
    assert battery.iso(t_s) == d.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.oracle("model")
@given(st.dates(min_value=datetime.date(1990, 1, 1), max_value=datetime.date(2057, 12, 31)))
@settings(max_examples=examples(400))
def test_days_from_civil_matches_datetime(day):
    assert battery.days_from_civil(day.year, day.month, day.day) == (day - EPOCH.date()).days


def _add_months_oracle(d, months):
    m0 = d.month - 1 + months
    y, m = d.year + m0 // 12, m0 % 12 + 1
    for day in (d.day, 30, 29, 28):           # same day, clamped to the month's length
        try:
            return d.replace(year=y, month=m, day=min(d.day, day))
        except ValueError:
            continue


@pytest.mark.oracle("model")
@given(st.integers(min_value=0, max_value=(1 << 30) - 1 - 120 * 31 * 86400), st.integers(min_value=0, max_value=120))
@settings(max_examples=examples(400))
def test_add_months_matches_a_datetime_clamped_month_step(t_s, months):
    want = _add_months_oracle(_dt(t_s), months)
    assert battery.add_months(t_s, months) == int((want - EPOCH).total_seconds())


@pytest.mark.oracle("model")
@pytest.mark.req("ALM-84-MONTHS")
def test_84_months_from_month_ends_and_leap_days():
    """Boundaries by hand: 84 months after 2024-02-29 is 2031-02-28 (no leap day then); after
    2024-01-31 it is 2031-01-31; after 2024-03-31 12:00 it is 2031-03-31 12:00."""
    for start, end in (((2024, 2, 29, 0), (2031, 2, 28, 0)), ((2024, 1, 31, 0), (2031, 1, 31, 0)),
                       ((2024, 3, 31, 12), (2031, 3, 31, 12))):
        t0 = int((datetime.datetime(*start, tzinfo=datetime.timezone.utc) - EPOCH).total_seconds())
        t1 = int((datetime.datetime(*end, tzinfo=datetime.timezone.utc) - EPOCH).total_seconds())
        assert battery.add_months(t0, battery.SERVICE_LIFE_MONTHS) == t1
