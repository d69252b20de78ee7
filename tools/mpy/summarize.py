"""Closing line of `make test`: add up every lane's results in .reports/.

Reads JUnit XML files (pytest --junitxml, the HIL suite) and *.counts.json files
(the MicroPython lane: {"passed": N, "failed": N, "skipped": N}) from the
reports directory, prints one line per lane and then, last, the plain closing
line ``total: N passed, N failed[, N skipped]``. Exits 1 if anything failed or
nothing ran at all.

usage: python tools/mpy/summarize.py [.reports]
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


def main(argv):
    rdir = argv[1] if len(argv) > 1 else ".reports"
    total = {"passed": 0, "failed": 0, "skipped": 0}
    names = sorted(os.listdir(rdir)) if os.path.isdir(rdir) else []
    for name in names:
        path = os.path.join(rdir, name)
        if name.endswith(".xml"):
            counts, lane = junit_counts(path), name[:-4]
        elif name.endswith(".counts.json"):
            with open(path) as f:
                counts, lane = json.load(f), name[: -len(".counts.json")]
        else:
            continue
        print("  %-16s %s" % (lane, line(counts)))
        for k in total:
            total[k] += int(counts.get(k, 0))
    print("total: " + line(total))
    return 1 if total["failed"] or not total["passed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
