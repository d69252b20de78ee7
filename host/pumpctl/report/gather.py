"""Interrogate the pump and gather the session report's content (one dict, also the --json).

Everything the report states comes from the pump (hello, status, programme_get, settings_get,
profile_get, alarms_list, log_read) or from the drug library the host applies; the curves come
from the firmware's own maths via cli/plot.py (rate_curve, windows, volume_curve). Integer
units stay integers here (t_s, *_nl, *_ng); every time also has an ISO 8601 field.

"This session" (docs/report.md): the pump's log entries at or after ``since_t_s``. Default: the
start of the pump's local day (00:00 pump local time) - a clinic visit happens within one day
and the pump does not log connections; ``--since`` gives an ISO time or a duration instead.
"""
import datetime
import time

from pumpctl import __version__, fwpath
from pumpctl.cli import plot, render
from pumpctl.cli.read import download_log
from pumpctl.clinical import assistants, druglib

fwpath.ensure()
import alarms as fw_alarms  # noqa: E402  (firmware modules: alarm ids, eventlog argument names, battery)
import battery as fw_battery  # noqa: E402
import clinical as fw_clinical  # noqa: E402
from commands import DISCREPANCY_DEN, DISCREPANCY_NUM  # noqa: E402  (the pump's 14.5 % flag, exact)
from eventlog import ARGS as LOG_ARGS  # noqa: E402

DAY_S = 86400
RECENT_ALARM_DAYS = 90   # "recent alarms": raised or cleared within this many days before the report
RATE_STEP_S = 600        # 10-minute samples for the 24-hour plot (the ramps are 2 h wide)
VOL_SAMPLES = 240
SESSION_EVENTS = ("programme", "refill", "bridge_start", "prime_start", "bolus_start", "bolus_end", "bolus_refused",
                  "patient_bolus", "patient_bolus_refused", "stop", "resume", "settings", "profile", "override",
                  "time_set", "alarm_raised", "alarm_cleared", "alarm_silenced", "alarm_test", "fill_rejected")
# label (seeds/002, AHFS): the boxed-warning sentences shown on every report.
WITHDRAWAL_TEXT = ("Abrupt discontinuance of the drug, including inadvertent discontinuance of the intrathecal "
                   "infusion, should be avoided because of the risk of precipitating withdrawal.")


def iso_of(d):
    """Add an ISO 8601 twin to every *_t_s field (in place, recursively); returns d."""
    if isinstance(d, dict):
        for k in list(d):
            v = d[k]
            if (k == "t_s" or k.endswith("_t_s")) and isinstance(v, int) and not isinstance(v, bool):
                d[k[:-3] + "iso" if k != "t_s" else "iso"] = render.iso(v)
            else:
                iso_of(v)
    elif isinstance(d, list):
        for x in d:
            iso_of(x)
    return d


def parse_since(text, now_t_s, utc_offset_s):
    """--since: None -> start of the pump-local day; "all"; "4h"/"90m"/"2d"; or an ISO date/time."""
    if text is None:
        return now_t_s - (now_t_s + utc_offset_s) % DAY_S
    if text == "all":
        return 0
    units = {"m": 60, "h": 3600, "d": DAY_S}
    if len(text) > 1 and text[-1] in units and text[:-1].isdigit():
        return now_t_s - int(text[:-1]) * units[text[-1]]
    return render.parse_iso(text, "--since")


def _entry(e):
    seq, t_s, name, a, b = e
    data = dict(zip(LOG_ARGS.get(name, ()), (a, b)))
    if name in ("alarm_raised", "alarm_cleared"):  # a = alarm id (alarm_silenced's a is not an alarm)
        data["alarm"] = fw_alarms.NAMES_BY_ID.get(a, str(a))
    return {"seq": seq, "t_s": t_s, "event": name, "a": a, "b": b, "data": data}


def _programme_view(prog):
    p = prog.get("programme")
    if not p:
        return {"mode": "none", "steps": [], "boluses": [], "daily_ng": 0, "daily_nl": 0}
    lead = p.get("lead_min", 120)
    steps = []
    for s in p.get("steps", []) if p["mode"] == "flex" else []:
        shape = s.get("shape", "ramp")
        steps.append({"day": s.get("day", -1), "effect_min": s["effect_min"], "dose_ng_day": s["dose_ng_day"],
                      "shape": shape, "change_start_min": (s["effect_min"] - lead) % 1440,
                      "text": render.step_lines({"mode": "flex", "lead_min": lead, "steps": [s]})[0]})
    boluses = [dict(b, text=render.bolus_lines({"boluses": [b]})[0]) for b in p.get("boluses", [])]
    return {"mode": p["mode"], "lead_min": lead if p["mode"] == "flex" else None,
            "dose_ng_day": p.get("dose_ng_day"), "steps": steps, "boluses": boluses,
            "windows": [list(w) for w in prog.get("windows", [])], "daily_ng": prog.get("daily_ng", 0),
            "daily_nl": prog.get("daily_nl", 0), "day_totals_ng": prog.get("day_totals_ng", []),
            "raw": p}


