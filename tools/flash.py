#!/usr/bin/env python3
"""`make flash`: copy build/ to a Pico with mpremote, and explain a failure instead of a traceback.

    python tools/flash.py [--port auto|/dev/ttyACM0] [--build build] [--mpremote PATH] [-v]

Removes the old firmware files on the board (the persistent therapy state in /pump is kept), copies every
.py/.mpy of build/ (and build/boards/), resets. mpremote's own errors are translated (issue 10, defect 13):
no device -> how to connect one; a board running the pump (REPL detached) -> the safe-mode jumper
(docs/board.md "Flashing" step 2); permission -> the dialout group. -v shows mpremote's full output.
Exit: 0 done, 2 nothing built, 3 no board / not reachable, 1 other mpremote failure.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys

CLEAN = ("import os; L = os.listdir('/'); [os.remove(n) for n in L if n[-3:] == '.py' or n[-4:] == '.mpy']; "
         "'boards' in L and ([os.remove('/boards/' + n) for n in os.listdir('/boards')], os.rmdir('/boards'))")
BOARD_DOC = "docs/board.md"

# (substring of mpremote's output, exit code, cause, fix), first match wins
KNOWN = (
    ("no device found", 3, "mpremote found no MicroPython board on USB",
     "plug the Pico in with a data cable (not charge-only); a board showing as the RPI-RP2 drive needs the "
     "MicroPython UF2 first (%s, step 1); 'pumpctl ports' lists serial ports; or give PORT=/dev/ttyACM0" % BOARD_DOC),
    ("could not enter raw repl", 3, "the board does not answer the REPL: it is running the pump firmware, which "
     "detaches the REPL (Ctrl-C bytes are protocol data)",
     "fit the safe-mode jumper (GP22 to GND), reset the board (unplug/replug), run make flash again, then remove "
     "the jumper and reset (%s, Flashing step 2)" % BOARD_DOC),
    ("transporterror", 3, "mpremote lost the REPL: the board is probably running the pump firmware (REPL detached)",
     "fit the safe-mode jumper (GP22 to GND), reset the board, run make flash again (%s, Flashing step 2)"
     % BOARD_DOC),
    ("permission denied", 3, "no permission to open the serial port",
     "sudo usermod -aG dialout $USER, then log out and in"),
    ("failed to access", 3, "the serial port cannot be opened (in use, or no permission)",
     "close other programs using it (pumpctl, a terminal, another mpremote); check the dialout group"),
    ("device or resource busy", 3, "the serial port is in use by another program",
     "close the other terminal / pumpctl / mpremote session using it"),
)


def command(mpremote, port, build):
    files = sorted(os.path.basename(p) for p in glob.glob(os.path.join(build, "*.py")) +
                   glob.glob(os.path.join(build, "*.mpy")))
    boards = sorted(glob.glob(os.path.join(build, "boards", "*.mpy")))
    cmd = [mpremote, "connect", port, "exec", CLEAN, "+", "fs", "cp"] + files + [":"]
    if boards:
        cmd += ["+", "fs", "mkdir", ":boards", "+", "fs", "cp"] + [os.path.join("boards", os.path.basename(b))
                                                                    for b in boards] + [":boards/"]
    return cmd + ["+", "reset"], files


def explain(output):
    low = output.lower()
    for needle, rc, cause, fix in KNOWN:
        if needle in low:
            return rc, cause, fix
    last = [ln for ln in output.strip().splitlines() if ln.strip()][-1:] or ["(no output)"]
    return 1, "mpremote failed: %s" % last[0].strip(), "run with -v for mpremote's full output; see %s" % BOARD_DOC


def main(argv=None):
    p = argparse.ArgumentParser(prog="flash", description=__doc__.split("\n")[0],
                                epilog="example: python tools/flash.py --port /dev/ttyACM0")
    p.add_argument("--port", default="auto", help="serial device, or auto (the first board mpremote finds)")
    p.add_argument("--build", default="build", help="directory made by make firmware (default build)")
    p.add_argument("--mpremote", default=None, help="mpremote executable (default: next to this Python, else PATH)")
    p.add_argument("--probe-timeout", type=float, default=20.0, help="seconds to wait for the REPL (default 20)")
    p.add_argument("-v", "--verbose", action="store_true", help="show mpremote's full output")
    a = p.parse_args(argv)
    mp = a.mpremote or os.path.join(os.path.dirname(sys.executable), "mpremote")
    if not os.path.exists(mp):
        mp = shutil.which("mpremote") or mp
    if not glob.glob(os.path.join(a.build, "*.mpy")) and not glob.glob(os.path.join(a.build, "*.py")):
        sys.stderr.write("flash: error: nothing to copy in %s/\n  fix: make firmware first (make flash does it)\n"
                         % a.build)
        return 2
    cmd, files = command(mp, a.port, a.build)
    try:
        # Probe the REPL first, with a deadline: a board running the pump firmware answers no REPL, and mpremote
        # can wait for it forever (seen against the emulator's pty).
        probe = subprocess.run([mp, "connect", a.port, "exec", "print('flash-probe-ok')"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=a.probe_timeout)
        if probe.returncode or "flash-probe-ok" not in probe.stdout:
            r = probe
        else:
            r = subprocess.run(cmd, cwd=a.build, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except subprocess.TimeoutExpired:
        sys.stderr.write("flash: error: %s did not give a REPL within %s s: the board is running the pump firmware, "
                         "which detaches the REPL\n  fix: %s\n" % (a.port, a.probe_timeout, KNOWN[1][3]))
        return 3
    except OSError as e:
        sys.stderr.write("flash: error: cannot run mpremote (%s)\n  fix: make venv (installs mpremote), or pass "
                         "--mpremote PATH\n" % e.strerror)
        return 1
    if a.verbose:
        sys.stderr.write(r.stdout)
    if r.returncode == 0:
        print("flashed %d files to %s and reset the board" % (len(files), a.port))
        return 0
    rc, cause, fix = explain(r.stdout)
    sys.stderr.write("flash: error: %s\n  fix: %s\n" % (cause, fix))
    return rc


if __name__ == "__main__":
    sys.exit(main())
