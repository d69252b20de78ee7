"""pumpctl end to end against the real emulator over TCP (in-process main(), no mocks)."""
import csv
import io
import json
import os
import stat

import pytest

from cli_helpers import NIGHT_RAMP, Pump

# Stable --json field names (docs/pumpctl.md). A change here is a breaking change for scripts.
STATUS_FIELDS = {"state", "mode", "t_s", "clock_set", "reservoir_nl", "conc_ug_ml", "rate_ng_day", "flow_nl_day",
                 "daily_ng", "delivered_nl", "alarms", "alarm_t_s", "empty_t_s", "bolus", "battery_nah",
                 "battery_life_s", "eri_t_s", "eri_due_t_s", "eos_t_s", "strokes", "serial", "utc_offset_s",
                 "last_sync_t_s", "indication", "phase", "risk"}
INFO_FIELDS = {"hello", "time", "settings", "port", "key_roles", "pumpctl_version"}
HELLO_FIELDS = {"protocol", "fw_version", "build_hash", "build", "model", "serial", "capacity_nl", "stroke_nl"}
LOG_ENTRY_FIELDS = {"seq", "t_s", "time", "event", "a", "b", "data"}
PROGRAMME_FIELDS = {"file", "serial", "old", "staged", "committed", "verified", "hash"}
REFILL_FIELDS = {"serial", "staged", "committed", "verified", "hash", "reservoir_nl", "alarm_t_s", "empty_t_s"}
PLOT_FIELDS = {"png", "serial", "state", "delivering", "daily_ng", "windows", "t_s", "reservoir_nl", "alarm_t_s", "empty_t_s",
               "forecast_alarm_t_s", "forecast_empty_t_s"}


def with_iso(fields):
    """Every pump time X_t_s also comes as X_iso (t_s as iso): issue 10, defect 7; fields are only added."""
    return set(fields) | {"iso" if f == "t_s" else f[:-3] + "iso" for f in fields if f == "t_s" or f.endswith("_t_s")}


@pytest.fixture
def pump(tmp_path):
    p = Pump(tmp_path, via="tcp", no_pty=True)
    yield p
    p.stop()


def js(r):
    assert r.rc == 0, r
    return json.loads(r.out)


def setup_therapy(pump):
    pump.ok("provision")
    pump.ok("time", "sync")
    pump.ok("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--yes")
    return pump.ok("programme", NIGHT_RAMP, "--yes", "--json")


def test_info_and_status_json_fields_are_stable(pump):
    info = js(pump.run("info", "--json"))
    assert set(info) == INFO_FIELDS and set(info["hello"]) >= HELLO_FIELDS
    assert info["hello"]["serial"] == "EMU00001" and info["key_roles"] == []
    st = js(pump.run("status", "--json"))
    assert set(st) == with_iso(STATUS_FIELDS)
    assert st["state"] == "stopped" and st["reservoir_nl"] == 0


def test_provision_writes_private_key_file_and_login_uses_it(pump):
    r = js(pump.run("provision", "--json"))
    assert r["provisioned"] == ["clinician", "patient"] and "clinician" in r["pump_roles"]
    mode = stat.S_IMODE(os.stat(pump.keys).st_mode)
    assert mode == 0o600
    assert js(pump.run("login", "--role", "clinician", "--json"))["ok"] is True
    assert js(pump.run("info", "--json"))["key_roles"] == ["clinician", "patient"]


def test_programme_shows_old_vs_new_and_verifies(pump):
    pump.ok("provision")
    pump.ok("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--yes")
    r = pump.ok("programme", NIGHT_RAMP, "--yes")
    for text in ("current (pump)", "new (night_ramp)", "22:00  600 mcg/day  ramp 20:00-22:00",
                 "07:00  500 mcg/day  ramp 05:00-07:00", "537.5 mcg/day", "0.2688 mL/day", "low-reservoir alarm",
                 "reservoir empty", "read it back: identical"):
        assert text in r.out, text
    st = js(pump.run("status", "--json"))
    assert st["mode"] == "flex" and st["daily_ng"] == 537500 and st["state"] == "infusing"


def test_programme_json_schema_and_exact_units(pump):
    res = js(setup_therapy(pump))
    assert set(res) == PROGRAMME_FIELDS and res["committed"] and res["verified"]
    staged = res["staged"]
    assert staged["daily_ng"] == 537500 and staged["daily_nl"] == 268750
    assert [s["dose_ng_day"] for s in staged["programme"]["steps"]] == [500000, 600000]
    assert staged["after"]["alarm_t_s"] < staged["after"]["empty_t_s"]


def test_programme_without_yes_and_no_terminal_changes_nothing(pump):
    pump.ok("provision")
    pump.ok("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--yes")
    r = pump.run("programme", NIGHT_RAMP)
    assert r.rc == 8 and "--yes" in r.err
    assert js(pump.run("status", "--json"))["mode"] == "none"


def test_programme_dry_run_does_not_commit(pump):
    pump.ok("provision")
    pump.ok("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--yes")
    r = pump.ok("programme", NIGHT_RAMP, "--dry-run")
    assert "not committed" in r.out
    assert js(pump.run("status", "--json"))["mode"] == "none"


