"""Requirement traceability: requirement -> tests -> pass/fail (issue 5, `make trace`).

Reads
  requirements/*.toml              [[req]] id, text, source, quote, optional aliases, status
                                   (requirements.toml plus one file per area, e.g. safety.toml)
  test files (tests/, hil/)        @pytest.mark.req("ID", ...) on tests or classes, `pytestmark`,
                                   and module-level REQS = {"test_name": ["ID", ...]} (tests/fw
                                   cannot import pytest); found statically with `ast`
  reports (.reports/)              JUnit XML (pytest, HIL lanes) and *.counts.json (MicroPython
                                   lane: lane totals only, applied to every tests/fw test)
Writes a Markdown report (and JSON) and exits 1 when any requirement has no test (a gap), a
traced test failed, a requirement's tests never ran, or a test names an unknown ID.

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


def scan_tests(repo, roots):
    tests = {}
    for root in roots:
        base = os.path.join(repo, root)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
            for fn in sorted(filenames):
                if fn.startswith("test_") and fn.endswith(".py"):
                    path = os.path.join(dirpath, fn)
                    tests.update(scan_file(path, os.path.relpath(path, repo).replace(os.sep, "/")))
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
def trace(reqs, alias, tests, results, counts):
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
                by_req[rid].append({"file": key[0], "test": key[1], "lanes": lanes})
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
        rows.append({"id": rid, "status": st, "text": r["text"], "source": r["source"], "quote": r["quote"],
                     "tests": ts})
    return rows, unknown


def summary(rows, unknown):
    n = {k: sum(1 for r in rows if r["status"] == k) for k in ("pass", "fail", "gap", "not-run", "retired")}
    return ("trace: %d requirements: %d pass, %d fail, %d untested (gap), %d not run; %d unknown ids"
            % (len(rows), n["pass"], n["fail"], n["gap"], n["not-run"], len(unknown)))


def markdown(rows, unknown):
    out = ["# Requirement traceability", "", "Generated by `make trace` (tools/trace.py) from "
           "requirements/requirements.toml, the test files and the lane reports.", "",
           "**" + summary(rows, unknown) + "**", "",
           "| ID | status | requirement | source | tests (lane: result) |", "|---|---|---|---|---|"]
    for r in rows:
        tests = "<br>".join("%s::%s (%s)" % (t["file"], t["test"], ", ".join(
            "%s: %s" % (k, v) for k, v in sorted(t["lanes"].items())) or "no result") for t in r["tests"])
        src = r["source"] + ': "' + r["quote"].replace("|", "\\|") + '"'
        out.append("| %s | %s | %s | %s | %s |" % (r["id"], r["status"].upper() if r["status"] != "pass" else "pass",
                                                   r["text"].replace("|", "\\|"), src, tests or "**none**"))
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
    reqs, alias = load_requirements(a.requirements or os.path.join(a.repo, "requirements"))
    tests = scan_tests(a.repo, [r for r in a.roots if os.path.isdir(os.path.join(a.repo, r))])
    results, counts = read_results(reports, {k[0] for k in tests})
    rows, unknown = trace(reqs, alias, tests, results, counts)
    os.makedirs(reports, exist_ok=True)
    with open(a.out or os.path.join(reports, "trace.md"), "w") as f:
        f.write(markdown(rows, unknown))
    with open(a.json or os.path.join(reports, "trace.json"), "w") as f:
        json.dump({"requirements": rows, "unknown_ids": unknown}, f, indent=1)
    for r in rows:
        if r["status"] in ("gap", "fail") or (r["status"] == "not-run" and not a.allow_not_run):
            print("  %-8s %s  %s" % (r["status"].upper(), r["id"], r["text"]))
    for u in unknown:
        print("  UNKNOWN  %s in %s::%s" % (u["id"], u["file"], u["test"]))
    print(summary(rows, unknown))
    bad = any(r["status"] in ("gap", "fail") for r in rows) or unknown or \
        (not a.allow_not_run and any(r["status"] == "not-run" for r in rows))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
