"""`make mutation`: mutmut 3.x over firmware/ with the unit tests and the in-process stateful
machine (small derandomised profile), then the kill score per module and every survivor.

    python tools/mutation/run.py [module ...]       e.g. alarms schedule (default: all but the board HAL)
    MUTANTS="clinical.x_limits__mutmut_* ..." python tools/mutation/run.py clinical   # only those mutants
    KEEP=1 python tools/mutation/run.py              # incremental: keep the last run's verdicts
                                                     # (mutmut re-runs changed functions only), then
                                                     # re-check its survivors against today's tests
    FULL=1 python tools/mutation/run.py              # also run the documented equivalents again

What each mutant runs (its tests, their order, whether a verified equivalent runs at all) is
decided in fastest_first.py; none of it changes a verdict. A test that hangs under a mutant is
stopped by deadline_plugin.py (its own limit from the stats run) and counted as a timeout.

Runs in a scratch copy (.mutation/, not below build/, which `make firmware` recreates) so the worktree never holds mutmut's mutants/ tree and
the repository's pyproject.toml stays free of tool config: the copy gets a setup.cfg [mutmut]
section. The flat-directory pitfall (anchor-patterns 4.1) does not bite: tests/conftest.py derives
firmware/ from its own __file__, so inside mutants/ the tests import the MUTATED firmware.
mutmut and its dependencies are pinned in tools/mutation/requirements.txt and installed on demand.
Survivors must be listed in docs/verification.md with why each is equivalent, or get a test.
"""
import json
import os
import shutil
import subprocess
import sys
import time

import equivalents

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Not below build/: `make firmware` recreates build/ from scratch (and `make test` builds).
SCRATCH = os.path.join(REPO, ".mutation")
EXCLUDE = ("hal_pico.py", "main.py")          # board-only code (and firmware/boards/)
# The tests every mutant may meet: the portable unit tests, the stateful machine, the power-cut
# enumeration, the schedule properties (the Fraction integral) and the FSM relation, each under the
# `mutation` profile. Not the wire fuzz (2.6 s of the 9.4 s these take, paid in full by every
# surviving mutant: the run then missed the hour) nor the calendar oracle: `make test` and
# `make fuzz` run those. A subset can only kill fewer mutants, so the score is a lower bound.
TESTS = ["tests/fw", "tests/host/test_stateful_pump.py", "tests/host/test_powerloss_enum.py",
         "tests/host/test_schedule_props.py", "tests/host/test_fsm_transitions.py"]


def _ensure_mutmut():
    try:
        import mutmut  # noqa: F401
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                               "-r", os.path.join(REPO, "tools", "mutation", "requirements.txt")])


