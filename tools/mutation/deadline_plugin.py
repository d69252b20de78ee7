"""pytest plugin for the mutant runs: each test gets its own time limit, scaled from its duration
in mutmut's stats run, and a test past it ends the run at once with mutmut's timeout code (36).

Why not pytest-timeout's flat 30 s: its signal method raises inside the test, and a hypothesis
test then shrinks, meaning it re-runs the hanging example: `first_true`'s looping mutants ran to
mutmut's CPU limit (366 s each, 8 of them), and each hang in a plain test cost the full 30 s
where the test takes 0.05 s. Exiting the forked child (it only ever runs this one mutant) cannot
be caught or shrunk.

The limit is LIMIT_X x the stats-run duration (call phase, measured with mutmut's trampoline
tracking every call: ~4x the time the same tests take in a mutant run), never below
FLOOR_S (fixture set-up is not in that duration). 6 x is mutmut's own budget (timeout_multiplier
3, doubled for its CPU limit). Exit code 36 keeps these verdicts `timeout`, counted apart from
the kills in mutmut's results, as mutmut's own limit does. No mutant: no limit (the clean and
stats runs keep pyproject's 300 s).
"""
import json
import os
import threading

import pytest

LIMIT_X = 6.0
FLOOR_S = 5.0
UNKNOWN_S = 60.0      # a test the stats run did not time
TIMEOUT_EXIT = 36     # mutmut's exit code for "timeout" (mutmut/stats.py)
_loaded = []


def _durations():
    """The stats run's durations: mutmut's state in this forked child, else its stats file
    (the child runs in mutants/, where mutmut keeps it)."""
    try:
        from mutmut.state import state
        took = state().duration_by_test
    except ImportError:
        took = None
    if took:
        return took
    if not _loaded:
        try:
            with open("mutmut-stats.json") as f:
                _loaded.append(json.load(f).get("duration_by_test", {}))
        except (OSError, ValueError):
            _loaded.append({})
    return _loaded[0]


def limit_s(nodeid, durations):
    took = durations.get(nodeid)
    if took is None:
        return UNKNOWN_S
    return max(FLOOR_S, LIMIT_X * took)


def _expire(nodeid, limit):
    os.write(2, ("\nmutation: %s passed its limit of %.1f s: timeout\n" % (nodeid, limit)).encode())
    os._exit(TIMEOUT_EXIT)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if "__mutmut_" not in os.environ.get("MUTANT_UNDER_TEST", ""):
        yield
        return
    limit = limit_s(item.nodeid, _durations())
    timer = threading.Timer(limit, _expire, (item.nodeid, limit))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
