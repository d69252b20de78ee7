"""Which tests can see a mutant: those that execute the statement it changes.

mutmut 3.8.1 selects a mutant's tests by function: every test that calls the function at all.
For the controller core that is nearly every test (about 25 s of them on one core), and a
surviving mutant pays all of it even when its statement runs in three tests (a refusal branch).
The hour `make mutation` has on 2 cores went on those survivors.

Here, once per run, coverage.py measures which lines of mutants/src each test executes (its
dynamic context is the pytest node id), and a mutant keeps only the tests of mutmut's selection
that execute a line of the statement it changes.

Why no verdict changes: the tests are deterministic (simulated clock, hypothesis derandomised
under the `mutation` profile), and a mutant differs from the original only in that statement, so
a test that never executes it runs the same code and passes as it did. A mutant no test reaches
gets mutmut's "no tests" (33), not killed. Whenever the changed lines cannot be mapped to a plain
statement (the signature, a decorator, an `except` clause) mutmut's whole selection is kept.
"""
import ast
import os
import subprocess
import sys

PLUGIN = "line_tests_plugin"


def measure(mutants_dir, tests, env=None):
    """{absolute source path: {line: {node id, ...}}} for the files below mutants_dir/src."""
    from coverage import CoverageData

    data_file = os.path.join(mutants_dir, ".line_tests.coverage")
    if os.path.exists(data_file):
        os.remove(data_file)
    here = os.path.dirname(os.path.abspath(__file__))
    run_env = dict(env or os.environ, MUTANT_UNDER_TEST="",
                   PYTHONPATH=os.pathsep.join([here, os.path.join(mutants_dir, "src")]))
    cmd = [sys.executable, "-m", "coverage", "run", "--data-file", data_file, "--source", "src",
           "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", PLUGIN] + list(tests)
    subprocess.run(cmd, cwd=mutants_dir, env=run_env, stdout=subprocess.DEVNULL, check=False)
    data = CoverageData(basename=data_file)
    data.read()
    out = {}
    for path in data.measured_files():
        out[path] = {line: set(c for c in ctxs if c) for line, ctxs in data.contexts_by_lineno(path).items()}
    return out


class Func:
    """Where a function is: its name, first and last line, and the line of its first statement
    (a whole module's syntax tree is not kept: for mutmut's mutants/src it takes ~1 GB)."""
    __slots__ = ("name", "lineno", "end_lineno", "body0")

    def __init__(self, node):
        self.name, self.lineno, self.end_lineno = node.name, node.lineno, node.end_lineno
        self.body0 = node.body[0].lineno if node.body else None


def _functions(path):
    with open(path, encoding="utf-8") as f:
        src = f.read()
    return {node.name: Func(node) for node in ast.walk(ast.parse(src))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}, src.splitlines()


def parse_function(text, func):
    """The syntax tree of one function, with the module's line numbers."""
    import textwrap

    tree = ast.parse(textwrap.dedent("\n".join(text[func.lineno - 1:func.end_lineno])))
    ast.increment_lineno(tree, func.lineno - 1)
    return tree.body[0]


def _innermost(func, line):
    """The innermost statement of func whose lines hold `line` (None: only func itself)."""
    best = None
    for node in ast.walk(func):
        if node is func or not isinstance(node, ast.stmt):
            continue
        if node.lineno <= line <= node.end_lineno and (best is None or node.lineno >= best.lineno
                                                         and node.end_lineno <= best.end_lineno):
            best = node
    return best


def statement_lines(func, lines_changed):
    """The lines of the statements that hold lines_changed, or None when one is not a plain
    statement or a compound statement's own header (if/while/for/with condition)."""
    out = set()
    for line in lines_changed:
        node = _innermost(func, line)
        if node is None:
            return None
        body = getattr(node, "body", None)
        if body:
            if isinstance(node, ast.Try) or line >= body[0].lineno:
                return None      # an except clause, or a line between statements: keep it all
            out.update(range(node.lineno, body[0].lineno))
        else:
            out.update(range(node.lineno, node.end_lineno + 1))
    return out