def _label_warnings(lib, prof):
    """The label warnings the drug library attaches (its [withdrawal], [overdose], [refill] storage and
    [escalation] tables, the profile's own findings); each with its library rule name."""
    d = lib.data
    out = [{"rule": "WITHDRAWAL", "level": "warn", "text": WITHDRAWAL_TEXT}]
    if d.get("withdrawal"):
        out.append({"rule": "WITHDRAWAL-SIGNS", "level": "warn", "text": "early signs of withdrawal: " +
                    ", ".join(d["withdrawal"]["early_signs"]) + "; keep scheduled refill visits"})
    if d.get("overdose"):
        out.append({"rule": "OVERDOSE", "level": "warn", "text": "signs of overdose: " + ", ".join(
            d["overdose"]["signs"]) + ". " + "; ".join(d["overdose"]["actions"])[:1].upper() + "; ".join(d["overdose"]["actions"])[1:]})
    out.append({"rule": "ESC-CATHETER", "level": "info", "text": "a sudden need for substantial dose escalation "
                "may indicate a catheter complication (label)"})
    if lib.refill.get("storage_note"):
        out.append({"rule": "STORAGE-NOTE", "level": "info", "text": lib.refill["storage_note"]})
    for f in (assistants.profile_findings(prof, lib=lib) if prof.get("indication") else []):
        out.append({"rule": f["rule"], "level": f["level"], "text": f["message"]})
    return out


def _fold(log):
    """Attach each refill's check and each programme change's peak steps to its entry's data.

    The pump writes "refill_check" (expected_nl, withdrawn_nl) just before "refill" and
    "programme_peak" (old/new highest step) just after "programme", under the same commit point
    (firmware/commands.py); older firmware writes neither, and the fields stay absent."""
    by_seq = {e["seq"]: e for e in log}
    for e in log:
        if e["event"] == "refill":
            chk = by_seq.get(e["seq"] - 1)
            if chk is not None and chk["event"] == "refill_check":
                e["data"].update(chk["data"])
        elif e["event"] == "programme":
            pk = by_seq.get(e["seq"] + 1)
            if pk is not None and pk["event"] == "programme_peak":
                e["data"].update(pk["data"])
    return log


def discrepancy(expected_nl, withdrawn_nl):
    """(discrepancy_nl, permille rounded down or None, flag) exactly as the pump's refill_stage states
    them: the flag compares |expected - withdrawn| / expected with 14.5 % by cross-multiplication."""
    diff = abs(expected_nl - withdrawn_nl)
    permille = diff * 1000 // expected_nl if expected_nl > 0 else (0 if diff == 0 else None)
    return diff, permille, diff * DISCREPANCY_DEN > DISCREPANCY_NUM * expected_nl


def _last_refill(log, refill_record):
    refills = [e for e in log if e["event"] == "refill"]
    if not refills:
        return None
    last = refills[-1]
    out = {"t_s": last["t_s"], "seq": last["seq"], "added_nl": last["a"], "conc_ug_ml": last["b"],
           "bridge": any(e["event"] == "bridge_start" and e["seq"] == last["seq"] + 1 for e in log),
           "expected_nl": None, "withdrawn_nl": None, "discrepancy_nl": None, "discrepancy_permille": None,
           "discrepancy_flag": None, "source": None,
           "record": "not recorded on the pump (its log keeps the added volume and strength only)"}
    if "expected_nl" in last["data"]:
        exp, wd = last["data"]["expected_nl"], last["data"]["withdrawn_nl"]
        out.update(expected_nl=exp, withdrawn_nl=wd, source="pump_log",
                   record="from the pump's log (refill_check, seq %d)" % (last["seq"] - 1))
        out["discrepancy_nl"], out["discrepancy_permille"], out["discrepancy_flag"] = discrepancy(exp, wd)
        if refill_record:
            st = refill_record.get("staged", refill_record)
            if st.get("withdrawn_nl") not in (None, wd) or st.get("added_nl") not in (None, out["added_nl"]):
                out["record"] += "; the refill record given does not match it and is not used"
        return out
    if refill_record:
        st = refill_record.get("staged", refill_record)
        if st.get("added_nl") == out["added_nl"] and st.get("conc_ug_ml") == out["conc_ug_ml"]:
            for k in ("expected_nl", "withdrawn_nl", "discrepancy_nl", "discrepancy_permille", "discrepancy_flag"):
                out[k] = st.get(k)
            out["source"] = "refill_record"
            out["record"] = "from the refill record (pumpctl refill --json): this pump's log does not keep it"
        else:
            out["record"] = "the refill record given does not match the pump's last refill; ignored"
    return out


