"""Shared helpers for the emulator tests: pyserial clients, frame waits, a subprocess emulator."""
import io
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import serial

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOST = os.path.join(ROOT, "host")
FIRMWARE = os.path.join(ROOT, "firmware")
sys.path.insert(0, HOST)

from pumpctl import fwpath  # noqa: E402

fwpath.ensure()
import protocol  # noqa: E402

NODE = shutil.which("node")


def _mpy_available():
    if not NODE:
        return False
    pkg = os.path.join("@micropython", "micropython-webassembly-pyscript", "micropython.mjs")
    if os.path.isfile(os.path.join(ROOT, "node_modules", pkg)):
        return True
    nm = os.environ.get("MPY_NODE_MODULES")
    return bool(nm) and os.path.isfile(os.path.join(nm, pkg))


HAVE_MPY = _mpy_available()
need_mpy = pytest.mark.skipif(not HAVE_MPY, reason="MicroPython WASM package not installed (make setup)")

# ---- client helpers ---------------------------------------------------------------------
_ids = iter(range(1, 1 << 30))


def request(port, cmd, args=None, timeout=10.0):
    """Send one request frame; return the reply dict with the same id (events are skipped)."""
    rid = next(_ids)
    port.write(protocol.encode({"id": rid, "cmd": cmd, "args": args or {}}))
    return read_until(port, lambda o: o.get("id") == rid, timeout)


def read_until(port, pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = port.readline()
        if not line:
            continue
        obj = protocol.decode_line(line.rstrip(b"\n"))
        assert isinstance(obj, dict), (line, obj)
        if pred(obj):
            return obj
    raise AssertionError("no matching frame within %.0f s" % timeout)


def open_port(url):
    return serial.serial_for_url(url, baudrate=115200, timeout=0.5)


class EmuProc:
    """``python -m pumpctl.emulator`` as a subprocess; parses the printed pty/tcp lines."""

    def __init__(self, *args):
        env = dict(os.environ, PYTHONPATH=HOST + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.log = io.BytesIO()
        self.p = subprocess.Popen([sys.executable, "-m", "pumpctl.emulator", *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env, cwd=ROOT)
        self.pty = self.tcp = None
        while (self.pty is None and "--no-pty" not in args) or (self.tcp is None and "--no-tcp" not in args):
            line = self.p.stdout.readline().decode()
            if not line:
                raise AssertionError("emulator exited: %s" % self.p.stderr.read().decode())
            if line.startswith("pty: "):
                self.pty = line[5:].strip()
            elif line.startswith("tcp: "):
                self.tcp = line[5:].strip()

    def stop(self, sig=signal.SIGTERM):
        self.p.send_signal(sig)
        try:
            _out, err = self.p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            _out, err = self.p.communicate()
        self.stderr = err.decode()
        return self.p.returncode


def status_round_trips(port, n=200):
    """Seconds per ``status`` request/reply over ``port`` (reads whole chunks, not byte by byte)."""
    frame = protocol.encode({"id": 4242, "cmd": "status", "args": {}})
    rtts = []
    for _ in range(n):
        t0 = time.perf_counter()
        port.write(frame)
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = port.read(port.in_waiting or 1)
            assert chunk, "no reply to status"
            buf += chunk
        rtts.append(time.perf_counter() - t0)
        assert b'"id":4242' in buf and b'"ok":true' in buf, buf
    return rtts
