"""The MicroPython test lane itself (tools/mpy/runtests.mjs + tests/fw/mpy_runtests.py).

Runs the lane on tools/mpy/selftest, whose fixture tests pass, fail, fail to
import and skip on purpose, and checks the counts, the closing line and the
exit status. Needs node and node_modules (make node_modules).
"""
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = os.path.join(REPO, "tools", "mpy", "runtests.mjs")
COLLECTOR = os.path.join(REPO, "tests", "fw", "mpy_runtests.py")
SELFTEST = "tools/mpy/selftest"

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not os.path.isdir(os.path.join(REPO, "node_modules", "@micropython")),
    reason="node or node_modules missing: run `make node_modules`",
)


def run_lane(*args):
    proc = subprocess.run(
        ["node", RUNNER, "--dir", SELFTEST, *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    return proc.returncode, proc.stdout.splitlines()


def run_cpython(*args):
    proc = subprocess.run(
        [sys.executable, COLLECTOR, "--dir", SELFTEST, *args], cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": os.path.join(REPO, "firmware")},
    )
    return proc.returncode, proc.stdout.splitlines()


@needs_node
def test_lane_counts_failures_import_errors_and_skips():
    rc, lines = run_lane()
    assert rc == 1
    assert lines[-1] == "4 passed, 3 failed, 2 skipped"
    out = "\n".join(lines)
    assert "test_b_fail.py::test_bare_assert_fails" in out
    assert "AssertionError: asserts are kept" in out  # MicroPython keeps asserts
    assert "test_c_importerror.py::<import>" in out
    assert "micropython" in lines[0]


@needs_node
def test_lane_green_run_exits_zero():
    rc, lines = run_lane("test_a_pass.py", "test_e_skip_some.py")
    assert rc == 0
    assert lines[-1] == "3 passed, 0 failed, 1 skipped"


@needs_node
def test_lane_zero_tests_is_a_failure():
    rc, lines = run_lane("-k", "no_test_has_this_name", "test_a_pass.py")
    assert rc == 1
    assert lines[-1] == "0 passed, 0 failed"


@needs_node
def test_lane_missing_file_is_a_failure():
    rc, lines = run_lane("test_zz_missing.py")
    assert rc == 1
    assert lines[-1] == "0 passed, 1 failed"


def test_collector_also_runs_under_cpython():
    rc, lines = run_cpython()
    assert rc == 1
    assert lines[-1] == "4 passed, 3 failed, 2 skipped"


@needs_node
def test_lane_kills_a_hung_test_and_fails():
    proc = subprocess.run(
        ["node", RUNNER, "--dir", "tools/mpy/selftest_hang", "--timeout", "3"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout.splitlines()[-1] == "0 passed, 1 failed"
    assert "timed out" in proc.stderr
