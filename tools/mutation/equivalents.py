"""The mutants docs/mutation/ lists as equivalent, and the fingerprints they had when a run last
saw them survive (docs/mutation/equivalents.verified, written by run.py, one `key fingerprint`
a line). A documented mutant is re-run whenever its function or its mutant changed since."""
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DOCS = os.path.join(REPO, "docs", "mutation")
VERIFIED = os.path.join(DOCS, "equivalents.verified")
SCRATCH = os.path.join(REPO, ".mutation")
SKIPPED = os.path.join(SCRATCH, "skipped.txt")


def documented():
    """Mutant keys docs/mutation/*.md lists as equivalent: the first cell of a table row, full keys
    (`mod.func__mutmut_7`), and bare numbers after one (`..._7`, `9`) for more of the same function;
    a parenthesised remark (other numbering) is not read."""
    keys = set()
    full = re.compile(r"`([A-Za-z_][\w.\u01c1]*__mutmut_)(\d+)`|`(\d+)`")
    for name in sorted(os.listdir(DOCS)) if os.path.isdir(DOCS) else ():
        if not name.endswith(".md"):
            continue
        with open(os.path.join(DOCS, name), encoding="utf-8") as f:
            for line in f:
                if not line.startswith("|"):
                    continue
                cell = re.sub(r"\(.*?\)", "", line.split("|")[1])
                prefix = None
                for m in full.finditer(cell):
                    if m.group(1):
                        prefix = m.group(1)
                        keys.add(prefix + m.group(2))
                    elif prefix is not None:
                        keys.add(prefix + m.group(3))
    return keys


def read_verified(path=None):
    path = path or VERIFIED
    out = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and not line.startswith("#"):
                    out[parts[0]] = parts[1]
    return out


def write_verified(entries, path=None):
    with open(path or VERIFIED, "w", encoding="utf-8") as f:
        f.write("# Written by `make mutation` (tools/mutation/equivalents.py): each documented equivalent\n"
                "# mutant seen surviving, with the fingerprint of its function and mutant at the time.\n")
        for key in sorted(entries):
            f.write("%s %s\n" % (key, entries[key]))


class Skipper:
    def __init__(self, mutants_dir):
        import line_tests

        self.mutants = line_tests.Mutants(mutants_dir)
        self.documented = documented()
        self.verified_fp = read_verified()

    def verified(self, key):
        fp = self.verified_fp.get(key)
        if key not in self.documented or fp is None or self.mutants.fingerprint(key) != fp:
            return False
        with open(SKIPPED, "a") as f:
            f.write(key + "\n")
        return True


def update(survived, skipped, modules, mutants_dir):
    """After a run over `modules`: their documented keys that survived (run, or skipped as
    verified) get today's fingerprints, their other keys drop out; other modules' entries stay.
    Returns the number written."""
    import line_tests

    mutants = line_tests.Mutants(mutants_dir)
    docs = documented()
    old = read_verified()
    entries = {k: v for k, v in old.items() if k.split(".", 1)[0] not in modules}
    for key in survived:
        if key in docs:
            fp = mutants.fingerprint(key) if key not in skipped else old.get(key)
            if fp:
                entries[key] = fp
    write_verified(entries)
    return len(entries)
