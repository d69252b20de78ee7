"""tools/mutation/deadline_plugin.py: under a mutant, a test past its limit ends the run with
mutmut's timeout code at once, a hypothesis test included (it must not shrink the hang); a
test within its limit, and any run without a mutant, are left alone.

The limits are read off the hand-written stats file below, not computed by the plugin."""
import json
import os
import subprocess
import sys
import time

import pytest

TOOLS = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "mutation")
sys.path.insert(0, TOOLS)
import deadline_plugin  # noqa: E402

TESTS = '''
import time
from hypothesis import given, settings, strategies as st

def test_quick():
    time.sleep(0.05)

def test_hangs():
    while True:
        time.sleep(0.01)

@settings(deadline=None, database=None)
@given(st.integers())
def test_hangs_under_hypothesis(n):
    if n > 3:
        while True:
            time.sleep(0.01)
'''
# The floor is lowered for the test run so a hang costs ~0.5 s, not 5.
CONFTEST = "import deadline_plugin\ndeadline_plugin.FLOOR_S = 0.5\n"


def _run(tmp_path, test, mutant, backstop_s=20):
    (tmp_path / "test_m.py").write_text(TESTS)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "mutmut-stats.json").write_text(json.dumps({"duration_by_test": {
        "test_m.py::test_quick": 0.2, "test_m.py::test_hangs": 0.05,
        "test_m.py::test_hangs_under_hypothesis": 0.1}}))
    env = dict(os.environ, PYTHONPATH=os.path.abspath(TOOLS), MUTANT_UNDER_TEST=mutant)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
                           "deadline_plugin", "--timeout", str(backstop_s), "test_m.py::" + test],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60)
    return proc.returncode, time.monotonic() - t0


def test_limit_is_six_times_the_stats_duration_with_a_floor():
    took = {"a": 2.0, "b": 0.1}
    assert deadline_plugin.limit_s("a", took) == 12.0
    assert deadline_plugin.limit_s("b", took) == deadline_plugin.FLOOR_S == 5.0
    assert deadline_plugin.limit_s("c", took) == deadline_plugin.UNKNOWN_S


@pytest.mark.parametrize("test", ["test_hangs", "test_hangs_under_hypothesis"])
def test_a_hang_under_a_mutant_is_a_timeout_at_its_limit(tmp_path, test):
    code, took = _run(tmp_path, test, "m.x_f__mutmut_1")
    assert code == 36                   # mutmut/stats.py: 36 is "timeout"
    assert took < 10                    # not pytest-timeout's 20 s, and no shrinking after it


def test_a_test_within_its_limit_passes(tmp_path):
    assert _run(tmp_path, "test_quick", "m.x_f__mutmut_1")[0] == 0


def test_without_a_mutant_there_is_no_limit(tmp_path):
    # Only pytest-timeout stops it (2 s here): pytest's failure code, not the timeout code.
    code, took = _run(tmp_path, "test_hangs", "", backstop_s=2)
    assert code == 1 and took >= 2
