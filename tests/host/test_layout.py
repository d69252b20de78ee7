"""The host package's rooms (issue 10, "Host package layout"): no import cycles, and the
dependencies point one way (cli -> clinical/link/emulator, clinical -> link; link and emulator
never import cli or clinical). Found statically with ast, so a lazy import inside a function counts too."""
import ast
import os
import pathlib

import pytest

HOST = pathlib.Path(__file__).resolve().parents[2] / "host"
# room -> rooms it must never import
FORBIDDEN = {"link": ("cli", "clinical", "emulator"), "emulator": ("cli", "clinical"), "clinical": ("cli", "emulator")}


def _graph(root=HOST):
    mods = {}
    for f in root.rglob("*.py"):
        name = ".".join(f.relative_to(root).with_suffix("").parts)
        mods[name[:-9] if name.endswith(".__init__") else name] = f
    edges = {m: set() for m in mods}
    for m, f in mods.items():
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pumpctl"):
                for a in node.names:
                    full = node.module + "." + a.name
                    edges[m].add(full if full in mods else node.module)
            elif isinstance(node, ast.Import):
                edges[m].update(a.name for a in node.names if a.name in mods)
    return edges


def _cycles(edges):
    found, done = [], set()

    def visit(n, stack):
        for t in sorted(edges.get(n, ())):
            if t in stack:
                found.append(stack[stack.index(t):] + [t])
            elif t not in done:
                visit(t, stack + [t])
        done.add(n)

    for m in sorted(edges):
        if m not in done:
            visit(m, [m])
    return found


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_cycle_finder_finds_a_planted_cycle():
    """The checker itself can fail: a two-module cycle is reported."""
    assert _cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b", "a"]]


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_rooms_depend_one_way(room):
    bad = []
    for mod, targets in _graph().items():
        if mod.startswith("pumpctl.%s" % room):
            for t in targets:
                parts = t.split(".")
                if len(parts) > 1 and parts[1] in FORBIDDEN[room]:
                    bad.append("%s imports %s" % (mod, t))
    assert bad == [], os.linesep.join(bad)
