"""Fill .venv/wheelhouse with the wheels a fresh `pip install pumpctl[plot]` needs (make venv runs it).

tests/host/test_wheel.py installs the built wheel into a fresh venv with `pip --no-index
--find-links .venv/wheelhouse`, so that test needs no network; the versions are the pins in
requirements-dev.txt (one source of truth). pip's download cache makes a re-run cheap.
"""
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# pumpctl's runtime dependencies and the [plot] extra's closure (pyproject.toml), plus the build backend
NAMES = ("pyserial", "transitions", "six", "matplotlib", "contourpy", "cycler", "fonttools", "kiwisolver", "numpy",
         "packaging", "pillow", "pyparsing", "python-dateutil", "tzdata", "setuptools")


def pins(path=os.path.join(REPO, "requirements-dev.txt")):
    found = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"([A-Za-z0-9_.-]+)==([^\s#]+)", line)
            if m:
                found[m.group(1).lower()] = "%s==%s" % m.groups()
    missing = [n for n in NAMES if n not in found]
    if missing:
        raise SystemExit("wheelhouse: no pin in requirements-dev.txt for %s" % ", ".join(missing))
    return [found[n] for n in NAMES]


def main(dest=os.path.join(REPO, ".venv", "wheelhouse")):
    os.makedirs(dest, exist_ok=True)
    return subprocess.call([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                            "--no-deps", "--only-binary", ":all:", "-d", dest] + pins())


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
