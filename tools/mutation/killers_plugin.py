"""pytest plugin for the mutant runs: appends `mutant test` to $MUTATION_KILLERS for each test that
fails under a mutant, so fastest_first.py can hand the next mutants of the same function the
tests that killed their siblings first (the order never changes a verdict)."""
import os


def pytest_runtest_logreport(report):
    path = os.environ.get("MUTATION_KILLERS")
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if report.failed and path and "__mutmut_" in mutant:
        with open(path, "a") as f:
            f.write("%s %s\n" % (mutant, report.nodeid))
