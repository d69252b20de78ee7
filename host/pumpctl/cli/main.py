"""`pumpctl`: programme and read the pump over a serial port (docs/pumpctl.md).

    pumpctl [--port P] [--timeout S] [--keys FILE] [--trace] VERB [options]

Port: --port, else $PUMPCTL_PORT, else autodetect USB VID:PID 2E8A:0005. Exit codes
(EXIT_* below, documented in docs/pumpctl.md) say what failed; every error message
names the cause and the fix. The port is released in a ``finally``.
"""
import argparse
import os
import sys

from pumpctl import __version__

from pumpctl.link import ports

from pumpctl.cli import render
from pumpctl.link.client import PumpClientError, PumpPortError, PumpProtocolError, PumpReplyError, PumpTimeout
from pumpctl.link.keys import KeyStore, KeyStoreError
from pumpctl.clinical.prescription import PrescriptionError
from pumpctl.link.session import Session, SessionError, VerifyError
from pumpctl.cli.errors import BuildRefused, NotConfirmed

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2  # bad arguments or input file (argparse uses 2 too)
EXIT_PORT = 3  # no port / not found / permission / busy
EXIT_TIMEOUT = 4  # no (valid) reply in time
EXIT_VERSION = 5  # pump speaks another protocol version
EXIT_AUTH = 6  # no key, wrong key, locked out, wrong role
EXIT_REFUSED = 7  # the pump (or the tool, before sending) refused the request
EXIT_NOT_CONFIRMED = 8  # the user did not confirm (or no terminal and no --yes)
EXIT_VERIFY = 9  # readback after commit differs from what was staged
EXIT_BUILD = 10  # command exists only in test builds
AUTH_CODES = ("E_AUTH_REQUIRED", "E_AUTH_EXPIRED", "E_AUTH_LOCKED", "E_AUTH_BAD_MAC", "E_AUTH_NO_KEY",
              "E_AUTH_NO_CHALLENGE", "E_AUTH_REPLAY", "E_ROLE")


def exit_code(exc):
    if isinstance(exc, PrescriptionError) or isinstance(exc, KeyStoreError) and "hex" in exc.cause:
        return EXIT_USAGE
    if isinstance(exc, PumpPortError):
        return EXIT_PORT
    if isinstance(exc, PumpTimeout):
        return EXIT_TIMEOUT
    if isinstance(exc, PumpProtocolError):
        return EXIT_VERSION
    if isinstance(exc, PumpReplyError):
        if exc.code in AUTH_CODES:
            return EXIT_AUTH
        if exc.code == "E_TEST_BUILD_ONLY":
            return EXIT_BUILD
        return EXIT_REFUSED
    if isinstance(exc, (SessionError, KeyStoreError)):
        return EXIT_AUTH
    if isinstance(exc, VerifyError):
        return EXIT_VERIFY
    if isinstance(exc, NotConfirmed):
        return EXIT_NOT_CONFIRMED
    if isinstance(exc, BuildRefused):
        return EXIT_BUILD
    return EXIT_REFUSED


class Ctx:
    """Per-invocation context: parsed args, the (lazy) session, output helpers."""

    def __init__(self, args, stdout=None, stderr=None, stdin=None):
        self.args = args
        self.out = stdout or sys.stdout
        self.err = stderr or sys.stderr
        self.stdin = stdin or sys.stdin
        self._session = None
        self._keys = None

    @property
    def json(self):
        return getattr(self.args, "json", False)

    def keys(self):
        if self._keys is None:
            self._keys = KeyStore(self.args.keys)
        return self._keys

    def session(self):
        """Connected session (port resolved, hello checked)."""
        if self._session is None:
            url, how = ports.resolve(getattr(self.args, "port", None))
            trace = None
            if self.args.trace:
                def trace(direction, data):
                    self.err.write("%s %s\n" % ("<" if direction == "rx" else ">", data.decode("ascii", "replace")
                                                .rstrip("\n")))
            s = Session(url, keystore=None, timeout_s=self.args.timeout, on_traffic=trace)
            self._session = s
            s.connect()
            s.keystore = self.keys()
        return self._session

    def close(self):
        s, self._session = self._session, None
        if s is not None:
            s.disconnect()

    def emit(self, obj, text_fn):
        if self.json:
            render.dump_json(obj, self.out)
        else:
            text_fn()

    def note(self, msg):
        self.err.write(msg + "\n")

    def confirm(self, question, answer="y"):
        """Ask on the terminal; --yes answers yes. Without a terminal and without --yes: refuse."""
        if getattr(self.args, "yes", False):
            return True
        if not (hasattr(self.stdin, "isatty") and self.stdin.isatty()) and not os.environ.get("PUMPCTL_ASSUME_TTY"):
            raise NotConfirmed("confirmation needed but stdin is not a terminal", "re-run with --yes (scripts)")
        self.err.write("%s " % question)
        self.err.flush()
        got = self.stdin.readline().strip().lower()
        if got != answer.lower():
            raise NotConfirmed("not confirmed (answered %r); nothing changed" % got, "answer %r to go ahead" % answer)
        return True

    def require_test_build(self, what):
        s = self.session()
        if s.build != "test":
            raise BuildRefused("%s exists only in test builds; pump %s runs a %s build" % (what, s.serial, s.build),
                               "use an emulator (pumpctl emulate) or a HIL test-build board")


