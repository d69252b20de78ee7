"""`pumpctl`: programme and read the pump over a serial port (docs/pumpctl.md).

    pumpctl [--port P] [--timeout S] [--keys FILE] [--trace] VERB [options]

Port: --port, else $PUMPCTL_PORT, else autodetect USB VID:PID 2E8A:0005. Exit codes
(EXIT_* below, documented in docs/pumpctl.md) say what failed; every error message
names the cause and the fix. The port is released in a ``finally``.
"""
import argparse
import os
import sys

from . import __version__, ports, render
from .client import PumpClientError, PumpPortError, PumpProtocolError, PumpReplyError, PumpTimeout
from .keys import KeyStore, KeyStoreError
from .prescription import PrescriptionError
from .session import Session, SessionError, VerifyError

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


class Refused(PumpClientError):
    """The tool refuses before sending anything (exit EXIT_REFUSED)."""


class NotConfirmed(PumpClientError):
    pass


class BuildRefused(PumpClientError):
    pass


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
    from .emulator import run_emulator

    return run_emulator(ctx.args) or 0


def cmd_diagram(ctx):
    from .fsm_model import mermaid

    text = mermaid()
    if ctx.args.output and ctx.args.output != "-":
        with open(ctx.args.output, "w") as f:
            f.write(text)
        ctx.note("wrote %s" % ctx.args.output)
    else:
        ctx.out.write(text)
    return 0


