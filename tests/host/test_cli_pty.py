"""pumpctl over a real pty (the emulator's /dev/pts/N), and as a separate process (python -m pumpctl)."""
import json
import os
import subprocess
import sys

import pytest

from cli_helpers import NIGHT_RAMP, REPO, Pump


@pytest.fixture
def pump(tmp_path):
    p = Pump(tmp_path, via="pty", no_tcp=True)
    yield p
    p.stop()


def test_pty_programme_end_to_end(pump):
    assert pump.url.startswith("/dev/")
    pump.ok("provision")
    pump.ok("time", "sync")
    pump.ok("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--yes")
    r = pump.ok("programme", NIGHT_RAMP, "--yes")
    assert "read it back: identical" in r.out
    st = json.loads(pump.ok("status", "--json").out)
    assert st["daily_ng"] == 537500 and st["state"] == "infusing"
    log = json.loads(pump.ok("log", "--json").out)
    assert [e["event"] for e in log["entries"]][-5:] == ["refill_check", "refill", "programme", "programme_peak",
                                                         "resume"]


def test_pty_port_from_environment(pump, monkeypatch):
    from cli_helpers import run

    monkeypatch.setenv("PUMPCTL_PORT", pump.url)
    r = run(["--keys", pump.keys, "info", "--json"])
    assert r.rc == 0 and json.loads(r.out)["port"] == pump.url


def test_log_progress_bar_goes_to_stderr(pump):
    pump.ok("provision")
    for _ in range(30):
        pump.ok("alarms", "test")
    r = pump.ok("log", "--progress", "--csv")
    assert "entries" in r.err and "[" in r.err and "seq,t_s" in r.out
    assert len(r.out.strip().splitlines()) >= 31


def _env(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(REPO, "host") + os.pathsep + env.get("PYTHONPATH", "")
    env["PUMPCTL_KEYS"] = str(tmp_path / "keys.toml")
    env.pop("PUMPCTL_PORT", None)
    return env


def test_python_dash_m_pumpctl_against_emulate_subprocess(tmp_path):
    """`pumpctl emulate` in its own process, and `python -m pumpctl` talking to it over TCP."""
    env = _env(tmp_path)
    emu = subprocess.Popen([sys.executable, "-m", "pumpctl", "emulate", "--no-pty", "--port", "0"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = emu.stdout.readline()
        assert line.startswith("tcp: socket://"), line
        url = line.split()[1]
        out = subprocess.run([sys.executable, "-m", "pumpctl", "--port", url, "status", "--json"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["state"] == "stopped"
        out = subprocess.run([sys.executable, "-m", "pumpctl", "--port", url, "sim", "warp", "xyz"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and "fix:" in out.stderr
    finally:
        emu.terminate()
        emu.wait(10)


def test_micropython_runtime_same_cli_session(tmp_path):
    """The same verbs against the firmware running under real MicroPython (WebAssembly, Node)."""
    import shutil

    if shutil.which("node") is None or not os.path.isdir(os.path.join(REPO, "node_modules")):
        pytest.skip("node / node_modules missing: make node_modules")
    p = Pump(tmp_path, via="tcp", no_pty=True, runtime="micropython")
    try:
        p.ok("provision")
        p.ok("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--yes")
        assert "identical" in p.ok("programme", NIGHT_RAMP, "--yes").out
        w = json.loads(p.ok("sim", "warp", "30d", "--json").out)
        assert w["state"] == "infusing" and 11000000 < w["reservoir_nl"] < 12500000
        st = json.loads(p.ok("status", "--json").out)
        assert st["daily_ng"] == 537500
    finally:
        p.stop()