def test_programme_refused_when_pump_holds_another_concentration(pump):
    pump.ok("provision")
    r = pump.run("programme", NIGHT_RAMP, "--yes")
    assert r.rc == 7 and "500 mcg/mL" in r.err and "refill" in r.err


def test_warp_refill_alarms_log_and_plot(pump, tmp_path):
    setup_therapy(pump)
    w = js(pump.run("sim", "warp", "30d", "--json"))
    assert w["state"] == "infusing" and 11000000 < w["reservoir_nl"] < 12500000
    st = js(pump.run("status", "--json"))
    r = js(pump.run("refill", "--withdrawn-ml", "11.9", "--added-ml", "20", "--yes", "--json"))
    assert set(r) == with_iso(REFILL_FIELDS) and r["verified"] and 20000000 - 250 <= r["reservoir_nl"] <= 20000000
    # expected = the pump's own reservoir estimate (within one 250 nL stroke of the status read just before)
    assert abs(r["staged"]["expected_nl"] - st["reservoir_nl"]) <= 250 and r["staged"]["discrepancy_flag"] is False
    al = js(pump.run("alarms", "list", "--json"))
    assert al["alarms"] == []
    pump.ok("alarms", "test")
    log = js(pump.run("log", "--json"))
    assert set(log["entries"][0]) == with_iso(LOG_ENTRY_FIELDS)
    events = [e["event"] for e in log["entries"]]
    assert events.count("refill") == 2 and "programme" in events and "alarm_test" in events
    refill = [e for e in log["entries"] if e["event"] == "refill"][-1]
    assert refill["data"] == {"added_nl": 20000000, "conc_ug_ml": 2000}
    rows = list(csv.reader(io.StringIO(pump.ok("log", "--csv", "--last", "3").out)))
    assert rows[0][:6] == ["seq", "t_s", "time", "event", "a", "b"] and len(rows) == 4
    png = str(tmp_path / "p.png")
    pl = js(pump.run("plot", "-o", png, "--json"))
    assert set(pl) == with_iso(PLOT_FIELDS) and pl["windows"] == [[18000, 25200], [72000, 79200]]
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    # the curve comes from the firmware ledger: it agrees with the pump's own forecast
    assert abs(pl["forecast_empty_t_s"] - pl["empty_t_s"]) <= 60


def test_refill_discrepancy_is_flagged(pump):
    setup_therapy(pump)
    pump.ok("sim", "warp", "10d")
    r = pump.ok("refill", "--withdrawn-ml", "5", "--added-ml", "20", "--yes")
    assert "above 14.5 %" in r.out and "WARNING" in r.err


def test_low_reservoir_alarm_then_clear_kept_while_cause_persists(pump):
    setup_therapy(pump)
    pump.ok("sim", "warp", "68d")
    al = js(pump.run("alarms", "--json"))
    assert [a["name"] for a in al["alarms"]] == ["low_reservoir"]
    r = js(pump.run("alarms", "clear", "--json"))
    assert r["kept"] == ["low_reservoir"]
    assert "low_reservoir" in pump.ok("status").out
    s = js(pump.run("alarms", "silence", "--minutes", "30", "--json"))
    assert s["silenced_until_t_s"] > 0


def test_bolus_stop_resume(pump):
    setup_therapy(pump)
    b = js(pump.run("bolus", "--dose-mcg", "50", "--minutes", "30", "--yes", "--json"))
    assert b["dose_ng"] == 50000 and b["kind"] == "single"
    assert js(pump.run("bolus", "--cancel", "--json"))["state"] == "infusing"
    r = pump.run("stop")
    assert r.rc == 8 and "abrupt discontinuation" in r.err.lower()
    assert js(pump.run("stop", "--yes", "--json"))["state"] == "stopped"
    assert js(pump.run("resume", "--json"))["state"] == "infusing"


def test_time_sync_and_get(pump):
    pump.ok("provision")
    r = js(pump.run("time", "sync", "--utc-offset", "+01:00", "--json"))
    assert r["clock_set"] is True and r["utc_offset_s"] == 3600
    g = js(pump.run("time", "--json"))
    assert set(g) == with_iso({"t_s", "iso", "utc_offset_s", "clock_set", "last_sync_t_s"})


def test_settings_show_and_change(pump):
    pump.ok("provision")
    r = js(pump.run("settings", "--low-reservoir-ml", "2.5", "--yes", "--json"))
    assert r["low_res_nl"] == 2500000
    r = pump.run("settings", "--low-reservoir-ml", "9", "--yes")
    assert r.rc == 7 and "E_THRESHOLD_RANGE" in r.err


def test_diagram_and_ports_work_without_a_pump(tmp_path):
    from cli_helpers import run

    r = run(["diagram"])
    assert r.rc == 0 and r.out.startswith("stateDiagram-v2")
    r = run(["ports", "--json"])
    assert r.rc == 0 and set(json.loads(r.out)) == {"env_port", "ports"}
