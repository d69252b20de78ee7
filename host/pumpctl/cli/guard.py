"""The drug library (issue 5) in pumpctl's therapy verbs: the host's first line of defence.

`check_library` runs `druglib.evaluate` on a new programme against the profile stored on the
pump and the pump's own history (profile_get: initial programme, last increase, last refill),
before anything is staged: a hard limit is refused with nothing sent; the > 2x rule needs the ratio typed back (or
`--confirm-ratio PCT`); a soft limit needs a reason (or `--override-reason`), which the pump
logs. The pump repeats every rule (firmware/clinical.py) as the last line.
"""
import os

from pumpctl.cli import render


def refused(cause, fix):
    from pumpctl.cli.errors import Refused

    return Refused(cause, fix)


def _not_confirmed(cause, fix):
    from pumpctl.cli.errors import NotConfirmed

    return NotConfirmed(cause, fix)


# --- drug library (issue 5): the host's first line, before anything is staged -------------------
def _fix_for(f, lib, ind, old_ng, off, hist):
    rule = f["rule"]
    p = lib.profile(ind) if ind in lib.profiles else None
    if rule.startswith("DL-HARD") and p:
        return ("prescribe %d-%d mcg/day for every day of the plan (%s, label range), or correct the patient "
                "profile (pumpctl profile)" % (p["hard_min_ug_day"], p["hard_max_ug_day"], ind))
    if rule.startswith(("TIT-SPINAL", "TIT-CEREBRAL", "REFILL-SPINAL", "REFILL-CEREBRAL")) and p:
        cap = p["refill_max_pct"] if rule.startswith("REFILL") else p["titration_max_pct"]
        return "increase by at most %d %%: up to %s mcg/day now" % (cap, render.mcg(old_ng * (100 + cap) // 100))
    if rule in ("TIT-FIRST24H", "TIT-FIRST24H-RATE", "TIT-ONCE-24H"):
        t = hist["last_increase_t_s"] if rule == "TIT-ONCE-24H" else hist["initial_programme_t_s"]
        return "keep the current dose; the next increase is allowed from %s (pump local time)" % (
            render.local(t + 86400, off) if t is not None else "24 h after the last one")
    if rule == "DL-CONC":
        return "use 500 or 2000 mcg/mL, or a dilution up to 2000 mcg/mL with preservative-free saline"
    if rule == "HOL-RESTART":
        return "restart at or below the profile's initial dose (pumpctl profile --initial-dose MCG)"
    return "correct the prescription file"


def check_library(ctx, s, st, old, rx, hist=None):
    """Run the drug library on the new programme. Refusals raise before anything is sent; a missing
    > 2x confirmation or override reason is asked for (terminal) or refused (--yes). Returns
    (extra stage arguments, {"library", "version", "findings", "applied"})."""
    from pumpctl.clinical import druglib

    a = ctx.args
    lib = druglib.load()
    info = dict(lib.stamp(), applied=False, findings=[])
    pg = s.request("profile_get")
    prof = pg.get("profile") or {}
    if not prof.get("indication"):
        if s.build != "test":
            raise refused("pump %s holds no patient profile: the drug library cannot be applied" % s.serial,
                          "pumpctl profile --indication I --age-group G first")
        ctx.err.write("note: no patient profile on pump %s: drug library %s %s not applied (test build)\n"
                      % (s.serial, lib.id, lib.version))
        # the pump still applies its own > 2x and typical-range rules: pass what the user gave for them
        return {k: v for k, v in (("confirm_ratio", a.confirm_ratio), ("override_reason", a.override_reason))
                if v is not None}, info
    reason = a.override_reason
    if reason is not None and not 0 < len(reason.strip()) <= 80:
        raise refused("--override-reason must be 1-80 characters", "shorten the reason")
    hist = hist if hist is not None else pg["history"]   # the pump's own record of the titration clock
    off = s.request("settings_get").get("utc_offset_s", 0)
    old_ng = old.get("daily_ng", 0) if old.get("programme") else 0

    def evaluate(reason, ratio):
        return lib.evaluate(prof, old_ng, rx["programme"], rx["conc_ug_ml"], s.info.get("model", 20), st["t_s"],
                            override_reason=reason, confirm_ratio=ratio, restart=a.restart,
                            old_programme=old.get("programme"),
                            renal_impairment=getattr(a, "renal_impairment", False),
                            restore=getattr(a, "restore", False), **hist)

    found = evaluate(reason, a.confirm_ratio)
    info.update(applied=True, profile=prof, findings=found)
    ind = prof["indication"]
    for f in found:
        if f["level"] == "refuse":
            p = lib.profile(ind)
            raise refused("drug library %s %s refuses this programme (nothing was sent): %s: %s [%s, label range "
                          "%d-%d mcg/day]" % (lib.id, lib.version, f["rule"], f["message"], ind,
                                              p["hard_min_ug_day"], p["hard_max_ug_day"]),
                          _fix_for(f, lib, ind, old_ng, off, hist))
    extra = {}
    out = ctx.err
    for f in found:
        if f["level"] == "confirm":
            pct = f["ratio_pct"]
            if a.confirm_ratio is not None:
                raise refused("--confirm-ratio %d does not match: the new dose is %d %% of the current %s mcg/day"
                              % (a.confirm_ratio, pct, render.mcg(old_ng)), "check the prescription")
            if a.yes:
                raise _not_confirmed("the new dose is %d %% of the current %s mcg/day (more than twice) and needs "
                                     "its own confirmation" % (pct, render.mcg(old_ng)),
                                     "if intended, re-run with --confirm-ratio %d" % pct)
            out.write("WARNING: the new dose is %s times the current one (%d %% of %s mcg/day). A dose entered for "
                      "the wrong period (hourly for daily) looks like this.\n"
                      % (render.dec(pct, 100, 2), pct, render.mcg(old_ng)))
            ctx.confirm("Type the percentage %d to confirm the new dose is intended:" % pct, answer=str(pct),
                        script_fix="if intended, re-run with --yes --confirm-ratio %d (scripts)" % pct)
            extra["confirm_ratio"] = pct
    soft = ["%s: %s" % (f["rule"], f["message"]) for f in found if f["level"] == "override"]
    if soft:
        if a.yes:
            raise _not_confirmed("; ".join(soft), "give the clinical reason with --override-reason TEXT (logged on "
                                                  "the pump)")
        for line in soft:
            out.write("WARNING: %s\n" % line)
        extra["override_reason"] = _ask_text(ctx, "Reason for going outside the typical range (logged on the "
                                                  "pump, 1-80 characters):")
    if reason is not None:
        extra.setdefault("override_reason", reason)
    if a.confirm_ratio is not None:
        extra.setdefault("confirm_ratio", a.confirm_ratio)
    final = evaluate(extra.get("override_reason"), extra.get("confirm_ratio"))
    info["findings"] = final
    return extra, info


def _ask_text(ctx, question):
    if not (hasattr(ctx.stdin, "isatty") and ctx.stdin.isatty()) and not os.environ.get("PUMPCTL_ASSUME_TTY"):
        raise _not_confirmed("an override reason is needed but stdin is not a terminal",
                             "re-run with --override-reason TEXT")
    ctx.err.write(question + " ")
    ctx.err.flush()
    text = ctx.stdin.readline().strip()
    if not 0 < len(text) <= 80:
        raise _not_confirmed("no valid reason given (1-80 characters); nothing changed", "give a reason")
    return text


def check_refill(ctx, s, st, conc_ug_ml):
    """Library check of a refill's strength (before staging) and the refill-time increase cap that
    applies to a programme change right after it. Returns {"library", "version", "findings", "note"?}."""
    from pumpctl.clinical import druglib

    lib = druglib.load()
    found = lib.check_concentration(conc_ug_ml)
    info = dict(lib.stamp(), findings=found)
    for f in found:
        if f["level"] == "refuse":
            raise refused("drug library %s %s refuses the refill (nothing was sent): %s: %s"
                          % (lib.id, lib.version, f["rule"], f["message"]),
                          "refill with 500 or 2000 mcg/mL, or dilute to at most 2000 mcg/mL with preservative-free "
                          "saline (pumpctl dilution --target C --volume-ml V)")
        if f.get("dilute"):
            ctx.err.write("note: %s (pumpctl dilution --target %d --volume-ml V)\n" % (f["message"], conc_ug_ml))
    pg = s.request("profile_get")
    prof = pg.get("profile") or {}
    ind = prof.get("indication")
    if ind in lib.profiles and st.get("daily_ng"):
        lim = lib.limits_ng(ind)
        daily = st["daily_ng"]
        if prof.get("phase") == "maintenance":
            cap = lim["refill_max_pct"]
            info["note"] = ("maintenance: a dose increase staged within 4 h of this refill is a refill-time change, "
                            "at most +%d %% (up to %s mcg/day)" % (cap, render.mcg(daily * (100 + cap) // 100)))
        else:
            cap = lim["titration_max_pct"]
            info["note"] = ("titration: a dose increase is at most +%d %% per 24 h (up to %s mcg/day), also at "
                            "refill" % (cap, render.mcg(daily * (100 + cap) // 100)))
    return info
