"""Shared helpers for the pumpctl CLI tests: a real emulator (thread) and in-process runs of main()."""
import io
import os

from pumpctl.cli import main as cli
from pumpctl.emulator.server import Emulator

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NIGHT_RAMP = os.path.join(REPO, "examples", "night_ramp.toml")


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return "Result(rc=%r)\n--- stdout\n%s--- stderr\n%s" % (self.rc, self.out, self.err)


def run(argv, stdin=""):
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(list(argv), stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return Result(rc, out.getvalue(), err.getvalue())


def start_emulator(**opts):
    opts.setdefault("seed", 7)
    opts.setdefault("log", io.StringIO())
    opts.setdefault("out", io.StringIO())
    return Emulator(**opts).start()


class Pump:
    """An emulator plus a key file; .run(verb...) runs pumpctl against it over `via` ("tcp" or "pty")."""

    def __init__(self, tmp_path, via="tcp", **opts):
        self.emu = start_emulator(**opts)
        self.url = self.emu.tcp_url if via == "tcp" else self.emu.pty_path
        self.keys = str(tmp_path / "keys.toml")

    def run(self, *argv, stdin=""):
        return run(["--port", self.url, "--keys", self.keys, "--timeout", "5"] + list(argv), stdin=stdin)

    def ok(self, *argv, stdin=""):
        r = self.run(*argv, stdin=stdin)
        assert r.rc == 0, r
        return r

    def stop(self):
        self.emu.stop()