# ---------------------------------------------------------------- simple verbs
def cmd_ports(ctx):
    found = ports.candidates()
    env = os.environ.get(ports.ENV)

    def text():
        if env:
            ctx.out.write("PUMPCTL_PORT=%s (used when --port is not given)\n" % env)
        if not found:
            ctx.out.write("no serial ports found (a pump board shows up as USB VID:PID 2E8A:0005)\n")
            return
        render.table([[c["device"], c["vid_pid"] or "-", "yes" if c["usable"] else "no", c["reason"]]
                      for c in found], ["device", "vid:pid", "pump?", "reason"], ctx.out)

    ctx.emit({"env_port": env, "ports": found}, text)
    return 0


def cmd_emulate(ctx):
    from pumpctl.emulator.server import run_emulator

    return run_emulator(ctx.args) or 0


def cmd_diagram(ctx):
    from pumpctl.fsm_model import mermaid

    text = mermaid()
    if ctx.args.output and ctx.args.output != "-":
        with open(ctx.args.output, "w") as f:
            f.write(text)
        ctx.note("wrote %s" % ctx.args.output)
    else:
        ctx.out.write(text)
    return 0


# ---------------------------------------------------------------- parser and main
def build_parser():
    from pumpctl.cli import admin as cli_admin
    from pumpctl.cli import pump as cli_pump
    from pumpctl.cli import read as cli_read
    from pumpctl.cli import therapy as cli_therapy

    p = argparse.ArgumentParser(prog="pumpctl", description="Programme and read the intrathecal pump.",
                                epilog="Exit codes and --json fields: docs/pumpctl.md")
    p.add_argument("--version", action="version", version="pumpctl " + __version__)
    _common(p, top=True)
    sub = p.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True

    def verb(name, fn, help_, json=False, port=True):
        sp = sub.add_parser(name, help=help_, description=help_)
        if port:
            _common(sp)
        if json:
            sp.add_argument("--json", action="store_true", help="machine-readable output (docs/pumpctl.md)")
        sp.set_defaults(fn=fn)
        return sp

    verb("ports", cmd_ports, "list serial ports and whether each looks like a pump", json=True, port=False)
    from pumpctl.emulator.server import add_arguments

    add_arguments(verb("emulate", cmd_emulate, "run an emulated pump on a pty and TCP", port=False))
    verb("diagram", cmd_diagram, "write the firmware state diagram (Mermaid)", port=False).add_argument(
        "-o", "--output", default="-", help="file (default stdout)")
    cli_pump.add_verbs(verb)
    cli_admin.add_verbs(verb)
    cli_therapy.add_verbs(verb)
    cli_read.add_verbs(verb)
    try:  # issue 5 assistants (optional module owned by the guardrails work)
        from pumpctl.cli import clinical as cli_clinical
    except ImportError:
        cli_clinical = None
    if cli_clinical is not None and hasattr(cli_clinical, "add_subcommands"):
        cli_clinical.add_subcommands(sub)
    return p


def _common(p, top=False):
    d = {} if top else {"default": argparse.SUPPRESS}
    p.add_argument("--port", help="serial device or pyserial URL (default: $PUMPCTL_PORT, then autodetect)",
                   **({"default": None} if top else d))
    p.add_argument("--timeout", type=float, help="seconds to wait for each reply (default 2)",
                   **({"default": 2.0} if top else d))
    p.add_argument("--keys", help="key store file (default: $PUMPCTL_KEYS or ~/.config/pumpctl/keys.toml)",
                   **({"default": None} if top else d))
    p.add_argument("--trace", action="store_true", help="print every frame to stderr",
                   **({"default": False} if top else d))


def main(argv=None, stdout=None, stderr=None, stdin=None):
    p = build_parser()
    args = p.parse_args(argv)
    ctx = Ctx(args, stdout, stderr, stdin)
    fn = getattr(args, "fn", None)
    func = getattr(args, "func", None)  # verbs added by other modules: func(args) -> exit code
    if fn is None and func is None:
        p.print_help(ctx.err)
        return EXIT_USAGE
    try:
        return (fn(ctx) if fn is not None else func(args)) or 0
    except KeyboardInterrupt:
        ctx.err.write("pumpctl: interrupted; nothing further was sent\n")
        return 130
    except PumpClientError as e:
        ctx.err.write("pumpctl: error: %s\n" % e.cause)
        if e.fix:
            ctx.err.write("  fix: %s\n" % e.fix)
        return exit_code(e)
    finally:
        try:
            ctx.close()
        except PumpClientError:
            pass


if __name__ == "__main__":
    sys.exit(main())
