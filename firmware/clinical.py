"""Clinical guardrails on the pump (issue 5). Defence in depth behind the host's drug library.

The pump-wide hard limits live in pumpmodel/schedule; this module adds the per-patient rules
from the profile stored on the pump (`profile_set`), so they hold whichever programmer connects.
Quotes are from shared/seeds/000_2ca3bb212e8effd8.txt ("label") unless marked AHFS
(shared/seeds/002_6a8b59dddd29c79e.txt). Requirement IDs: requirements/requirements.toml.

Design choices (requirements/README.md, "Pump-side clinical rules"):
- Titration vs maintenance: the profile's `phase` ("titration" default, or "maintenance").
  In maintenance, an increase staged within REFILL_WINDOW_S after a refill commit is a
  refill-time change (caps 40 % / 20 %); any other increase uses the titration caps
  (30 % / 15 %). At most one increase per 24 h in both phases.
- Percent caps compare the new programme's daily total (weekly plans: the mean day, as the
  core reports `daily_ng`) with the current one; hard and soft ranges apply to every day.
- > 2x rule: if the new daily dose, or any flex step's own rate, exceeds twice the current
  daily dose, `confirm_ratio` must echo the integer percentage the pump states (CONFIRM-2X).
- Soft (typical) range (upper bound only while titrating): outside it the stage needs `override_reason` (text); the commit logs
  event "override" (a = CRC-32 of the reason text & 0x3FFFFFFF, b = new daily ng).
- No profile: a clinical build refuses to programme; a test build applies only the pump-wide
  limits (core tests exercise the pump without a patient), the > 2x confirmation among them.
- Restart after a drug holiday: `restart: true` allows a return to the profile's
  `initial_ng_day` whatever the caps (confirmation rules still apply) and restarts the
  24-hour clock: "baclofen inj may be restarted at the initial continuous infusion dose".
"""
from compat import ceil_div, const, crc32
from protocol import PumpError
import pumpmodel as pm
import schedule

DAY_S = const(86400)
# Design choice: a refill visit is one sitting; an increase staged within 4 h of the refill
# commit is "during periodic refills of the pump" (label, Maint Therapy).
REFILL_WINDOW_S = const(14400)
# Design choice: "more than 2x" the current daily dose needs a second confirmation.
CONFIRM_RATIO_PCT = const(200)
# Design choice: a decrease of more than 20 % needs an override reason: "the daily dose may be
# reduced by 10-20% if patients experience side effects"; larger cuts risk withdrawal
# ("avoid abrupt discontinuation").
DECREASE_SOFT_PCT = const(20)
REASON_MAX = const(80)
# Design choice: "the dosage used prior to interruption" (AHFS, withdrawal treatment) is the
# highest daily dose committed in the last 30 days; the pump keeps that history.
RESTORE_WINDOW_S = const(2592000)
HISTORY_MAX = const(32)
# label: "double the screening dose that gave a positive effect" and the final screening dose
# is "2mL (100mcg)": no initial daily dose exceeds 200 mcg/day.
INITIAL_MAX_NG_DAY = const(200000)

# indication -> (hard_min_ng_day, hard_max_ng_day, soft_min_ng_day, soft_max_ng_day,
#                titration_max_pct, refill_max_pct)
RULES = {
    # label: "Range: 12-2003mcg/day; most patients are adequately maintained on 300-800mcg/day";
    # "increase daily dose by 10-30% only once q24h"; "may be increased by 10-40%, but no more than 40%"
    "spinal": (12000, 2003000, 300000, 800000, 30, 40),
    # label: "Range: 22-1400mcg/day; most patients are adequately maintained on 90-703mcg/day";
    # "increase daily dose by 5-15% only once q24h"; "increased by 5-20%, but no more than 20%"
    "cerebral": (22000, 1400000, 90000, 703000, 15, 20),
    # label, PEDIATRIC >=4 Years: same range, 5-15 % titration, 5-20 % at refill
    "paediatric": (22000, 1400000, 90000, 703000, 15, 20),
    # label, <12 Years: "Usual: 274mcg/day Range: 24-1199mcg/day"; typical range inherited from
    # the >=4 years profile (no other typical range is given), titration/refill as paediatric
    "paediatric_u12": (24000, 1199000, 90000, 703000, 15, 20),
}
INDICATION_IDS = {"spinal": 1, "cerebral": 2, "paediatric": 3, "paediatric_u12": 4}
# age groups and which indications they may use: the spinal/cerebral adult profiles are for
# adults; label paediatric dosing is ">=4 Years" with a separate "<12 Years" range.
AGE_GROUPS = {"adult": ("spinal", "cerebral"), "12-17": ("paediatric",),
              "4-11": ("paediatric_u12",), "under_4": ("paediatric_u12",)}
