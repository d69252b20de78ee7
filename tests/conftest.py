"""Shared pytest setup for tests/ (CPython lane).

- firmware/ is flat modules (MicroPython imports files by name), so it goes first
  on sys.path: tests do `import compat`, `import schedule`, exactly as on the pump.
- host/ too, so `import pumpctl` works even without the editable install.
- Hypothesis: no per-example deadline (tests assert behaviour, not timing; CI
  machines are slow), and derandomized when CI is set so a red run reproduces.
"""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE_DIR = os.path.join(REPO, "firmware")
HOST_DIR = os.path.join(REPO, "host")

for _p in (HOST_DIR, FIRMWARE_DIR):  # firmware ends up first
    if _p not in sys.path:
        sys.path.insert(0, _p)

try:
    from hypothesis import settings
except ImportError:  # hypothesis is in requirements-dev.txt; tolerate its absence
    settings = None

if settings is not None:
    settings.register_profile("dev", deadline=None)
    settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
