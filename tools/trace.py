"""Requirement traceability: requirement -> tests -> pass/fail (issue 5, `make trace`).

Reads
  requirements/*.toml              [[req]] id, text, source, quote, optional aliases, status
                                   (requirements.toml plus one file per area, e.g. safety.toml)
  test files (tests/, hil/)        @pytest.mark.req("ID", ...) on tests or classes, `pytestmark`,
                                   and module-level REQS = {"test_name": ["ID", ...]} (tests/fw
                                   cannot import pytest); found statically with `ast`
  reports (.reports/)              JUnit XML (pytest, HIL lanes) and *.counts.json (MicroPython
                                   lane: lane totals only, applied to every tests/fw test)
Test kinds (issue 8, "trace honesty"): a test says where its expected values come from:
  @pytest.mark.oracle("fraction"|"label"|"zlib"|"plant"|"model"|"spec"|...)  an independent oracle:
                                   the expected value is computed outside the code under test
  @pytest.mark.change_detector     goldens the code itself produced (catches change, not error)
  @pytest.mark.host_vs_pump        the host's computation compared with the pump's (agreement)
  tests/fw: module-level ORACLES = {"test_name": "fraction", ...}, CHANGE_DETECTORS = ("test_x",),
  HOST_VS_PUMP = ("test_y",). Unmarked tests are reported as "unclassified".
Safety requirements are listed in a requirements file's top-level `safety = ["ID", ...]` (or
`safety = true` on a [[req]]); each needs at least one passing-or-run oracle test, else the trace
fails ("no-oracle"). There is no pending list any more: an id under a leftover
`safety_pending_oracle` key is a safety requirement like any other and fails without an oracle.
Writes a Markdown report (and JSON) and exits 1 when any requirement has no test (a gap), a
traced test failed, a requirement's tests never ran, a safety requirement has no oracle test, or
a test names an unknown ID.

usage: python tools/trace.py [--reports .reports] [--out .reports/trace.md] [--json FILE]
                             [--requirements requirements/ | FILE] [--allow-not-run] [roots...]
"""
import argparse
import ast
import json
import os
import sys
import xml.etree.ElementTree as ET

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_ROOTS = ("tests", "hil")


# --- requirements ---------------------------------------------------------------------------
def _req_files(path):
    """A requirements file, or every *.toml in a directory (one file per area, sorted)."""
    if os.path.isdir(path):
        return [os.path.join(path, n) for n in sorted(os.listdir(path)) if n.endswith(".toml")]
    return [path]


def load_requirements(path):
    """Requirements from a TOML file or a directory of them; an id may appear only once."""
    entries = []
    for p in _req_files(path):
        with open(p, "rb") as f:
            entries.extend(tomllib.load(f).get("req", []))
    reqs, alias = {}, {}
    for r in entries:
        rid = r["id"]
        if rid in reqs:
            raise ValueError("duplicate requirement id %s" % rid)
        for k in ("text", "source", "quote"):
            if not r.get(k):
                raise ValueError("requirement %s lacks %s" % (rid, k))
        reqs[rid] = r
        for a in r.get("aliases", []):
            alias[a] = rid
    return reqs, alias


def load_safety(path):
    """Safety ids from the requirements file(s): top-level `safety` lists and `safety = true` on a
    [[req]]. The old `safety_pending_oracle` debt list no longer excuses anything (issue 8: "every
    safety requirement needs at least one oracle test"): ids still under it are safety ids."""
    safety = set()
    for p in _req_files(path):
        with open(p, "rb") as f:
            doc = tomllib.load(f)
        safety.update(doc.get("safety", []))
        safety.update(doc.get("safety_pending_oracle", []))
        safety.update(r["id"] for r in doc.get("req", []) if r.get("safety") is True)
    return safety


