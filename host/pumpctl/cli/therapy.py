"""pumpctl verbs that change therapy: programme, refill, bolus, stop, resume.

Every change goes through session.Session: stage -> show old vs new -> confirm ->
commit (with the hash the pump returned for that stage) -> read back and compare.
"""
import re

from pumpctl.clinical import prescription

from pumpctl.cli import render
from pumpctl.link.client import PumpReplyError
from pumpctl.cli.guard import check_library, check_refill, refused as _refused
from pumpctl.link.session import guarded

WITHDRAWAL_WARNING = ("Stopping delivery stops baclofen. Abrupt discontinuation of intrathecal baclofen "
                      "can cause high fever, altered mental status, rebound spasticity, rhabdomyolysis "
                      "and death (labeling).")


def _forecast_rows(before, after, off):
    return [("low-reservoir alarm", [render.local(before.get("alarm_t_s"), off)],
             [render.local(after.get("alarm_t_s"), off)]),
            ("reservoir empty", [render.local(before.get("empty_t_s"), off)],
             [render.local(after.get("empty_t_s"), off)])]


def _daily(f):
    if not f:
        return ["none"]
    return ["%s mcg/day" % render.mcg(f["daily_ng"]), "%s mL/day" % render.ml(f["daily_nl"], 4)]


def _windows(f):
    return ["%s-%s" % w for w in f["windows"]] or ["none"] if f else ["none"]


def cmd_programme(ctx):
    from pumpctl.clinical import druglib

    a = ctx.args
    rx = prescription.load(a.file)
    s = ctx.session()
    prescription.validate(rx, s.info.get("model", 20))
    st = s.request("status")
    if st["conc_ug_ml"] != rx["conc_ug_ml"]:
        raise _refused("the pump holds %d mcg/mL but %s is written for %d mcg/mL" % (
            st["conc_ug_ml"], a.file, rx["conc_ug_ml"]),
            "refill with the prescribed concentration first: pumpctl refill --conc %d ..." % rx["conc_ug_ml"])
    s.ensure_role("clinician")
    old = s.request("programme_get")
    off = s.request("settings_get").get("utc_offset_s", 0)
    extra, lib_info = check_library(ctx, s, st, old, rx)
    payload = dict(extra, programme=rx["programme"])
    if a.restart:
        payload["restart"] = True
    if a.restore:
        payload["restore"] = True
    res = _stage_with_confirmations(ctx, s, payload)
    new = res["programme"]
    rv = druglib.review(old.get("programme"), new, old["conc_ug_ml"], s.info.get("model", 20), res,
                        rx["conc_ug_ml"])
    rows = [("mode", [old["programme"]["mode"] if old.get("programme") else "none"], [new["mode"]]),
            ("concentration", ["%d mcg/mL" % old["conc_ug_ml"]], ["%d mcg/mL" % rx["conc_ug_ml"]]),
            ("steps (effect time)", render.step_lines(old.get("programme")), render.step_lines(new)),
            ("ramp windows", _windows(rv["old"]), _windows(rv["new"])),
            ("periodic boluses", render.bolus_lines(old.get("programme")), render.bolus_lines(new)),
            ("daily total", _daily(rv["old"]), _daily(rv["new"]))]
    if "ratio_pct" in rv:
        peak = rv["new"]["peak_step_ng_day"] * 100 // rv["old"]["daily_ng"]
        rows.append(("new / old", [""], ["daily %d %% (%+d %%)" % (rv["ratio_pct"], rv["change_pct"])] +
                     (["highest step %d %%" % peak] if peak != rv["ratio_pct"] else []) +
                     (["** MORE THAN TWICE THE CURRENT DOSE **"] if max(peak, rv["ratio_pct"]) > 200 else [])))
    rows += _forecast_rows(res["before"], res["after"], off)
    if res.get("checks"):
        rows.append(("clinical checks", ["-"], ["%s" % c.get("rule") for c in res["checks"]]))
    if lib_info["applied"]:
        rows.append(("drug library %s" % lib_info["version"], ["%s, %s" % (lib_info["profile"]["indication"],
                                                                         lib_info["profile"]["phase"])],
                     render.finding_lines(lib_info["findings"])))
    obj = {"file": a.file, "serial": s.serial, "old": old, "staged": res, "committed": False, "verified": False}
    if lib_info["applied"]:  # absent without a patient profile (test builds): keeps the schema of those runs
        obj["druglib"] = lib_info
    out = ctx.review_out()
    if out is not None:
        out.write("Programme change for pump %s (times are pump local time)\n" % s.serial)
        render.side_by_side(rows, ["", "current (pump)", "new (%s)" % rx["name"]], out)
    if a.dry_run:
        guarded(s, "unstage")
        ctx.emit(obj, lambda: ctx.out.write("dry run: staged and checked, not committed\n"))
        return 0
    ctx.confirm("Commit this programme to pump %s? [y/N]" % s.serial)
    s = _commit(ctx, s, "programme_commit", "programme", lambda e: e[4] == res["daily_ng"])
    guarded(s, "verify")
    obj.update(committed=True, verified=True, hash=res["hash"])
    ctx.emit(obj, lambda: ctx.out.write("committed programme %s and read it back: identical. Daily total %s mcg "
                                        "(%s mL).\n" % (res["hash"], render.mcg(res["daily_ng"]),
                                                        render.ml(res["daily_nl"], 4))))
    return 0


