"""Drug library (host side of issue 5): per-indication limits, soft-limit warnings, review.

The library is a versioned TOML file (library/baclofen_it.toml). The host checks a change
against it *before* staging so the clinician sees every finding at once; the pump repeats the
hard rules (firmware/clinical.py) as the last line. Programme maths (daily totals, ramp
windows, flows) comes from the firmware's own schedule module, never a re-implementation.

Findings are dicts {"level", "rule", "message", ...}:
  refuse    - a hard limit: cannot be committed
  confirm   - needs `confirm_ratio` echoing "ratio_pct" (the > 2x rule)
  override  - a soft limit: needs an override reason (logged on the pump)
  warn      - a clinical warning to show, never blocking (escalation/catheter, under 4 years,
              renal impairment; library 1.2.0, requirements "clinical review gaps")
  info      - guidance (typical increments, usual dose)
"""
import os

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

from pumpctl import fwpath

fwpath.ensure()
import clinical  # noqa: E402  (firmware module: the pump's own rule table and reason ids)
import pumpmodel as pm  # noqa: E402
import schedule  # noqa: E402
from protocol import PumpError  # noqa: E402

DEFAULT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "library", "baclofen_it.toml")
CORE_RULES = {"E_DOSE_RANGE": "CORE-DOSE-RANGE", "E_FLOW_RANGE": "CORE-FLOW-RANGE", "E_STEP_OVERLAP": "CORE-OVERLAP",
              "E_BOLUS_RANGE": "CORE-BOLUS-LIMIT", "E_STEP_COUNT": "CORE-13-STEPS"}
DAY_S = 86400
UG = 1000  # ng per mcg


class LibraryError(ValueError):
    pass


