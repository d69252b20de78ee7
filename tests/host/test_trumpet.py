"""Start-up and trumpet curves (IEC 60601-2-24 method) from stroke records: host/pumpctl/trumpet.py.

Every expected value is computed by hand from the standard's formulas (written next to each
assert), never taken from the module's output.
"""
import csv
from fractions import Fraction

import pytest

from pumpctl import trumpet
from pumpctl.trumpet import TrumpetError, analyse

pytestmark = pytest.mark.req("TRUMPET-IEC")

S_MS = 30000                   # the standard's sample interval, 0.5 min
RATE = 250 * 120               # nL/h: one 250-nL stroke per 30-s sample


def strokes_every_sample(volumes, n=240, offset_ms=0):
    """One stroke at the end of each 30-s sample (t = k * 30 s), volumes cycling."""
    return [(k * S_MS + offset_ms, volumes[(k - 1) % len(volumes)]) for k in range(1, n + 1)]


def test_uniform_strokes_have_zero_error_everywhere():
    r = analyse(strokes_every_sample([250]), rate_nl_h=RATE)
    assert r["a_pct"] == 0 and r["flow_nl_h"] == RATE
    assert [(p, hi, lo) for p, hi, lo, _ in r["trumpet"]] == [(p, 0, 0) for p in (2, 5, 11, 19, 31)]
    # m = (T2 - T1 - P) / S + 1 windows in the second hour
    assert [m for *_, m in r["trumpet"]] == [(60 - p) * 2 + 1 for p in (2, 5, 11, 19, 31)]
    assert all(q == RATE for _, q, _ in r["startup"]) and len(r["startup"]) == 240


def test_periodic_error_pattern_gives_the_hand_computed_trumpet():
    """Volumes 240, 250, 260 nL repeating (mean 250). A window of p samples holds whole periods
    (750 nL each) plus p mod 3 extra strokes, so its excess is at most +10 nL and at least
    -10 nL: Ep = +-100 * 10 / (250 p) = +-4/p %.  p = P/S = 4, 10, 22, 38, 62."""
    r = analyse(strokes_every_sample([240, 250, 260]), rate_nl_h=RATE)
    want = {2: Fraction(4, 4), 5: Fraction(4, 10), 11: Fraction(4, 22), 19: Fraction(4, 38), 31: Fraction(4, 62)}
    for p, hi, lo, _ in r["trumpet"]:
        assert hi == want[p] and lo == -want[p], p
    assert r["a_pct"] == 0      # the second hour holds 40 whole periods


def test_systematic_over_delivery_is_the_overall_error():
    """255 nL per 250-nL stroke: +2 % in A and in every window (the trumpet is flat)."""
    r = analyse(strokes_every_sample([255]), rate_nl_h=RATE)
    assert r["a_pct"] == 2
    assert all(hi == lo == 2 for _, hi, lo, _ in r["trumpet"])
    assert r["flow_nl_h"] == 255 * 120


def test_start_up_curve_shows_a_late_start_and_the_sample_boundary():
    """No stroke in the first 10 min, then one per sample. A stroke exactly at a sample time
    is in that sample (accepted); 1 ms later it is in the next one."""
    rows = [(k * S_MS, 250) for k in range(21, 241)]
    r = analyse(rows, rate_nl_h=RATE)
    q = [x[1] for x in r["startup"]]
    assert q[:20] == [0] * 20 and q[20] == RATE         # sample 21 ends at 10.5 min: its stroke counts
    late = analyse([(k * S_MS + 1, 250) for k in range(21, 241)], rate_nl_h=RATE)
    ql = [x[1] for x in late["startup"]]
    assert ql[20] == 0 and ql[21] == RATE                # refused from sample 21, counted in 22
    assert r["delivered_nl"] == 220 * 250
    # time 0 is the start of the infusion: a priming stroke before it (and one exactly at it,
    # the balance's tare reading) is not part of the curves; the first one after it is
    t0 = 5 * 60000
    shifted = [(t0 - 60000, 5000), (t0, 250)] + [(t0 + t, v) for t, v in strokes_every_sample([250])]
    s0 = analyse(shifted, rate_nl_h=RATE, t0_ms=t0)
    assert s0["delivered_nl"] == 240 * 250 and s0["a_pct"] == 0
    assert analyse([(t0 + 1, 250)], rate_nl_h=RATE, t0_ms=t0)["startup"][0][1] == RATE


