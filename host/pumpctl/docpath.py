"""Where pumpctl's documentation is: the source checkout's docs/, or the copy a wheel ships.

pyproject maps docs/*.md to the package data ``pumpctl/docs/`` so `pip install` users get the
files the --help epilog and error messages name (issue 10, defect 4).
"""
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
_CANDIDATES = (os.path.normpath(os.path.join(_HERE, os.pardir, os.pardir, "docs")), os.path.join(_HERE, "docs"))


def find(name):
    """Path of docs/<name>: the checkout's, else the installed copy; the bare relative name if neither."""
    for d in _CANDIDATES:
        p = os.path.join(d, name)
        if os.path.isfile(p):
            return p
    return os.path.join("docs", name)
