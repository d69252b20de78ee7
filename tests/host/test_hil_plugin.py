"""The HIL plugin (hil/conftest.py) on the failure paths (issue 10, defect 14).

Each test runs pytest on the HIL plugin in a subprocess, as `make hil` does, and checks what a
test engineer sees: one message for an unreachable target, logs in the JUnit XML."""
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HIL = os.path.join(REPO, "hil")


def run_hil(args, cwd=REPO, timeout=120):
    env = dict(os.environ, PYTHONPATH=HIL)
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def pico_plugged_in():
    from serial.tools import list_ports

    return any((p.vid, p.pid) == (0x2E8A, 0x0005) for p in list_ports.comports())


@pytest.mark.req("HIL-UNREACHABLE-ONCE")
@pytest.mark.parametrize("target, cause", [
    ("/dev/ttyBOGUS", "port /dev/ttyBOGUS not found"),
    ("socket://127.0.0.1:9", "nothing is listening at socket://127.0.0.1:9"),
    ("auto", "expected one device with VID:PID 2E8A:0005, found none"),
])
def test_unreachable_target_fails_once_with_cause_and_fix(tmp_path, target, cause):
    """Before the fix: 14 errors, each with the same traceback, ~2,000 lines. Expected: one message
    naming target, cause and fix; exit 4 (usage error); no test reported as an error."""
    if target == "auto" and pico_plugged_in():
        pytest.skip("a Pico is plugged in: `auto` would find it")
    xml = tmp_path / "hil.xml"
    proc = run_hil(["hil", "--target", target, "-q", "--junitxml", str(xml), "--hil-logs", str(tmp_path)])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 4, out
    assert out.count("HIL target unreachable") == 1, out
    assert cause in out, out
    assert "fix:" in out
    assert "Traceback" not in out and " error" not in out.lower().replace("errno", ""), out
    assert len(out.splitlines()) < 30, out


FAILING_SCENARIO = '''
import pytest

@pytest.mark.needs("warp")
def test_fails_after_talking_to_the_pump(dut):
    dut.status()
    dut.warp(60)
    assert False, "planted failure"

def test_passes(dut):
    dut.status()
'''


@pytest.mark.req("HIL-JUNIT-LOGS")
def test_junit_xml_of_a_failing_test_carries_frame_and_emulator_logs(tmp_path):
    """Before the fix the XML's testcase had a <failure> and no <system-out>. The expected content
    comes from the log files the run wrote (read here, independently of the XML)."""
    (tmp_path / "test_planted.py").write_text(FAILING_SCENARIO)
    xml = tmp_path / "out.xml"
    logs = tmp_path / "logs"
    proc = run_hil(["-p", "conftest", str(tmp_path / "test_planted.py"), "--rootdir", str(tmp_path),
                    "--target", "emu", "-q", "--junitxml", str(xml), "-o", "junit_family=xunit1",
                    "--hil-logs", str(logs)], cwd=str(tmp_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    cases = {c.get("name"): c for c in ET.parse(xml).getroot().iter("testcase")}
    failed = cases["test_fails_after_talking_to_the_pump"]
    assert failed.find("failure") is not None
    out = "".join(e.text or "" for e in failed.iter("system-out"))
    frames = (logs / "test_fails_after_talking_to_the_pump.frames.log").read_text()
    emu = (logs / "test_fails_after_talking_to_the_pump.emu.log").read_text()
    assert "status" in frames and "sim_warp" in frames   # the log has the traffic of this test
    assert emu.strip()
    assert "===== HIL frames: " in out and "===== emulator log: " in out
    # The frame log is attached as it stood when the test failed: every line of it up to the
    # failing request's reply is in the XML.
    first_lines = [ln for ln in frames.splitlines() if "sim_warp" in ln]
    assert first_lines and all(ln in out for ln in first_lines), out[:2000]
    assert emu.splitlines()[0] in out
    passed = cases["test_passes"]
    assert passed.find("failure") is None and "===== HIL frames" not in "".join(
        e.text or "" for e in passed.iter("system-out"))