def test_time_varying_programme_uses_the_programmed_volume_of_each_window():
    """A programme ramping linearly from 0: programmed(t) = 250 (t / 30 s)^2 nL. Strokes that
    follow it exactly (the programmed volume of each sample) give 0 % error; doubling every stroke gives
    +100 % everywhere."""
    def prog(t_ms):
        return Fraction(250 * t_ms * t_ms, S_MS * S_MS)

    rows = [(k * S_MS, int(prog(k * S_MS) - prog((k - 1) * S_MS))) for k in range(1, 241)]
    assert all(Fraction(v) == prog(t) - prog(t - S_MS) for t, v in rows)   # integral volumes
    r = analyse(rows, programmed_nl=prog)
    assert r["a_pct"] == 0 and all(hi == lo == 0 for _, hi, lo, _ in r["trumpet"])
    r2 = analyse([(t, 2 * v) for t, v in rows], programmed_nl=prog)
    assert r2["a_pct"] == 100 and all(hi == lo == 100 for _, hi, lo, _ in r2["trumpet"])


def test_low_rate_analysis_in_the_last_hour_of_the_first_day():
    """Minimum flow 0.048 mL/day = 2000 nL/h: a 250-nL stroke every 7.5 min. Analysis period
    23-24 h. A 2-min window holds 0 or 1 stroke: max +100 * (250 - 2000/30) / (2000/30) = +275 %,
    min -100 %; a 31-min window holds 4 or 5 strokes (31/7.5 = 4.13): 5 strokes -> 1250 vs
    3100/3 nL -> +100 * (3750 - 3100) / 3100 = +650/31 %, 4 strokes -> -100 * 100/3100 = -100/31 %."""
    rows = [(k * 450000, 250) for k in range(1, 24 * 8 + 1)]
    r = analyse(rows, rate_nl_h=2000, test_min=24 * 60, analysis_min=(23 * 60, 24 * 60))
    tr = {p: (hi, lo) for p, hi, lo, _ in r["trumpet"]}
    assert tr[2] == (275, -100)
    assert tr[31] == (Fraction(650, 31), Fraction(-100, 31))
    assert r["a_pct"] == 0


@pytest.mark.parametrize("kwargs, fragment", [
    ({"rate_nl_h": 0}, "must be > 0"),
    ({}, "exactly one reference"),
    ({"rate_nl_h": RATE, "programmed_nl": lambda t: t}, "exactly one reference"),
    ({"rate_nl_h": RATE, "windows_min": (2, 0.75)}, "whole number of 30-s samples"),
    ({"rate_nl_h": RATE, "windows_min": (61,)}, "longer than the analysis period"),
    ({"rate_nl_h": RATE, "analysis_min": (60, 121)}, "inside the test period"),
    ({"rate_nl_h": RATE, "sample_s": 0}, "positive whole number"),
])
def test_bad_parameters_are_refused_with_the_cause(kwargs, fragment):
    with pytest.raises(TrumpetError, match=fragment):
        analyse(strokes_every_sample([250]), **kwargs)


def test_bad_stroke_records_are_refused():
    with pytest.raises(TrumpetError, match="time order"):
        analyse([(2000, 250), (1000, 250)], rate_nl_h=RATE)
    with pytest.raises(TrumpetError, match="integers"):
        analyse([(1000.5, 250)], rate_nl_h=RATE)
    with pytest.raises(TrumpetError, match="negative"):
        analyse([(1000, -1)], rate_nl_h=RATE)
    # boundary accepted: equal timestamps (two strokes completing in the same millisecond)
    analyse([(1000, 250), (1000, 250)], rate_nl_h=RATE)


