"""pumpctl verbs for keys and test builds: login, provision, sim warp|fault."""
import argparse

from pumpctl.cli import render
from pumpctl.link.client import PumpTimeout
from pumpctl.clinical.prescription import PrescriptionError


def cmd_login(ctx):
    from pumpctl.link.keys import check_key_hex

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

    from pumpctl.link.keys import check_key_hex

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
    # a mistyped duration is refused before connecting (nothing half-done on the pump)
    secs = parse_duration(ctx.args.duration) if ctx.args.action == "warp" else None
    s = ctx.session()
    ctx.require_test_build("sim " + ctx.args.action)
    s.ensure_role("service")
    if ctx.args.action == "warp":
        res = s.request("sim_warp", {"seconds": secs}, timeout_s=warp_timeout_s(secs, ctx.args.timeout))
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


def warp_timeout_s(secs, timeout_s):
    """How long `sim warp` waits: at least 30 s, and 3 s per warped day. The board twin pulses every
    stroke through the pins: 30 days of the night ramp took 28-32 s (docs/board.md), so a flat 30 s
    timed out on a loaded machine."""
    return max(timeout_s, 30.0, 3.0 * secs / 86400)


def parse_duration(text):
    """"30d", "12h", "90m", "45s" or plain seconds -> int seconds."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1, "w": 604800}
    t = text.strip().lower()
    try:
        n = int(t[:-1]) * units[t[-1]] if t and t[-1] in units else int(t)
    except ValueError:
        raise PrescriptionError("duration %r is not a whole number of weeks (w), days (d), hours (h), minutes (m) "
                                "or seconds" % text, "write e.g. 30d, 12h, 90m (1.5h is 90m) or 3600") from None
    if n <= 0:
        raise PrescriptionError("duration %r: the pump clock only moves forward" % text,
                                "give a duration above 0, e.g. 30d")
    return n


def add_verbs(verb, common=lambda p: None):
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
        common(q)  # global options also after the nested verb: `sim warp 1h --port X` (docs/pumpctl.md)
