"""Python side of ``--runtime micropython``: runs mpy_bridge.mjs under Node as a subprocess.

``MpyBackend`` has the same interface as ``emulator.LocalBackend`` (boot/feed/tick with the
emulator's clock value, then ``next_due_mono``, ``pump_now``, ``noise_ppm`` and buzzer/LED
notes), so the emulator's pty/TCP front end does not know which runtime it drives.
Line protocol: see the header of mpy_bridge.mjs.
"""
import os
import shutil
import subprocess

from pumpctl.emulator.ops import BackendOps

_HERE = os.path.dirname(os.path.abspath(__file__))
BRIDGE = os.path.join(_HERE, "mpy_bridge.mjs")


class BridgeError(RuntimeError):
    pass


class MpyBackend(BackendOps):
    name = "micropython"

    def __init__(self, opts, node=None):
        from pumpctl import fwpath

        node = node or os.environ.get("NODE") or shutil.which("node")
        if not node:
            raise BridgeError("--runtime micropython needs Node.js (node) on PATH; install Node 18+")
        fw = opts.get("firmware_dir") or fwpath.firmware_dir()
        cmd = [node, BRIDGE, "--fw", fw, "--build", opts["build"], "--model", str(opts["model"]),
               "--serial", str(opts["serial"]), "--seed", str(opts["_seed"]), "--start-t-s", str(opts["_start_t_s"])]
        if opts.get("state"):
            cmd += ["--state", os.path.abspath(opts["state"])]
        # stderr is inherited: firmware prints and bridge failures land in the emulator's log.
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self._r = self.proc.stdout
        self._w = self.proc.stdin
        first = self._readline()
        if not first.startswith("READY"):
            self.close()
            raise BridgeError("MicroPython bridge failed to start: %s" % first[2:] if first else "no output")
        self.version = first[6:]
        self.next_due_mono = 0
        self.pump_now = 0
        self.noise_ppm = 0
        self._notes = []

    def _readline(self):
        line = self._r.readline()
        return line.decode("utf-8", "replace").rstrip("\n")

    def _call(self, op, mono_s, data=b""):
        req = "%s %d%s\n" % (op, mono_s, (" " + data.hex()) if data else "")
        try:
            self._w.write(req.encode())
        except (BrokenPipeError, ValueError) as e:
            raise BridgeError("MicroPython bridge exited (rc=%s)" % self.proc.poll()) from e
        line = self._readline()
        if line.startswith("E "):
            raise BridgeError("MicroPython: " + line[2:])
        if not line.startswith("R "):
            raise BridgeError("MicroPython bridge: unexpected reply %r (rc=%s)" % (line[:200], self.proc.poll()))
        parts = line[2:].split(" ")
        out = b"" if parts[0] == "-" else bytes.fromhex(parts[0])
        self.next_due_mono = int(parts[1])
        self.pump_now = int(parts[2])
        self.noise_ppm = int(parts[3])
        for tok in parts[4:]:
            mono, pump, kind, value = tok.split(":", 3)
            self._notes.append((int(mono), int(pump), kind, value.replace("\x1f", " ")))
        return out

    def take_notes(self):
        n, self._notes = self._notes, []
        return n

    def close(self):
        p = self.proc
        if p is None:
            return
        self.proc = None
        try:
            if p.poll() is None:
                try:
                    self._w.write(b"Q\n")
                    self._w.flush()
                except OSError:
                    pass
                try:
                    p.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        finally:
            for f in (self._w, self._r):
                try:
                    f.close()
                except OSError:
                    pass