def _commit(ctx, s, what, event, match):
    """Commit the stage; if the reply is lost, find the outcome in the pump's log (cli/outcome.py). Returns the
    session to verify with (a new one after a reconnect, its state moved to `committed`)."""
    from pumpctl.cli import outcome

    mark = outcome.log_mark(s)
    staged = dict(s.staged)
    try:
        guarded(s, "commit")
        return s
    except outcome.LOST:
        s2, hit = outcome.resolve(ctx, what, mark, event, match)
    ctx.err.write("the pump's log shows it WAS committed (seq %d)\n" % hit[0])
    s2.committed = dict(staged, commit=_commit_view(s2, staged))
    s2.machine.set_state("committed")
    return s2


def _commit_view(s, staged):
    """What the commit reply would have said (refill: reservoir and dates), read from status after a reconnect."""
    if staged["kind"] != "refill":
        return {}
    st = s.request("status")
    return {"reservoir_nl": st["reservoir_nl"], "alarm_t_s": st.get("alarm_t_s"), "empty_t_s": st.get("empty_t_s")}


def _bolus(ctx, s, cmd, args, dose_ng=None, event="bolus_start"):
    """Send a bolus; a lost reply is resolved from the pump's log (bolus_start after the mark), never re-sent."""
    from pumpctl.cli import outcome

    mark = outcome.log_mark(s) if s.role in ("clinician", "service") else None
    try:
        return s.request(cmd, args)
    except outcome.LOST:
        if mark is None:
            raise
        s2, hit = outcome.resolve(ctx, cmd, mark, event, lambda e: dose_ng is None or e[3] == dose_ng)
    ctx.err.write("the pump's log shows the bolus WAS started (seq %d)\n" % hit[0])
    st = s2.request("status")
    return {"kind": args.get("kind", "single") if args else "patient", "dose_ng": hit[3],
            "end_t_s": hit[1] + hit[4], "rate_ng_day": st.get("rate_ng_day"), "resolved_after_reconnect": True}


