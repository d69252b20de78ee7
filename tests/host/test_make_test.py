"""`make test` runs every lane and sums them up (issue 10, defect 15).

The expected lane outcomes come from the fake lanes this test defines (one exits 1 with no report,
one writes a failing JUnit XML, one passes), not from the code under test."""
import json
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUMMARIZE = os.path.join(REPO, "tools", "mpy", "summarize.py")

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make not installed")

FAKE_LANES = """
include {makefile}
.PHONY: fake-crash fake-red fake-green
fake-crash:
\t@echo fake-crash runs; exit 1
fake-red:
\t@echo '<testsuite tests="2" failures="1" errors="0" skipped="0"/>' > $(REPORTS)/fake-red.xml; exit 1
fake-green:
\t@echo '{{"passed": 3, "failed": 0}}' > $(REPORTS)/fake-green.counts.json
"""


def run_make(tmp_path, steps):
    mk = tmp_path / "fake.mk"
    mk.write_text(FAKE_LANES.format(makefile=os.path.join(REPO, "Makefile")))
    reports = tmp_path / "reports"
    return subprocess.run(
        ["make", "--no-print-directory", "-C", REPO, "-f", str(mk), "test", "TEST_STEPS=" + steps,
         "REPORTS=" + str(reports), "PYTHON=" + sys.executable],
        capture_output=True, text=True, timeout=60)


@needs_make
@pytest.mark.req("MK-ALL-LANES")
def test_make_test_runs_every_lane_after_a_failure_and_names_the_failed_ones(tmp_path):
    """Before the fix make stopped at fake-crash: fake-green never ran and no total line was printed."""
    proc = run_make(tmp_path, "reports-reset fake-crash fake-red fake-green")
    out = proc.stdout
    assert proc.returncode != 0, out
    assert "fake-crash runs" in out
    assert (tmp_path / "reports" / "fake-green.counts.json").exists(), out + proc.stderr
    last = out.strip().splitlines()[-1]
    assert last == "total: 4 passed, 1 failed; failed lanes: fake-crash fake-red", out


@needs_make
@pytest.mark.req("MK-ALL-LANES")
def test_make_test_all_green_exits_zero_with_a_plain_total(tmp_path):
    proc = run_make(tmp_path, "reports-reset fake-green")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "total: 3 passed, 0 failed"


@pytest.mark.req("MK-ALL-LANES")
def test_summary_names_a_lane_that_failed_without_a_report(tmp_path):
    """lint/typecheck/firmware write no report: only their exit status says they failed."""
    (tmp_path / "pytest.xml").write_text('<testsuite tests="5" failures="0" errors="0" skipped="0"/>')
    proc = subprocess.run([sys.executable, SUMMARIZE, str(tmp_path), "--failed-lanes", "lint typecheck"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-1] == "total: 5 passed, 0 failed; failed lanes: lint typecheck"


@pytest.mark.req("MK-ALL-LANES")
def test_summary_names_an_unreadable_report_instead_of_a_traceback(tmp_path):
    (tmp_path / "pytest.xml").write_text('<testsuite tests="5" failures="0" errors="0" skipped="0"/>')
    (tmp_path / "hil-emu.xml").write_text('<testsuite tests="3" fail')   # lane killed mid-write
    (tmp_path / "micropython.counts.json").write_text(json.dumps({"passed": 2, "failed": 0}))
    proc = subprocess.run([sys.executable, SUMMARIZE, str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "unreadable report" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "total: 7 passed, 0 failed; failed lanes: hil-emu"