class DrugLibrary:
    def __init__(self, data, path=None):
        self.data = data
        self.path = path
        lib = data.get("library", {})
        self.id = lib.get("id")
        self.version = lib.get("version")
        if not self.id or not self.version:
            raise LibraryError("drug library needs [library] id and version")
        self.conc = data["concentrations"]
        self.screening = data["screening"]
        self.flex = data["flex"]
        self.refill = data["refill"]
        self.holiday = data["holiday"]
        self.escalation = data.get("escalation", {"window_days": 14})
        self.paediatric = data.get("paediatric", {"unestablished_age_groups": ["under_4"]})
        self.profiles = data["profiles"]
        for name, p in self.profiles.items():
            if not p["hard_min_ug_day"] <= p["soft_min_ug_day"] <= p["soft_max_ug_day"] <= p["hard_max_ug_day"]:
                raise LibraryError("profile %s: ranges must nest hard_min <= soft_min <= soft_max <= hard_max" % name)

    # --- lookups --------------------------------------------------------------------------
    def profile(self, indication):
        p = self.profiles.get(indication)
        if p is None:
            raise LibraryError("no profile %r in %s %s (have: %s)"
                               % (indication, self.id, self.version, ", ".join(sorted(self.profiles))))
        return p

    def limits_ng(self, indication):
        p = self.profile(indication)
        return {"hard_min_ng_day": p["hard_min_ug_day"] * UG, "hard_max_ng_day": p["hard_max_ug_day"] * UG,
                "soft_min_ng_day": p["soft_min_ug_day"] * UG, "soft_max_ng_day": p["soft_max_ug_day"] * UG,
                "titration_max_pct": p["titration_max_pct"], "refill_max_pct": p["refill_max_pct"]}

    def profile_findings(self, profile):
        """Warnings that follow from the profile alone (shown on every check and profile display)."""
        if profile.get("age_group") in self.paediatric["unestablished_age_groups"]:
            # AHFS: safety "in pediatric patients younger than 12 or 4 years of age, respectively, has not
            # been established"; label: "Children should be of sufficient body mass to accommodate
            # implantable pump for chronic infusion."
            return [_f("warn", "PAED-UNDER-4", "under 4 years: the labeled paediatric dosing is for 4 years and "
                       "older (safety not established below); the child must have sufficient body mass to "
                       "accommodate the implanted pump")]
        return []

    def stamp(self):
        return {"library": self.id, "version": self.version}

    # --- concentrations -------------------------------------------------------------------
    def check_concentration(self, conc_ug_ml, purpose="maintenance"):
        """Findings for a strength: supplied, screening-only, custom (dilute) or refused."""
        c = self.conc
        if type(conc_ug_ml) is not int:
            return [_f("refuse", "DL-CONC", "concentration must be an integer mcg/mL")]
        if purpose == "screening":
            if conc_ug_ml != c["screening_ug_ml"]:
                return [_f("refuse", "DL-CONC", "screening uses the %d mcg/mL ampule undiluted" % c["screening_ug_ml"])]
            return []
        if conc_ug_ml == c["screening_ug_ml"]:
            return [_f("refuse", "DL-CONC", "%d mcg/mL is the screening strength only" % conc_ug_ml)]
        if conc_ug_ml in c["supplied_ug_ml"]:
            return []
        if c["custom_min_ug_ml"] <= conc_ug_ml <= c["custom_max_ug_ml"]:
            return [_f("info", "DL-CONC", "custom strength %d mcg/mL: dilute with %s" % (conc_ug_ml, c["diluent"]),
                       dilute=True)]
        return [_f("refuse", "DL-CONC", "%d mcg/mL: allowed %s, or a dilution up to %d"
                   % (conc_ug_ml, " or ".join(str(x) for x in c["supplied_ug_ml"]), c["custom_max_ug_ml"]))]

    # --- the change check -------------------------------------------------------------------
    def evaluate(self, profile, old_daily_ng, programme, conc_ug_ml, model_id=20, t_s=None,
                 initial_programme_t_s=None, last_increase_t_s=None, refill_t_s=None,
                 override_reason=None, confirm_ratio=None, restart=False, old_programme=None,
                 restore=False, restore_ceiling_ng=None,
                 renal_impairment=False):
        """Every finding for replacing a programme of `old_daily_ng` with `programme`.

        `profile` is the pump's profile (profile_get). Times are pump t_s; None = unknown/never.
        `renal_impairment` is host-only (the pump profile has no such flag): every increase warns."""
        try:
            facts = programme_facts(programme, conc_ug_ml, model_id)
        except PumpError as e:  # the pump-wide rules (schedule.normalise) refuse it outright
            return self.profile_findings(profile) + [
                _f("refuse", CORE_RULES.get(e.code, "CORE-REFUSAL-NO-CHANGE"), "%s: %s" % (e.code, e.detail),
                   code=e.code)]
        ind = profile["indication"]
        p = self.profile(ind)
        lim = self.limits_ng(ind)
        new = facts["daily_ng"]
        lo, hi = min(facts["day_totals_ng"]), max(facts["day_totals_ng"])
        out = self.profile_findings(profile) + self.check_concentration(conc_ug_ml)
        if lo < lim["hard_min_ng_day"] or hi > lim["hard_max_ng_day"]:
            out.append(_f("refuse", _hard_id(ind), "daily %s mcg outside the %s range %d-%d mcg/day"
                          % (_rng(lo, hi), ind, p["hard_min_ug_day"], p["hard_max_ug_day"])))
        if restart:
            init = profile.get("initial_ng_day")
            if init is None or new > init:
                out.append(_f("refuse", "HOL-RESTART", "a restart may return to the initial dose (%s) at most"
                              % (_mcg(init) if init else "not in the profile")))
        ref = max(new, facts["peak_step_ng_day"])
        if old_daily_ng > 0 and ref > 2 * old_daily_ng:
            pct = clinical.ratio_pct(ref, old_daily_ng)
            if confirm_ratio != pct:
                out.append(_f("confirm", "CONFIRM-2X", "CONFIRM: %d %% of the current %s mcg/day (more than twice)"
                              % (pct, _mcg(old_daily_ng)), ratio_pct=pct))
        if restore:   # pump: clinical.check_programme, RESTORE
            ceiling = max(restore_ceiling_ng or 0, old_daily_ng)
            if new > ceiling:
                out.append(_f("refuse", "WITHDRAWAL-RESTORE-PUMP", "restore reaches the highest daily dose of the "
                              "last 30 days (%s mcg/day) at most" % _mcg(ceiling)))
            if not override_reason:
                out.append(_f("override", "WITHDRAWAL-RESTORE-PUMP", "restoring the dose used before an "
                              "interruption: needs a reason (logged)"))
        if old_daily_ng > 0 and new > old_daily_ng and not restart and not restore:
            out.extend(self._increase(profile, lim, old_daily_ng, new, t_s, initial_programme_t_s,
                                      last_increase_t_s, refill_t_s))
            out.extend(self._escalation(profile, lim, old_daily_ng, new, t_s, last_increase_t_s))
        if renal_impairment and old_daily_ng > 0 and _raised(old_daily_ng, old_programme, new,
                                                             facts["peak_step_ng_day"], conc_ug_ml, model_id):
            # AHFS: "it may be necessary to reduce either oral or intrathecal dosage in patients with
            # impaired renal function"; label: "Renal Impairment / May need to reduce dose"
            out.append(_f("warn", "RENAL-INCREASE", "renal impairment: baclofen is excreted in urine unchanged and "
                          "the dose may need to be reduced - confirm this increase is intended"))
        first = initial_programme_t_s
        if (old_programme and not restart and not restore and t_s is not None and first is not None and t_s - first < DAY_S
                and _rate_raised(old_programme, programme, conc_ug_ml, model_id)):
            out.append(_f("refuse", "TIT-FIRST24H-RATE", "a step or periodic bolus raises the rate within 24 h "
                          "of the initial programme"))
        maint = profile.get("phase") == "maintenance"
        if first is None and old_daily_ng == 0 and not maint and hi > clinical.INITIAL_MAX_NG_DAY \
                and not override_reason:
            out.append(_f("override", "INIT-MAX", "first programme %s mcg/day is above twice the largest screening "
                          "dose (%s mcg/day): needs a reason" % (_rng(lo, hi), _mcg(clinical.INITIAL_MAX_NG_DAY))))
        soft = hi > lim["soft_max_ng_day"] or (maint and lo < lim["soft_min_ng_day"])
        if soft and not override_reason:
            out.append(_f("override", "SOFT-RANGE", "daily %s mcg outside the typical %d-%d mcg/day: needs a reason"
                          % (_rng(lo, hi), p["soft_min_ug_day"], p["soft_max_ug_day"])))
        cut = old_daily_ng > 0 and (old_daily_ng - new) * 100 > clinical.DECREASE_SOFT_PCT * old_daily_ng
        if cut and not override_reason:
            out.append(_f("override", "SOFT-DECREASE", "cut of %d %% exceeds the typical %d-%d %%: needs a reason"
                          % ((old_daily_ng - new) * 100 // old_daily_ng, *p["decrease_typical_pct"])))
        if "usual_ug_day" in p:
            out.append(_f("info", "DL-HARD-U12", "usual maintenance dose %d mcg/day" % p["usual_ug_day"]))
        out.append(_f("info", "TIT-GUIDANCE", "typical increments", **self.guidance(ind, old_daily_ng or new)))
        return out

    def _increase(self, profile, lim, old, new, t_s, first, last, refill):
        out = []
        if t_s is not None and first is not None and t_s - first < DAY_S:
            out.append(_f("refuse", "TIT-FIRST24H", "no increase in the first 24 h after the initial programme "
                          "(%d min left)" % -(-(first + DAY_S - t_s) // 60)))
        if t_s is not None and last is not None and t_s - last < DAY_S:
            out.append(_f("refuse", "TIT-ONCE-24H", "one increase per 24 h (next in %d min)"
                          % -(-(last + DAY_S - t_s) // 60)))
        at_refill = (profile.get("phase") == "maintenance" and t_s is not None and refill is not None
                     and 0 <= t_s - refill <= clinical.REFILL_WINDOW_S)
        cap = lim["refill_max_pct"] if at_refill else lim["titration_max_pct"]
        if (new - old) * 100 > cap * old:
            rule = ("REFILL-SPINAL-40" if cap == 40 else "REFILL-CEREBRAL-20") if at_refill else \
                ("TIT-SPINAL-30" if cap == 30 else "TIT-CEREBRAL-15")
            out.append(_f("refuse", rule, "+%d %% exceeds the %s cap of %d %%"
                          % ((new - old) * 100 // old, "refill" if at_refill else "titration", cap)))
        return out

    def _escalation(self, profile, lim, old, new, t_s, last):
        """ESC-CATHETER (design, see the library's [escalation]): a warning, never a refusal."""
        pct = (new - old) * 100 // old
        why = None
        if (new - old) * 100 >= lim["titration_max_pct"] * old:
            why = "step"
        elif (profile.get("phase") == "maintenance" and t_s is not None and last is not None
              and t_s - last < self.escalation["window_days"] * DAY_S):
            why = "window"
        if why is None:
            return []
        # label: "A sudden need for substantial dose escalation may indicate catheter complication."
        # AHFS: "... the function of the pump and patency of the catheter should be checked."
        what = ("+%d %% in one change (the titration cap is %d %%)" % (pct, lim["titration_max_pct"])
                if why == "step" else "a second increase within %d days" % self.escalation["window_days"])
        return [_f("warn", "ESC-CATHETER", "substantial escalation, %s: a sudden need for it may indicate a catheter "
                   "complication; if the response does not improve, check the function of the pump and patency "
                   "of the catheter" % what, change_pct=pct, why=why)]

    def guidance(self, indication, daily_ng):
        """Typical titration and refill increments with the doses they give (mcg/day, rounded down)."""
        p = self.profile(indication)
        t, r, d = p["titration_typical_pct"], p["refill_typical_pct"], p["decrease_typical_pct"]
        return {"titration_pct": t, "titration_ng_day": [daily_ng * (100 + x) // 100 for x in t],
                "refill_pct": r, "refill_ng_day": [daily_ng * (100 + x) // 100 for x in r],
                "decrease_pct": d, "decrease_ng_day": [daily_ng * (100 - x) // 100 for x in d]}


def blocking(findings):
    """The findings that stop a commit as things stand (refusals, missing confirmation/override)."""
    return [f for f in findings if f["level"] in ("refuse", "confirm", "override")]


def _rate_raised(old_programme, programme, conc_ug_ml, model_id):
    """The pump's first-24 h rate rule (firmware/clinical.py) on host programmes."""
    m = pm.model(model_id)
    new = schedule.normalise(programme, conc_ug_ml, m)
    old = schedule.normalise(old_programme, conc_ug_ml, m)
    return (schedule.step_peak_ng_day(new) > schedule.step_peak_ng_day(old)
            or clinical.periodic_bolus_ng(new) > clinical.periodic_bolus_ng(old))


def _raised(old_ng, old_programme, new_ng, new_peak_ng, conc_ug_ml, model_id):
    """An increase in the daily total or in the highest step rate (vs the old plan's, or its daily)."""
    if new_ng > old_ng:
        return True
    old_peak = old_ng
    if old_programme:
        old_peak = schedule.step_peak_ng_day(schedule.normalise(old_programme, conc_ug_ml, pm.model(model_id)))
    return new_peak_ng > old_peak


def load(path=None):
    path = path or DEFAULT_PATH
    with open(path, "rb") as f:
        return DrugLibrary(tomllib.load(f), path)


def _f(level, rule, message, **extra):
    d = {"level": level, "rule": rule, "message": message}
    d.update(extra)
    return d


def _hard_id(ind):
    return {"spinal": "DL-HARD-SPINAL", "cerebral": "DL-HARD-CEREBRAL", "paediatric": "DL-HARD-PAED",
            "paediatric_u12": "DL-HARD-U12"}[ind]


def _mcg(ng):
    return "%d.%03d" % (ng // UG, ng % UG) if ng % UG else "%d" % (ng // UG)


def _rng(lo, hi):
    return _mcg(lo) if lo == hi else "%s-%s" % (_mcg(lo), _mcg(hi))


def _hhmm(s):
    s %= DAY_S
    return "%02d:%02d" % (s // 3600, s % 3600 // 60)


# --- programme facts and the review (firmware maths) ----------------------------------------
def programme_facts(programme, conc_ug_ml, model_id=20):
    """Normalised programme and its numbers from firmware/schedule.py (raises PumpError if invalid)."""
    norm = schedule.normalise(programme, conc_ug_ml, pm.model(model_id))
    plan = schedule.Plan(norm)
    totals = [x for _, x in plan.day_totals_ng()]
    daily = sum(totals) // len(totals)
    steps = [{"day": s["day"], "effect": _hhmm(s["effect_min"] * 60), "shape": s["shape"],
              "dose_ng_day": s["dose_ng_day"], "flow_nl_day": pm.flow_nl_day(s["dose_ng_day"], conc_ug_ml)}
             for s in norm["steps"]]
    return {"programme": norm, "daily_ng": daily, "daily_nl": pm.flow_nl_day(daily, conc_ug_ml),
            "day_totals_ng": totals, "peak_step_ng_day": max(s["dose_ng_day"] for s in norm["steps"]),
            "steps": steps, "boluses": norm["boluses"],
            "windows": [(_hhmm(a), _hhmm(b)) for a, b in plan.change_windows()]}


def review(old_programme, new_programme, conc_ug_ml, model_id=20, stage_reply=None, new_conc_ug_ml=None):
    """Old vs new side by side (REVIEW-DIFF): per-step rates, ramp windows, daily totals in mcg and
    mL, and the alarm/empty dates before and after from the pump's stage reply when given."""
    old = programme_facts(old_programme, conc_ug_ml, model_id) if old_programme else None
    new = programme_facts(new_programme, new_conc_ug_ml or conc_ug_ml, model_id)
    rv = {"old": old, "new": new, "conc_ug_ml": conc_ug_ml}
    if old:
        rv["ratio_pct"] = clinical.ratio_pct(new["daily_ng"], old["daily_ng"])
        rv["change_pct"] = (new["daily_ng"] - old["daily_ng"]) * 100 // old["daily_ng"]
    if stage_reply:
        rv["before"] = stage_reply.get("before")
        rv["after"] = stage_reply.get("after")
    return rv


def _side(f):
    if f is None:
        return ["(none)"]
    lines = ["daily %s mcg = %s mL" % (_mcg(f["daily_ng"]), _ml(f["daily_nl"]))]
    for s in f["steps"]:
        day = "" if s["day"] < 0 else "d%d " % s["day"]
        lines.append("%s%s %-4s %s mcg/day" % (day, s["effect"], s["shape"], _mcg(s["dose_ng_day"])))
    for b in f["boluses"]:
        lines.append("bolus %s %s mcg/%d min" % (_hhmm(b["at_min"] * 60), _mcg(b["dose_ng"]), b["duration_min"]))
    for a, b in f["windows"]:
        lines.append("change %s-%s" % (a, b))
    return lines


def _ml(nl):
    return "%d.%03d" % (nl // 1000000, nl % 1000000 // 1000)


def render_review(rv, fmt_t=None):
    """Two columns, old | new, then the forecast dates and the ratio."""
    fmt_t = fmt_t or (lambda t: "-" if t is None else str(t))
    left, right = _side(rv["old"]), _side(rv["new"])
    w = max(len(x) for x in left + ["OLD"]) + 2
    out = ["%-*s| %s" % (w, "OLD", "NEW")]
    for i in range(max(len(left), len(right))):
        out.append("%-*s| %s" % (w, left[i] if i < len(left) else "", right[i] if i < len(right) else ""))
    if "before" in rv:
        b, a = rv["before"] or {}, rv["after"] or {}
        out.append("%-*s| %s" % (w, "alarm " + fmt_t(b.get("alarm_t_s")), "alarm " + fmt_t(a.get("alarm_t_s"))))
        out.append("%-*s| %s" % (w, "empty " + fmt_t(b.get("empty_t_s")), "empty " + fmt_t(a.get("empty_t_s"))))
    if "ratio_pct" in rv:
        out.append("new/old = %d %%%s" % (rv["ratio_pct"], "  ** MORE THAN TWICE **" if rv["ratio_pct"] > 200 else ""))
    return "\n".join(out)
