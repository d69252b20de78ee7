"""tools/trace.py: requirement -> tests -> pass/fail, gaps fail the step (issue 5)."""
import importlib.util
import json
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("trace_tool", os.path.join(REPO, "tools", "trace.py"))
trace = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(trace)

REQS_TOML = '''
[[req]]
id = "A-1"
aliases = ["old:a"]
text = "a"
source = "issue 9"
quote = "qa"

[[req]]
id = "B-2"
text = "b"
source = "issue 9"
quote = "qb"

[[req]]
id = "C-3"
text = "c"
source = "issue 9"
quote = "qc"

[[req]]
id = "D-4"
text = "d"
source = "issue 9"
quote = "qd"
'''

HOST_TEST = '''
import pytest

@pytest.mark.req("A-1")
def test_a():
    pass

@pytest.mark.req("B-2", "NOPE-9")
@pytest.mark.parametrize("x", [1, 2])
def test_b(x):
    pass

@pytest.mark.req("old:a")
class TestK:
    def test_k(self):
        pass
'''

FW_TEST = '''
REQS = {"test_c": ["C-3"], "test_gone": ["A-1"]}

def test_c():
    pass
'''

JUNIT = '''<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="5">
<testcase classname="tests.host.test_h" name="test_a" file="tests/host/test_h.py"/>
<testcase classname="tests.host.test_h" name="test_b[1]" file="tests/host/test_h.py"/>
<testcase classname="tests.host.test_h" name="test_b[2]" file="tests/host/test_h.py"><failure message="x"/></testcase>
<testcase classname="tests.host.test_h.TestK" name="test_k" file="tests/host/test_h.py"/>
<testcase classname="tests.fw.test_f" name="test_c" file="tests/fw/test_f.py"/>
</testsuite></testsuites>'''


def _repo(tmp_path, junit=True, mpy_failed=0, fw=FW_TEST):
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "requirements.toml").write_text(REQS_TOML)
    (tmp_path / "tests" / "host").mkdir(parents=True)
    (tmp_path / "tests" / "fw").mkdir(parents=True)
    (tmp_path / "tests" / "host" / "test_h.py").write_text(HOST_TEST)
    (tmp_path / "tests" / "fw" / "test_f.py").write_text(fw)
    rep = tmp_path / ".reports"
    rep.mkdir()
    if junit:
        (rep / "pytest.xml").write_text(JUNIT)
    (rep / "micropython.counts.json").write_text(json.dumps({"passed": 3, "failed": mpy_failed, "skipped": 0}))
    return tmp_path


def _run(repo, *extra):
    rc = trace.main(["--repo", str(repo), *extra])
    data = json.loads((repo / ".reports" / "trace.json").read_text())
    return rc, {r["id"]: r for r in data["requirements"]}, data["unknown_ids"]


@pytest.mark.req("TRACE")
def test_statuses_gap_fail_pass_unknown_and_lanes(tmp_path):
    rc, rows, unknown = _run(_repo(tmp_path))
    assert rc == 1
    assert rows["A-1"]["status"] == "pass" and len(rows["A-1"]["tests"]) == 2      # marker + class alias
    assert rows["B-2"]["status"] == "fail"                                          # one parameter failed
    assert rows["C-3"]["status"] == "pass"
    assert rows["C-3"]["tests"][0]["lanes"] == {"pytest": "pass", "micropython": "pass"}
    assert rows["D-4"]["status"] == "gap"
    ids = sorted(u["id"] for u in unknown)
    assert ids == ["!missing-test:test_gone", "NOPE-9"]
    md = (tmp_path / ".reports" / "trace.md").read_text()
    assert "| D-4 | GAP |" in md and "**none**" in md and "NOPE-9" in md


@pytest.mark.req("TRACE")
def test_micropython_lane_failure_fails_fw_requirements(tmp_path):
    _, rows, _ = _run(_repo(tmp_path, mpy_failed=1))
    assert rows["C-3"]["status"] == "fail"


