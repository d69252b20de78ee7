"""`python tools/mutation/fastest_first.py run ...` = `python -m mutmut run ...`, with each mutant's
tests handed to pytest fastest first.

mutmut 3.8.1 (pinned in requirements.txt) runs a mutant's selected tests with `pytest -x` in the
order of a set, so a mutant that the quickest test kills often waits for slow ones (the
stateful machine, the cut enumerations, the fuzz) to pass first. Sorting by the durations of its
own stats run (state().duration_by_test) changes no verdict (the same tests run; -x stops at the
first failure whatever the order) and only the time a killed mutant costs.

It also drops the tests that never execute the mutant's statement (line_tests.py): the same
verdicts again, and a surviving mutant pays for the tests that can see it, not for every test
that calls its function. LINE_TESTS=0 turns that off; LINE_TESTS lists the test paths measured."""
import os
import sys

from mutmut.__main__ import cli
from mutmut.state import state
from mutmut.workers import isolation


_selector = []


def _select(mutant_name, tests):
    paths = os.environ.get("LINE_TESTS", "")
    if paths == "0" or not paths:
        return tests
    if not _selector:
        import line_tests
        _selector.append(line_tests.cached_selector(os.path.abspath("mutants"), paths.split()))
    return _selector[0].select(mutant_name, tests)


def _fastest_first(submit):
    def submit_sorted(self, mutant_name, tests, *args, **kwargs):
        took = state().duration_by_test
        tests = _select(mutant_name, tests)
        return submit(self, mutant_name, sorted(tests, key=lambda t: (took.get(t, 0.0), t)), *args, **kwargs)
    return submit_sorted


for _cls in list(vars(isolation).values()):
    if isinstance(_cls, type) and "submit" in vars(_cls):
        _cls.submit = _fastest_first(vars(_cls)["submit"])

if __name__ == "__main__":
    sys.exit(cli())