def test_csv_round_trip_and_png(tmp_path):
    rows = strokes_every_sample([240, 250, 260])
    src = tmp_path / "strokes.csv"
    trumpet.write_strokes_csv(src, rows)
    assert trumpet.read_strokes_csv(src) == rows
    r = analyse(trumpet.read_strokes_csv(src), rate_nl_h=RATE)
    su, tp = tmp_path / "startup.csv", tmp_path / "trumpet.csv"
    trumpet.write_csv(r, su, tp)
    got = list(csv.DictReader(open(tp)))
    assert [int(x["window_min"]) for x in got] == [2, 5, 11, 19, 31]
    assert float(got[0]["ep_max_pct"]) == 1.0 and float(got[1]["ep_min_pct"]) == -0.4
    first = next(csv.DictReader(open(su)))
    assert float(first["flow_ml_h"]) == 240 * 120 / 1e6 and float(first["set_ml_h"]) == 0.03
    png = tmp_path / "t.png"
    trumpet.write_png(r, png, "test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_csv_names_the_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("t_ms,volume_nl\n1000,250\n2000,abc\n")
    with pytest.raises(TrumpetError, match="line 3"):
        trumpet.read_strokes_csv(p)


def _report_tool():
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[2] / "tools" / "trumpet_report.py"
    spec = importlib.util.spec_from_file_location("trumpet_report", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_firmware_at_minimum_flow_gives_the_hand_computed_curve():
    """End to end: the firmware (SimHal) at 0.048 mL/day strokes every 450 s exactly
    (250 nL / (48000 nL / 86400 s)); the 24th hour then holds 8 strokes = 2000 nL (A = 0), a
    2-min window 0 or 1 stroke (+275 % / -100 %), a 31-min window 4 or 5 strokes
    (+650/31 % / -100/31 %, as in the synthetic case above). A -2 % systematic plant error
    gives 245-nL strokes: A = -2 % exactly."""
    tool = _report_tool()
    strokes, kw = tool.generate("min_flow")
    t0 = kw["t0_ms"]
    assert [t - t0 for t, _ in strokes[:3]] == [450000, 900000, 1350000]
    assert {v for _, v in strokes} == {250}
    r = analyse(strokes, **kw)
    tr = {p: (hi, lo) for p, hi, lo, _ in r["trumpet"]}
    assert r["a_pct"] == 0 and tr[2] == (275, -100) and tr[31] == (Fraction(650, 31), Fraction(-100, 31))
    strokes, kw = tool.generate("min_flow", sys_ppm=-20000)
    assert {v for _, v in strokes} == {245}
    assert analyse(strokes, **kw)["a_pct"] == -2


def test_report_tool_writes_csv_and_png_and_refuses_bad_input(tmp_path, capsys):
    tool = _report_tool()
    rows = strokes_every_sample([250])
    src = tmp_path / "plant.csv"
    trumpet.write_strokes_csv(src, rows)
    assert tool.main(["analyse", str(src), "--rate-ml-day", "0.72", "--out", str(tmp_path), "--json"]) == 0
    import json
    out = json.loads(capsys.readouterr().out)
    assert out["a_pct"] == 0 and [x["window_min"] for x in out["trumpet"]] == [2, 5, 11, 19, 31]
    assert (tmp_path / "plant.png").exists() and (tmp_path / "plant_trumpet.csv").exists()
    assert tool.main(["analyse", str(tmp_path / "missing.csv"), "--rate-ml-day", "1", "--out", str(tmp_path)]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert tool.main(["analyse", str(src), "--rate-ml-day", "zero", "--out", str(tmp_path)]) == 2
    assert "not a number" in capsys.readouterr().err
