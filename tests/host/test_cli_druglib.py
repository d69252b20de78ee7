"""pumpctl programme / refill / status / profile with the drug library (issue 5), against the emulator.

The host refuses a hard limit before anything is sent (the pump's log shows no programme), asks for
an override reason outside the typical range (the pump logs `override`), asks a second,
differently-worded confirmation for more than 2x, and shows the withdrawal-risk banner.
"""
import json
import zlib

import pytest

from cli_helpers import Pump

CEREBRAL = ("--indication", "cerebral", "--age-group", "adult")
SPINAL = ("--indication", "spinal", "--age-group", "adult")


@pytest.fixture
def pump(tmp_path):
    p = Pump(tmp_path, via="tcp", no_pty=True)
    p.tmp = tmp_path
    yield p
    p.stop()


def js(r):
    assert r.rc == 0, r
    return json.loads(r.out)


def rx(pump, name, dose_mcg=None, conc=2000, steps=None):
    """Write a prescription TOML: continuous `dose_mcg`, or flex `steps` [(effect, mcg, shape)]."""
    lines = ['name = "%s"' % name, "[drug]", "concentration_mcg_ml = %d" % conc, "[programme]"]
    if steps is None:
        lines += ['mode = "continuous"', "dose_mcg_day = %s" % dose_mcg]
    else:
        lines += ['mode = "flex"', "lead_min = 120"]
        for effect, mcg, shape in steps:
            lines += ["[[programme.steps]]", 'effect = "%s"' % effect, "dose_mcg_day = %s" % mcg,
                      'shape = "%s"' % shape]
    path = pump.tmp / (name + ".toml")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def setup(pump, *profile, conc="2000"):
    pump.ok("provision")
    pump.ok("time", "sync")
    if profile:
        pump.ok("profile", *profile, "--yes")
    pump.ok("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", conc, "--yes")


def log_events(pump):
    return [e["event"] for e in js(pump.run("log", "--json"))["entries"]]


def log_entries(pump, name):
    return [e for e in js(pump.run("log", "--json"))["entries"] if e["event"] == name]


@pytest.mark.req("DL-HARD-CEREBRAL", "CLI-VERBS")
def test_hard_limit_refused_by_the_host_with_nothing_sent(pump):
    setup(pump, *CEREBRAL)
    r = pump.run("programme", rx(pump, "too_high", 1500), "--yes", "--override-reason", "x", "--confirm-ratio", "1")
    assert r.rc == 7, r
    for text in ("DL-HARD-CEREBRAL", "nothing was sent", "cerebral", "22-1400 mcg/day", "baclofen_it"):
        assert text in r.err, text
    assert "fix: prescribe 22-1400 mcg/day" in r.err
    assert "programme" not in log_events(pump)
    assert js(pump.run("status", "--json"))["mode"] == "none"
    # the same dose is inside the spinal range: the library follows the profile stored on the pump
    pump.ok("profile", *SPINAL, "--yes")
    r = pump.run("programme", rx(pump, "spinal_1500", 1500), "--yes")
    assert r.rc == 8 and "--override-reason" in r.err
    assert "SOFT-RANGE" in r.err and "INIT-MAX" in r.err            # above typical 300-800 and 2x screening


@pytest.mark.req("SOFT-RANGE", "SOFT-OVERRIDE")
def test_soft_limit_needs_a_reason_and_the_pump_logs_the_override(pump):
    setup(pump, *SPINAL, "--phase", "maintenance")
    path = rx(pump, "low", 150)                                      # maintenance: typical 300-800 mcg/day
    r = pump.run("programme", path, "--yes")
    assert r.rc == 8 and "SOFT-RANGE" in r.err and "300-800" in r.err and "--override-reason TEXT" in r.err
    r = pump.run("programme", path)                                  # no terminal, no --yes: nothing changes
    assert r.rc == 8
    assert "programme" not in log_events(pump)
    res = js(pump.run("programme", path, "--yes", "--json", "--override-reason", "severe spasticity, on review"))
    assert res["verified"] and res["druglib"]["applied"] and res["druglib"]["library"] == "baclofen_it"
    assert res["druglib"]["findings"] and not [f for f in res["druglib"]["findings"] if f["level"] != "info"]
    ov = log_entries(pump, "override")
    assert len(ov) == 1 and ov[0]["b"] == 150000
    assert ov[0]["a"] == zlib.crc32(b"severe spasticity, on review") & 0x3FFFFFFF


