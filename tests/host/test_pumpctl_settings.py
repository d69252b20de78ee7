"""Issue 10, defect 8: `settings` in the user's units, old -> new review, confirmation, and a strict UTC offset
(it moves when every flex step is delivered). Expected figures: the pump's documented defaults converted by hand
(2 000 000 nL = 2 mL)."""
import json

import pytest

from cli_helpers import Pump


@pytest.fixture
def pump(tmp_path):
    p = Pump(tmp_path, via="tcp", no_pty=True)
    p.ok("provision")
    yield p
    p.stop()


@pytest.mark.req("PUMPCTL-SETTINGS")
def test_settings_shown_in_user_units(pump):
    r = pump.ok("settings")
    assert "low-reservoir alarm:" in r.out and " mL" in r.out and "_nl" not in r.out
    assert "utc offset (pump local time):  +00:00" in r.out


@pytest.mark.req("PUMPCTL-SETTINGS")
def test_settings_change_reviews_old_new_and_needs_confirmation(pump):
    r = pump.run("settings", "--utc-offset", "+05:00", "--low-reservoir-ml", "2.5")
    assert r.rc == 8  # no terminal, no --yes: nothing changed
    assert json.loads(pump.ok("settings", "--json").out)["utc_offset_s"] == 0
    r = pump.ok("settings", "--utc-offset", "+05:00", "--low-reservoir-ml", "2.5", "--yes")
    assert "+00:00" in r.out + r.err and "+05:00" in r.out and "2.5 mL" in r.out
    assert "flex step" in r.err
    st = json.loads(pump.ok("settings", "--json").out)
    assert st["utc_offset_s"] == 5 * 3600 and st["low_res_nl"] == 2500000


@pytest.mark.req("PUMPCTL-SETTINGS")
@pytest.mark.parametrize("bad", ["5", "+5", "05:00", "+5:00", "+05:60", "+15:00", "UTC+5"])
def test_utc_offset_needs_the_explicit_form(pump, bad):
    r = pump.run("settings", "--utc-offset", bad, "--yes")
    assert r.rc == 2 and "+HH:MM" in r.err
    assert json.loads(pump.ok("settings", "--json").out)["utc_offset_s"] == 0


@pytest.mark.parametrize("good,secs", [("-03:30", -12600), ("+14:00", 50400), ("+00:00", 0)])
def test_utc_offset_explicit_forms_accepted(pump, good, secs):
    pump.ok("settings", "--utc-offset=" + good, "--yes")
    assert json.loads(pump.ok("settings", "--json").out)["utc_offset_s"] == secs


@pytest.mark.req("PUMPCTL-TRACE")
def test_trace_prints_whole_frames_over_socket(pump):
    """Each traced line must decode as one complete frame with the firmware's own decoder (CRC checked)."""
    import protocol

    r = pump.ok("--trace", "status")
    lines = [ln for ln in r.err.splitlines() if ln[:2] in ("> ", "< ")]
    assert len(lines) >= 4
    for ln in lines:
        items = protocol.Decoder().feed(ln[2:].encode() + b"\n")
        assert len(items) == 1 and isinstance(items[0], dict), ln


@pytest.mark.req("PUMPCTL-PLOT-TRUTH")
def test_plot_of_a_stopped_pump_does_not_draw_the_programme_as_running(pump, tmp_path, monkeypatch):
    """Truth from the pump itself (state stopped after `stop`); the year from datetime on the pump epoch."""
    import datetime

    import matplotlib.pyplot as plt

    from cli_helpers import NIGHT_RAMP

    figs = []
    real_close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: figs.append(fig))
    pump.ok("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--yes")
    pump.ok("programme", NIGHT_RAMP, "--yes")
    on = json.loads(pump.ok("plot", "-o", str(tmp_path / "on.png"), "--json").out)
    assert on["delivering"] is True and on["forecast_empty_t_s"] is not None
    pump.ok("stop", "--yes")
    off = json.loads(pump.ok("plot", "-o", str(tmp_path / "off.png"), "--json").out)
    assert off["state"] == "stopped" and off["delivering"] is False
    assert off["forecast_empty_t_s"] is None and off["empty_t_s"] is None
    texts = [t.get_text() for t in figs[-1].axes[0].texts]
    assert any("NOT DELIVERING" in t for t in texts)
    year = (datetime.datetime(2024, 1, 1) + datetime.timedelta(seconds=off["t_s"])).year
    figs[-1].canvas.draw()
    assert any(str(year) in t.get_text() for t in figs[-1].axes[1].get_xticklabels())
    for f in figs:
        real_close(f)
