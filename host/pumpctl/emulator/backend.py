"""Emulator backends: where the firmware runs, behind one interface.

* ``LocalBackend``: the firmware in this CPython process;
* ``mpy_runtime.MpyBackend``: the same firmware under MicroPython (Node subprocess).

Both drive emu_glue (shared Python), so they behave identically: ``boot/feed/tick(mono_s[, data])``
return bytes to write; afterwards ``next_due_mono``, ``pump_now`` and ``noise_ppm`` are current
and ``take_notes()`` returns the buzzer/LED/power notes. Also the emulator's battery-backed RTC,
kept in the --state DIR across restarts, and the byte-path helpers (event routing, line noise).
"""
import json
import os
import sys
import time

from pumpctl.emulator.ops import BackendOps

PUMP_EPOCH_UNIX = 1704067200  # compat.PUMP_EPOCH_UNIX: design.md "pump epoch 2024-01-01T00:00:00Z"

CLOCK_FILE = ".emu_clock"  # in --state DIR; dot names are not flash files (flash.FileFlash.names)


class LocalBackend(BackendOps):
    """The firmware in this CPython process, driven through emu_glue (same glue as MicroPython)."""

    name = "cpython"

    def __init__(self, opts, modules=None):
        from pumpctl.emulator import glue as emu_glue
        from pumpctl import fwpath

        if modules is None:
            fw = opts.get("firmware_dir") or fwpath.firmware_dir()
            if fw not in sys.path:
                sys.path.insert(0, fw)
            import flash
            import hal_sim
            import runtime
        else:  # tests: (runtime, hal_sim, flash) modules
            runtime, hal_sim, flash = modules

        self.flash = flash.FileFlash(opts["state"]) if opts.get("state") else flash.MemoryFlash()
        factory = emu_glue.session_factory(runtime, hal_sim, self.flash, opts["build"], opts["model"],
                                           opts["serial"], opts["_seed"], opts["_start_t_s"])
        self.sup = emu_glue.Supervisor(factory)
        self.next_due_mono = 0
        self.pump_now = 0
        self.noise_ppm = 0

    def _call(self, op, mono_s, data=b""):
        out = self.sup.call(op, mono_s, data)
        s = self.sup.s
        self.next_due_mono = s.next_due_mono()
        self.pump_now = s.pump_now()
        self.noise_ppm = s.noise_ppm()
        return out

    def take_notes(self):
        return self.sup.s.take_notes()

    def close(self):
        pass


def make_backend(opts):
    if opts.get("runtime", "cpython") == "micropython":
        from pumpctl.emulator.mpy_runtime import MpyBackend

        return MpyBackend(opts)
    return LocalBackend(opts)


def _clock_file(state):
    return os.path.join(state, CLOCK_FILE) if state else None


def rtc_start(state):
    """SimHal's RTC at mono 0: the pump time saved at the last stop plus the real time the
    emulator was off (a battery-backed RTC keeps running); a new pump starts at real UTC now."""
    now_unix = int(time.time())
    path = _clock_file(state)
    if path:
        try:
            with open(path) as f:
                pump_t_s, unix_s = (int(x) for x in f.read().split()[:2])
            return pump_t_s + max(0, now_unix - unix_s)
        except (OSError, ValueError):
            pass
    return now_unix - PUMP_EPOCH_UNIX


def save_clock(state, pump_now):
    path = _clock_file(state)
    if not path or not os.path.isdir(state):
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (pump_now, int(time.time())))
    os.replace(tmp, path)


def is_event(line):
    """An unsolicited event frame ({"ev":...}) rather than a reply ({"id":...})."""
    star = line.rfind(b"*")
    if star < 0:
        return False
    try:
        obj = json.loads(line[:star])
    except ValueError:
        return False
    return isinstance(obj, dict) and "ev" in obj and "id" not in obj


def line_noise(rng, data, ppm):
    """Serial line noise: flip one random bit in bytes picked at ``ppm`` per million (Poisson)."""
    if ppm <= 0 or not data:
        return data
    buf = bytearray(data)
    p = ppm / 1e6
    i = int(rng.expovariate(p))  # gap to the next corrupted byte
    while i < len(buf):
        buf[i] ^= 1 << rng.randrange(8)
        i += 1 + int(rng.expovariate(p))
    return bytes(buf)
