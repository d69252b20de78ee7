"""pytest plugin for line_tests.measure: coverage's dynamic context is the test's node id, set
before its setup (fixture code counts as the test's)."""
import coverage


def pytest_runtest_logstart(nodeid, location):
    cov = coverage.Coverage.current()
    if cov is not None:
        cov.switch_context(nodeid)