@pytest.mark.req("SOFT-OVERRIDE")
def test_soft_limit_reason_asked_on_the_terminal(pump, monkeypatch):
    setup(pump, *SPINAL, "--phase", "maintenance")
    monkeypatch.setenv("PUMPCTL_ASSUME_TTY", "1")
    r = pump.run("programme", rx(pump, "low", 150), stdin="responds at 150\ny\n")
    assert r.rc == 0, r
    assert "WARNING: SOFT-RANGE" in r.err and "Reason for going outside the typical range" in r.err
    assert log_entries(pump, "override")[0]["a"] == zlib.crc32(b"responds at 150") & 0x3FFFFFFF
    r = pump.run("programme", rx(pump, "low2", 140), stdin="\n")      # empty reason: refused, nothing sent
    assert r.rc == 8 and len(log_entries(pump, "programme")) == 1


def _flex_spike(pump):
    # daily 212.5 mcg (+6.25 %, inside the 30 % titration cap) but one step runs at 500 mcg/day: 250 %
    return rx(pump, "spike", steps=[("00:00", 200, "step"), ("12:00", 500, "step"), ("13:00", 200, "step")])


@pytest.mark.req("CONFIRM-2X", "REVIEW-DIFF")
def test_more_than_twice_needs_the_ratio_confirmed(pump, monkeypatch):
    setup(pump, *SPINAL)
    pump.ok("programme", rx(pump, "base", 200), "--yes")
    pump.ok("sim", "warp", "25h")
    spike = _flex_spike(pump)
    r = pump.run("programme", spike, "--yes")
    assert r.rc == 8 and "250 %" in r.err and "--confirm-ratio 250" in r.err and "200 mcg/day" in r.err
    r = pump.run("programme", spike, "--yes", "--confirm-ratio", "200")
    assert r.rc == 7 and "does not match" in r.err
    assert len(log_entries(pump, "programme")) == 1
    monkeypatch.setenv("PUMPCTL_ASSUME_TTY", "1")
    r = pump.run("programme", spike, stdin="25\n")                    # wrong figure typed: nothing sent
    assert r.rc == 8 and "Type the percentage 250" in r.err
    r = pump.run("programme", spike, "--dry-run", stdin="250\n")
    assert r.rc == 0, r
    for text in ("2.50 times the current one", "new / old", "daily 106 % (+6 %)", "highest step 250 %",
                 "MORE THAN TWICE", "212.5 mcg/day", "200 mcg/day", "0.1000 mL/day",
                 "12:00  500 mcg/day  step at 10:00", "low-reservoir alarm", "reservoir empty", "drug library",
                 "CONFIRM-2X"):
        assert text in r.out + r.err, text
    monkeypatch.delenv("PUMPCTL_ASSUME_TTY")
    res = js(pump.run("programme", spike, "--yes", "--confirm-ratio", "250", "--json"))
    assert res["verified"] and res["staged"]["daily_ng"] == 212500
    assert {"rule": "CONFIRM-2X", "ratio_pct": 250} in res["staged"]["checks"]


