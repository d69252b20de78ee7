"""tools/mutation/line_tests.py: a mutant keeps the tests that execute the statement it changes.

The expected lines are read off the hand-written module below (its line numbers are fixed by the
text), not computed by the code under test."""
import os
import sys
import textwrap

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "mutation"))
import line_tests  # noqa: E402

# The shape mutmut 3 writes: the original as `x_f__mutmut_orig`, each mutant beside it, the
# same lines but one.
ORIG = textwrap.dedent('''\
    def x_f__mutmut_orig(a, b=2):
        if a > b:
            return a + b
        c = {"k": a,
             "j": b}
        try:
            c["k"] += 1
        except KeyError:
            pass
        return c
    ''')
CHANGES = {1: ("a > b", "a >= b"), 2: ('"j": b', '"j": None'), 3: ("b=2", "b=3"),
           4: ("KeyError", "IndexError"), 5: ("a + b", "a - b")}
MODULE = ORIG + "".join(ORIG.replace("mutmut_orig", "mutmut_%d" % n).replace(old, new)
                        for n, (old, new) in sorted(CHANGES.items()))


def _selector(tmp_path, covered):
    src = tmp_path / "src"
    src.mkdir()
    (src / "m.py").write_text(MODULE)
    path = str((src / "m.py").resolve())
    return line_tests.Selector(str(tmp_path), {path: covered}), path


def test_a_mutant_maps_to_the_lines_of_the_statement_it_changes(tmp_path):
    sel, path = _selector(tmp_path, {})
    assert sel.lines("m.x_f__mutmut_1") == (path, {2})            # an if's condition: its header only
    assert sel.lines("m.x_f__mutmut_2") == (path, {4, 5})         # a line of a two-line statement: both
    assert sel.lines("m.x_f__mutmut_5") == (path, {3})
    assert sel.lines("m.x_f__mutmut_3") == (path, None)           # a default changed: no mapping
    assert sel.lines("m.x_f__mutmut_4") == (path, None)           # an except clause: no mapping


def test_only_tests_that_execute_the_statement_are_kept(tmp_path):
    covered = {2: {"t_all", "t_big"}, 3: {"t_big"}, 4: {"t_all"}, 5: {"t_all"}, 10: {"t_all"}}
    sel, _ = _selector(tmp_path, covered)
    tests = ["t_all", "t_big", "t_unmeasured"]
    assert sel.select("m.x_f__mutmut_5", tests) == ["t_big", "t_unmeasured"]
    assert sel.select("m.x_f__mutmut_2", tests) == ["t_all", "t_unmeasured"]
    assert sel.select("m.x_f__mutmut_3", tests) == tests          # unmapped: mutmut's selection
    assert sel.select("m.x_f__mutmut_5", ["t_all"]) == []         # no test reaches it: "no tests"


def test_a_documented_equivalent_is_skipped_only_while_its_code_is_unchanged(tmp_path, monkeypatch):
    import equivalents

    sel, path = _selector(tmp_path, {})
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("| mutant | change | why |\n|---|---|---|\n"
                               "| `m.x_f__mutmut_5`, `1` (was `7`) | ... | ... |\n")
    monkeypatch.setattr(equivalents, "DOCS", str(docs))
    monkeypatch.setattr(equivalents, "VERIFIED", str(docs / "equivalents.verified"))
    monkeypatch.setattr(equivalents, "SKIPPED", str(tmp_path / "skipped.txt"))
    assert equivalents.documented() == {"m.x_f__mutmut_5", "m.x_f__mutmut_1"}   # not 7: a remark
    fp = sel.fingerprint("m.x_f__mutmut_5")
    assert fp != sel.fingerprint("m.x_f__mutmut_1") and len(fp) == 16
    assert equivalents.update(["m.x_f__mutmut_5", "m.x_f__mutmut_2"], set(), {"m"}, str(tmp_path)) == 1
    skip = equivalents.Skipper(str(tmp_path))
    assert skip.verified("m.x_f__mutmut_5")                 # documented, seen surviving, unchanged
    assert not skip.verified("m.x_f__mutmut_1")             # documented, never seen surviving
    assert not skip.verified("m.x_f__mutmut_2")             # survived, not documented
    # The original function changes: the mutant's fingerprint no longer matches, so it runs again.
    src = tmp_path / "src" / "m.py"
    src.write_text(src.read_text().replace('c["k"] += 1', 'c["k"] += 2'))
    assert not equivalents.Skipper(str(tmp_path)).verified("m.x_f__mutmut_5")
    assert (tmp_path / "skipped.txt").read_text() == "m.x_f__mutmut_5\n"