def gather(s, since=None, refill_record=None, host_now=None, port=None):
    """The report content from a connected Session `s` (clinician or service key needed for the log)."""
    host_now = int(time.time() if host_now is None else host_now)
    hello = dict(s.info)
    st = s.request("status")
    sett = s.request("settings_get")
    tm = s.request("time_get")
    prog = s.request("programme_get")
    prof = s.request("profile_get").get("profile") or {}
    al = s.request("alarms_list")
    s.ensure_role("clinician", "service")
    raw, _head = download_log(s)
    log = _fold([_entry(e) for e in raw])
    off = sett.get("utc_offset_s", 0)
    since_t_s = parse_since(since, st["t_s"], off)
    lib = druglib.load()
    applied = prof.get("indication") in lib.profiles
    daily = prog.get("daily_ng", 0)
    session = [e for e in log if e["t_s"] >= since_t_s and e["event"] in SESSION_EVENTS]
    cutoff = st["t_s"] - RECENT_ALARM_DAYS * DAY_S
    view = _programme_view(prog)
    rate = plot.rate_curve(view["raw"], RATE_STEP_S) if view["mode"] != "none" else []
    forecast = []
    if view["mode"] != "none" and st["reservoir_nl"] > 0 and st.get("conc_ug_ml"):
        pts, _led, _v0 = plot.volume_curve(view["raw"], st["conc_ug_ml"], off, st["t_s"], st["reservoir_nl"],
                                           st.get("empty_t_s"), VOL_SAMPLES)
        forecast = [[t, v] for t, v in pts]
    host_t_s = host_now - render.PUMP_EPOCH_UNIX
    rep = {
        "report": {"generated_t_s": host_t_s, "pumpctl_version": __version__, "port": port or s.url,
                   "since_t_s": since_t_s, "since_arg": since,
                   "session_rule": "pump log entries at or after since_t_s (default: 00:00 pump local time today)"},
        "pump": {k: hello.get(k) for k in ("model", "serial", "fw_version", "build_hash", "build", "protocol",
                                            "capacity_nl", "stroke_nl")},
        "clock": {"pump_t_s": st["t_s"], "host_t_s": host_t_s, "pump_minus_host_s": st["t_s"] - host_t_s,
                  "utc_offset_s": off, "clock_set": tm.get("clock_set"), "last_sync_t_s": tm.get("last_sync_t_s")},
        "battery": {"battery_nah": st["battery_nah"], "capacity_nah": fw_battery.CAPACITY_NAH,
                    "percent": render.dec(st["battery_nah"] * 100, fw_battery.CAPACITY_NAH, 1),
                    "life_s": st.get("battery_life_s"), "eri_t_s": st.get("eri_t_s"),
                    "eri_due_t_s": st.get("eri_due_t_s"), "eos_t_s": st.get("eos_t_s")},
        "patient": {"profile": prof, "risk_banner": assistants.risk_banner(prof) if prof else "",
                    "risk_flags": list(fw_clinical.RISK_FLAGS)},
        "druglib": dict(lib.stamp(), applied=applied, limits=lib.limits_ng(prof["indication"]) if applied else None,
                        guidance=lib.guidance(prof["indication"], daily) if applied and daily else None),
        "label_warnings": _label_warnings(lib, prof),
        "therapy": {"state": st["state"], "mode": st["mode"], "bolus": st.get("bolus"),
                    "rate_ng_day": st["rate_ng_day"], "flow_nl_day": st["flow_nl_day"]},
        "programme": dict({k: v for k, v in view.items() if k != "raw"}, rate_curve=[list(x) for x in rate]),
        "reservoir": {"reservoir_nl": st["reservoir_nl"], "conc_ug_ml": st["conc_ug_ml"],
                      "low_res_nl": sett.get("low_res_nl"), "alarm_t_s": st.get("alarm_t_s"),
                      "empty_t_s": st.get("empty_t_s"), "delivered_nl": st.get("delivered_nl"),
                      "forecast": forecast, "last_refill": _last_refill(log, refill_record)},
        "session": {"entries": session,
                    "programme_changes": [{"t_s": e["t_s"], "old_ng_day": e["a"], "new_ng_day": e["b"],
                                           "old_peak_ng_day": e["data"].get("old_peak_ng_day"),
                                           "new_peak_ng_day": e["data"].get("new_peak_ng_day")}
                                          for e in session if e["event"] == "programme"],
                    "refills": [{"t_s": e["t_s"], "added_nl": e["a"], "conc_ug_ml": e["b"],
                                 "expected_nl": e["data"].get("expected_nl"),
                                 "withdrawn_nl": e["data"].get("withdrawn_nl")}
                                for e in session if e["event"] == "refill"],
                    "boluses": [e for e in session if e["event"] in ("bolus_start", "bolus_end", "bolus_refused",
                                                                      "patient_bolus", "prime_start", "bridge_start")]},
        "alarms": {"active": al.get("alarms", []), "silenced_until_t_s": al.get("silenced_until_t_s") or None,
                   "recent": [e for e in log if e["event"] in ("alarm_raised", "alarm_cleared", "alarm_silenced",
                                                                "alarm_test")
                              and e["t_s"] >= cutoff]},
        "log_span": {"first_seq": raw[0][0] if raw else None, "last_seq": raw[-1][0] if raw else None},
    }
    return iso_of(rep)


def local_dt(t_s, off):
    return datetime.datetime.fromtimestamp(render.unix(t_s) + off, datetime.timezone.utc)
