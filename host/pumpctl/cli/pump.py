"""pumpctl verbs that read the pump and its clock: info, status, time, settings."""
from pumpctl import __version__
from pumpctl.cli import render
from pumpctl.clinical.prescription import PrescriptionError


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
    banner = _banner(st)
    if banner and ctx.json:
        ctx.err.write(banner + "\n")

    def text():
        r = render
        if banner:
            ctx.out.write("%s\n%s\n" % (banner, "=" * min(len(banner), 100)))
        render.pairs([
            ("patient", "%s, %s" % (st["indication"], st.get("phase")) if st.get("indication") else
             "no profile on the pump (pumpctl profile)"),
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


def _banner(st):
    """Withdrawal-risk banner (PROF-RISK) from the risk flags the pump reports on every status."""
    from pumpctl.clinical.assistants import risk_banner

    return risk_banner({"risk": st.get("risk") or []})


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
    from pumpctl.clinical.prescription import ml_to_nl

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


INDICATIONS = ("spinal", "cerebral", "paediatric", "paediatric_u12")
AGE_GROUPS = ("adult", "12-17", "4-11", "under_4")
RISKS = ("t6_or_above", "communication", "withdrawal_history")


def cmd_profile(ctx):
    """Patient profile stored on the pump (PROF-STORE): get, or change the given fields."""
    from pumpctl.clinical import druglib
    from pumpctl.clinical.prescription import mcg_to_ng

    a = ctx.args
    s = ctx.session()
    cur = s.request("profile_get").get("profile") or {}
    want = {k: v for k, v in (("indication", a.indication), ("age_group", a.age_group), ("phase", a.phase))
            if v is not None}
    if a.no_risk or a.risk:
        want["risk"] = [] if a.no_risk else sorted(set(a.risk))
    if a.implant_date:
        want["implant_t_s"] = render.parse_iso(a.implant_date, "--implant-date")
    if a.initial_dose is not None:
        want["initial_ng_day"] = mcg_to_ng(a.initial_dose, "--initial-dose")
    prof, changed = cur, False
    if want:
        new = dict(cur, **want)
        if not new.get("indication"):
            raise PrescriptionError("pump %s has no profile yet: a new one needs --indication" % s.serial,
                                    "e.g. pumpctl profile --indication spinal --age-group adult")
        s.ensure_role("clinician")
        if not ctx.json or not a.yes:
            out = ctx.err if ctx.json else ctx.out
            out.write("Patient profile on pump %s (its limits apply to every programmer)\n" % s.serial)
            render.side_by_side([(k, [_pv(k, cur.get(k))], [_pv(k, new.get(k))]) for k in sorted(new)],
                                ["", "current (pump)", "new"], out)
        ctx.confirm("Store this profile on pump %s? [y/N]" % s.serial)
        prof, changed = s.request("profile_set", {"profile": new})["profile"], True
    lib = druglib.load()
    limits = lib.limits_ng(prof["indication"]) if prof.get("indication") in lib.profiles else None
    from pumpctl.clinical import assistants
    findings = assistants.profile_findings(prof, lib=lib) if prof.get("indication") else []
    obj = {"serial": s.serial, "profile": prof, "changed": changed, "limits": limits, "druglib": lib.stamp(),
           "risk_banner": _banner(prof), "findings": findings}

    def text():
        if not prof:
            ctx.out.write("no patient profile on pump %s (set one: pumpctl profile --indication I --age-group G)\n"
                          % s.serial)
            return
        if obj["risk_banner"]:
            ctx.out.write(obj["risk_banner"] + "\n")
        for line in render.finding_lines(findings):
            ctx.out.write(line + "\n")
        rows = [(k, _pv(k, prof.get(k))) for k in ("indication", "age_group", "phase", "risk", "implant_t_s",
                                                   "initial_ng_day")]
        if limits:
            p = lib.profile(prof["indication"])
            rows.append(("library %s %s" % (lib.id, lib.version),
                         "hard %d-%d, typical %d-%d mcg/day; titration <= %d %%, refill <= %d %%"
                         % (p["hard_min_ug_day"], p["hard_max_ug_day"], p["soft_min_ug_day"], p["soft_max_ug_day"],
                            p["titration_max_pct"], p["refill_max_pct"])))
        render.pairs(rows, ctx.out)

    ctx.emit(obj, text)
    return 0


def _pv(key, v):
    if v is None or v == []:
        return "-" if v is None else "none"
    if key == "implant_t_s":
        return render.iso(v)[:10]
    if key == "initial_ng_day":
        return "%s mcg/day" % render.mcg(v)
    if key == "risk":
        return ", ".join(v)
    return str(v)


def add_verbs(verb):
    verb("info", cmd_info, "pump identity, firmware, clock and settings", json=True)
    verb("status", cmd_status, "therapy status: reservoir, rate, alarms, forecasts, battery", json=True)
    sp = verb("time", cmd_time, "pump clock: get, or sync to this computer's clock", json=True)
    sp.add_argument("action", choices=("get", "sync"), nargs="?", default="get")
    sp.add_argument("--utc-offset", help="with sync: also set the pump's UTC offset, e.g. +01:00")
    sp = verb("settings", cmd_settings, "show or change pump settings", json=True)
    sp.add_argument("--low-reservoir-ml", help="low-reservoir alarm threshold, 0.5..5.0 mL")
    sp.add_argument("--catheter-ml", help="catheter volume (for bridge boluses and priming)")
    sp.add_argument("--utc-offset", help="pump local time offset, e.g. +01:00")
    sp = verb("profile", cmd_profile, "patient profile on the pump: show, or set indication, age group, phase, risk",
              json=True)
    sp.add_argument("--indication", choices=INDICATIONS)
    sp.add_argument("--age-group", choices=AGE_GROUPS)
    sp.add_argument("--phase", choices=("titration", "maintenance"))
    sp.add_argument("--risk", action="append", choices=RISKS, help="withdrawal-risk flag (repeatable; replaces)")
    sp.add_argument("--no-risk", action="store_true", help="clear the risk flags")
    sp.add_argument("--implant-date", help="ISO date of the implant")
    sp.add_argument("--initial-dose", metavar="MCG", help="initial continuous daily dose (restart after a holiday)")
    sp.add_argument("--yes", action="store_true", help="do not ask (scripts)")
