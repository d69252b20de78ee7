"""Issue 10, defect 1: prescription TOML is strict. Each case below exited 0 (and would have committed) or
crashed before; the expected refusals are the issue's own list. The accepted side of each boundary is the
night-time ramp of the labeling (examples/night_ramp.toml) with one value changed to a legal one."""
import pytest

from pumpctl.clinical import prescription
from pumpctl.clinical.prescription import PrescriptionError

BASE = '''name = "t"
[drug]
concentration_mcg_ml = 2000
[programme]
mode = "flex"
lead_min = 120
[[programme.steps]]
effect = "07:00"
dose_mcg_day = 500
shape = "ramp"
[[programme.steps]]
effect = "22:00"
dose_mcg_day = 600
[[programme.boluses]]
at = "12:00"
dose_mcg = 50
duration_min = 30
'''
CONT = '[drug]\nconcentration_mcg_ml = 500\n[programme]\nmode = "continuous"\ndose_mcg_day = 500\n'


def refused(text):
    with pytest.raises(PrescriptionError) as ei:
        prescription.parse(text)
    assert ei.value.fix
    return ei.value.cause + " | " + ei.value.fix


def test_base_is_accepted():
    rx = prescription.parse(BASE)
    assert rx["programme"]["lead_min"] == 120 and len(rx["programme"]["boluses"]) == 1


@pytest.mark.req("PUMPCTL-STRICT-RX")
@pytest.mark.parametrize("old,new,needle", [
    ("lead_min = 120", "lead_mins = 30", "did you mean 'lead_min'"),
    ("[[programme.boluses]]", "[[programme.bolus]]", "did you mean 'boluses'"),
    ('shape = "ramp"', 'shpae = "ramp"', "did you mean 'shape'"),
    ("[programme]", "[programe]", "did you mean 'programme'"),
    ('mode = "flex"', 'mode = "flex"\ndose_mg_day = 0.5', "mcg"),
    ("lead_min = 120", "lead_min = 90.9", "not a whole number"),
    ("duration_min = 30", "duration_min = 30.9", "not a whole number"),
    ("lead_min = 120", 'lead_min = "two hours"', "text"),
    ("dose_mcg_day = 600", "dose_mcg_day = true", "true/false"),
    ("dose_mcg_day = 600", 'dose_mcg_day = "600"', "text"),
    ("dose_mcg_day = 600", "dose_mcg_day = 600.0001", "finer than"),
    ('effect = "22:00"', 'effect = 1320', "not a time of day"),
    ('shape = "ramp"', 'shape = "sine"', '"ramp", "step"'),
    ("duration_min = 30", "duration_min = 0", "outside the pump's range"),
    ("concentration_mcg_ml = 2000", "concentration_mcg_ml = 2000.5", "not a whole number"),
    ('name = "t"', "name = 5", "must be text"),
])
def test_strict_refusals(old, new, needle):
    assert old in BASE
    assert needle in refused(BASE.replace(old, new, 1))


def test_lead_min_range_comes_from_the_pump_schema():
    """The bound is argspec's (the pump's), both sides: its maximum accepted, one more refused."""
    import argspec
    from pumpmodel import LEAD_MAX_MIN

    hi = [f for f in argspec.PROGRAMME[argspec.SUB] if f[0] == "lead_min"][0][argspec.HI]
    assert hi == LEAD_MAX_MIN
    rx = prescription.parse(BASE.replace("lead_min = 120", "lead_min = %d" % hi))
    assert rx["programme"]["lead_min"] == hi
    assert "outside the pump's range 0..%d min" % hi in refused(BASE.replace("lead_min = 120", "lead_min = %d" % (hi + 1)))


def test_continuous_and_mode_mixups():
    assert prescription.parse(CONT)["programme"]["dose_ng_day"] == 500000
    assert "not steps" in refused(CONT + '[[programme.steps]]\neffect = "07:00"\ndose_mcg_day = 1\n')
    assert "not dose_mcg_day" in refused(BASE.replace('mode = "flex"', 'mode = "flex"\ndose_mcg_day = 5'))


def test_weekday_names_full_and_short_accepted_others_refused():
    rx = prescription.parse(BASE.replace('shape = "ramp"', 'shape = "ramp"\nday = "Monday"'))
    assert rx["programme"]["steps"][0]["day"] == 0
    assert "not a weekday" in refused(BASE.replace('shape = "ramp"', 'shape = "ramp"\nday = "Mondayz"'))
