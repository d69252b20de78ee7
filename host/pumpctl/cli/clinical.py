"""`pumpctl` verbs for the clinical assistants (issue 5). Offline: no pump needed.

    pumpctl screening [--small-child] [--result MCG:pos|neg[:EFFECT_H]]... [--start ISO]
                      [--injury-date ISO] [--age-group G]
    pumpctl initial-dose --screening-dose MCG --effect-hours H
    pumpctl night-flex --base MCG [--increase-pct 20] [--effect 22:00] [--back 07:00] [--conc 2000]
    pumpctl refill-plan (--daily MCG | --prescription FILE) --conc C --reservoir-ml ML [--interval-days N] [--risk F]...
    pumpctl concentration (--daily MCG | --prescription FILE) --interval-days N
    pumpctl dilution --target MCG_ML --volume-ml ML
    pumpctl taper --daily MCG --indication I [--days 14..28] [--conc C] [--start ISO]
    pumpctl druglib [--indication I] [--age-group G] [--overdose]
    pumpctl withdrawal-restore --previous MCG [--current MCG] [--indication I] [--initial MCG]

Every verb has --json (stable fields: integers in ng, nL, pump t_s, plus ISO dates). Doses on the
command line are mcg (exact decimals), volumes mL. Called from cli.build_parser via add_subcommands.
"""
import datetime
import shlex
from decimal import Decimal, InvalidOperation

from pumpctl.clinical import assistants as A
from pumpctl.clinical import druglib
from pumpctl.cli import render
from pumpctl.clinical.prescription import PrescriptionError, load as load_rx, mcg_to_ng, ml_to_nl

EXIT_USAGE = 2
RISKS = ("t6_or_above", "communication", "withdrawal_history")
AGE_GROUPS = ("adult", "12-17", "4-11", "under_4")


def _dec(text):
    try:
        return Decimal(text)
    except InvalidOperation:
        raise PrescriptionError("%r is not a number" % text, "write e.g. 500 or 0.5")


def _t_s(text):
    if not text:
        return 0
    try:
        dt = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PrescriptionError("%r is not an ISO date" % text, "write e.g. 2026-12-01 or 2026-12-01T08:00Z")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) - render.PUMP_EPOCH_UNIX


def _programme(args):
    if getattr(args, "prescription", None):
        rx = load_rx(args.prescription)
        return rx["programme"], rx["conc_ug_ml"]
    if getattr(args, "daily", None) is None:
        raise PrescriptionError("no programme given", "pass --daily MCG or --prescription FILE")
    return {"mode": "continuous", "dose_ng_day": mcg_to_ng(_dec(args.daily), "--daily")}, None


def _run(fn):
    def wrapped(ctx):
        try:
            obj, text = fn(ctx.args)
        except (ValueError, PrescriptionError) as e:
            msg = getattr(e, "cause", None) or str(e)
            ctx.err.write("pumpctl: error: %s\n" % msg)
            if getattr(e, "fix", None):
                ctx.err.write("  fix: %s\n" % e.fix)
            return EXIT_USAGE
        obj = dict(obj, druglib=druglib.load().stamp())
        ctx.emit(obj, lambda: ctx.out.write(text + "\n"))
        return 0
    return wrapped


def _iso(t):
    return render.iso(t)


# --- verbs ---------------------------------------------------------------------------------------
def v_screening(a):
    results = []
    for r in a.result or []:
        parts = r.split(":")
        if len(parts) < 2 or parts[1] not in ("pos", "neg"):
            raise PrescriptionError("--result %r" % r, "write MCG:pos or MCG:neg, optionally :EFFECT_HOURS")
        res = {"dose_ng": mcg_to_ng(_dec(parts[0]), "--result dose"), "positive": parts[1] == "pos"}
        if len(parts) > 2:
            res["effect_min"] = int(_dec(parts[2]) * 60)
        results.append(res)
    injury = _t_s(a.injury_date) if a.injury_date else None
    start = _t_s(a.start) if a.start or injury is None else _now_t_s()
    plan = A.screening_plan(a.small_child, start, injury, a.age_group)
    seq = plan["sequence"]
    nxt = A.screening_next(results, a.small_child, start)
    for s in seq:
        s["iso"] = _iso(s["t_s"])
    lines = ["WARNING %s: %s%s" % (w["rule"], w["message"], "; not before %s" % _iso(w["wait_until_t_s"])
                                   if "wait_until_t_s" in w else "") for w in plan["warnings"]]
    lines.append("screening (50 mcg/mL ampule, %s; observe 4-8 h after each dose):" % plan["administer"])
    lines += ["  %d. %s  %s mcg = %s mL" % (s["step"], s["iso"], render.mcg(s["dose_ng"]), render.ml(s["volume_nl"], 2))
              for s in seq]
    if nxt["action"] == "bolus":
        lines.append("next: %s mcg at %s" % (render.mcg(nxt["dose_ng"]), _iso(nxt["t_s"])))
    elif nxt["action"] == "candidate":
        lines.append("candidate: positive at %s mcg; initial daily dose %s mcg/day (x%d)"
                     % (render.mcg(nxt["positive_dose_ng"]), render.mcg(nxt["initial_ng_day"]), nxt["factor"]))
    else:
        lines.append("NOT A CANDIDATE: " + nxt["reason"])
    return {"sequence": seq, "next": nxt, "administer": plan["administer"], "warnings": plan["warnings"]}, \
        "\n".join(lines)


