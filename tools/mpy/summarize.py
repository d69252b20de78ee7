"""Closing line of `make test`: add up every lane's results in .reports/.

Reads JUnit XML files (pytest --junitxml, the HIL suite) and *.counts.json files
(the MicroPython lane: {"passed": N, "failed": N, "skipped": N}) from the
reports directory, prints one line per lane and then, last, the plain closing
line ``total: N passed, N failed[, N skipped]``. Exits 1 if anything failed or
nothing ran at all.

``make test`` runs every lane even when one fails (issue 10, defect 15) and passes the lanes
whose command exited non-zero with ``--failed-lanes``: lint, typecheck, the firmware build or
the trace write no test report, so only the exit status says they failed. The closing line
then names them (``total: ...; failed lanes: lint hil``) and the exit status is 1. A report
that cannot be read (a lane killed mid-write) is named as a failed lane, not a traceback.

usage: python tools/mpy/summarize.py [.reports] [--failed-lanes "lint hil"]
"""
import json
import os
import sys
import xml.etree.ElementTree as ET


def junit_counts(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    tests = failed = skipped = 0
    for s in suites:
        tests += int(s.get("tests", 0))
        failed += int(s.get("failures", 0)) + int(s.get("errors", 0))
        skipped += int(s.get("skipped", 0))
    return {"passed": tests - failed - skipped, "failed": failed, "skipped": skipped}


def line(c):
    text = "%d passed, %d failed" % (c["passed"], c["failed"])
    if c.get("skipped"):
        text += ", %d skipped" % c["skipped"]
    return text


def read_counts(path, name):
    """(lane, counts) of one report file, (None, None) for other files."""
    if name.endswith(".xml"):
        return name[:-4], junit_counts(path)
    if name.endswith(".counts.json"):
        with open(path) as f:
            return name[: -len(".counts.json")], json.load(f)
    return None, None


def parse_args(argv):
    rdir, failed_lanes = ".reports", []
    args = list(argv[1:])
    while args:
        a = args.pop(0)
        if a == "--failed-lanes":
            if not args:
                raise SystemExit("summarize: --failed-lanes needs a value (space-separated lane names)")
            failed_lanes += args.pop(0).split()
        elif a.startswith("--failed-lanes="):
            failed_lanes += a.split("=", 1)[1].split()
        else:
            rdir = a
    return rdir, failed_lanes


def main(argv):
    rdir, failed_lanes = parse_args(argv)
    total = {"passed": 0, "failed": 0, "skipped": 0}
    names = sorted(os.listdir(rdir)) if os.path.isdir(rdir) else []
    for name in names:
        path = os.path.join(rdir, name)
        try:
            lane, counts = read_counts(path, name)
        except (OSError, ValueError, ET.ParseError) as e:
            lane = name.split(".")[0]
            print("  %-16s unreadable report %s: %s" % (lane, path, e))
            if lane not in failed_lanes:
                failed_lanes.append(lane)
            continue
        if lane is None:
            continue
        print("  %-16s %s" % (lane, line(counts)))
        for k in total:
            total[k] += int(counts.get(k, 0))
    text = "total: " + line(total)
    if failed_lanes:
        text += "; failed lanes: " + " ".join(failed_lanes)
    print(text)
    return 1 if total["failed"] or not total["passed"] or failed_lanes else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
