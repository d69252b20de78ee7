"""Clinical assistants (issue 5): pure functions, no I/O, numbers from the drug library and the
firmware's own maths (schedule.Plan, delivery.Ledger, pumpmodel). Doses in ng, volumes in nL,
times in pump t_s (design.md); the CLI (cli_clinical.py) formats them.

Requirement IDs (requirements/requirements.toml) are named where each rule is computed.
"""
import math

from pumpctl.clinical import druglib
from pumpctl import fwpath

fwpath.ensure()
import pumpmodel as pm  # noqa: E402
import schedule  # noqa: E402
from delivery import Ledger  # noqa: E402

DAY_S = 86400
HOUR_S = 3600
UG = 1000
RISK_TEXT = {"t6_or_above": "spinal cord injury at T6 or above", "communication": "communication difficulties",
             "withdrawal_history": "history of withdrawal symptoms"}


def _lib(lib):
    return lib if lib is not None else druglib.load()


# --- screening (SCR-*) and the initial dose (INIT-DOSE) ------------------------------------------
def screening_sequence(small_child=False, start_t_s=0, lib=None):
    """Planned screening boluses: 50 -> 75 -> 100 mcg, 24 h apart (25 mcg first for a very small
    child), each from the 50 mcg/mL ampule with its 4-8 h observation window."""
    lib = _lib(lib)
    s = lib.screening
    doses = ([s["small_child_first_ug"]] if small_child else []) + list(s["doses_ug"])
    conc = lib.conc["screening_ug_ml"]
    out = []
    for i, ug in enumerate(doses):
        t = start_t_s + i * s["interval_h"] * HOUR_S
        out.append({"step": i + 1, "dose_ng": ug * UG, "volume_nl": pm.flow_nl_day(ug * UG, conc),
                    "conc_ug_ml": conc, "t_s": t, "observe_from_t_s": t + s["observe_min_h"] * HOUR_S,
                    "observe_until_t_s": t + s["observe_max_h"] * HOUR_S, "administer": s["administer"]})
    return out


