"""Issue 10, defect 4: `pip install .` into a fresh venv gives every verb working.

Builds the wheel from this checkout (offline: --no-build-isolation with the dev venv's pinned
setuptools), installs it into a fresh venv from .venv/wheelhouse (`make venv` fills it:
tools/wheelhouse.py; --no-index, no network), and from a directory outside the checkout runs:
every verb's --help, a real session against `pumpctl emulate` (provision, clock, refill,
programme the night ramp, status, report), plot before and after `pip install 'pumpctl[plot]'`,
and `emulate --runtime micropython` without and with the npm package. Runs once per `make test`
(module-scoped fixture, marker `wheel`); about 40 s on 2 busy cores.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from cli_helpers import NIGHT_RAMP, REPO

pytestmark = [pytest.mark.wheel, pytest.mark.req("PKG-WHEEL"), pytest.mark.timeout(240)]
HOUSE = os.path.join(REPO, ".venv", "wheelhouse")
T = 60  # seconds: upper bound for any one command (a hang fails, never blocks CI)


def _pip(*args, python):
    r = subprocess.run([sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check", *args],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A fresh venv with only the built wheel and its declared dependencies; cwd outside the checkout."""
    if not os.path.isdir(HOUSE) or not any(f.startswith("pyserial-") for f in os.listdir(HOUSE)):
        pytest.fail("no wheelhouse at %s: run .venv/bin/python tools/wheelhouse.py (make venv runs it when "
                    "requirements-dev.txt or pyproject.toml change)" % HOUSE)
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
                        "--no-build-isolation", "--no-index", "-w", str(dist), REPO],
                       capture_output=True, text=True, timeout=180, cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = [str(p) for p in dist.glob("pumpctl-*.whl")]
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=T)
    py = str(venv / "bin" / "python")
    _pip("install", "--quiet", "--no-compile", "--no-index", "--find-links", HOUSE, wheel, python=py)
    work = tmp / "work"
    work.mkdir()
    shutil.copy(NIGHT_RAMP, work / "night_ramp.toml")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MPY_NODE_MODULES", "PUMPCTL_PORT")}
    env.update(PUMPCTL_KEYS=str(tmp / "keys.toml"), PATH=str(venv / "bin") + os.pathsep + env.get("PATH", ""))
    return {"py": py, "bin": str(venv / "bin" / "pumpctl"), "wheel": wheel, "work": str(work), "env": env,
            "venv": str(venv)}


def run(fresh, *args, env=None):
    return subprocess.run([fresh["bin"], *args], capture_output=True, text=True, timeout=T, cwd=fresh["work"],
                          env=env or fresh["env"], stdin=subprocess.DEVNULL)


