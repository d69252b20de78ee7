"""`make mutation`: mutmut 3.x over firmware/ with the unit tests and the in-process stateful
machine (small derandomised profile), then the kill score per module and every survivor.

    python tools/mutation/run.py [module ...]       e.g. alarms schedule (default: all but the board HAL)
    MUTANTS="clinical.x_limits__mutmut_* ..." python tools/mutation/run.py clinical   # only those mutants

Runs in a scratch copy (build/mutation/) so the worktree never holds mutmut's mutants/ tree and
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

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRATCH = os.path.join(REPO, "build", "mutation")
EXCLUDE = ("hal_pico.py", "main.py")          # board-only code (and firmware/boards/)
TESTS = ["tests/fw", "tests/host/test_stateful_pump.py", "tests/host/test_powerloss_enum.py",
         "tests/host/test_schedule_props.py", "tests/host/test_protocol_fuzz.py", "tests/host/test_fsm_transitions.py",
         "tests/host/test_calendar_oracle.py"]


def _ensure_mutmut():
    try:
        import mutmut  # noqa: F401
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                               "-r", os.path.join(REPO, "tools", "mutation", "requirements.txt")])


def _sync():
    """The copy puts the flat firmware modules in src/ (mutmut keys them by their path below src/,
    i.e. exactly the names the tests import: `alarms`, not `firmware.alarms`) and has no firmware/,
    so the tests' sys.path entry for it is inert and the mutated modules are the ones imported."""
    if os.path.isdir(SCRATCH):
        shutil.rmtree(SCRATCH)
    os.makedirs(SCRATCH)
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
                "pytest_add_cli_args=\n    -p\n    no:cacheprovider\n    -q\n" % (only, sel))


def main(argv):
    mods = argv or sorted(n[:-3] for n in os.listdir(os.path.join(REPO, "firmware"))
                          if n.endswith(".py") and n not in EXCLUDE)
    _ensure_mutmut()
    _sync()
    _setup_cfg(mods)
    env = dict(os.environ, HYPOTHESIS_STATEFUL="mutation", CI="1", PYTHONDONTWRITEBYTECODE="1")
    mutmut = [sys.executable, "-m", "mutmut"]
    t0 = time.time()
    only = os.environ.get("MUTANTS", "").split()   # names or globs: re-check chosen survivors quickly
    rc = subprocess.call(["nice", "-n", "19"] + mutmut + ["run", "--max-children", os.environ.get("MUTATION_JOBS", "2")]
                         + only, cwd=SCRATCH, env=env)
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
        if status in ("survived", "no tests", "timeout", "suspicious"):
            survivors.append((name.strip(), status))
    print("mutation score (mutmut, %s, %.0f s wall, %.0f s CPU in the mutant runs):"
          % (", ".join(TESTS), wall, cpu.children_user + cpu.children_system))
    tk = tt = 0
    for mod in sorted(per):
        d = per[mod]
        k = d.get("killed", 0)
        t = sum(d.values()) - d.get("skipped", 0)
        tk += k
        tt += t
        print("  %-16s %4d mutants  %4d killed  %5.1f %%   %s" % (mod, t, k, 100.0 * k / t if t else 0, d))
    print("  %-16s %4d mutants  %4d killed  %5.1f %%" % ("total", tt, tk, 100.0 * tk / tt if tt else 0))
    print("survivors (%d): list each in docs/verification.md with why it is equivalent, or add a test" % len(survivors))
    for n, s in survivors:
        print("  %s  %s" % (s, n))
    stats = os.path.join(SCRATCH, "mutants", "mutmut-cicd-stats.json")
    if os.path.exists(stats):
        with open(stats) as f:
            print("mutmut stats: %s" % json.load(f))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