def v_initial(a):
    r = A.initial_daily_dose(mcg_to_ng(_dec(a.screening_dose), "--screening-dose"), int(_dec(a.effect_hours) * 60))
    return r, "initial daily dose %s mcg/day (%dx the screening dose over 24 h)" % (render.mcg(r["initial_ng_day"]),
                                                                                    r["factor"])


def v_night(a):
    prog = A.night_programme(mcg_to_ng(_dec(a.base), "--base"), a.effect, a.back, a.increase_pct,
                             shape=a.shape, conc_ug_ml=a.conc)
    facts = druglib.programme_facts(prog, a.conc)
    lines = ["flex programme (lead %d min):" % prog["lead_min"]]
    lines += ["  effect %s  %s mcg/day (%s)" % (render.hhmm(s["effect_min"]), render.mcg(s["dose_ng_day"]), s["shape"])
              for s in prog["steps"]]
    lines += ["  change %s-%s" % w for w in facts["windows"]]
    lines.append("daily total %s mcg = %s mL at %d mcg/mL" % (render.mcg(facts["daily_ng"]), render.ml(facts["daily_nl"]),
                                                            a.conc))
    return {"programme": prog, "daily_ng": facts["daily_ng"], "daily_nl": facts["daily_nl"],
            "windows": facts["windows"]}, "\n".join(lines)


def v_refill(a):
    prog, conc = _programme(a)
    conc = a.conc or conc
    if not conc:
        raise PrescriptionError("no concentration", "pass --conc MCG_ML")
    t = _t_s(a.start)
    p = A.refill_plan(prog, conc, ml_to_nl(_dec(a.reservoir_ml), "--reservoir-ml"), t,
                      ml_to_nl(_dec(a.low_res_ml), "--low-res-ml"), a.risk or [], a.interval_days, a.model)
    for k in ("alarm_t_s", "empty_t_s", "visit_t_s"):
        p[k.replace("_t_s", "_iso")] = _iso(p[k])
    lines = ["low-reservoir alarm %s, empty %s" % (p["alarm_iso"], p["empty_iso"]),
             "recommended refill visit %s (%d days before the alarm%s)%s"
             % (p["visit_iso"], p["margin_days"], ", risk flags: " + ", ".join(p["risk"]) if p["risk"] else "",
                "  ** OVERDUE: refill now **" if p["visit_overdue"] else ""),
             "longest interval with a full reservoir: %d days" % p["max_interval_days"],
             "storage: " + p["storage"]]
    if "fill_nl" in p:
        lines.append("fill for %d days: %s mL%s" % (p["interval_days"], render.ml(p["fill_nl"], 2),
                                                   "" if p["fits"] else "  ** exceeds the reservoir **"))
    return p, "\n".join(lines)


def v_conc(a):
    prog, _ = _programme(a)
    r = A.choose_concentration(prog, a.interval_days, ml_to_nl(_dec(a.low_res_ml), "--low-res-ml"), a.risk or [],
                               a.model)
    lines = ["  %d mcg/mL: %s (%s)" % (t["conc_ug_ml"], "ok" if t["ok"] else "no", t["why"]) for t in r["tried"]]
    if r["conc_ug_ml"] is None:
        lines.append(r["advice"])
    else:
        lines.append("use %d mcg/mL%s" % (r["conc_ug_ml"], " (dilute)" if r["dilute"] else ""))
    if r.get("dilution"):
        lines.append(_dilution_text(r["dilution"]))
    return r, "\n".join(lines)