# (4-11: label "<12 Years: ... Range: 24-1199mcg/day" is the stricter of the two paediatric rows.)
AGE_IDS = {"adult": 1, "12-17": 2, "4-11": 3, "under_4": 4}
PHASES = ("titration", "maintenance")
# label BOXED WARNING: "patients at apparent risk (eg, spinal cord injuries at T-6 or above,
# communication difficulties, history of withdrawal symptoms from oral/intrathecal therapy)"
RISK_FLAGS = ("t6_or_above", "communication", "withdrawal_history")


def validate_profile(profile):
    """Normalised copy of a patient profile, or PumpError E_BAD_ARGS. argspec (PROFILE) has
    already checked every field's type, enum and range; what is left are the rules that tie
    fields together."""
    ind = profile["indication"]
    age = profile.get("age_group", "adult" if ind in ("spinal", "cerebral") else None)
    if age is None:
        raise PumpError("E_BAD_ARGS", "age_group is required for %s (one of 12-17, 4-11, under_4)" % ind)
    if ind not in AGE_GROUPS[age]:
        raise PumpError("E_BAD_ARGS", "indication %s does not fit age group %s" % (ind, age))
    risk = profile.get("risk", [])
    out = {"indication": ind, "age_group": age, "phase": profile.get("phase", "titration"),
           "risk": [r for r in RISK_FLAGS if r in risk]}
    if profile.get("implant_t_s") is not None:
        out["implant_t_s"] = profile["implant_t_s"]
    # label: the initial daily dose is the positive screening dose (<= 100 mcg) doubled at most,
    # and after a drug holiday "baclofen inj may be restarted at the initial continuous infusion dose"
    init = profile.get("initial_ng_day")
    if init is not None:
        lo = RULES[ind][0]
        if init < lo:
            raise PumpError("E_BAD_ARGS", "profile 'initial_ng_day' must be an integer %d..%d"
                            % (lo, INITIAL_MAX_NG_DAY))
        out["initial_ng_day"] = init
    return out


def limits(profile):
    """The profile's rule row as a dict (host display and status)."""
    r = RULES[profile["indication"]]
    return {"hard_min_ng_day": r[0], "hard_max_ng_day": r[1], "soft_min_ng_day": r[2],
            "soft_max_ng_day": r[3], "titration_max_pct": r[4], "refill_max_pct": r[5]}


def reason_id(text):
    """Stable small-int id of an override reason for the integer event log."""
    return crc32(text.encode()) & 0x3FFFFFFF


def ratio_pct(new_ng, old_ng):
    return new_ng * 100 // old_ng


def periodic_bolus_ng(prog):
    # Periodic boluses' drug per cycle: their "own rate" in daily terms, not their brief peak.
    total = 0
    for b in prog["boluses"] if prog else ():
        total += b["dose_ng"] * (1 if b["day"] >= 0 else 7)
    return total


def _reason(args):
    text = args.get("override_reason")
    if text is None:
        return None
    if type(text) is not str or not text.strip() or len(text) > REASON_MAX:
        raise PumpError("E_BAD_ARGS", "override_reason: 1..%d characters of text" % REASON_MAX)
    return text