@pytest.mark.req("TRACE")
def test_not_run_and_a_clean_pass(tmp_path):
    fw = FW_TEST.replace(', "test_gone": ["A-1"]', "") + '\n\ndef test_d():\n    pass\n'
    fw = fw.replace('"test_c": ["C-3"]', '"test_c": ["C-3"], "test_d": ["D-4"]')
    repo = _repo(tmp_path, junit=False, fw=fw)
    (repo / "tests" / "host" / "test_h.py").write_text(HOST_TEST.replace('"B-2", "NOPE-9"', '"B-2"'))
    rc, rows, _ = _run(repo)
    assert rows["A-1"]["status"] == "not-run" and rc == 1
    rc, rows, _ = _run(repo, "--allow-not-run")
    assert rc == 0
    (repo / ".reports" / "pytest.xml").write_text(JUNIT.replace('<failure message="x"/>', ""))
    rc, rows, unknown = _run(repo)
    assert rc == 0 and not unknown and {r["status"] for r in rows.values()} == {"pass"}


@pytest.mark.req("TRACE")
def test_every_requirement_of_this_repo_has_a_test():
    reqs, alias = trace.load_requirements(os.path.join(REPO, "requirements"))
    tests = trace.scan_tests(REPO, ["tests", "hil"])
    rows, unknown = trace.trace(reqs, alias, tests, {}, {})
    assert [r["id"] for r in rows if r["status"] == "gap"] == []
    assert unknown == []


def _norm(s):
    return re.sub(r"\s+", " ", s).strip()


@pytest.mark.req("TRACE")
def test_seed_quotes_are_verbatim():
    seeds = None
    for cand in (os.path.join(REPO, os.pardir, "shared", "seeds"), "/work/shared/seeds"):
        if os.path.isdir(cand):
            seeds = cand
            break
    if seeds is None:
        pytest.skip("the labeling seeds (../shared/seeds) are not next to this checkout")
    reqs, _ = trace.load_requirements(os.path.join(REPO, "requirements"))
    checked = 0
    for r in reqs.values():
        path = os.path.join(seeds, r["source"])
        if r["source"].endswith(".txt"):
            with open(path, encoding="utf-8") as f:
                assert _norm(r["quote"]) in _norm(f.read()), r["id"]
            checked += 1
    assert checked >= 20


# --- trace honesty (issue 8): test kinds and safety requirements' oracles ---------------------
KIND_TOML = '''
safety = ["S-1", "S-2"]

[[req]]
id = "S-1"
text = "s1"
source = "issue 8"
quote = "q"

[[req]]
id = "S-2"
text = "s2"
source = "issue 8"
quote = "q"

[[req]]
id = "S-3"
text = "s3"
source = "issue 8"
quote = "q"

[[req]]
id = "N-4"
text = "n4"
source = "issue 8"
quote = "q"
'''

KIND_HOST = '''
import pytest

@pytest.mark.req("S-1")
@pytest.mark.oracle("fraction")
def test_s1():
    pass

@pytest.mark.req("S-2", "N-4")
@pytest.mark.change_detector
def test_s2():
    pass

@pytest.mark.req("S-3")
@pytest.mark.host_vs_pump
def test_s3():
    pass
'''

KIND_FW = '''
REQS = {"test_f1": ["S-2"], "test_f2": ["N-4"]}
ORACLES = {"test_f1": "label"}
CHANGE_DETECTORS = ("test_f2",)

def test_f1():
    pass

def test_f2():
    pass
'''


def _kind_repo(tmp_path, fw=KIND_FW):
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "r.toml").write_text(KIND_TOML)
    (tmp_path / "tests" / "host").mkdir(parents=True)
    (tmp_path / "tests" / "fw").mkdir(parents=True)
    (tmp_path / "tests" / "host" / "test_k.py").write_text(KIND_HOST)
    (tmp_path / "tests" / "fw" / "test_kf.py").write_text(fw)
    (tmp_path / ".reports").mkdir()
    (tmp_path / ".reports" / "micropython.counts.json").write_text(json.dumps({"passed": 2, "failed": 0}))
    (tmp_path / ".reports" / "pytest.xml").write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.host.test_k" name="test_s1" file="tests/host/test_k.py"/>'
        '<testcase classname="tests.host.test_k" name="test_s2" file="tests/host/test_k.py"/>'
        '<testcase classname="tests.host.test_k" name="test_s3" file="tests/host/test_k.py"/>'
        '</testsuite></testsuites>')
    return tmp_path