def _dilution_text(d):
    return ("mix %s mL of %d mcg/mL with %s mL of %s = %s mL at %d mcg/mL"
            % (render.ml(d["stock_nl"], 2), d["stock_ug_ml"], render.ml(d["diluent_nl"], 2), d["diluent"],
               render.ml(d["final_nl"], 2), d["result_ug_ml"]))


def v_dilution(a):
    d = A.dilution(int(_dec(a.target)), ml_to_nl(_dec(a.volume_ml), "--volume-ml"))
    return d, _dilution_text(d)


def v_taper(a):
    t = A.taper(mcg_to_ng(_dec(a.daily), "--daily"), a.indication, _t_s(a.start), a.days, a.conc, a.model)
    for s in t["steps"]:
        s["iso"] = _iso(s["t_s"])
    lines = ["drug holiday taper over %d days (never stopped):" % t["days"]]
    lines += ["  %s  %s mcg/day (-%d %%)%s" % (s["iso"], render.mcg(s["daily_ng"]), s["cut_pct"],
                                              "  [override: drug holiday taper]" if s["stage_args"] else "")
              for s in t["steps"]]
    lines.append(t["note"] + "; restart at the initial continuous dose with pumpctl programme (restart)")
    return t, "\n".join(lines)


def v_druglib(a):
    lib = druglib.load()
    inds = [a.indication] if a.indication else sorted(lib.profiles)
    out = {"library": lib.id, "version": lib.version, "concentrations": lib.conc,
           "profiles": {i: dict(lib.profile(i), **lib.limits_ng(i)) for i in inds}}
    lines = ["%s %s" % (lib.id, lib.version)]
    if a.age_group:
        out["warnings"] = A.profile_findings({"age_group": a.age_group}, lib=lib)
        lines += ["WARNING %s: %s" % (w["rule"], w["message"]) for w in out["warnings"]]
    if a.overdose:
        out["overdose"] = o = A.overdose_response(lib)
        lines += ["OVERDOSE - signs to monitor for: " + ", ".join(o["signs"])]
        lines += ["  - " + x for x in o["actions"]]
    for i in inds:
        p = lib.profile(i)
        lines.append("  %-15s hard %d-%d, typical %d-%d mcg/day; titration <= %d %%, refill <= %d %%"
                     % (i, p["hard_min_ug_day"], p["hard_max_ug_day"], p["soft_min_ug_day"], p["soft_max_ug_day"],
                        p["titration_max_pct"], p["refill_max_pct"]))
    return out, "\n".join(lines)


def v_restore(a):
    prof = {"indication": a.indication} if a.indication else {}
    if a.initial is not None:
        prof["initial_ng_day"] = mcg_to_ng(_dec(a.initial), "--initial")
    cur = mcg_to_ng(_dec(a.current), "--current") if a.current is not None else 0
    # offline: the pump checks the restore against its own 30-day history when the programme is staged
    r = A.restart_after_interruption(mcg_to_ng(_dec(a.previous), "--previous"), cur, prof or None)
    lines = ["restore continuous %s mcg/day" % render.mcg(r["programme"]["dose_ng_day"])
             + (" (unchanged programme)" if r["unchanged"] else "")]
    if r["stage_args"]:
        sa = r["stage_args"]
        flags = {"restart": "--restart", "restore": "--restore",
                 "confirm_ratio": "--confirm-ratio %d" % sa.get("confirm_ratio", 0),
                 "override_reason": "--override-reason %s" % shlex.quote(sa.get("override_reason", ""))}
        lines.append("pumpctl programme ... " + " ".join(flags[k] for k in sorted(r["stage_args"])))
    lines += ["WARNING %s: %s" % (f["rule"], f["message"]) for f in r["findings"]]
    lines.append(r["note"])
    return r, "\n".join(lines)


def _now_t_s():
    return int(datetime.datetime.now(datetime.timezone.utc).timestamp()) - render.PUMP_EPOCH_UNIX