@pytest.mark.req("TIT-FIRST24H", "TIT-SPINAL-30", "TIT-ONCE-24H")
def test_titration_rules_use_the_pumps_own_history(pump):
    setup(pump, *SPINAL)
    pump.ok("programme", rx(pump, "base", 200), "--yes")
    r = pump.run("programme", rx(pump, "up5", 210), "--yes")
    assert r.rc == 7 and "TIT-FIRST24H" in r.err and "nothing was sent" in r.err and "allowed from" in r.err
    pump.ok("sim", "warp", "25h")
    r = pump.run("programme", rx(pump, "up31", 262), "--yes")
    assert r.rc == 7 and "TIT-SPINAL-30" in r.err and "up to 260 mcg/day" in r.err
    pump.ok("programme", rx(pump, "up30", 260), "--yes")
    r = pump.run("programme", rx(pump, "up_again", 265), "--yes")
    assert r.rc == 7 and "TIT-ONCE-24H" in r.err
    assert len(log_entries(pump, "programme")) == 2


@pytest.mark.req("DL-CONC")
def test_refill_strength_checked_by_the_library(pump):
    setup(pump, *SPINAL)
    r = pump.run("refill", "--withdrawn-ml", "20", "--added-ml", "20", "--conc", "50", "--yes")
    assert r.rc == 7 and "screening strength only" in r.err and "nothing was sent" in r.err
    assert len(log_entries(pump, "refill")) == 1
    assert js(pump.run("status", "--json"))["conc_ug_ml"] == 2000
    r = pump.run("refill", "--withdrawn-ml", "20", "--added-ml", "20", "--conc", "1000", "--yes")
    assert r.rc == 0, r
    assert "dilute with sterile, preservative-free" in r.err and "pumpctl dilution --target 1000" in r.err


@pytest.mark.req("REFILL-SPINAL-40", "REFILL-WINDOW")
def test_refill_in_maintenance_states_the_refill_cap(pump):
    setup(pump, *SPINAL)
    pump.ok("programme", rx(pump, "base", 200), "--yes")
    pump.ok("profile", "--phase", "maintenance", "--yes")
    r = pump.ok("refill", "--withdrawn-ml", "19.9", "--added-ml", "20", "--repeat", "--yes")  # same as the fill
    assert "refill-time change, at most +40 % (up to 280 mcg/day)" in r.err


@pytest.mark.req("PROF-RISK", "PROF-STORE")
def test_profile_verb_and_withdrawal_risk_banner_on_every_status(pump):
    pump.ok("provision")
    assert "no patient profile" in pump.ok("profile").out
    assert "no profile on the pump" in pump.ok("status").out
    r = pump.run("profile", "--age-group", "adult", "--yes")
    assert r.rc == 2 and "--indication" in r.err
    res = js(pump.run("profile", *SPINAL, "--risk", "t6_or_above", "--risk", "communication",
                      "--implant-date", "2026-03-01", "--initial-dose", "200", "--yes", "--json"))
    assert res["changed"] and res["profile"]["risk"] == ["t6_or_above", "communication"]
    assert res["profile"]["initial_ng_day"] == 200000 and res["limits"]["hard_max_ng_day"] == 2003000
    assert res["risk_banner"].startswith("WITHDRAWAL RISK")
    out = pump.ok("status").out
    assert out.startswith("WITHDRAWAL RISK: spinal cord injury at T6 or above; communication difficulties")
    assert "spinal, titration" in out
    r = pump.ok("status", "--json")
    assert "WITHDRAWAL RISK" in r.err and json.loads(r.out)["risk"] == ["t6_or_above", "communication"]
    got = pump.ok("profile").out
    assert "2026-03-01" in got and "200 mcg/day" in got and "hard 12-2003" in got
    pump.ok("profile", "--no-risk", "--yes")
    assert "WITHDRAWAL RISK" not in pump.ok("status").out


def test_no_profile_on_a_test_build_programmes_with_a_note(pump):
    setup(pump)
    r = pump.ok("programme", rx(pump, "plain", 500), "--yes")
    assert "no patient profile" in r.err and "not applied (test build)" in r.err


@pytest.mark.req("PAED-UNDER-4")
def test_profile_verb_shows_the_under_4_warning(pump):
    assert pump.run("provision").rc == 0
    res = pump.run("profile", "--indication", "paediatric_u12", "--age-group", "under_4", "--yes")
    assert res.rc == 0, res
    assert "WARNING PAED-UNDER-4" in res.out