def screening_plan(small_child=False, start_t_s=0, brain_injury_t_s=None, age_group=None, lib=None):
    """The screening sequence with how each bolus is given (SCR-BARBOTAGE) and the warnings that
    apply before screening: under 4 years (PAED-UNDER-4), brain injury less than a year ago
    (SCR-BRAIN-INJURY-1Y). Warnings are findings {"level": "warn", "rule", "message", ...}."""
    lib = _lib(lib)
    s = lib.screening
    warnings = lib.profile_findings({"age_group": age_group}) if age_group else []
    if brain_injury_t_s is not None:
        if brain_injury_t_s > start_t_s:
            raise ValueError("the brain injury date is after the screening date")
        # AHFS: "Patients with spasticity secondary to brain injury should wait at least one year after
        # the injury before considering long-term intrathecal baclofen therapy."
        until = brain_injury_t_s + s["brain_injury_wait_days"] * DAY_S
        if start_t_s < until:
            warnings.append(druglib._f("warn", "SCR-BRAIN-INJURY-1Y", "spasticity after a brain injury: wait at least "
                                       "one year after the injury before long-term intrathecal baclofen "
                                       "(%d days to go)" % -(-(until - start_t_s) // DAY_S), wait_until_t_s=until))
    return {"sequence": screening_sequence(small_child, start_t_s, lib), "administer": s["administer"],
            "warnings": warnings}


def profile_findings(profile, renal_impairment=False, lib=None):
    """Warnings for a patient profile, for any profile display: under 4 years (PAED-UNDER-4) and,
    host-only, renal impairment (RENAL-INCREASE: the pump profile has no renal flag)."""
    lib = _lib(lib)
    out = lib.profile_findings(profile)
    if renal_impairment:
        # AHFS: "it may be necessary to reduce either oral or intrathecal dosage in patients with impaired
        # renal function"; label: "May need to reduce dose"
        out.append(druglib._f("warn", "RENAL-INCREASE", "renal impairment: the dose may need to be reduced; every "
                              "increase is flagged"))
    return out


def screening_next(results, small_child=False, start_t_s=0, lib=None):
    """Next step given the results so far: [{"dose_ng", "positive": bool, "effect_min"?}] in order.

    Returns {"action": "bolus", ...} | {"action": "candidate", "initial_ng_day", ...} |
    {"action": "not_candidate", ...}."""
    lib = _lib(lib)
    seq = screening_sequence(small_child, start_t_s, lib)
    for i, r in enumerate(results):
        if i >= len(seq) or r["dose_ng"] != seq[i]["dose_ng"]:
            raise ValueError("result %d: expected the %s dose of the sequence"
                             % (i + 1, "next" if i < len(seq) else "no further"))
        if r["positive"]:
            init = initial_daily_dose(r["dose_ng"], r.get("effect_min", 0), lib)
            return {"action": "candidate", "positive_dose_ng": r["dose_ng"], **init}
    if len(results) >= len(seq):
        return {"action": "not_candidate", "reason": "no response to %d mcg: not a candidate for an implanted pump"
                % (seq[-1]["dose_ng"] // UG)}
    return {"action": "bolus", **seq[len(results)]}


def initial_daily_dose(positive_dose_ng, effect_min, lib=None):
    """2x the positive screening dose over 24 h, or 1x if the effect lasted more than 8 h."""
    lib = _lib(lib)
    long_effect = effect_min > lib.screening["long_effect_h"] * 60
    return {"initial_ng_day": positive_dose_ng * (1 if long_effect else 2), "factor": 1 if long_effect else 2,
            "effect_min": effect_min}


# --- time-of-day changes (FLEX-LEAD) ---------------------------------------------------------------
def _min_of(hhmm):
    if isinstance(hhmm, int):
        return hhmm
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def time_of_day_programme(changes, lead_min=None, shape="ramp", conc_ug_ml=2000, model_id=20, lib=None):
    """Flex programme from desired effect times: changes = [(effect "HH:MM" or minute, dose_ng_day)].
    Each change starts lead_min (library: 120) before its effect; validated by the firmware."""
    lib = _lib(lib)
    lead = lib.flex["lead_min"] if lead_min is None else lead_min
    steps = [{"effect_min": _min_of(e), "dose_ng_day": d, "shape": shape} for e, d in changes]
    prog = {"mode": "flex", "lead_min": lead, "steps": sorted(steps, key=lambda s: s["effect_min"])}
    schedule.normalise(prog, conc_ug_ml, pm.model(model_id))
    return prog


def night_programme(base_ng_day, night_effect="22:00", morning_effect="07:00", increase_pct=None, lib=None, **kw):
    """The labeling's scenario: +20 % at night, effective at `night_effect`, back at `morning_effect`."""
    lib = _lib(lib)
    pct = lib.flex["night_increase_pct"] if increase_pct is None else increase_pct
    night = base_ng_day * (100 + pct) // 100
    return time_of_day_programme([(morning_effect, base_ng_day), (night_effect, night)], lib=lib, **kw)


# --- refill planning (REFILL-PLAN-*, RISK-MARGIN) ---------------------------------------------------
def _ledger(programme, conc_ug_ml, t_s, model_id, utc_offset_s):
    norm = schedule.normalise(programme, conc_ug_ml, pm.model(model_id))
    led = Ledger()
    led.rebase(t_s, plan=schedule.Plan(norm), conc_ug_ml=conc_ug_ml, utc_offset_s=utc_offset_s)
    return led


def margin_days(risk=(), lib=None):
    """Days before the alarm date to recommend the visit: base + per withdrawal-risk flag."""
    lib = _lib(lib)
    return lib.refill["margin_days"] + lib.refill["risk_extra_days"] * len(set(risk))


def volume_for_interval(programme, conc_ug_ml, interval_days, t_s=0, low_res_nl=pm.LOW_RES_DEFAULT_NL,
                        risk=(), model_id=20, utc_offset_s=0, lib=None):
    """nL to have in the reservoir so that after `interval_days` the calculated volume is still
    above the low-reservoir threshold with the safety margin (margin days of delivery) to spare."""
    lib = _lib(lib)
    led = _ledger(programme, conc_ug_ml, t_s, model_id, utc_offset_s)
    use = led.volume_nl(t_s + interval_days * DAY_S)
    margin = led.volume_nl(t_s + (interval_days + margin_days(risk, lib)) * DAY_S) - use
    return use + margin + low_res_nl


def refill_plan(programme, conc_ug_ml, reservoir_nl, t_s, low_res_nl=pm.LOW_RES_DEFAULT_NL, risk=(),
                interval_days=None, model_id=20, utc_offset_s=0, lib=None):
    """Alarm and empty dates of the current fill, the recommended visit, and the volume to add."""
    lib = _lib(lib)
    cap = pm.model(model_id)["capacity_nl"]
    led = _ledger(programme, conc_ug_ml, t_s, model_id, utc_offset_s)
    alarm = led.first_t_reaching(reservoir_nl - low_res_nl, t_s) if reservoir_nl > low_res_nl else t_s
    empty = led.first_t_reaching(reservoir_nl, t_s)
    mdays = margin_days(risk, lib)
    visit = alarm - mdays * DAY_S
    out = {"alarm_t_s": alarm, "empty_t_s": empty, "margin_days": mdays, "visit_t_s": max(visit, t_s),
           "visit_overdue": visit <= t_s, "risk": sorted(set(risk)), "capacity_nl": cap,
           "storage": lib.refill["storage_note"]}                 # STORAGE-NOTE (label STORAGE)
    if interval_days is not None:
        need = volume_for_interval(programme, conc_ug_ml, interval_days, t_s, low_res_nl, risk, model_id,
                                   utc_offset_s, lib)
        out.update(interval_days=interval_days, fill_nl=need, fits=need <= cap)
    # longest interval a full reservoir covers with the threshold and margin kept
    last_full = led.first_t_reaching(cap - low_res_nl, t_s)
    out["max_interval_days"] = max(0, (last_full - t_s) // DAY_S - mdays)
    return out


def choose_concentration(programme_for, interval_days, low_res_nl=pm.LOW_RES_DEFAULT_NL, risk=(), model_id=20,
                         lib=None):
    """Strength for a programme and refill interval: the lowest supplied strength whose volume fits
    the reservoir and whose flows stay in the pump's range; else a diluted custom strength.
    `programme_for` is the programme dict (doses do not depend on the strength)."""
    lib = _lib(lib)
    m = pm.model(model_id)
    prog = programme_for
    rates = [prog["dose_ng_day"]] if prog.get("mode") == "continuous" else [x["dose_ng_day"] for x in prog["steps"]]
    tried = []
    for conc in sorted(lib.conc["supplied_ug_ml"]):
        ok, why = _fits(programme_for, conc, interval_days, low_res_nl, risk, model_id, lib, rates, m)
        tried.append({"conc_ug_ml": conc, "ok": ok, "why": why})
        if ok:
            return {"conc_ug_ml": conc, "dilute": False, "tried": tried}
    # Low doses: the supplied strengths would pump below the minimum flow -> dilute down.
    conc = min(rates) * 1000 // m["flow_min_nl_day"] // 10 * 10
    if lib.conc["custom_min_ug_ml"] <= conc < min(lib.conc["supplied_ug_ml"]):
        ok, why = _fits(programme_for, conc, interval_days, low_res_nl, risk, model_id, lib, rates, m)
        tried.append({"conc_ug_ml": conc, "ok": ok, "why": why})
        if ok:
            return {"conc_ug_ml": conc, "dilute": True, "tried": tried,
                    "dilution": dilution(conc, min(volume_for_interval(programme_for, conc, interval_days, 0,
                                         low_res_nl, risk, model_id, 0, lib), m["capacity_nl"]), lib)}
    return {"conc_ug_ml": None, "dilute": False, "tried": tried,
            "advice": "no strength fits %d days: shorten the interval" % interval_days}


def _fits(prog, conc, interval_days, low_res_nl, risk, model_id, lib, rates, m):
    for r in rates:
        f = pm.flow_nl_day(r, conc)
        if f < m["flow_min_nl_day"] or f > m["flow_max_nl_day"]:
            return False, "flow %d nL/day outside %d..%d" % (f, m["flow_min_nl_day"], m["flow_max_nl_day"])
    try:
        need = volume_for_interval(prog, conc, interval_days, 0, low_res_nl, risk, model_id, 0, lib)
    except Exception as e:  # PumpError from the firmware's validation
        return False, str(e)
    if need > m["capacity_nl"]:
        return False, "needs %d nL, reservoir holds %d" % (need, m["capacity_nl"])
    return True, "needs %d nL" % need


def dilution(target_ug_ml, final_nl, lib=None):
    """Stock and preservative-free saline volumes for `final_nl` of a custom strength, from the
    smallest supplied strength at or above it. Volumes floored to 0.01 mL; exact strength reported."""
    lib = _lib(lib)
    supplied = sorted(lib.conc["supplied_ug_ml"])
    if target_ug_ml > lib.conc["custom_max_ug_ml"] or target_ug_ml < lib.conc["custom_min_ug_ml"]:
        raise ValueError("custom strength must be %d..%d mcg/mL" % (lib.conc["custom_min_ug_ml"],
                                                                  lib.conc["custom_max_ug_ml"]))
    stock = next(s for s in supplied if s >= target_ug_ml)
    final = final_nl // 10000 * 10000
    stock_nl = (target_ug_ml * final // stock + 5000) // 10000 * 10000   # nearest 0.01 mL
    exact = (stock * stock_nl + final // 2) // final if final else 0
    return {"stock_ug_ml": stock, "stock_nl": stock_nl, "diluent_nl": final - stock_nl, "final_nl": final,
            "result_ug_ml": exact, "diluent": lib.conc["diluent"]}


# --- drug holiday (HOL-TAPER, HOL-RESTART) -------------------------------------------------------
def taper(current_ng_day, indication, start_t_s, days=None, conc_ug_ml=500, model_id=20, lib=None):
    """Gradual reduction over 14-28 days as dated continuous programmes, each cut <= 20 %, ending at
    the lowest dose the indication and the pump's minimum flow allow; never a stop."""
    lib = _lib(lib)
    h = lib.holiday
    days = h["max_days"] if days is None else days
    if not h["min_days"] <= days <= h["max_days"]:
        raise ValueError("a drug holiday tapers over %d-%d days" % (h["min_days"], h["max_days"]))
    m = pm.model(model_id)
    lim = lib.limits_ng(indication)
    floor = max(lim["hard_min_ng_day"], -(-m["flow_min_nl_day"] * conc_ug_ml // 1000))
    if current_ng_day <= floor:
        raise ValueError("already at the floor %d ng/day" % floor)
    cap = h["max_step_cut_pct"]
    lo_n = (days + 1) // 2                    # at least one step every 2 days
    for n in range(lo_n, lo_n + 200):
        out = _taper_steps(current_ng_day, floor, n, start_t_s, days, cap, lim["soft_min_ng_day"])
        if all(s["cut_ng"] * 100 <= cap * (s["daily_ng"] + s["cut_ng"]) for s in out):
            break
    return {"steps": out, "floor_ng_day": floor, "days": days, "conc_ug_ml": conc_ug_ml,
            "note": "delivery continues at %d ng/day; the pump is never stopped" % floor}


def _taper_steps(current, floor, n, start_t_s, days, cap, soft_min):
    out, prev = [], current
    for k in range(1, n + 1):
        # geometric path current -> floor, rounded up to whole mcg (never a bigger cut than planned);
        # steps on whole hours, the last one `days` after the start
        dose = floor if k == n else max(floor, math.ceil(current * (floor / current) ** (k / n) / UG) * UG)
        out.append({"t_s": start_t_s + k * days * 24 // n * HOUR_S, "programme": {"mode": "continuous", "dose_ng_day": dose},
                    "daily_ng": dose, "cut_ng": prev - dose, "cut_pct": (prev - dose) * 100 // prev,
                    "stage_args": {"override_reason": "drug holiday taper"} if dose < soft_min else {}})
        prev = dose
    return out


def restart(profile, current_ng_day):
    """The restart after a holiday at the initial continuous dose (pump: restart=true)."""
    init = profile.get("initial_ng_day")
    if init is None:
        raise ValueError("the profile has no initial_ng_day: set it (profile_set) before a restart")
    args = {"restart": True}
    if current_ng_day > 0 and init > 2 * current_ng_day:
        args["confirm_ratio"] = init * 100 // current_ng_day
    return {"programme": {"mode": "continuous", "dose_ng_day": init}, "stage_args": args}


# --- overdose and withdrawal (OVERDOSE-*, WITHDRAWAL-RESTORE) ---------------------------------------
def overdose_response(lib=None):
    """Signs of overdose to monitor for and the response, from the library's [overdose]."""
    o = _lib(lib).data["overdose"]
    return {"signs": list(o["signs"]), "actions": list(o["actions"])}


def restart_after_interruption(previous_daily_ng, current_ng_day=0, profile=None, lib=None,
                               restore_ceiling_ng=None):
    """Withdrawal after an interruption (empty reservoir, catheter fault, missed refill): restore the
    intrathecal dose at the dose used before (AHFS: "restoration of intrathecal baclofen at or near
    the dosage used prior to interruption of therapy"). Returns the continuous programme, the stage
    arguments the pump needs, findings and a note (watch for overdose on reintroduction)."""
    lib = _lib(lib)
    if type(previous_daily_ng) is not int or previous_daily_ng <= 0:
        raise ValueError("the previous daily dose must be a positive whole number of ng/day")
    findings = []
    if profile and profile.get("indication"):
        lim = lib.limits_ng(profile["indication"])
        if not lim["hard_min_ng_day"] <= previous_daily_ng <= lim["hard_max_ng_day"]:
            raise ValueError("%d ng/day is outside the %s range %d-%d ng/day" % (
                previous_daily_ng, profile["indication"], lim["hard_min_ng_day"], lim["hard_max_ng_day"]))
        findings = lib.profile_findings(profile)
    same = current_ng_day == previous_daily_ng
    args = {}
    if not same and current_ng_day > 0 and previous_daily_ng > 2 * current_ng_day:
        args["confirm_ratio"] = previous_daily_ng * 100 // current_ng_day
    if not same and previous_daily_ng > current_ng_day > 0:
        # The pump's restore path (firmware/clinical.py RESTORE): past the titration caps, up to the
        # highest daily dose of the last 30 days (profile_get history: restore_ceiling_ng), with a reason.
        ceiling = restore_ceiling_ng if restore_ceiling_ng is not None else previous_daily_ng
        if previous_daily_ng <= ceiling:
            args["restore"] = True
            args["override_reason"] = "withdrawal: restore the dose used before the interruption"
        else:
            findings.append(druglib._f("warn", "WITHDRAWAL-RESTORE", "the pump restores at most the highest daily "
                                       "dose of the last 30 days (%s mcg/day); above it the titration/refill caps "
                                       "apply: restore in steps within the caps" % druglib._mcg(ceiling)))
    o = lib.data["overdose"]
    note = ("withdrawal treatment: restore intrathecal baclofen at or near the dosage used prior to interruption "
            "(%s mcg/day)%s. Watch for overdose on reintroduction after an interruption: %s. Early withdrawal "
            "signs: %s." % (druglib._mcg(previous_daily_ng), "; the programme already delivers it - refill/repair and resume"
                            if same else "", ", ".join(o["signs"]), ", ".join(lib.data["withdrawal"]["early_signs"])))
    return {"programme": {"mode": "continuous", "dose_ng_day": previous_daily_ng}, "unchanged": same,
            "stage_args": args, "findings": findings, "note": note, "monitor": list(o["signs"])}


# --- risk flags (PROF-RISK) ------------------------------------------------------------------------
def risk_banner(profile):
    """One line for every status display; '' when the profile has no flags."""
    flags = profile.get("risk") or []
    if not flags:
        return ""
    return "WITHDRAWAL RISK: " + "; ".join(RISK_TEXT.get(f, f) for f in flags) + \
        " - keep refill visits, refill margin lengthened"