def _stage_with_confirmations(ctx, s, payload):
    """Stage; on the pump's > 2x rule ask a second, differently-worded question (terminal only)."""
    while True:
        try:
            guarded(s, "stage", "programme", payload)
            return s.staged["reply"]
        except PumpReplyError as e:
            m = re.search(r"confirm_ratio=(\d+)", e.msg or "")
            if m and "confirm_ratio" not in payload:
                pct = int(m.group(1))
                if ctx.args.yes:
                    from pumpctl.cli.errors import NotConfirmed

                    # docs/pumpctl.md: --yes without --confirm-ratio is "not confirmed" (exit 8), as when the
                    # drug library (cli/guard.py) finds the > 2x change before staging
                    raise NotConfirmed("the new dose is %d %% of the current daily dose (more than twice) and needs "
                                       "its own confirmation; nothing changed" % pct,
                                       "if intended, re-run with --confirm-ratio %d" % pct)
                ctx.err.write("WARNING: the new dose is %d %% of the current daily dose (more than twice).\n" % pct)
                ctx.confirm("Type the percentage %d to confirm this is intended:" % pct, answer=str(pct),
                            script_fix="if intended, re-run with --yes --confirm-ratio %d (scripts)" % pct)
                payload = dict(payload, confirm_ratio=pct)
                continue
            if "override_reason" in (e.msg or "") and "override_reason" not in payload and not ctx.args.yes:
                ctx.err.write("The pump needs a reason to go outside the typical range: %s\n" % e.msg)
                ctx.err.write("Reason (logged on the pump): ")
                ctx.err.flush()
                reason = ctx.stdin.readline().strip()
                if reason:
                    payload = dict(payload, override_reason=reason[:80])
                    continue
            raise


def cmd_refill(ctx):
    from pumpctl.cli.errors import UsageError

    a = ctx.args
    withdrawn_nl = prescription.ml_to_nl(a.withdrawn_ml, "--withdrawn-ml")
    added_nl = prescription.ml_to_nl(a.added_ml, "--added-ml")
    if added_nl == 0 and not a.empty_reservoir:
        # An empty reservoir stops delivery at once (alarm_stopped): abrupt withdrawal (labeling boxed warning).
        raise UsageError("--added-ml 0 leaves the reservoir empty: the pump stops delivering baclofen at once "
                         "(abrupt withdrawal risk)", "give the volume added, or pass --empty-reservoir if emptying the "
                         "pump is intended (e.g. explant, drug holiday)")
    if added_nl < 0 or withdrawn_nl < 0:
        raise UsageError("volumes cannot be negative", "give --withdrawn-ml and --added-ml as 0 or more mL")
    s = ctx.session()
    st = s.request("status")
    payload = {"withdrawn_nl": withdrawn_nl, "added_nl": added_nl,
               "conc_ug_ml": a.conc if a.conc is not None else st["conc_ug_ml"]}
    lib_info = check_refill(ctx, s, st, payload["conc_ug_ml"])
    s.ensure_role("clinician")
    if not a.repeat:
        _refuse_repeat_refill(s, st, payload)
    off = s.request("settings_get").get("utc_offset_s", 0)
    guarded(s, "stage", "refill", payload)
    res = s.staged["reply"]
    before = {"alarm_t_s": st.get("alarm_t_s"), "empty_t_s": st.get("empty_t_s")}
    rows = [("reservoir (expected)", ["%s mL" % render.ml(res["expected_nl"])], ["%s mL added" % render.ml(
        res["added_nl"])]),
            ("withdrawn", ["%s mL" % render.ml(res["withdrawn_nl"])], [""]),
            ("discrepancy", ["%s %%%s" % (render.dec(res.get("discrepancy_ppm"), 10000),
                                          "  ** above 14.5 %: check pump and catheter **"
                                          if res["discrepancy_flag"] else "")], [""]),
            ("concentration", ["%d mcg/mL" % st["conc_ug_ml"]], ["%d mcg/mL" % res["conc_ug_ml"]])]
    if res.get("bridge"):
        b = res["bridge"]
        rows.append(("bridge (old strength)", [""], ["%s mL over %s" % (render.ml(b["volume_nl"]),
                                                                         render.duration(b["duration_s"]))]))
    rows += _forecast_rows(before, res["after"], off)
    obj = {"serial": s.serial, "staged": res, "committed": False, "verified": False}
    out = ctx.review_out()
    if out is not None:
        out.write("Refill of pump %s\n" % s.serial)
        render.side_by_side(rows, ["", "now", "after refill"], out)
    if res["discrepancy_flag"]:
        ctx.err.write("WARNING: withdrawn volume differs from the expected by more than 14.5 %.\n")
    if added_nl == 0:
        ctx.err.write("WARNING: nothing is added: delivery stops when this is committed. %s\n" % WITHDRAWAL_WARNING)
    if a.dry_run:
        guarded(s, "unstage")
        ctx.emit(obj, lambda: ctx.out.write("dry run: staged and checked, not committed\n"))
        return 0
    ctx.confirm("Commit this refill? [y/N]")
    s = _commit(ctx, s, "refill_commit", "refill", lambda e: e[3] == res["added_nl"] and e[4] == res["conc_ug_ml"])
    guarded(s, "verify")
    c = s.committed["commit"]
    obj.update(committed=True, verified=True, hash=res["hash"], reservoir_nl=c["reservoir_nl"],
               alarm_t_s=c.get("alarm_t_s"), empty_t_s=c.get("empty_t_s"))
    if lib_info.get("note"):
        ctx.err.write("note: %s\n" % lib_info["note"])
    ctx.emit(obj, lambda: ctx.out.write("refill committed and found in the pump's log: reservoir %s mL at %d "
                                        "mcg/mL, low-reservoir alarm %s, empty %s\n" % (
                                            render.ml(c["reservoir_nl"]), res["conc_ug_ml"],
                                            render.local(c.get("alarm_t_s"), off),
                                            render.local(c.get("empty_t_s"), off))))
    return 0


