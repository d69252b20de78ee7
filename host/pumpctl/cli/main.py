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
from pumpctl.link.client import (PumpClientError, PumpPortError, PumpProtocolError, PumpReplyError, PumpTimeout,
                                 PumpURLError)
from pumpctl.link.keys import KeyStore, KeyStoreError
from pumpctl.clinical.prescription import PrescriptionError
from pumpctl.link.session import Session, SessionError, VerifyError
from pumpctl.cli.argtypes import count, positive_seconds  # noqa: F401  (count: re-exported)
from pumpctl.cli.errors import BuildRefused, NotConfirmed, Refused, UsageError

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
EXIT_STDOUT_CLOSED = 141  # the reader of stdout went away (`| head`): 128 + SIGPIPE, as a shell reports it
AUTH_CODES = ("E_AUTH_REQUIRED", "E_AUTH_EXPIRED", "E_AUTH_LOCKED", "E_AUTH_BAD_MAC", "E_AUTH_NO_KEY",
              "E_AUTH_NO_CHALLENGE", "E_AUTH_REPLAY", "E_ROLE")


def exit_code(exc):
    if isinstance(exc, (UsageError, PumpURLError)):
        return EXIT_USAGE
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


class LineTrace:
    """--trace: whole frames, one line each ("> " sent, "< " received), whatever pieces the transport delivers
    (socket:// hands over 2-byte fragments; issue 10, defect 9)."""

    def __init__(self, stream):
        self.stream = stream
        self.buf = {"tx": b"", "rx": b""}

    def __call__(self, direction, data):
        self.buf[direction] += data
        while b"\n" in self.buf[direction]:
            line, self.buf[direction] = self.buf[direction].split(b"\n", 1)
            if line.strip():
                self.stream.write("%s %s\n" % ("<" if direction == "rx" else ">",
                                               line.decode("ascii", "replace").rstrip("\r")))


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
            trace = LineTrace(self.err) if self.args.trace else None
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

    def interactive(self):
        return (hasattr(self.stdin, "isatty") and self.stdin.isatty()) or bool(os.environ.get("PUMPCTL_ASSUME_TTY"))

    def review_out(self):
        """Where the human old -> new review goes: stdout; with --json, stderr only when a person will be
        asked (a terminal and no --yes), else nowhere (a script reads JSON, not a table)."""
        if not self.json:
            return self.out
        if getattr(self.args, "yes", False) or not self.interactive():
            return None
        return self.err

    def note(self, msg):
        self.err.write(msg + "\n")

    def confirm(self, question, answer="y", script_fix="re-run with --yes (scripts)"):
        """Ask on the terminal; --yes answers yes. Without a terminal and without --yes: refuse, the fix
        saying what a script passes (`script_fix`: more than --yes for the > 2x question)."""
        if getattr(self.args, "yes", False):
            return True
        if not self.interactive():
            raise NotConfirmed("confirmation needed but stdin is not a terminal", script_fix)
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
    import errno

    from pumpctl.emulator.mpy_runtime import BridgeError
    from pumpctl.emulator.server import run_emulator
    from pumpctl.emulator.statelock import StateBusy

    a = ctx.args
    if a.no_pty and a.no_tcp:
        raise UsageError("--no-pty with --no-tcp would serve nothing", "drop one of them (TCP only: --no-pty)")
    try:
        return run_emulator(a) or 0
    except BridgeError as e:  # --runtime micropython without Node or its npm package: say how to get them
        raise Refused(str(e), e.fix) from None
    except StateBusy as e:
        raise UsageError(str(e), e.fix) from None
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise PumpPortError("TCP port %s:%s is in use by another program" % (a.host, a.port),
                                "pick another with --port N, or --port 0 for a free one") from None
        if e.errno in (errno.EADDRNOTAVAIL, errno.EACCES):
            raise PumpPortError("cannot listen on %s:%s: %s" % (a.host, a.port, e.strerror),
                                "use --host 127.0.0.1 and a port above 1023 (or --port 0)") from None
        raise


def cmd_diagram(ctx):
    from pumpctl.fsm_model import mermaid

    text = mermaid()
    if ctx.args.output and ctx.args.output != "-":
        try:
            with open(ctx.args.output, "w") as f:
                f.write(text)
        except OSError as e:
            raise UsageError("cannot write %s: %s" % (ctx.args.output, e.strerror or e),
                             "choose a writable -o FILE (its directory must exist), or -o - for stdout") from None
        ctx.note("wrote %s" % ctx.args.output)
    else:
        ctx.out.write(text)
    return 0


# ---------------------------------------------------------------- parser and main
class Parser(argparse.ArgumentParser):
    """argparse that raises (so --json can answer a usage mistake in JSON) instead of exiting."""

    def error(self, message):
        raise ArgError(message, self.format_usage())