# --- tests (static scan) ----------------------------------------------------------------------
def _req_args(dec):
    """IDs from a decorator node `pytest.mark.req("A", "B")` / `mark.req(...)`, else None."""
    if isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr == "req":
        v = dec.func.value
        if isinstance(v, ast.Attribute) and v.attr == "mark" or isinstance(v, ast.Name) and v.id == "mark":
            return [a.value for a in dec.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return None


def _ids_of(decorators):
    out = []
    for d in decorators:
        ids = _req_args(d)
        if ids:
            out.extend(ids)
    return out


def _module_marks(tree):
    out = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            vals = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else [node.value]
            out.extend(_ids_of(vals))
    return out


def _reqs_dict(tree):
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "REQS" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


def scan_file(path, rel):
    """{(rel, test_name): [ids]} for every test function in one file (untagged tests too)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    module_ids = _module_marks(tree)
    table = _reqs_dict(tree)
    out = {}

    def add(name, ids):
        out[(rel, name)] = list(dict.fromkeys(module_ids + ids + list(table.get(name, []))))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            add(node.name, _ids_of(node.decorator_list))
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            cls_ids = _ids_of(node.decorator_list)
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and sub.name.startswith("test"):
                    add(node.name + "::" + sub.name, cls_ids + _ids_of(sub.decorator_list))
    for name in table:
        if (rel, name) not in out:
            out[(rel, name)] = ["!missing-test:" + name]
    return out


KIND_MARKS = ("oracle", "change_detector", "host_vs_pump")


def _kind_of(decorators):
    """"oracle:<k>", "change_detector", "host_vs_pump" from mark decorators, else None."""
    for d in decorators:
        call = d if isinstance(d, ast.Call) else None
        node = d.func if call else d
        if isinstance(node, ast.Attribute) and node.attr in KIND_MARKS:
            v = node.value
            if isinstance(v, ast.Attribute) and v.attr == "mark" or isinstance(v, ast.Name) and v.id == "mark":
                if node.attr == "oracle":
                    args = [a.value for a in (call.args if call else []) if isinstance(a, ast.Constant)]
                    return "oracle:" + (str(args[0]) if args else "unspecified")
                return node.attr
    return None


def _module_assign(tree, name, path=""):
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                raise SystemExit("trace: %s: %s must be a literal (the trace reads it without running the "
                                 "module)" % (path, name))
    return None


def scan_file_kinds(path, rel):
    """{(rel, test_name): kind or None} for every test function in one file."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    module_kind = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            vals = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else [node.value]
            module_kind = _kind_of(vals) or module_kind
    fw = {}
    for n, k in (_module_assign(tree, "ORACLES", rel) or {}).items():
        fw[n] = "oracle:" + str(k)
    for n in _module_assign(tree, "CHANGE_DETECTORS", rel) or ():
        fw[n] = "change_detector"
    for n in _module_assign(tree, "HOST_VS_PUMP", rel) or ():
        fw[n] = "host_vs_pump"
    out = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            out[(rel, node.name)] = _kind_of(node.decorator_list) or fw.get(node.name) or module_kind
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            ck = _kind_of(node.decorator_list)
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and sub.name.startswith("test"):
                    out[(rel, node.name + "::" + sub.name)] = _kind_of(sub.decorator_list) or ck or module_kind
    return out


def _test_files(repo, roots):
    """(path, repo-relative path) of every test_*.py under `roots`, in a stable order."""
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(os.path.join(repo, root)):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
            for fn in sorted(filenames):
                if fn.startswith("test_") and fn.endswith(".py"):
                    path = os.path.join(dirpath, fn)
                    yield path, os.path.relpath(path, repo).replace(os.sep, "/")


def scan_test_kinds(repo, roots):
    kinds = {}
    for path, rel in _test_files(repo, roots):
        kinds.update(scan_file_kinds(path, rel))
    return kinds


def scan_tests(repo, roots):
    tests = {}
    for path, rel in _test_files(repo, roots):
        tests.update(scan_file(path, rel))
    return tests


# --- results ----------------------------------------------------------------------------------
def _case_key(case, known_files):
    """(rel file, test name) for a JUnit testcase, matched against the scanned files."""
    name = case.get("name", "").split("[")[0]
    cls = case.get("classname", "")
    parts = cls.split(".") if cls else []
    klass = None
    if parts and parts[-1][:1].isupper():
        klass = parts.pop()
    cand = []
    if case.get("file"):
        cand.append(case.get("file").replace(os.sep, "/"))
    if parts:
        cand.append("/".join(parts) + ".py")
    test = klass + "::" + name if klass else name
    for c in cand:
        if c in known_files:
            return c, test
    if parts:  # rootdir-relative classnames (e.g. HIL run from hil/): match on the tail
        tail = "/".join(parts) + ".py"
        for f in known_files:
            if f.endswith("/" + tail) or f == tail:
                return f, test
    return None, test


def read_results(reports_dir, known_files):
    """{(rel, name): {lane: "pass"|"fail"|"skip"}}, and lane totals of counts files."""
    res, counts = {}, {}
    if not os.path.isdir(reports_dir):
        return res, counts
    for fn in sorted(os.listdir(reports_dir)):
        path = os.path.join(reports_dir, fn)
        if fn.endswith(".xml"):
            lane = fn[:-4]
            try:
                root = ET.parse(path).getroot()
            except ET.ParseError:
                continue
            for case in root.iter("testcase"):
                key = _case_key(case, known_files)
                if key[0] is None:
                    continue
                if case.find("failure") is not None or case.find("error") is not None:
                    st = "fail"
                elif case.find("skipped") is not None:
                    st = "skip"
                else:
                    st = "pass"
                lanes = res.setdefault(key, {})
                prev = lanes.get(lane)
                lanes[lane] = st if prev in (None, st) or st == "fail" else ("fail" if prev == "fail" else "pass")
        elif fn.endswith(".counts.json"):
            with open(path) as f:
                counts[fn[: -len(".counts.json")]] = json.load(f)
    return res, counts


# --- the join -----------------------------------------------------------------------------------
def trace(reqs, alias, tests, results, counts, kinds=None, safety=()):
    kinds = kinds or {}
    by_req = {rid: [] for rid in reqs}
    unknown = []
    for key, ids in sorted(tests.items()):
        lanes = dict(results.get(key, {}))
        if key[0].startswith("tests/fw/"):
            for lane, c in counts.items():
                lanes[lane] = "fail" if c.get("failed") else ("pass" if c.get("passed") else "skip")
        for i in ids:
            rid = alias.get(i, i)
            if rid in by_req:
                by_req[rid].append({"file": key[0], "test": key[1], "lanes": lanes,
                                    "kind": kinds.get(key) or "unclassified"})
            else:
                unknown.append({"id": i, "file": key[0], "test": key[1]})
    rows = []
    for rid, r in reqs.items():
        ts = by_req[rid]
        if r.get("status") == "retired":
            st = "retired"
        elif not ts:
            st = "gap"
        elif any(v == "fail" for t in ts for v in t["lanes"].values()):
            st = "fail"
        elif any(v == "pass" for t in ts for v in t["lanes"].values()):
            st = "pass"
        else:
            st = "not-run"
        oracles = [t for t in ts if t["kind"].startswith("oracle:")]
        is_safety = rid in safety
        oracle_st = None
        if is_safety and st != "retired":
            oracle_st = "ok" if oracles else "missing"
            if oracle_st == "missing" and st in ("pass", "not-run"):
                st = "no-oracle"
        rows.append({"id": rid, "status": st, "text": r["text"], "source": r["source"], "quote": r["quote"],
                     "tests": ts, "safety": is_safety, "oracle": oracle_st})
    return rows, unknown


def summary(rows, unknown):
    n = {k: sum(1 for r in rows if r["status"] == k) for k in ("pass", "fail", "gap", "not-run", "retired",
                                                               "no-oracle")}
    saf = [r for r in rows if r.get("safety")]
    return ("trace: %d requirements: %d pass, %d fail, %d untested (gap), %d not run; %d unknown ids; "
            "%d safety requirements: %d with an oracle test, %d without (failing)"
            % (len(rows), n["pass"], n["fail"], n["gap"], n["not-run"], len(unknown), len(saf),
               sum(1 for r in saf if r.get("oracle") == "ok"), n["no-oracle"]))


def kind_counts(rows):
    seen = {}
    for r in rows:
        for t in r["tests"]:
            seen[(t["file"], t["test"])] = t["kind"]
    out = {}
    for k in seen.values():
        k = "oracle" if k.startswith("oracle:") else k
        out[k] = out.get(k, 0) + 1
    return out


def markdown(rows, unknown):
    out = ["# Requirement traceability", "", "Generated by `make trace` (tools/trace.py) from "
           "requirements/requirements.toml, the test files and the lane reports.", "",
           "**" + summary(rows, unknown) + "**", "",
           "| ID | status | requirement | source | tests (lane: result) |", "|---|---|---|---|---|"]
    for r in rows:
        tests = "<br>".join("%s::%s [%s] (%s)" % (t["file"], t["test"], t["kind"], ", ".join(
            "%s: %s" % (k, v) for k, v in sorted(t["lanes"].items())) or "no result") for t in r["tests"])
        src = r["source"] + ': "' + r["quote"].replace("|", "\\|") + '"'
        out.append("| %s | %s | %s | %s | %s |" % (r["id"] + (" (safety)" if r.get("safety") else ""),
                                                   r["status"].upper() if r["status"] != "pass" else "pass",
                                                   r["text"].replace("|", "\\|"), src, tests or "**none**"))
    kc = kind_counts(rows)
    out += ["", "## Test kinds (where the expected values come from)", "",
            "Traced tests: %s." % ", ".join("%d %s" % (v, k) for k, v in sorted(kc.items())),
            "An *oracle* computes its expectation outside the code under test (Fraction reference, label "
            "arithmetic, zlib, a plant or reference model, a spec table); a *change detector* compares with "
            "goldens the code produced; *host_vs_pump* compares two implementations of ours.", "",
            "## Safety requirements and their oracle tests", "", "| ID | oracle | oracle tests |", "|---|---|---|"]
    for r in rows:
        if r.get("safety"):
            ot = [t for t in r["tests"] if t["kind"].startswith("oracle:")]
            out.append("| %s | %s | %s |" % (r["id"], {"ok": "yes", "missing": "**NO**"}.get(
                r["oracle"], "-"), "<br>".join("%s::%s (%s)" % (t["file"], t["test"], t["kind"]) for t in ot)
                or "none"))
    if unknown:
        out += ["", "## Unknown requirement ids in tests", ""]
        out += ["- `%s` in %s::%s" % (u["id"], u["file"], u["test"]) for u in unknown]
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("roots", nargs="*", default=list(DEFAULT_ROOTS))
    ap.add_argument("--repo", default=REPO)
    ap.add_argument("--requirements", default=None)
    ap.add_argument("--reports", default=None)
    ap.add_argument("--out", default=None, help="Markdown report (default REPORTS/trace.md)")
    ap.add_argument("--json", default=None, help="JSON report (default REPORTS/trace.json)")
    ap.add_argument("--allow-not-run", action="store_true", help="requirements whose tests did not run are not errors")
    a = ap.parse_args(argv)
    reports = a.reports or os.path.join(a.repo, ".reports")
    req_path = a.requirements or os.path.join(a.repo, "requirements")
    reqs, alias = load_requirements(req_path)
    safety = load_safety(req_path)
    roots = [r for r in a.roots if os.path.isdir(os.path.join(a.repo, r))]
    tests = scan_tests(a.repo, roots)
    kinds = scan_test_kinds(a.repo, roots)
    results, counts = read_results(reports, {k[0] for k in tests})
    rows, unknown = trace(reqs, alias, tests, results, counts, kinds, safety)
    os.makedirs(reports, exist_ok=True)
    with open(a.out or os.path.join(reports, "trace.md"), "w") as f:
        f.write(markdown(rows, unknown))
    with open(a.json or os.path.join(reports, "trace.json"), "w") as f:
        json.dump({"requirements": rows, "unknown_ids": unknown}, f, indent=1)
    for r in rows:
        if r["status"] in ("gap", "fail", "no-oracle") or (r["status"] == "not-run" and not a.allow_not_run):
            print("  %-8s %s  %s" % (r["status"].upper(), r["id"], r["text"]))
    kc = kind_counts(rows)
    print("test kinds: " + ", ".join("%d %s" % (v, k) for k, v in sorted(kc.items())))
    for u in unknown:
        print("  UNKNOWN  %s in %s::%s" % (u["id"], u["file"], u["test"]))
    stray = sorted(safety - set(reqs))
    for sid in stray:
        print("  UNKNOWN  %s named as a safety requirement, but no requirement has that id" % sid)
    print(summary(rows, unknown))
    bad = bool(stray) or any(r["status"] in ("gap", "fail", "no-oracle") for r in rows) or unknown or \
        (not a.allow_not_run and any(r["status"] == "not-run" for r in rows))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