def check_programme(ctl, old_daily_ng, new_daily_ng, t_s, args, norm, plan):
    """Raise PumpError if the change breaks a labeling rule; return the checks made.

    Each check is a dict {"rule": ID, ...}; those with "override" are logged at commit."""
    prof = ctl.profile
    if not prof:
        if ctl.build == "clinical":
            raise PumpError("E_CLINICAL_LIMIT", "no patient profile on the pump: profile_set first")
        # The ISMP error class (a dose entered hourly instead of daily) is pump-wide: the > 2x
        # confirmation holds without a profile too (issue 8, defect 8).
        checks = []
        _check_ratio(old_daily_ng, new_daily_ng, schedule.step_peak_ng_day(norm), args, checks)
        return checks
    r = RULES[prof["indication"]]
    totals = [x for _, x in plan.day_totals_ng()]
    peak = schedule.step_peak_ng_day(norm)
    bolus_ng = periodic_bolus_ng(norm)
    checks = []
    lo_day, hi_day = min(totals), max(totals)
    # Hard per-indication range (refused on host and pump).
    if lo_day < r[0] or hi_day > r[1]:
        raise PumpError("E_CLINICAL_LIMIT", "daily total %d..%d ng outside the %s range %d..%d ng/day"
                        % (lo_day, hi_day, prof["indication"], r[0], r[1]))
    checks.append({"rule": "DL-HARD", "min_ng_day": r[0], "max_ng_day": r[1]})
    restart = args.get("restart") is True
    restore = args.get("restore") is True
    if restore:
        ceiling = restore_ceiling_ng(ctl, t_s)
        if new_daily_ng > ceiling:
            raise PumpError("E_CLINICAL_LIMIT", "restore is allowed up to the highest daily dose of the last 30 days "
                            "(%d ng/day)" % ceiling)
        if _reason(args) is None:
            raise PumpError("E_OVERRIDE_REQUIRED", "RESTORE: restoring the dose used before an interruption; "
                            "resend with override_reason")
        checks.append({"rule": "RESTORE", "override": reason_id(_reason(args)), "value": new_daily_ng})
    if restart:
        init = prof.get("initial_ng_day")
        if init is None or new_daily_ng > init:
            raise PumpError("E_CLINICAL_LIMIT", "restart is allowed up to the profile's initial_ng_day (%s)"
                            % init)
        checks.append({"rule": "HOL-RESTART", "initial_ng_day": init})
    _check_ratio(old_daily_ng, new_daily_ng, peak, args, checks)
    first = ctl.initial_programme_t_s
    if first is not None and t_s - first < DAY_S and not restart and not restore and (
            peak > schedule.step_peak_ng_day(ctl.programme) or bolus_ng > periodic_bolus_ng(ctl.programme)):
        # label: "No dose increases should be given in the first 24 hrs" - a flex step or periodic
        # bolus that raises the rate at some hour is an increase too, whatever the daily total.
        raise PumpError("E_FIRST_24H", "a step or periodic bolus raises the rate within 24 h of the initial "
                        "programme (%d s left)" % (first + DAY_S - t_s))
    increase = old_daily_ng > 0 and new_daily_ng > old_daily_ng
    if increase and not restart and not restore:
        _check_increase(ctl, prof, r, old_daily_ng, new_daily_ng, t_s, checks)
    reason = _reason(args)
    soft = []
    # The typical range is a maintenance figure ("most patients are adequately maintained on"):
    # during titration only its upper bound warns (starting doses sit far below it).
    if hi_day > r[3] or (lo_day < r[2] and prof.get("phase") == "maintenance"):
        soft.append("SOFT-RANGE")
    if first is None and old_daily_ng == 0 and prof.get("phase") != "maintenance" and hi_day > INITIAL_MAX_NG_DAY:
        # The first programme after implant is at most 2x the 100 mcg screening dose; higher
        # (a replacement pump for a patient on maintenance) needs a stated reason.
        soft.append("INIT-MAX")
    if old_daily_ng > 0 and new_daily_ng < old_daily_ng \
            and (old_daily_ng - new_daily_ng) * 100 > DECREASE_SOFT_PCT * old_daily_ng:
        soft.append("SOFT-DECREASE")
    why = {"SOFT-RANGE": "daily %d..%d ng outside the typical %d..%d ng/day" % (lo_day, hi_day, r[2], r[3]),
           "SOFT-DECREASE": "a cut of more than %d %% risks withdrawal" % DECREASE_SOFT_PCT,
           "INIT-MAX": "a first programme above %d ng/day (2x the 100 mcg screening dose)" % INITIAL_MAX_NG_DAY}
    for rule in soft:
        if reason is None:
            raise PumpError("E_OVERRIDE_REQUIRED", "%s: %s; resend with override_reason" % (rule, why[rule]))
        checks.append({"rule": rule, "override": reason_id(reason), "value": new_daily_ng})
    return checks


def _check_ratio(old_daily_ng, new_daily_ng, peak, args, checks):
    """> 2x: the daily total or a step's own rate against the current daily dose."""
    ref = new_daily_ng if new_daily_ng > peak else peak
    if old_daily_ng > 0 and ref > 2 * old_daily_ng:
        pct = ratio_pct(ref, old_daily_ng)
        if args.get("confirm_ratio") != pct:
            raise PumpError("E_CONFIRM_REQUIRED",
                 "CONFIRM: the new dose is %d %% of the current %d ng/day (more than twice); "
                 "resend with confirm_ratio=%d" % (pct, old_daily_ng, pct))
        checks.append({"rule": "CONFIRM-2X", "ratio_pct": pct})