def cmd_info(ctx):
    s = ctx.session()
    h = dict(s.info)
    t = s.request("time_get")
    st = s.request("settings_get")
    obj = {"hello": h, "time": t, "settings": st, "port": s.url, "key_roles": ctx.keys().roles(s.serial),
           "pumpctl_version": __version__}

    def text():
        render.pairs([
            ("pump", "model %s mL, serial %s" % (h.get("model"), h.get("serial"))),
            ("firmware", "%s (build %s, %s build)" % (h.get("fw_version"), h.get("build_hash"), h.get("build"))),
            ("protocol", str(h.get("protocol"))),
            ("reservoir capacity", "%s mL" % render.ml(h.get("capacity_nl"))),
            ("stroke", "%s nL" % h.get("stroke_nl")),
            ("port", s.url),
            ("pump clock", "%s UTC (%s)" % (render.local(t["t_s"], 0, True), "set" if t.get("clock_set") else
                                            "NOT set: pumpctl time sync")),
            ("utc offset", "%+d min" % (st.get("utc_offset_s", 0) // 60)),
            ("low-reservoir alarm at", "%s mL" % render.ml(st.get("low_res_nl"))),
            ("catheter volume", "%s mL" % render.ml(st.get("catheter_nl"))),
            ("keys on this host", ", ".join(obj["key_roles"]) or "none (pumpctl provision / login)"),
        ], ctx.out)

    ctx.emit(obj, text)
    return 0


def cmd_status(ctx):
    s = ctx.session()
    st = s.request("status")
    off = s.request("settings_get").get("utc_offset_s", 0)
    obj = dict(st, serial=s.serial, utc_offset_s=off)

    def text():
        r = render
        render.pairs([
            ("pump", "%s (model %s, %s build)" % (s.serial, s.info.get("model"), s.build)),
            ("state", "%s, mode %s%s" % (st["state"], st["mode"], ", bolus: " + st["bolus"] if st.get("bolus")
                                         else "")),
            ("pump time", "%s local%s" % (r.local(st["t_s"], off), "" if st.get("clock_set") else
                                          " (clock NOT set: pumpctl time sync)")),
            ("reservoir", "%s mL at %d mcg/mL" % (r.ml(st["reservoir_nl"]), st["conc_ug_ml"])),
            ("current rate", "%s mcg/day (%s mL/day)" % (r.mcg(st["rate_ng_day"]), r.ml(st["flow_nl_day"], 4))),
            ("daily total", "%s mcg/day" % r.mcg(st["daily_ng"])),
            ("active alarms", ", ".join(st["alarms"]) or "none"),
            ("low-reservoir alarm", r.local(st.get("alarm_t_s"), off)),
            ("reservoir empty", r.local(st.get("empty_t_s"), off)),
            ("battery", "%s%% (about %s left)%s" % (
                r.dec(st["battery_nah"] * 100, _capacity_nah(), 1),
                r.duration(st.get("battery_life_s")), ", ERI since " + r.local(st["eri_t_s"], off)
                if st.get("eri_t_s") else "")),
            ("ERI / EOS forecast", "%s / %s" % (r.local(st.get("eri_due_t_s"), off), r.local(st.get("eos_t_s"), off))),
            ("delivered since refill", "%s mL (%d strokes in total)" % (r.ml(st["delivered_nl"]), st["strokes"])),
        ], ctx.out)

    ctx.emit(obj, text)
    return 0


def _capacity_nah():
    import battery

    return battery.CAPACITY_NAH


def cmd_time(ctx):
    import time as _time

    s = ctx.session()
    if ctx.args.action == "sync":
        s.ensure_role("clinician", "service")
        now = int(_time.time()) - render.PUMP_EPOCH_UNIX
        before = s.request("time_get")
        res = s.request("time_set", {"t_s": now})
        if ctx.args.utc_offset is not None:
            s.request("settings_set", {"utc_offset_s": _offset_s(ctx.args.utc_offset)})
            res = s.request("time_get")
        obj = dict(res, drift_s=before["t_s"] - now)
        ctx.emit(obj, lambda: ctx.out.write("pump clock set to %s UTC (was off by %+d s), utc offset %+d min\n" % (
            render.local(res["t_s"], 0, True), obj["drift_s"], res["utc_offset_s"] // 60)))
        return 0
    res = s.request("time_get")
    ctx.emit(res, lambda: ctx.out.write("%s UTC, utc offset %+d min, clock %s\n" % (
        render.local(res["t_s"], 0, True), res["utc_offset_s"] // 60, "set" if res["clock_set"] else "NOT set")))
    return 0


def _offset_s(text):
    sign = -1 if text.startswith("-") else 1
    h, _, m = text.lstrip("+-").partition(":")
    try:
        return sign * (int(h) * 3600 + int(m or 0) * 60)
    except ValueError:
        raise PrescriptionError("utc offset %r is not +HH:MM" % text, "e.g. --utc-offset +01:00") from None


def cmd_settings(ctx):
    from .prescription import ml_to_nl

    s = ctx.session()
    a = ctx.args
    want = {}
    if a.low_reservoir_ml is not None:
        want["low_res_nl"] = ml_to_nl(a.low_reservoir_ml, "--low-reservoir-ml")
    if a.catheter_ml is not None:
        want["catheter_nl"] = ml_to_nl(a.catheter_ml, "--catheter-ml")
    if a.utc_offset is not None:
        want["utc_offset_s"] = _offset_s(a.utc_offset)
    if want:
        s.ensure_role("clinician")
        res = s.request("settings_set", want)
    else:
        res = s.request("settings_get")
    ctx.emit(res, lambda: render.pairs([(k, str(res[k])) for k in sorted(res)], ctx.out))
    return 0


def cmd_login(ctx):
    from .keys import check_key_hex

    s = ctx.session()
    role = ctx.args.role
    key = check_key_hex(ctx.args.key) if ctx.args.key else None
    s.login(role, key or s.key_for(role))
    saved = False
    if key:
        ctx.keys().set(s.serial, role, key)
        ctx.keys().save()
        saved = True
    obj = {"serial": s.serial, "role": role, "ok": True, "saved": saved, "keys_file": ctx.keys().path}
    ctx.emit(obj, lambda: ctx.out.write("logged in to %s as %s: key OK%s\n" % (
        s.serial, role, " (saved in %s)" % ctx.keys().path if saved else "")))
    return 0


def cmd_provision(ctx):
    import secrets

    from .keys import check_key_hex

    s = ctx.session()
    given = {}
    for item in ctx.args.key or []:
        role, _, hexkey = item.partition("=")
        given[role] = check_key_hex(hexkey)
    roles = [r for r in ctx.args.roles.split(",") if r] if ctx.args.roles else []
    for r in list(given) + roles:
        if r not in ("clinician", "patient", "service"):
            raise PrescriptionError("unknown role %r" % r, "roles are clinician, patient, service")
    new = {r: given.get(r) or secrets.token_hex(32) for r in dict.fromkeys(roles + list(given))}
    s.ensure_role("service")
    res = s.request("provision", {"keys": new})
    ks = ctx.keys()
    for r, k in new.items():
        ks.set(s.serial, r, k)
    ks.save()
    obj = {"serial": s.serial, "provisioned": sorted(new), "pump_roles": res.get("roles", []), "keys_file": ks.path}
    ctx.emit(obj, lambda: ctx.out.write("provisioned %s on %s; keys saved in %s (mode 0600)\n" % (
        ", ".join(sorted(new)), s.serial, ks.path)))
    return 0


def cmd_sim(ctx):
    s = ctx.session()
    ctx.require_test_build("sim " + ctx.args.action)
    s.ensure_role("service")
    if ctx.args.action == "warp":
        secs = parse_duration(ctx.args.duration)
        res = s.request("sim_warp", {"seconds": secs}, timeout_s=max(ctx.args.timeout, 30.0))
        ctx.emit(res, lambda: ctx.out.write("warped %s: pump time %s UTC, state %s, reservoir %s mL, alarms: %s\n" % (
            render.duration(secs), render.local(res["t_s"]), res["state"], render.ml(res["reservoir_nl"]),
            ", ".join(res["alarms"]) or "none")))
        return 0
    args = {"fault": ctx.args.fault}
    for k in ("count", "ppm", "nah", "writes", "after_bytes"):
        v = getattr(ctx.args, k)
        if v is not None:
            args[k] = v
    try:
        res = s.request("sim_fault", args)
    except PumpTimeout:
        if ctx.args.fault != "power_loss":
            raise
        res = {"fault": "power_loss", "note": "pump rebooted (no reply, as on a real power loss)"}
    ctx.emit(res, lambda: ctx.out.write("injected %s\n" % res["fault"]))
    return 0


def parse_duration(text):
    """"30d", "12h", "90m", "45s" or plain seconds -> int seconds."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1, "w": 604800}
    t = text.strip().lower()
    try:
        if t and t[-1] in units:
            return int(t[:-1]) * units[t[-1]]
        return int(t)
    except ValueError:
        raise PrescriptionError("duration %r" % text, "write e.g. 30d, 12h, 90m or 3600") from None


# ---------------------------------------------------------------- parser and main
def build_parser():
    from . import cli_read, cli_therapy

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
    from .emulator import add_arguments

    add_arguments(verb("emulate", cmd_emulate, "run an emulated pump on a pty and TCP", port=False))
    verb("diagram", cmd_diagram, "write the firmware state diagram (Mermaid)", port=False).add_argument(
        "-o", "--output", default="-", help="file (default stdout)")
    verb("info", cmd_info, "pump identity, firmware, clock and settings", json=True)
    verb("status", cmd_status, "therapy status: reservoir, rate, alarms, forecasts, battery", json=True)
    sp = verb("time", cmd_time, "pump clock: get, or sync to this computer's clock", json=True)
    sp.add_argument("action", choices=("get", "sync"), nargs="?", default="get")
    sp.add_argument("--utc-offset", help="with sync: also set the pump's UTC offset, e.g. +01:00")
    sp = verb("settings", cmd_settings, "show or change pump settings", json=True)
    sp.add_argument("--low-reservoir-ml", help="low-reservoir alarm threshold, 0.5..5.0 mL")
    sp.add_argument("--catheter-ml", help="catheter volume (for bridge boluses and priming)")
    sp.add_argument("--utc-offset", help="pump local time offset, e.g. +01:00")
    sp = verb("login", cmd_login, "check a role's key against the pump (and save it with --key)", json=True)
    sp.add_argument("--role", choices=("clinician", "patient", "service"), default="clinician")
    sp.add_argument("--key", help="key as hex; saved in the key store if the pump accepts it")
    sp = verb("provision", cmd_provision, "service: generate and install role keys, save them here", json=True)
    sp.add_argument("--roles", default="clinician,patient", help="roles to generate keys for (comma list)")
    sp.add_argument("--key", action="append", metavar="ROLE=HEX", help="install this key instead of a random one")
    sp = verb("sim", cmd_sim, "test builds: warp the clock or inject a fault", json=True)
    simsub = sp.add_subparsers(dest="action", metavar="ACTION")
    simsub.required = True
    w = simsub.add_parser("warp", help="advance pump time, e.g. 30d, 12h")
    w.add_argument("duration")
    f = simsub.add_parser("fault", help="inject a fault")
    f.add_argument("fault", choices=("motor_stall", "battery_drain", "flash_fail", "power_loss", "serial_noise"))
    for k in ("count", "ppm", "nah", "writes", "after-bytes"):
        f.add_argument("--" + k, type=int, dest=k.replace("-", "_"))
    for q in (w, f):
        q.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    cli_therapy.add_verbs(verb)
    cli_read.add_verbs(verb)
    try:  # issue 5 assistants (optional module owned by the guardrails work)
        from . import cli_clinical
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
    if fn is None:  # a subcommand group added by another module
        fn = getattr(args, "func", None)
        if fn is None:
            p.print_help(ctx.err)
            return EXIT_USAGE
        return fn(args) or 0
    try:
        return fn(ctx) or 0
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