class ArgError(UsageError):
    def __init__(self, message, usage):
        super().__init__(message, "see pumpctl --help")
        self.usage = usage


def build_parser():
    from pumpctl.cli import admin as cli_admin
    from pumpctl.cli import pump as cli_pump
    from pumpctl.cli import read as cli_read
    from pumpctl.cli import therapy as cli_therapy

    from pumpctl import docpath

    p = Parser(prog="pumpctl", description="Programme and read the intrathecal pump.",
               epilog="Exit codes and --json fields: %s" % docpath.find("pumpctl.md"))
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
    cli_admin.add_verbs(verb, _common)
    cli_therapy.add_verbs(verb)
    cli_read.add_verbs(verb)
    from pumpctl.report import verb as report_verb  # issue 11: the session report (its own room)

    report_verb.add_verbs(verb)
    try:  # issue 5 assistants (optional module owned by the guardrails work)
        from pumpctl.cli import clinical as cli_clinical
    except ImportError:
        cli_clinical = None
    if cli_clinical is not None and hasattr(cli_clinical, "add_subcommands"):
        cli_clinical.add_subcommands(sub)
    from pumpctl.cli import completion as cli_completion
    from pumpctl.cli import examples as cli_examples

    cli_completion.add_verbs(verb)
    cli_examples.attach(p)  # last: examples into every verb's --help, including verbs registered above
    return p


def _common(p, top=False):
    d = {} if top else {"default": argparse.SUPPRESS}
    p.add_argument("--port", help="serial device or pyserial URL (default: $PUMPCTL_PORT, then autodetect)",
                   **({"default": None} if top else d))
    p.add_argument("--timeout", type=positive_seconds, help="seconds to wait for each reply (default 2)",
                   **({"default": 2.0} if top else d))
    p.add_argument("--keys", help="key store file (default: $PUMPCTL_KEYS or ~/.config/pumpctl/keys.toml)",
                   **({"default": None} if top else d))
    p.add_argument("--trace", action="store_true", help="print every frame to stderr",
                   **({"default": False} if top else d))


def _error_code(e):
    if isinstance(e, PumpReplyError):
        return e.code
    return "PUMPCTL_" + {EXIT_USAGE: "USAGE", EXIT_PORT: "PORT", EXIT_TIMEOUT: "TIMEOUT", EXIT_VERSION: "VERSION",
                         EXIT_AUTH: "AUTH", EXIT_REFUSED: "REFUSED", EXIT_NOT_CONFIRMED: "NOT_CONFIRMED",
                         EXIT_VERIFY: "VERIFY", EXIT_BUILD: "BUILD"}.get(exit_code(e), "ERROR")


def report_error(ctx, e, json_mode):
    """An error as text on stderr, or (--json) as {"error": {code, message, fix, exit_code}} on stdout."""
    rc = exit_code(e)
    if json_mode:
        err = {"code": _error_code(e), "message": e.cause, "fix": e.fix or "", "exit_code": rc}
        extra = getattr(e, "json_extra", None)
        if extra:
            err.update(extra)
        render.dump_json({"error": err}, ctx.out)
    else:
        ctx.err.write("pumpctl: error: %s\n" % e.cause)
        if e.fix:
            ctx.err.write("  fix: %s\n" % e.fix)
    return rc


def _stdout_gone(out):
    """True if the reader of stdout has gone (`pumpctl status | head -4`), not some other pipe; then
    point the descriptor at /dev/null so the interpreter's flush at exit does not raise again."""
    import select

    try:
        fd = out.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        gone = any(ev & select.POLLERR for _, ev in poller.poll(0))   # a pipe with no reader: POLLERR
    except (AttributeError, OSError, ValueError):
        return False
    if gone:
        os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
    return gone


def main(argv=None, stdout=None, stderr=None, stdin=None):
    p = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = p.parse_args(argv)
    except ArgError as e:
        ctx = Ctx(argparse.Namespace(json="--json" in argv), stdout, stderr, stdin)
        if not ctx.json:
            ctx.err.write(e.usage)
            ctx.err.write("pumpctl: error: %s\n" % e.cause)
            return EXIT_USAGE
        e.fix = "see pumpctl --help (usage: %s)" % " ".join(e.usage.split()[1:])
        return report_error(ctx, e, True)
    ctx = Ctx(args, stdout, stderr, stdin)
    ctx.parser = p
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
        return report_error(ctx, e, ctx.json)
    except BrokenPipeError:
        if not _stdout_gone(ctx.out):
            raise
        return EXIT_STDOUT_CLOSED
    finally:
        try:
            ctx.close()
        except PumpClientError:
            pass


if __name__ == "__main__":
    sys.exit(main())