def _check_increase(ctl, prof, r, old, new, t_s, checks):
    first = ctl.initial_programme_t_s
    # label: "No dose increases should be given in the first 24 hrs"
    if first is not None and t_s - first < DAY_S:
        raise PumpError("E_FIRST_24H", "no increase until %d s after the initial programme (%d s left)"
                        % (DAY_S, first + DAY_S - t_s))
    at_refill = prof.get("phase") == "maintenance" and ctl.refill_t_s is not None \
        and 0 <= t_s - ctl.refill_t_s <= REFILL_WINDOW_S
    cap = r[5] if at_refill else r[4]
    last = ctl.last_increase_t_s
    # label: "increase daily dose by 10-30% only once q24h"
    if last is not None and t_s - last < DAY_S:
        raise PumpError("E_TITRATION", "one increase per 24 h: next allowed in %d s" % (last + DAY_S - t_s))
    if (new - old) * 100 > cap * old:
        # Tenths of a percent rounded up (away from the cap): an increase above the cap never
        # reads as the cap itself ("+30 %; at most 30 %" for +30.07 % contradicted the refusal).
        tenths = ceil_div((new - old) * 1000, old)
        pct = "%d.%d" % (tenths // 10, tenths % 10)
        if at_refill:
            raise PumpError("E_REFILL_INCREASE", "+%s %% at refill; at most %d %% for %s"
                            % (pct, cap, prof["indication"]))
        raise PumpError("E_TITRATION", "+%s %%; at most %d %% per 24 h for %s" % (pct, cap, prof["indication"]))
    checks.append({"rule": "REFILL-CAP" if at_refill else "TIT-CAP", "max_pct": cap})


def restore_ceiling_ng(ctl, t_s):
    """Highest of the current daily dose and those committed in the last 30 days."""
    best = ctl.daily_ng()
    for t, ng in ctl.dose_history:
        if t > t_s - RESTORE_WINDOW_S and ng > best:
            best = ng
    return best


def on_commit(ctl, old_daily_ng, new_daily_ng, t_s, checks):
    ctl.dose_history = [h for h in ctl.dose_history if h[0] > t_s - RESTORE_WINDOW_S][-(HISTORY_MAX - 1):] \
        + [[t_s, new_daily_ng]]
    restart = False
    for c in checks or ():
        if "override" in c:
            ctl._now = t_s
            ctl._log("override", c["override"], c["value"])
        if c["rule"] == "HOL-RESTART":
            restart = True
        if c["rule"] == "RESTORE":
            ctl.last_increase_t_s = t_s   # a restore counts as the day's increase
    if ctl.initial_programme_t_s is None or restart:
        ctl.initial_programme_t_s = t_s
    if (new_daily_ng > old_daily_ng and old_daily_ng > 0) or restart:
        ctl.last_increase_t_s = t_s


def daily_max_ng(ctl):
    """The most drug a day may carry: the profile's hard maximum, else the pump-wide one."""
    prof = ctl.profile
    return RULES[prof["indication"]][1] if prof else pm.DOSE_MAX_NG_DAY


def programmed_day_max_ng(ctl):
    if ctl.plan is None:
        return 0
    return max(x for _, x in ctl.plan.day_totals_ng())


def check_bolus(ctl, dose_ng, t_s):
    """A bolus (clinician or patient) plus the boluses of the last 24 h plus the programmed day
    must stay inside the daily maximum: label "Range: 12-2003mcg/day" is an amount per day."""
    hi = daily_max_ng(ctl)
    recent = 0
    for t, ng in ctl.bolus_doses:
        if t > t_s - DAY_S:
            recent += ng
    day = programmed_day_max_ng(ctl)
    if day + recent + dose_ng > hi:
        raise PumpError("E_CLINICAL_LIMIT", "bolus %d ng + %d ng of boluses in the last 24 h + programmed day %d ng "
                        "exceeds the %d ng/day maximum" % (dose_ng, recent, day, hi))
    return None


def check_patient_bolus_settings(ctl, dose_ng, max_24h):
    """The patient-bolus allowance must fit the day: programmed day + dose x count <= maximum."""
    hi = daily_max_ng(ctl)
    day = programmed_day_max_ng(ctl)
    if dose_ng * max_24h + day > hi:
        raise PumpError("E_CLINICAL_LIMIT", "%d patient boluses of %d ng + programmed day %d ng exceed the %d ng/day "
                        "maximum" % (max_24h, dose_ng, day, hi))