REPEAT_WINDOW_S = 3600


def _refuse_repeat_refill(s, st, payload):
    """A refill identical to one logged within the last hour is most likely a re-run after a lost reply: refused
    unless --repeat (issue 10, defect 2: retrying never applies a change twice)."""
    from pumpctl.cli import outcome

    mark = outcome.log_mark(s)
    page = s.request("log_read", {"first_seq": max(0, mark - 23), "max_n": 24}).get("entries", [])
    for e in reversed(page):
        if (e[2] == "refill" and e[3] == payload["added_nl"] and e[4] == payload["conc_ug_ml"]
                and 0 <= st["t_s"] - e[1] <= REPEAT_WINDOW_S):
            raise _refused("the same refill (%s mL at %d mcg/mL) was committed %d min ago (log seq %d): this looks "
                           "like a repeat; nothing was sent" % (render.ml(payload["added_nl"]), payload["conc_ug_ml"],
                                                                (st["t_s"] - e[1]) // 60, e[0]),
                           "check pumpctl status; if this really is a second refill, add --repeat")


def cmd_bolus(ctx):
    a = ctx.args
    s = ctx.session()
    if a.cancel:
        s.ensure_role("clinician")
        res = s.request("bolus_cancel")
        ctx.emit(res, lambda: ctx.out.write("bolus cancelled; state %s\n" % res["state"]))
        return 0
    if a.patient:
        s.ensure_role("patient")
        ctx.confirm("Give the patient bolus programmed by the clinician? [y/N]")
        res = s.request("patient_bolus")
    elif a.prime:
        args = {"kind": "prime"}
        if a.volume_ml is not None:
            args["volume_nl"] = prescription.ml_to_nl(a.volume_ml, "--volume-ml")
        s.ensure_role("clinician")
        ctx.confirm("Prime the catheter (replaces the programme until done)? [y/N]")
        res = _bolus(ctx, s, "bolus", args, event="prime_start")
    else:
        if a.dose_mcg is None:
            from pumpctl.clinical.prescription import PrescriptionError

            raise PrescriptionError("bolus needs --dose-mcg (or --prime, --patient, --cancel)",
                                    "e.g. pumpctl bolus --dose-mcg 50 --minutes 30")
        args = {"dose_ng": prescription.mcg_to_ng(a.dose_mcg, "--dose-mcg"), "duration_min": a.minutes}
        s.ensure_role("clinician")
        ctx.confirm("Give %s mcg over %d min on top of the programme? [y/N]" % (a.dose_mcg, a.minutes))
        res = _bolus(ctx, s, "bolus", args, args["dose_ng"])
    ctx.emit(res, lambda: ctx.out.write("%s bolus started: %s mcg, ends %s UTC\n" % (
        res["kind"], render.mcg(res["dose_ng"]), render.local(res["end_t_s"]))))
    return 0


def cmd_stop(ctx):
    s = ctx.session()
    s.ensure_role("clinician")
    if not ctx.args.yes:
        ctx.err.write("WARNING: %s\n" % WITHDRAWAL_WARNING)
    ctx.confirm("Stop delivery on pump %s? [y/N]" % s.serial)
    res = s.request("stop")
    ctx.emit(res, lambda: ctx.out.write("delivery stopped; state %s (pumpctl resume restarts it)\n" % res["state"]))
    return 0


def cmd_resume(ctx):
    s = ctx.session()
    s.ensure_role("clinician")
    res = s.request("resume")
    ctx.emit(res, lambda: ctx.out.write("delivery resumed; state %s\n" % res["state"]))
    return 0


def add_verbs(verb):
    sp = verb("programme", cmd_programme, "stage a TOML prescription, show old vs new, confirm, commit, verify",
              json=True)
    sp.add_argument("file", help="prescription TOML (see examples/night_ramp.toml)")
    sp.add_argument("--yes", action="store_true", help="do not ask (scripts)")
    sp.add_argument("--dry-run", action="store_true", help="stage and show, do not commit")
    sp.add_argument("--confirm-ratio", type=int, metavar="PCT",
                    help="confirm a dose more than twice the current one: the percentage the pump states")
    sp.add_argument("--override-reason", metavar="TEXT", help="reason for leaving the typical range (logged)")
    sp.add_argument("--restart", action="store_true", help="restart at the profile's initial dose after a holiday")
    sp.add_argument("--restore", action="store_true",
                    help="restore the dose used before an interruption (up to the highest of the last 30 days; "
                         "needs --override-reason)")
    sp.add_argument("--renal-impairment", action="store_true",
                    help="patient has impaired renal function: any increase is flagged (label: may need to reduce dose)")
    sp = verb("refill", cmd_refill, "stage a refill (withdrawn, added, concentration), confirm, commit, verify",
              json=True)
    sp.add_argument("--withdrawn-ml", required=True, help="volume withdrawn from the reservoir, mL")
    sp.add_argument("--added-ml", required=True, help="volume added, mL")
    sp.add_argument("--conc", type=int, help="concentration added, mcg/mL (default: unchanged)")
    sp.add_argument("--empty-reservoir", action="store_true",
                    help="allow --added-ml 0 (empties the pump: delivery stops at once)")
    sp.add_argument("--dry-run", action="store_true", help="stage and show, do not commit")
    sp.add_argument("--repeat", action="store_true",
                    help="allow a refill identical to one committed within the last hour")
    sp.add_argument("--yes", action="store_true", help="do not ask (scripts)")
    sp = verb("bolus", cmd_bolus, "clinician bolus, prime, patient bolus or cancel", json=True)
    kind = sp.add_mutually_exclusive_group()
    kind.add_argument("--dose-mcg", help="bolus dose, mcg")
    sp.add_argument("--minutes", type=int, default=60, help="bolus duration (default 60)")
    kind.add_argument("--prime", action="store_true", help="prime the catheter")
    sp.add_argument("--volume-ml", help="with --prime: volume (default catheter + pump pathway)")
    kind.add_argument("--patient", action="store_true", help="patient-activated bolus (patient role)")
    kind.add_argument("--cancel", action="store_true", help="end the running bolus")
    sp.add_argument("--yes", action="store_true", help="do not ask (scripts)")
    sp = verb("stop", cmd_stop, "stop delivery (asks: abrupt discontinuation is dangerous)", json=True)
    sp.add_argument("--yes", action="store_true", help="do not ask (scripts)")
    verb("resume", cmd_resume, "resume delivery", json=True)
