"""Issue 10, defects 6 and 11: errors in the user's units, percentages that do not contradict the cap, guidance
never above the hard maximum, initial-dose needs an effect time, assistants default to now. Expected values
come from the labeling (spinal maximum 2003 mcg/day, seeds/000), Fraction arithmetic and the system clock."""
import datetime
import json
from fractions import Fraction

import pytest

from cli_helpers import run
from pumpctl.cli import render
from pumpctl.clinical import druglib


@pytest.mark.req("PUMPCTL-USER-UNITS")
def test_pump_messages_in_user_units():
    # 2003 mcg/day: the labeling's maximum spinal maintenance dose; 20 mL: the 20 mL model's reservoir
    assert render.user_units("outside the spinal range 12000..2003000 ng/day") == \
        "outside the spinal range 12..2003 mcg/day"
    assert render.user_units("20000001 nL exceeds the 20000000 nL reservoir") == \
        "20.000001 mL exceeds the 20 mL reservoir"
    assert render.user_units("one increase per 24 h: next allowed in 300 s") == \
        "one increase per 24 h: next allowed in 300 s"


@pytest.mark.req("PUMPCTL-USER-UNITS")
def test_refusal_percentages_never_contradict_the_cap():
    """For every change above a 30 % cap the shown figure is above 30; for one at the cap it is 30.0."""
    for old in (500, 653, 999, 1000, 1001, 2003):
        for new in range(old, old * 2):
            shown = Fraction(druglib.pct_up(new - old, old))
            exact = Fraction(new - old, old) * 100
            assert shown >= exact and shown - exact < Fraction(1, 10)
            if exact > 30:
                assert shown > 30
    assert druglib.pct_up(1535, 5000) == "30.7" and druglib.pct_up(1500, 5000) == "30.0"


@pytest.mark.req("PUMPCTL-USER-UNITS")
def test_titration_guidance_never_above_the_hard_maximum():
    lib = druglib.load()
    g = lib.guidance("spinal", 2003000)  # at the labeling's maximum already
    assert max(g["titration_ng_day"] + g["refill_ng_day"]) <= 2003000 and g["capped"]
    g = lib.guidance("spinal", 500000)
    assert max(g["titration_ng_day"]) > 500000 and not g["capped"]


@pytest.mark.req("PUMPCTL-NO-TRACEBACK")
@pytest.mark.parametrize("hours", ["0", "-1", "0.001"])
def test_initial_dose_needs_a_positive_effect_time(hours):
    r = run(["initial-dose", "--screening-dose", "50", "--effect-hours", hours])
    assert r.rc == 2 and "--effect-hours" in r.err


def test_initial_dose_short_effect_accepted():
    r = run(["initial-dose", "--screening-dose", "50", "--effect-hours", "0.5", "--json"])
    assert r.rc == 0 and json.loads(r.out)["initial_ng_day"] == 100000  # label: 2x when the effect is < 8 h


@pytest.mark.req("PUMPCTL-DATES-NOW")
def test_assistants_default_to_now_not_the_pump_epoch():
    r = run(["taper", "--daily", "400", "--indication", "spinal", "--days", "21", "--json"])
    assert r.rc == 0, r
    first = json.loads(r.out)["steps"][0]
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=first["t_s"])
    assert abs((start - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) < 2 * 86400


@pytest.mark.req("PUMPCTL-JSON")
def test_assistant_errors_are_json_with_json():
    r = run(["taper", "--daily", "400", "--indication", "spinal", "--days", "7", "--json"])
    err = json.loads(r.out)["error"]
    assert r.rc == 2 and err["exit_code"] == 2 and "14-28" in err["message"] + err["fix"]