class Mutants:
    """mutmut's mutants/src: each mutant function beside the original it came from."""

    def __init__(self, mutants_dir):
        self.src = os.path.join(mutants_dir, "src")
        self._modules = {}
        self._trees = {}

    def _module(self, mod):
        if mod not in self._modules:
            import gc

            path = os.path.abspath(os.path.join(self.src, *mod.split("."))) + ".py"
            self._modules[mod] = (path,) + _functions(path)
            # mutmut forks every mutant's test run from this process: a module's syntax tree
            # (a million objects for the bigger ones) must not be walked by the garbage
            # collector of each fork (that cost 1 s a mutant), so it goes to the permanent
            # generation at once.
            gc.freeze()
        return self._modules[mod]

    def pair(self, mutant_name):
        """(path, original function node, mutant function node, the module's lines)."""
        mod, name = mutant_name.split(".", 1)
        path, funcs, text = self._module(mod)
        return path, funcs.get(name.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"), funcs.get(name), text

    def fingerprint(self, mutant_name):
        """A hash of the original function and the mutant, names aside: a documented equivalent
        stays verified while this is unchanged."""
        import hashlib

        _, orig, mut, text = self.pair(mutant_name)
        if orig is None or mut is None:
            return None
        body = "\n".join(text[orig.lineno - 1:orig.end_lineno]).replace(orig.name, "F") + "\0" + \
            "\n".join(text[mut.lineno - 1:mut.end_lineno]).replace(mut.name, "F")
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def lines(self, mutant_name):
        """Absolute lines (in mutants/src) of the original function's changed statements, or None."""
        path, orig, mut, text = self.pair(mutant_name)
        if orig is None or mut is None or orig.body0 is None or mut.body0 is None:
            return path, None
        o = text[orig.lineno - 1:orig.end_lineno]
        m = text[mut.lineno - 1:mut.end_lineno]
        ob, mb = orig.body0 - orig.lineno, mut.body0 - mut.lineno
        if ob != mb or o[1:ob] != m[1:mb] or m[0].replace(mut.name, orig.name) != o[0]:
            return path, None                     # the signature or a default changed
        po, pm = o[ob:], m[mb:]
        p = 0
        while p < min(len(po), len(pm)) and po[p] == pm[p]:
            p += 1
        s = 0
        while s < min(len(po), len(pm)) - p and po[-1 - s] == pm[-1 - s]:
            s += 1
        first, last = p, len(po) - s              # orig body lines [first, last) differ
        if last <= first:                         # pure insertion: the statements around it
            first, last = max(p - 1, 0), min(p + 1, len(po))
        base = orig.lineno + ob
        if orig.name not in self._trees:          # a function's mutants come one after another
            self._trees = {orig.name: parse_function(text, orig)}
        return path, statement_lines(self._trees[orig.name], range(base + first, base + last))


class Selector(Mutants):
    def __init__(self, mutants_dir, covered):
        Mutants.__init__(self, mutants_dir)
        # Each line's tests as one int bitmask over a test index: ints are not tracked by the
        # garbage collector, so the mutant processes mutmut forks from this one do not walk
        # a million set entries at every collection (that made each mutant's run 1-3 s slower).
        self.index = {}
        self.masks = {}
        for path, by_line in covered.items():
            lines = self.masks[path] = {}
            for line, ctxs in by_line.items():
                mask = 0
                for c in ctxs:
                    mask |= 1 << self.index.setdefault(c, len(self.index))
                lines[line] = mask

    def select(self, mutant_name, tests):
        path, lines = self.lines(mutant_name)
        if lines is None:
            return list(tests)
        by_line = self.masks.get(path, {})
        reach = 0
        for line in lines:
            reach |= by_line.get(line, 0)
        # A test coverage did not see at all (it failed there, or ran nothing) is kept.
        return [t for t in tests if t not in self.index or reach >> self.index[t] & 1]


def _fingerprint(mutants_dir, tests):
    import hashlib

    h = hashlib.sha256()
    roots = [os.path.join(mutants_dir, "src")] + [os.path.join(mutants_dir, t) for t in tests]
    for root in roots:
        files = [root] if os.path.isfile(root) else sorted(
            os.path.join(d, n) for d, _, names in os.walk(root) for n in names if n.endswith(".py"))
        for path in files:
            h.update(path.encode())
            with open(path, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def cached_selector(mutants_dir, tests):
    """A Selector, measuring again only when the mutants or the tests changed (KEEP=1 runs)."""
    import pickle
    import time

    cache = os.path.join(os.path.dirname(mutants_dir), "line_tests.pickle")
    key = _fingerprint(mutants_dir, tests)
    covered = None
    if os.path.exists(cache):
        with open(cache, "rb") as f:
            old_key, covered = pickle.load(f)
        covered = covered if old_key == key else None
    if covered is None:
        t0 = time.time()
        covered = measure(mutants_dir, tests)
        with open(cache, "wb") as f:
            pickle.dump((key, covered), f)
        print("mutation: measured which lines each test executes in %.0f s" % (time.time() - t0), flush=True)
    selector = Selector(mutants_dir, covered)
    del covered
    import gc

    gc.collect()
    gc.freeze()        # as in Mutants._module: what is left is never walked again in the forks
    return selector
