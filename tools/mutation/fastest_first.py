"""`python tools/mutation/fastest_first.py run ...` = `python -m mutmut run ...`, with three changes
to what each mutant runs; none changes a verdict.

1. Its tests go to pytest killers first, then fastest first, in two pytest runs: the first
   STAGE1 tests, then the rest only if those passed. mutmut 3.8.1 (pinned in requirements.txt)
   hands the tests over in the order of a set, and its fork runner then sorts them by duration
   in the child (which undid the killers-first order until session 6). killers_plugin.py logs
   which test failed under each mutant; the tests that killed the most mutants of the same
   function go first (in a hot function the fastest tests rarely kill). The split is what makes
   a kill cheap in a hot function: pytest collects every node id it is given before it runs the
   first, and a calendar line runs in ~260 tests (15 s to kill under load, 5 s with the killer
   alone). Neither the order nor the split changes a verdict: -x stops at the first failure, and
   a mutant survives only if every selected test passed, in one run or two.
2. Only the tests that execute the statement it changes (line_tests.py): a surviving mutant pays
   for the tests that can see it, not for every test that calls its function. LINE_TESTS lists
   the test paths measured; LINE_TESTS=0 turns this off.
3. A mutant docs/mutation/ lists as equivalent, whose function and mutant are byte for byte the
   ones that survived when it was last run (equivalents.verified holds their fingerprints), is
   recorded as survived without running: it could only survive again, at the price of every
   test that executes its line (15-30 s for a hot line). Its key goes to skipped.txt for the
   report. FULL=1 runs them all.
"""
import os
import sys

from mutmut.__main__ import cli
from mutmut.runners import harness
from mutmut.state import state
from mutmut.workers import isolation

import equivalents

_selector = []
_killers = {"offset": 0, "by_function": {}}
_planned = {}     # mutant -> its tests in our order; the forked child reads it (fork copies it)
STAGE1 = 4


def _function(mutant_name):
    return mutant_name.rsplit("__mutmut_", 1)[0]


def _kill_counts(mutant_name):
    """{test: mutants of this function it killed so far}, from the plugin's log."""
    path = os.environ.get("MUTATION_KILLERS")
    if path and os.path.exists(path):
        with open(path) as f:
            f.seek(_killers["offset"])
            chunk = f.read()
        done = chunk.rfind("\n") + 1                   # a line still being written waits
        _killers["offset"] += len(chunk[:done].encode())
        for line in chunk[:done].splitlines():
            mutant, _, test = line.partition(" ")
            counts = _killers["by_function"].setdefault(_function(mutant), {})
            counts[test] = counts.get(test, 0) + 1
    return _killers["by_function"].get(_function(mutant_name), {})


def _select(mutant_name, tests):
    paths = os.environ.get("LINE_TESTS", "")
    if paths == "0" or not paths:
        return tests
    if not _selector:
        import line_tests
        _selector.append(line_tests.cached_selector(os.path.abspath("mutants"), paths.split()))
    return _selector[0].select(mutant_name, tests)


def _fastest_first(submit):
    skip = equivalents.Skipper(os.path.abspath("mutants")) if os.environ.get("FULL") != "1" else None

    def submit_sorted(self, mutant_name, tests, *args, **kwargs):
        if skip is not None and skip.verified(mutant_name):
            self._no_tests_results.append(isolation.MutantResult(mutant_name=mutant_name, exit_code=0, duration=0.0))
            return None
        took = state().duration_by_test
        kills = _kill_counts(mutant_name)
        tests = _select(mutant_name, tests)
        order = sorted(tests, key=lambda t: (-kills.get(t, 0), took.get(t, 0.0), t))
        _planned.clear()
        _planned[mutant_name] = order
        return submit(self, mutant_name, order, *args, **kwargs)
    return submit_sorted


def _staged(run_tests):
    def run(self, *, mutant_name, tests):
        tests = list(tests)
        plan = _planned.get(mutant_name)
        if plan is not None and sorted(plan) == sorted(tests):
            tests = plan                                  # undo the child's sort by duration
        if mutant_name is None or len(tests) <= STAGE1:
            return run_tests(self, mutant_name=mutant_name, tests=tests)
        code = run_tests(self, mutant_name=mutant_name, tests=tests[:STAGE1])
        if code != 0:
            return code
        return run_tests(self, mutant_name=mutant_name, tests=tests[STAGE1:])
    return run


harness.PytestRunner.run_tests = _staged(harness.PytestRunner.run_tests)


for _cls in list(vars(isolation).values()):
    if isinstance(_cls, type) and "submit" in vars(_cls):
        _cls.submit = _fastest_first(vars(_cls)["submit"])

if __name__ == "__main__":
    sys.exit(cli())
