"""`pumpctl report` (issue 11) the way a user sees it: the night-ramp prescription after a refill on the
emulator, rendered by a real headless Chromium (DOM, screenshot, PDF on A4 and Letter).

Expected values come from outside the code under test: the label's arithmetic for the night ramp
(examples/night_ramp.toml: 500 mcg/day, 600 from 22:00 with 2-hour ramps -> 537.5 mcg/day), Fraction
volumes for the reservoir (20 mL minus 30 days at that rate), the PDF's own page tree for pagination.
Artifacts (report.html, report.json, report.pdf on Letter, a4.pdf, screenshot.png): .reports/artifacts/report/.
Chromium: skipped outside CI when missing; in CI (CI set) a missing Chromium FAILS the test.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
from fractions import Fraction

import pytest

from cli_helpers import NIGHT_RAMP, REPO, Pump
from pumpctl.cli import render
from pumpctl.report import gather, pdf

ART = os.path.join(REPO, ".reports", "artifacts", "report")
DAY = 86400
# label arithmetic (examples/night_ramp.toml): 13 h at 500, 2 h ramp 500->600 (mean 550),
# 7 h at 600, 2 h ramp 600->500 (mean 550) -> mcg per day
DAILY_MCG = Fraction(13 * 500 + 2 * 550 + 7 * 600 + 2 * 550, 24)
DAILY_ML = DAILY_MCG / 2000


def _chromium():
    exe = pdf.find_chromium()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run installs it (apt-get install -y chromium)")
        pytest.skip("Chromium not installed (apt-get install chromium); CI installs it")
    return exe


@pytest.fixture(scope="module")
def session_report(tmp_path_factory):
    """Fill, programme the night ramp, 30 days later refill, then `pumpctl report` (no --refill-record: the
    expected vs withdrawn come from the pump's own log; the `pumpctl refill --json` record is kept to compare)."""
    tmp = tmp_path_factory.mktemp("report")
    os.makedirs(ART, exist_ok=True)
    pump = Pump(tmp)
    try:
        pump.ok("provision")
        pump.ok("time", "sync")
        pump.ok("profile", "--indication", "spinal", "--age-group", "adult", "--phase", "maintenance",
                "--risk", "t6_or_above", "--yes")
        pump.ok("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--yes")
        pump.ok("programme", NIGHT_RAMP, "--yes")
        pump.ok("sim", "warp", "30d")
        rec = pump.ok("refill", "--withdrawn-ml", "11.9", "--added-ml", "20", "--yes", "--json").out
        with open(os.path.join(tmp, "refill.json"), "w") as f:
            f.write(rec)
        html_path = os.path.join(ART, "report.html")
        pdf_args = ["--pdf", os.path.join(ART, "report.pdf")] if pdf.find_chromium() else []
        r = pump.ok("report", "-o", html_path, "--json", *pdf_args)
        with open(os.path.join(ART, "report.json"), "w") as f:
            f.write(r.out)
        rep = json.loads(r.out)
        everything = json.loads(pump.ok("report", "-o", os.path.join(tmp, "all.html"), "--json", "--since",
                                        "all").out)
        yield {"rep": rep, "html": html_path, "all": everything, "pump": pump, "tmp": tmp, "record": json.loads(rec)}
    finally:
        pump.stop()


@pytest.mark.req("RPT-CONTENT", "RPT-JSON", "RPTLOG-REPORT-FROM-LOG")
def test_report_json_has_the_label_arithmetic(session_report):
    rep = session_report["rep"]
    prog, rv = rep["programme"], rep["reservoir"]
    assert Fraction(prog["daily_ng"], 1000) == DAILY_MCG == Fraction(1075, 2)
    assert Fraction(prog["daily_nl"], 10 ** 6) == DAILY_ML
    assert [(s["effect_min"], s["dose_ng_day"], s["change_start_min"]) for s in prog["steps"]] == [
        (7 * 60, 500000, 5 * 60), (22 * 60, 600000, 20 * 60)]
    assert prog["boluses"] == []
    # last refill: expected = 20 mL - 30 days x 0.26875 mL/day; withdrawn 11.9 mL -> 0.31 % (3 permille)
    lr = rv["last_refill"]
    expected = Fraction(20) - 30 * DAILY_ML
    # the emulator's clock runs on in real time between the warp and the refill: allow one minute at the
    # highest rate of the programme (600 mcg/day at 2000 mcg/mL = 0.3 mL/day)
    assert expected == Fraction(191, 16)
    assert 0 <= expected * 10 ** 6 - lr["expected_nl"] <= Fraction(3, 10) * 10 ** 6 * 60 / DAY
    assert lr["withdrawn_nl"] == 11900000 and lr["added_nl"] == 20000000 and lr["conc_ug_ml"] == 2000
    assert lr["discrepancy_permille"] == int(abs(expected - Fraction(119, 10)) * 1000 / expected) == 3
    assert lr["discrepancy_flag"] is False
    # ... read from the pump's own log (refill_check), without --refill-record; the same figures the pump
    # stated when the refill was staged (the host's `pumpctl refill --json` record)
    assert lr["source"] == "pump_log" and "pump's log" in lr["record"]
    assert lr["discrepancy_nl"] == lr["expected_nl"] - 11900000
    st = session_report["record"].get("staged", session_report["record"])
    assert (lr["expected_nl"], lr["withdrawn_nl"]) == (st["expected_nl"], st["withdrawn_nl"])
    # forecast dates: 18 mL then 20 mL at 0.26875 mL/day from the refill, within one day (ramps inside a day)
    t0 = rep["clock"]["pump_t_s"]
    assert abs(rv["alarm_t_s"] - t0 - (18 / DAILY_ML) * DAY) < DAY
    assert abs(rv["empty_t_s"] - t0 - (20 / DAILY_ML) * DAY) < DAY
    assert rv["forecast"][0][1] == rv["reservoir_nl"] and rv["forecast"][-1][1] == 0
    # every time has an ISO twin
    assert rep["reservoir"]["alarm_iso"] == render.iso(rv["alarm_t_s"]) and rep["clock"]["pump_iso"].endswith("Z")
    assert rep["pump"]["serial"] and rep["pump"]["build"] == "test" and rep["druglib"]["applied"] is True


@pytest.mark.req("RPT-SESSION", "RPTLOG-REPORT-FROM-LOG")
def test_session_is_today_by_default_and_all_on_request(session_report):
    rep, every = session_report["rep"], session_report["all"]
    today = [e["event"] for e in rep["session"]["entries"]]
    assert today == ["refill"], today  # the second refill; the programme was 30 days ago
    assert [c["new_ng_day"] for c in every["session"]["programme_changes"]] == [537500]
    assert every["session"]["programme_changes"][0]["old_ng_day"] == 0
    assert [r["added_nl"] for r in every["session"]["refills"]] == [20000000, 20000000]
    # old vs new programme from the pump's log: no programme before; the night ramp's highest step is
    # 600 mcg/day (examples/night_ramp.toml)
    ch = every["session"]["programme_changes"][0]
    assert (ch["old_peak_ng_day"], ch["new_peak_ng_day"]) == (0, 600000)
    # each refill with the check the pump logged: the first fill expected and withdrew nothing
    assert [(r["expected_nl"], r["withdrawn_nl"]) for r in every["session"]["refills"]][0] == (0, 0)
    assert every["session"]["refills"][1]["withdrawn_nl"] == 11900000


def test_since_boundaries():
    """--since: the default is 00:00 pump local time (offset applied); durations; ISO; all; junk refused."""
    now = 10 * DAY + 3600  # 01:00 UTC
    assert gather.parse_since(None, now, 0) == 10 * DAY
    assert gather.parse_since(None, now, 2 * 3600) == 10 * DAY - 2 * 3600     # 03:00 local -> local midnight
    assert gather.parse_since(None, now, -2 * 3600) == 9 * DAY + 2 * 3600     # 23:00 local the day before
    assert gather.parse_since("90m", now, 0) == now - 5400
    assert gather.parse_since("2d", now, 0) == now - 2 * DAY
    assert gather.parse_since("all", now, 0) == 0
    assert gather.parse_since("2024-01-11T00:00Z", now, 0) == 10 * DAY
    for bad in ("yesterday", "h", "-2h", "4 h"):
        with pytest.raises(Exception) as e:
            gather.parse_since(bad, now, 0)
        assert "ISO" in str(e.value)


@pytest.mark.req("RPT-HTML")
def test_html_is_self_contained(session_report):
    with open(session_report["html"], encoding="utf-8") as f:
        text = f.read()
    assert text.startswith("<!DOCTYPE html>") and text.count("<svg") == 2
    for bad in ("<script", "<link", "<img", "<iframe", "@import", "url(", "src=", "href=", "http:", "https:"):
        assert bad not in text, bad
    assert "break-before: page" in text and "@page" in text and "max-width: 180mm" in text


@pytest.mark.req("RPT-WARNINGS")
def test_banner_only_with_risk_flags(session_report):
    rep = session_report["rep"]
    assert rep["patient"]["risk_banner"].startswith("WITHDRAWAL RISK: spinal cord injury at T6 or above")
    rules = [w["rule"] for w in rep["label_warnings"]]
    assert rules[:3] == ["WITHDRAWAL", "WITHDRAWAL-SIGNS", "OVERDOSE"] and "STORAGE-NOTE" in rules
    pump = session_report["pump"]
    pump.ok("profile", "--no-risk", "--yes")
    try:
        out = os.path.join(session_report["tmp"], "norisk.html")
        rep2 = json.loads(pump.ok("report", "-o", out, "--json").out)
        assert rep2["patient"]["risk_banner"] == ""
        with open(out, encoding="utf-8") as f:
            assert 'id="risk-banner"' not in f.read()
    finally:
        pump.ok("profile", "--risk", "t6_or_above", "--yes")


def test_user_mistakes_name_the_fix(session_report, monkeypatch):
    pump, tmp = session_report["pump"], session_report["tmp"]
    r = pump.run("report", "-o", os.path.join(tmp, "nodir", "x.html"))
    assert r.rc == 7 and "does not exist" in r.err and "fix:" in r.err and "Traceback" not in r.err
    r = pump.run("report", "-o", os.path.join(tmp, "x.html"), "--refill-record", os.path.join(tmp, "missing.json"))
    assert r.rc == 7 and "pumpctl refill" in r.err
    r = pump.run("report", "-o", os.path.join(tmp, "x.html"), "--since", "yesterday")
    assert r.rc == 2 and "2026-12-01" in r.err
    monkeypatch.setenv("PUMPCTL_CHROMIUM", os.path.join(tmp, "no-such-browser"))
    r = pump.run("report", "-o", os.path.join(tmp, "x.html"), "--pdf", os.path.join(tmp, "x.pdf"))
    assert r.rc == 7 and "apt-get install chromium" in r.err and not os.path.exists(os.path.join(tmp, "x.pdf"))


def _browser(exe, *args):
    prof = tempfile.mkdtemp(prefix="report-test-chromium-")
    try:
        r = subprocess.run([exe] + pdf.FLAGS + ["--user-data-dir=%s" % prof] + list(args), capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
    finally:
        shutil.rmtree(prof, ignore_errors=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def _pdf_pages(path):
    """(page count, [MediaBox width x height in points]) from the PDF's page tree (Chromium writes it plain)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data.startswith(b"%PDF-")
    count = max(int(x) for x in re.findall(rb"/Count (\d+)", data))
    boxes = {tuple(round(float(v)) for v in m.split()[2:4]) for m in re.findall(rb"/MediaBox \[([^\]]+)\]", data)}
    return count, boxes


@pytest.mark.req("RPT-HTML", "RPT-CONTENT", "RPT-WARNINGS")
def test_chromium_renders_and_paginates(session_report):
    exe = _chromium()
    html_path = session_report["html"]
    url = "file://" + html_path
    shot = os.path.join(ART, "screenshot.png")
    # one browser run: the DOM on stdout and the screenshot (a launch costs seconds on busy cores)
    dom = _browser(exe, "--window-size=900,2600", "--hide-scrollbars", "--screenshot=%s" % shot, "--dump-dom", url)
    text = re.sub(r"<[^>]+>", " ", dom)
    text = re.sub(r"\s+", " ", text)
    rep = session_report["rep"]
    for want in ("session report", rep["pump"]["serial"], "test build", "spinal", "maintenance",
                 "baclofen_it %s" % rep["druglib"]["version"], "537.5 mcg/day", "0.26875 mL/day",
                 "05:00-07:00", "20:00-22:00", "Last refill", "11.94 mL / 11.90 mL", "0.3 %",
                 "from the pump's log", "expected 11.94 mL, withdrawn 11.90 mL",
                 "WITHDRAWAL RISK", "Abrupt discontinuance", "ERI / EOS forecast", "This session",
                 "added 20.00 mL at 2000 mcg/mL", "Active: none", render.local(rep["reservoir"]["empty_t_s"])):
        assert want in text, want
    with open(shot, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n" and len(f.read()) > 20000
    # the product path: `pumpctl report --pdf` in the fixture (Chromium's default paper: Letter)
    assert rep["files"]["pdf"] == os.path.join(ART, "report.pdf")
    n, boxes = _pdf_pages(rep["files"]["pdf"])
    assert boxes == {(612, 792)} and 2 <= n <= 5, (n, boxes)
    a4 = os.path.join(ART, "a4.pdf")
    session_report["pump"].ok("report", "--paper", "a4", "-o", os.path.join(session_report["tmp"], "a4.html"),
                              "--pdf", a4)
    n4, boxes4 = _pdf_pages(a4)
    assert boxes4 == {(595, 842)} and 2 <= n4 <= 5, (n4, boxes4)


def test_report_room_depends_one_way():
    """report -> cli helpers/clinical/link only; no other room imports report (cli.main registers the verb)."""
    import ast
    import pathlib

    host = pathlib.Path(REPO) / "host" / "pumpctl"
    bad = []
    for f in host.rglob("*.py"):
        room = f.relative_to(host).parts[0]
        for node in ast.walk(ast.parse(f.read_text())):
            mods = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for m in mods:
                if room == "report" and (m.startswith("pumpctl.emulator") or m == "pumpctl.cli.main"):
                    bad.append("%s imports %s" % (f, m))
                if room in ("link", "clinical", "emulator") and m.startswith("pumpctl.report"):
                    bad.append("%s imports %s" % (f, m))
    assert bad == []


def test_drift_and_dates_render_readably():
    from pumpctl.report import html

    assert html._drift(5) == "+5 s vs" and html._drift(-119) == "-119 s vs"
    assert html._drift(30 * DAY) == "30d 0h ahead of" and html._drift(-3 * 3600) == "3h 00m behind"
    assert html._offset(-5 * 3600 - 1800) == "-05:30" and html._offset(3600) == "+01:00"


@pytest.mark.req("RPT-CONTENT")
def test_report_of_an_empty_pump(tmp_path):
    """A new pump (no profile, no drug, no programme) still gives a complete report that says so."""
    pump = Pump(tmp_path)
    try:
        pump.ok("provision")
        out = str(tmp_path / "empty.html")
        rep = json.loads(pump.ok("report", "-o", out, "--json").out)
        assert rep["programme"]["mode"] == "none" and rep["programme"]["rate_curve"] == []
        assert rep["reservoir"]["forecast"] == [] and rep["reservoir"]["last_refill"] is None
        assert rep["druglib"]["applied"] is False and rep["patient"]["risk_banner"] == ""
        with open(out, encoding="utf-8") as f:
            text = f.read()
        assert "no profile on the pump" in text and "not applied: no patient profile" in text
        assert text.count("<svg") == 0 and "Label warnings" in text
    finally:
        pump.stop()


def test_log_entries_read_as_the_clinician_reads_them():
    """Alarm ids become names only where the log's `a` is an alarm id (eventlog.ARGS); doses in mcg, volumes in
    mL. Expected names: alarms.CATALOGUE ids 5 = low_reservoir, 1 = reservoir_empty (the firmware's stable ids)."""
    from pumpctl.report import html

    raised = gather._entry([1, 100, "alarm_raised", 5, 0])
    cleared = gather._entry([2, 200, "alarm_cleared", 1, 2])
    silenced = gather._entry([3, 300, "alarm_silenced", 5, 900])
    assert raised["data"]["alarm"] == "low_reservoir" and cleared["data"]["alarm"] == "reservoir_empty"
    assert "alarm" not in silenced["data"]
    assert html._details(gather._entry([4, 0, "programme", 500000, 537500])) == "daily total 500 -> 537.5 mcg/day"
    assert html._details(gather._entry([5, 0, "refill", 19950000, 2000])) == "added 19.95 mL at 2000 mcg/mL"
    assert html._details(gather._entry([6, 0, "bolus_start", 50000, 1800])) == "50 mcg over 30m"
    assert html._change(500000, 537500) == "7.5 %" and html._change(0, 537500) == "first programme"


def _log(*entries):
    return gather._fold([gather._entry(list(e)) for e in entries])


@pytest.mark.req("RPTLOG-REPORT-FROM-LOG")
def test_last_refill_from_the_log_and_the_record_only_as_fallback():
    """Expected vs withdrawn from the pump's refill_check entry; a --refill-record only for a log without it
    (older firmware). The 14.5 % flag (issue 4) on both sides, expected values by Fraction."""
    limit = Fraction(145, 1000)
    for withdrawn, flagged in ((855000, False), (854999, True), (1145000, False), (1145001, True)):
        lr = gather._last_refill(_log([7, 100, "refill_check", 1000000, withdrawn], [8, 100, "refill", 20000000, 500]),
                                 None)
        diff = abs(Fraction(1000000 - withdrawn, 1000000))
        assert lr["source"] == "pump_log" and lr["discrepancy_nl"] == abs(1000000 - withdrawn)
        assert lr["discrepancy_flag"] is flagged is (diff > limit), withdrawn
        assert lr["discrepancy_permille"] == int(diff * 1000)
    # a record that disagrees with the log is named and not used
    rec = {"staged": {"expected_nl": 1, "withdrawn_nl": 5, "added_nl": 20000000, "conc_ug_ml": 500}}
    lr = gather._last_refill(_log([7, 100, "refill_check", 1000000, 900000], [8, 100, "refill", 20000000, 500]), rec)
    assert (lr["expected_nl"], lr["withdrawn_nl"]) == (1000000, 900000) and "not used" in lr["record"]
    # nothing expected, nothing withdrawn (first fill): 0 %; something withdrawn from nothing: no finite ratio
    lr = gather._last_refill(_log([1, 0, "refill_check", 0, 0], [2, 0, "refill", 20000000, 500]), None)
    assert (lr["discrepancy_permille"], lr["discrepancy_flag"]) == (0, False)
    lr = gather._last_refill(_log([1, 0, "refill_check", 0, 10], [2, 0, "refill", 20000000, 500]), None)
    assert (lr["discrepancy_permille"], lr["discrepancy_flag"]) == (None, True)
    # older firmware: no refill_check -> the record if it matches the last refill, else nothing
    old = _log([7, 100, "programme", 0, 1000], [8, 100, "refill", 20000000, 500])
    lr = gather._last_refill(old, None)
    assert lr["expected_nl"] is None and lr["source"] is None and "not recorded" in lr["record"]
    lr = gather._last_refill(old, rec)
    assert (lr["expected_nl"], lr["withdrawn_nl"], lr["source"]) == (1, 5, "refill_record")
    lr = gather._last_refill(old, {"added_nl": 1, "conc_ug_ml": 500, "expected_nl": 1, "withdrawn_nl": 5})
    assert lr["expected_nl"] is None and "does not match" in lr["record"]
    # a refill_check not directly before the refill belongs to another refill: not attached
    lr = gather._last_refill(_log([5, 0, "refill_check", 7, 7], [7, 100, "refill", 20000000, 500]), None)
    assert lr["source"] is None


@pytest.mark.req("RPTLOG-REPORT-FROM-LOG")
def test_programme_change_shows_old_and_new_highest_step():
    from pumpctl.report import html

    log = _log([4, 0, "programme", 500000, 537500], [5, 0, "programme_peak", 500000, 600000])
    assert log[0]["data"]["old_peak_ng_day"] == 500000 and log[0]["data"]["new_peak_ng_day"] == 600000
    assert html._details(log[0]) == "daily total 500 -> 537.5 mcg/day; highest step 500 -> 600 mcg/day"
    first = _log([4, 0, "programme", 0, 537500], [5, 0, "programme_peak", 0, 600000])[0]
    assert html._details(first) == "daily total 0 -> 537.5 mcg/day; highest step none -> 600 mcg/day"
    ref = _log([6, 0, "refill_check", 11937500, 11900000], [7, 0, "refill", 20000000, 2000])[1]
    assert html._details(ref) == "added 20.00 mL at 2000 mcg/mL; expected 11.94 mL, withdrawn 11.90 mL"
    # older firmware without programme_peak: the daily totals only
    assert html._peaks({"new_peak_ng_day": None}) == "-"