class Emu:
    def __init__(self, fresh, *args, env=None):
        self.p = subprocess.Popen([fresh["bin"], "emulate", "--no-pty", "--port", "0", *args], cwd=fresh["work"],
                                  env=env or fresh["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.url = None
        for line in self.p.stdout:
            if line.startswith("tcp: "):
                self.url = line.split()[1]
                break
        if self.url is None:
            self.stop()
            raise AssertionError("emulator from the wheel did not start: %s" % self.p.stderr.read())

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.p.stdout.close()
        self.p.stderr.close()


def _site(fresh):
    r = subprocess.run([fresh["py"], "-c", "import pumpctl, pumpctl.fwpath as f; print(pumpctl.__file__); "
                        "print(f.firmware_dir())"], capture_output=True, text=True, timeout=T, cwd=fresh["work"],
                       env=fresh["env"])
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_installed_package_is_the_wheel_not_the_checkout(fresh):
    pkg, fw = _site(fresh)
    assert pkg.startswith(fresh["venv"]) and fw.startswith(fresh["venv"]) and fw.endswith("_firmware")
    r = subprocess.run([fresh["py"], "-c", "import matplotlib"], capture_output=True, text=True, timeout=T,
                       env=fresh["env"])
    assert r.returncode != 0  # plot is an extra: not installed by a plain `pip install .`


def test_every_verb_help_and_the_epilog_file_exists(fresh):
    from pumpctl.cli.main import build_parser

    verbs = sorted(next(a for a in build_parser()._actions if a.dest == "verb").choices)
    assert "report" in verbs and "emulate" in verbs and len(verbs) >= 25
    top = run(fresh, "--help", env=dict(fresh["env"], COLUMNS="400"))  # argparse wraps at COLUMNS
    assert top.returncode == 0, top.stderr
    m = re.search(r"Exit codes and --json fields: (\S+)", top.stdout)
    assert m and os.path.isfile(m.group(1)) and m.group(1).startswith(fresh["venv"]), top.stdout[-300:]
    # one interpreter for all the --help calls (a process each would cost ~0.5 s x 30 verbs)
    code = ("import contextlib, io, json, sys\nfrom pumpctl.cli.main import main\nout = {}\n"
            "for v in json.loads(sys.argv[1]):\n    buf = io.StringIO()\n"
            "    with contextlib.redirect_stdout(buf):\n        try:\n            main([v, '--help'])\n"
            "        except SystemExit as e:\n            out[v] = [e.code, buf.getvalue()]\n"
            "print(json.dumps(out))\n")
    r = subprocess.run([fresh["py"], "-c", code, json.dumps(verbs)], capture_output=True, text=True, timeout=T,
                       cwd=fresh["work"], env=fresh["env"])
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert sorted(got) == verbs
    bad = {v: c for v, (c, text) in got.items() if c not in (0, None) or ("usage: pumpctl " + v) not in text}
    assert bad == {}


def test_a_real_session_from_the_wheel(fresh):
    emu = Emu(fresh, "--serial", "WHEEL001")
    try:
        def ok(*args):
            r = run(fresh, "--port", emu.url, "--timeout", "10", *args)
            assert r.returncode == 0, (args, r.stdout, r.stderr)
            return r.stdout

        ok("provision")
        ok("time", "sync")
        ok("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--yes")
        ok("programme", "night_ramp.toml", "--yes")
        st = json.loads(ok("status", "--json"))
        assert st["serial"] == "WHEEL001" and st["daily_ng"] == 537500  # label: 537.5 mcg/day
        rep = json.loads(ok("report", "-o", "visit.html", "--json"))
        assert rep["programme"]["daily_ng"] == 537500 and os.path.isfile(os.path.join(fresh["work"], "visit.html"))
        r = run(fresh, "--port", emu.url, "plot", "-o", "p.png")
        assert r.returncode == 7 and "pip install 'pumpctl[plot]'" in r.stderr and "Traceback" not in r.stderr
        assert not os.path.exists(os.path.join(fresh["work"], "p.png"))
        _pip("install", "--quiet", "--no-compile", "--no-index", "--find-links", HOUSE, "pumpctl[plot] @ file://" + fresh["wheel"],
             python=fresh["py"])
        ok("plot", "-o", "p.png")
        with open(os.path.join(fresh["work"], "p.png"), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    finally:
        emu.stop()


def test_micropython_runtime_names_its_fix_then_runs(fresh):
    r = run(fresh, "emulate", "--runtime", "micropython", "--no-pty", "--port", "0")
    assert r.returncode == 7 and "Traceback" not in r.stderr, r.stderr
    assert "npm install @micropython/micropython-webassembly-pyscript@1.27.0" in r.stderr
    assert "MPY_NODE_MODULES" in r.stderr
    nm = os.path.join(REPO, "node_modules")
    if not os.path.isfile(os.path.join(nm, "@micropython", "micropython-webassembly-pyscript", "micropython.mjs")):
        pytest.fail("node_modules missing: run make node_modules")
    env = dict(fresh["env"], MPY_NODE_MODULES=nm)
    emu = Emu(fresh, "--runtime", "micropython", "--serial", "WHEELMPY", env=env)
    try:
        r = run(fresh, "--port", emu.url, "--timeout", "10", "info", "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["hello"]["serial"] == "WHEELMPY"
    finally:
        emu.stop()