def _sync(keep=False):
    """The copy puts the flat firmware modules in src/ (mutmut keys them by their path below src/,
    i.e. exactly the names the tests import: `alarms`, not `firmware.alarms`) and has no firmware/,
    so the tests' sys.path entry for it is inert and the mutated modules are the ones imported.
    keep: leave mutants/ (mutmut's verdicts and stats) and refresh the rest; copytree keeps the
    files' mtimes, which is how mutmut tells a changed module from an unchanged one."""
    if os.path.isdir(SCRATCH):
        for name in os.listdir(SCRATCH):
            if not (keep and name == "mutants"):
                path = os.path.join(SCRATCH, name)
                if os.path.isdir(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
    os.makedirs(SCRATCH, exist_ok=True)
    ign = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for d in ("tests", "host"):
        shutil.copytree(os.path.join(REPO, d), os.path.join(SCRATCH, d), ignore=ign)
    shutil.copytree(os.path.join(REPO, "firmware"), os.path.join(SCRATCH, "src"), ignore=ign)
    shutil.copy(os.path.join(REPO, "pyproject.toml"), SCRATCH)


def _setup_cfg(modules):
    only = "\n    ".join("src/%s.py" % m for m in modules)
    sel = "\n    ".join(TESTS)
    with open(os.path.join(SCRATCH, "setup.cfg"), "w") as f:
        f.write("[mutmut]\nsource_paths=src/\nonly_mutate=\n    %s\n"
                "do_not_mutate=\n    src/hal_pico.py\n    src/main.py\n    src/boards/*\n"
                "pytest_add_cli_args_test_selection=\n    %s\n"
                # A mutant that makes a test hang is stopped by deadline_plugin.py at 6x that test's
                # stats-run duration (at least 5 s), as a `timeout`; pytest-timeout's 300 s stays
                # as the backstop of the runs without a mutant (the stats run, the clean run).
                "pytest_add_cli_args=\n    -p\n    no:cacheprovider\n    -p\n    killers_plugin\n"
                "    -p\n    deadline_plugin\n    -q\n    --timeout\n    300\n"
                "timeout_multiplier=3\n" % (only, sel))


# mutmut exit codes that count as detected: a test failed (1; 3 pytest internal error), or the
# mutant made the tests hang past their time limit (36, 24/-24/152 SIGXCPU, 255): mutmut's own score
# counts timeouts with the kills.
DETECTED = (1, 3, 36, 24, -24, 152, 255)


def _not_killed():
    """Mutant keys the kept verdicts do not count as detected (survived, no tests, unrun)."""
    out = []
    base = os.path.join(SCRATCH, "mutants", "src")
    for root, _dirs, files in os.walk(base):
        for name in files:
            if name.endswith(".py.meta"):
                with open(os.path.join(root, name)) as f:
                    codes = json.load(f)["exit_code_by_key"]
                out += [k for k, v in codes.items() if v not in DETECTED]
    return sorted(out)


def main(argv):
    mods = argv or sorted(n[:-3] for n in os.listdir(os.path.join(REPO, "firmware"))
                          if n.endswith(".py") and n not in EXCLUDE)
    _ensure_mutmut()
    keep = os.environ.get("KEEP") == "1" and os.path.isdir(os.path.join(SCRATCH, "mutants"))
    _sync(keep)
    _setup_cfg(mods)
    env = dict(os.environ, HYPOTHESIS_STATEFUL="mutation", CI="1", PYTHONDONTWRITEBYTECODE="1",
               LINE_TESTS=os.environ.get("LINE_TESTS", " ".join(TESTS)),
               MUTATION_KILLERS=os.path.join(SCRATCH, "killers.txt"))
    mutmut = [sys.executable, "-m", "mutmut"]
    fast = [sys.executable, os.path.join(REPO, "tools", "mutation", "fastest_first.py")]   # same verdicts
    t0 = time.time()
    for scratch_log in (equivalents.SKIPPED, env["MUTATION_KILLERS"]):
        if os.path.exists(scratch_log):
            os.remove(scratch_log)
    only = os.environ.get("MUTANTS", "").split()   # names or globs: re-check chosen survivors quickly
    run = ["nice", "-n", "19"] + fast + ["run", "--max-children", os.environ.get("MUTATION_JOBS", "2")]
    if keep and not only:
        rc = subprocess.call(run, cwd=SCRATCH, env=env)          # changed functions' mutants
        only = _not_killed()                                      # then the survivors, again
        print("mutation: re-checking %d mutants the kept verdicts did not count as killed" % len(only))
    rc = subprocess.call(run + only, cwd=SCRATCH, env=env) if (only or not keep) else 0
    wall = time.time() - t0
    if rc:
        print("mutation: mutmut run exited %d" % rc)
    subprocess.call(mutmut + ["export-cicd-stats"], cwd=SCRATCH, env=env, stdout=subprocess.DEVNULL)
    out = subprocess.run(mutmut + ["results", "--all", "true"], cwd=SCRATCH, env=env, capture_output=True,
                         text=True).stdout
    per = {}
    survivors = []
    cpu = os.times()
    for line in out.splitlines():
        line = line.strip()
        if ":" not in line:
            continue
        name, status = line.rsplit(":", 1)
        status = status.strip()
        mod = name.split(".")[0]
        d = per.setdefault(mod, {})
        d[status] = d.get(status, 0) + 1
        if status in ("survived", "no tests", "suspicious"):
            survivors.append((name.strip(), status))
    print("mutation score (mutmut, %s, %.0f s wall, %.0f s CPU in the mutant runs):"
          % (", ".join(TESTS), wall, cpu.children_user + cpu.children_system))
    tk = tt = 0
    for mod in sorted(per):
        d = per[mod]
        k = d.get("killed", 0) + d.get("timeout", 0)
        t = sum(d.values()) - d.get("skipped", 0)
        tk += k
        tt += t
        print("  %-16s %4d mutants  %4d killed  %5.1f %%   %s" % (mod, t, k, 100.0 * k / t if t else 0, d))
    print("  %-16s %4d mutants  %4d killed  %5.1f %%" % ("total", tt, tk, 100.0 * tk / tt if tt else 0))
    equiv = equivalents.documented()
    listed = [(n, st) for n, st in survivors if n in equiv]
    missing = [(n, st) for n, st in survivors if n not in equiv]
    unrun = sum(d.get("not checked", 0) for d in per.values())
    ne = tt - len(listed) - unrun
    print("  non-equivalent: %d killed of %d checked (%d survivors documented as equivalent in docs/mutation/, "
          "%d not checked: the run was stopped before them): %.1f %%"
          % (tk, ne, len(listed), unrun, 100.0 * tk / ne if ne else 0))
    skipped = set()
    if os.path.exists(equivalents.SKIPPED):
        with open(equivalents.SKIPPED) as f:
            skipped = set(f.read().split())
    n = equivalents.update([k for k, st in survivors if st == "survived"], skipped, set(per),
                           os.path.join(SCRATCH, "mutants"))
    print("  of the documented: %d not run again (function and mutant unchanged since they survived; "
          "FULL=1 runs them); %d fingerprints in docs/mutation/equivalents.verified" % (len(skipped), n))
    print("survivors not documented as equivalent (%d): add a test or a row in docs/mutation/" % len(missing))
    for n, st in missing:
        print("  %s  %s" % (st, n))
    stats = os.path.join(SCRATCH, "mutants", "mutmut-cicd-stats.json")
    if os.path.exists(stats):
        with open(stats) as f:
            print("mutmut stats: %s" % json.load(f))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