@pytest.mark.req("VER-TRACE-KINDS")
@pytest.mark.oracle("spec")
def test_kinds_and_safety_oracles(tmp_path):
    """Expected kinds written by hand from the fixture's markers (not from the tool's output)."""
    repo = _kind_repo(tmp_path)
    rc, rows, unknown = _run(repo)
    kinds = {(t["test"]): t["kind"] for r in rows.values() for t in r["tests"]}
    assert kinds == {"test_s1": "oracle:fraction", "test_s2": "change_detector", "test_s3": "host_vs_pump",
                     "test_f1": "oracle:label", "test_f2": "change_detector"}
    assert rows["S-1"]["safety"] and rows["S-1"]["oracle"] == "ok" and rows["S-1"]["status"] == "pass"
    # S-2 has an oracle only through the tests/fw ORACLES table
    assert rows["S-2"]["oracle"] == "ok"
    # S-3 is not a safety requirement: its host-vs-pump test is enough for the trace
    assert not rows["S-3"]["safety"] and rows["S-3"]["oracle"] is None and rows["S-3"]["status"] == "pass"
    assert not rows["N-4"]["safety"] and rows["N-4"]["oracle"] is None
    assert rc == 0
    md = (repo / ".reports" / "trace.md").read_text()
    assert "## Safety requirements and their oracle tests" in md and "| S-1 | yes |" in md


@pytest.mark.req("VER-TRACE-KINDS")
@pytest.mark.oracle("spec")
@pytest.mark.parametrize("how", ["safety = true", "safety_pending_oracle"])
def test_planted_safety_requirement_with_only_a_host_vs_pump_test_fails(tmp_path, how):
    """A safety requirement whose only test is host_vs_pump fails the trace, whether it is marked
    `safety = true` or listed under the old `safety_pending_oracle` key (no pending excuse left)."""
    repo = _kind_repo(tmp_path)
    toml = repo / "requirements" / "r.toml"
    text = toml.read_text()
    if how == "safety = true":
        text = text.replace('id = "S-3"\ntext = "s3"\nsource = "issue 8"\nquote = "q"\n',
                            'id = "S-3"\ntext = "s3"\nsource = "issue 8"\nquote = "q"\nsafety = true\n')
    else:
        text = text.replace('safety = ["S-1", "S-2"]\n', 'safety = ["S-1", "S-2"]\nsafety_pending_oracle = ["S-3"]\n')
    assert text != toml.read_text()
    toml.write_text(text)
    rc, rows, _ = _run(repo)
    assert rows["S-3"]["safety"] and rows["S-3"]["oracle"] == "missing" and rows["S-3"]["status"] == "no-oracle"
    assert rc == 1
    assert "| S-3 | **NO** |" in (repo / ".reports" / "trace.md").read_text()


@pytest.mark.req("VER-TRACE-KINDS")
@pytest.mark.oracle("spec")
def test_safety_requirement_without_an_oracle_fails(tmp_path):
    """Boundary: S-2's only oracle removed -> no-oracle, exit 1; a change detector does not count."""
    repo = _kind_repo(tmp_path, fw=KIND_FW.replace('ORACLES = {"test_f1": "label"}', "ORACLES = {}"))
    rc, rows, _ = _run(repo)
    assert rows["S-2"]["oracle"] == "missing" and rows["S-2"]["status"] == "no-oracle"
    assert rc == 1


@pytest.mark.req("VER-TRACE-KINDS")
@pytest.mark.oracle("spec")
def test_unknown_safety_id_fails(tmp_path):
    repo = _kind_repo(tmp_path)
    toml = (repo / "requirements" / "r.toml")
    toml.write_text(toml.read_text().replace('safety = ["S-1", "S-2"]', 'safety = ["S-1", "S-2", "ZZ-9"]'))
    rc, _, _ = _run(repo)
    assert rc == 1


@pytest.mark.req("VER-TRACE-KINDS")
@pytest.mark.oracle("spec")
def test_this_repo_kinds_scan_and_safety_oracles():
    """The real repository: every test file's kind tables are literals the scan can read, and every
    safety requirement names at least one oracle test (no pending list)."""
    reqs, alias = trace.load_requirements(os.path.join(REPO, "requirements"))
    safety = trace.load_safety(os.path.join(REPO, "requirements"))
    tests = trace.scan_tests(REPO, ["tests", "hil"])
    kinds = trace.scan_test_kinds(REPO, ["tests", "hil"])
    rows, _ = trace.trace(reqs, alias, tests, {}, {}, kinds, safety)
    assert not sorted(safety - set(reqs))
    assert len(safety) >= 48
    assert [r["id"] for r in rows if r.get("oracle") == "missing"] == []
