"""Make the flat firmware modules (firmware/*.py) importable from the host.

The firmware is a set of flat modules (``import compat``, ``import protocol``)
because that is how MicroPython imports files on the board. The host shares
them rather than keeping a copy, so it puts their directory on ``sys.path``:

1. Source checkout / editable install: ``<repo>/firmware``, found relative to
   this file (``host/pumpctl/../../firmware``).
2. Installed wheel (``pip install .``): pyproject maps ``firmware/`` to the
   package ``pumpctl._firmware``, so the same files land in
   ``site-packages/pumpctl/_firmware/``.

The first directory that holds ``compat.py`` wins. Usage::

    from pumpctl import fwpath
    fwpath.ensure()
    import protocol
"""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_CANDIDATES = (
    os.path.normpath(os.path.join(_HERE, os.pardir, os.pardir, "firmware")),
    os.path.join(_HERE, "_firmware"),
)


def firmware_dir():
    """Absolute path of the firmware modules directory; raises ImportError if none."""
    for path in _CANDIDATES:
        if os.path.isfile(os.path.join(path, "compat.py")):
            return path
    raise ImportError("firmware modules not found (looked in: %s)" % ", ".join(_CANDIDATES))


def ensure():
    """Put the firmware directory first on sys.path (idempotent); returns it."""
    path = firmware_dir()
    if path not in sys.path:
        sys.path.insert(0, path)
    return path
