"""`python tools/mutation/fastest_first.py run ...` = `python -m mutmut run ...`, with each mutant's
tests handed to pytest fastest first.

mutmut 3.8.1 (pinned in requirements.txt) runs a mutant's selected tests with `pytest -x` in the
order of a set, so a mutant that the quickest test kills often waits for slow ones (the
stateful machine, the cut enumerations, the fuzz) to pass first. Sorting by the durations of its
own stats run (state().duration_by_test) changes no verdict (the same tests run; -x stops at the
first failure whatever the order) and only the time a killed mutant costs."""
import sys

from mutmut.__main__ import cli
from mutmut.state import state
from mutmut.workers import isolation


def _fastest_first(submit):
    def submit_sorted(self, mutant_name, tests, *args, **kwargs):
        took = state().duration_by_test
        return submit(self, mutant_name, sorted(tests, key=lambda t: (took.get(t, 0.0), t)), *args, **kwargs)
    return submit_sorted


for _cls in list(vars(isolation).values()):
    if isinstance(_cls, type) and "submit" in vars(_cls):
        _cls.submit = _fastest_first(vars(_cls)["submit"])

if __name__ == "__main__":
    sys.exit(cli())
