"""Minimal test collector for the portable firmware tests, run under MicroPython.

tools/mpy/runtests.mjs loads firmware/ and tests/fw/ into the MicroPython
WebAssembly port and calls ``main()``. It also runs under CPython
(``python tests/fw/mpy_runtests.py``) so the collector itself can be checked.

What it does, mirroring the subset of pytest that tests/fw uses (docs/design.md,
"Tests"): imports every ``test_*.py`` in the test directory (sorted), calls every
callable named ``test_*`` (sorted by name: MicroPython dicts are unordered) with
no arguments, and counts a test as failed if it raises anything (bare ``assert``
works: MicroPython keeps asserts). A module that fails to import counts as one
failure. A module may opt out of this lane with ``MPY_SKIP = True`` (or a reason
string), or skip some of its tests with ``MPY_SKIP = ("test_a", "test_b")``.

The last line printed is ``N passed, N failed`` (``, N skipped`` appended when
something was skipped). ``main()`` returns the exit status: 0 only if at least
one test ran and none failed.
"""
import gc
import io
import os
import sys
import time

try:
    _ticks_ms = time.ticks_ms
    _ticks_diff = time.ticks_diff
except AttributeError:  # CPython

    def _ticks_ms():
        return time.monotonic_ns() // 1000000

    def _ticks_diff(a, b):
        return a - b


def _format_exc(exc):
    buf = io.StringIO()
    if hasattr(sys, "print_exception"):  # MicroPython
        sys.print_exception(exc, buf)
    else:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=buf)
    return buf.getvalue()


def _indent(text):
    return "\n".join("    " + line for line in text.rstrip().split("\n"))


def discover(test_dir):
    """Sorted test_*.py file names in test_dir."""
    return sorted(n for n in os.listdir(test_dir) if n.startswith("test_") and n.endswith(".py"))


class Result:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.failures = []  # "file::test" ids

    def closing_line(self):
        line = "%d passed, %d failed" % (self.passed, self.failed)
        if self.skipped:
            line += ", %d skipped" % self.skipped
        return line


def _skip_spec(mod):
    spec = getattr(mod, "MPY_SKIP", False)
    if spec is True or isinstance(spec, str):
        return True, ()
    if isinstance(spec, (tuple, list, set)):
        return False, spec
    return False, ()


def run_file(test_dir, fname, result, keyword=None, verbose=False):
    modname = fname[:-3]
    label = test_dir.rstrip("/") + "/" + fname
    t0 = _ticks_ms()
    try:
        mod = __import__(modname)
    except BaseException as exc:  # noqa: BLE001 - any import failure is a test failure
        if isinstance(exc, KeyboardInterrupt):
            raise
        sys.modules.pop(modname, None)
        result.failed += 1
        result.failures.append(label + "::<import>")
        print("%s E" % label)
        print("  ERROR importing %s" % label)
        print(_indent(_format_exc(exc)))
        return
    whole, names_to_skip = _skip_spec(mod)
    names = sorted(n for n in dir(mod) if n.startswith("test_") and callable(getattr(mod, n)))
    if keyword:
        names = [n for n in names if keyword in n or keyword in modname]
    if whole:
        result.skipped += len(names)
        print("%s s (MPY_SKIP, %d tests)" % (label, len(names)))
        return
    marks = []
    details = []
    for name in names:
        test_id = label + "::" + name
        if name in names_to_skip:
            result.skipped += 1
            marks.append("s")
            if verbose:
                print("%s SKIPPED (MPY_SKIP)" % test_id)
            continue
        gc.collect()
        t1 = _ticks_ms()
        try:
            getattr(mod, name)()
        except BaseException as exc:  # noqa: BLE001 - report every failure, keep going
            if isinstance(exc, KeyboardInterrupt):
                raise
            result.failed += 1
            result.failures.append(test_id)
            marks.append("F")
            details.append("  FAILED %s\n%s" % (test_id, _indent(_format_exc(exc))))
            if verbose:
                print("%s FAILED" % test_id)
            continue
        result.passed += 1
        marks.append(".")
        if verbose:
            print("%s PASSED (%d ms)" % (test_id, _ticks_diff(_ticks_ms(), t1)))
    print("%s %s [%d ms]" % (label, "".join(marks), _ticks_diff(_ticks_ms(), t0)))
    for d in details:
        print(d)


def run(test_dir="tests/fw", files=None, keyword=None, verbose=False):
    """Run the tests; returns a Result. files: optional list of test_*.py names."""
    if test_dir not in sys.path:
        sys.path.insert(0, test_dir)
    result = Result()
    impl = sys.implementation
    print(
        "mpy_runtests: %s %s on %s, dir %s"
        % (impl.name, ".".join(str(v) for v in impl.version[:3]), sys.platform, test_dir)
    )
    wanted = discover(test_dir)
    if files:
        wanted = [f for f in wanted if f in files]
        for f in files:
            if f not in wanted:
                result.failed += 1
                result.failures.append(f + "::<missing>")
                print("  ERROR no such test file: %s" % f)
    t0 = _ticks_ms()
    for fname in wanted:
        run_file(test_dir, fname, result, keyword, verbose)
    if result.failures:
        print("short test summary:")
        for f in result.failures:
            print("FAILED " + f)
    if result.passed + result.failed == 0:
        print("no tests ran")
    print("in %d ms" % _ticks_diff(_ticks_ms(), t0))
    print(result.closing_line())
    return result


def main(test_dir="tests/fw", files=None, keyword=None, verbose=False):
    """Run and return the exit status (0 = at least one test ran, none failed)."""
    result = run(test_dir, files, keyword, verbose)
    if result.failed or result.passed == 0:
        return 1
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    _verbose = "-v" in args
    args = [a for a in args if a != "-v"]
    _kw = None
    if "-k" in args:
        i = args.index("-k")
        _kw = args[i + 1]
        del args[i : i + 2]
    _dir = os.path.dirname(os.path.abspath(__file__))
    if "--dir" in args:
        i = args.index("--dir")
        _dir = args[i + 1]
        del args[i : i + 2]
    sys.exit(main(_dir, args or None, _kw, _verbose))