def add_subcommands(subparsers):
    """Register the assistant verbs on pumpctl's subparsers (cli.build_parser calls this)."""
    def verb(name, fn, help_):
        sp = subparsers.add_parser(name, help=help_, description=help_)
        sp.add_argument("--json", action="store_true", help="machine-readable output")
        sp.set_defaults(fn=_run(fn))
        return sp

    def prog_args(sp):
        sp.add_argument("--daily", help="continuous daily dose, mcg/day")
        sp.add_argument("--prescription", help="TOML prescription (examples/)")
        sp.add_argument("--low-res-ml", default="2.0", help="low-reservoir threshold, mL (default 2.0)")
        sp.add_argument("--risk", action="append", choices=RISKS, help="withdrawal-risk flag (repeatable)")
        sp.add_argument("--model", type=int, default=20, choices=(20, 40))

    sp = verb("screening", v_screening, "screening bolus sequence and the next step")
    sp.add_argument("--small-child", action="store_true", help="start at 25 mcg")
    sp.add_argument("--result", action="append", help="MCG:pos|neg[:EFFECT_HOURS], in order (repeatable)")
    sp.add_argument("--start", help="date/time of the first bolus (ISO, UTC; default the pump epoch, or now "
                    "with --injury-date)")
    sp.add_argument("--injury-date", help="date of a brain injury (ISO): warns within one year of it")
    sp.add_argument("--age-group", choices=AGE_GROUPS, help="warns for under_4")
    sp = verb("initial-dose", v_initial, "initial daily dose from the positive screening dose")
    sp.add_argument("--screening-dose", required=True, help="mcg")
    sp.add_argument("--effect-hours", required=True, help="how long the effect lasted")
    sp = verb("night-flex", v_night, "flex steps for a night-time increase with the 2-hour lead")
    sp.add_argument("--base", required=True, help="day rate, mcg/day")
    sp.add_argument("--increase-pct", type=int, default=None, help="night increase (library: 20)")
    sp.add_argument("--effect", default="22:00", help="night effect time (default 22:00)")
    sp.add_argument("--back", default="07:00", help="morning effect time (default 07:00)")
    sp.add_argument("--shape", default="ramp", choices=("ramp", "step"))
    sp.add_argument("--conc", type=int, default=2000, help="mcg/mL (default 2000)")
    sp = verb("refill-plan", v_refill, "refill date, volume to add, overdue check")
    prog_args(sp)
    sp.add_argument("--conc", type=int, help="mcg/mL (default: the prescription's)")
    sp.add_argument("--reservoir-ml", required=True, help="calculated volume now, mL")
    sp.add_argument("--interval-days", type=int, help="target refill interval")
    sp.add_argument("--start", help="now (ISO, UTC; default the pump epoch)")
    sp = verb("concentration", v_conc, "strength for a dose and refill interval (dilution if needed)")
    prog_args(sp)
    sp.add_argument("--interval-days", type=int, required=True)
    sp = verb("dilution", v_dilution, "dilution instructions for a custom strength")
    sp.add_argument("--target", required=True, help="mcg/mL")
    sp.add_argument("--volume-ml", required=True, help="final volume, mL")
    sp = verb("taper", v_taper, "drug-holiday taper as dated programmes (never an abrupt stop)")
    sp.add_argument("--daily", required=True, help="current daily dose, mcg/day")
    sp.add_argument("--indication", required=True, choices=("spinal", "cerebral", "paediatric", "paediatric_u12"))
    sp.add_argument("--days", type=int, default=None, help="14-28 (default 28)")
    sp.add_argument("--conc", type=int, default=500, help="mcg/mL in the pump during the taper (default 500)")
    sp.add_argument("--model", type=int, default=20, choices=(20, 40))
    sp.add_argument("--start", help="ISO date of the first step (default the pump epoch)")
    sp = verb("druglib", v_druglib, "show the drug library (version, limits)")
    sp.add_argument("--indication", choices=("spinal", "cerebral", "paediatric", "paediatric_u12"))
    sp.add_argument("--age-group", choices=AGE_GROUPS, help="show the warnings for an age group (under_4)")
    sp.add_argument("--overdose", action="store_true", help="signs of overdose and the response")
    sp = verb("withdrawal-restore", v_restore, "restore the dose used before an interruption (withdrawal)")
    sp.add_argument("--previous", required=True, help="daily dose before the interruption, mcg/day")
    sp.add_argument("--current", help="daily dose the pump is programmed with now, mcg/day")
    sp.add_argument("--indication", choices=("spinal", "cerebral", "paediatric", "paediatric_u12"))
    sp.add_argument("--initial", help="the profile's initial continuous dose, mcg/day (enables --restart)")
