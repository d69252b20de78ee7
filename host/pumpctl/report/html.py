"""The session report as ONE self-contained HTML file: inline CSS and SVG, no scripts, no fetches.

Print layout (docs/report.md): @page margins that fit A4 and Letter (content width <= 180 mm),
tables, charts and list items never split across pages (break-inside: avoid), the session part (log, alarms, warnings) starts a new page,
table headers repeat on each page. Times are pump local time unless marked UTC.
"""
from html import escape

from pumpctl.cli import render
from pumpctl.report import svg

DAY_S = 86400
LEVEL = {"warn": "WARNING", "info": "note", "refuse": "REFUSED", "override": "OVERRIDE", "confirm": "CONFIRM"}

CSS = """
@page { margin: 14mm 14mm 16mm 14mm;
  @bottom-left { content: "Pump @SERIAL@ - session report @DATE@"; font: 8pt sans-serif; color: #555; }
  @bottom-right { content: "page " counter(page) " of " counter(pages); font: 8pt sans-serif; color: #555; } }
* { box-sizing: border-box; }
body { font: 10pt/1.35 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #111; margin: 0 auto;
  max-width: 180mm; padding: 8mm 0; }
h1 { font-size: 15pt; margin: 0 0 2mm; }
h2 { font-size: 12pt; border-bottom: 1.5px solid #333; margin: 5mm 0 2mm; padding-bottom: 1mm;
  break-after: avoid; page-break-after: avoid; }
h3 { font-size: 10.5pt; margin: 3mm 0 1mm; break-after: avoid; }
section { break-inside: auto; }
table.kv, .figure, .sign, li { break-inside: avoid; page-break-inside: avoid; }
.newpage { break-before: page; page-break-before: always; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 2mm; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td { border: 0.6px solid #999; padding: 1mm 1.6mm; text-align: left; vertical-align: top; }
th { background: #eee; }
table.kv th { width: 34%; background: #f4f4f4; font-weight: normal; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.banner { border: 2px solid #b00; background: #fde8e8; color: #700; font-weight: bold; padding: 2mm 3mm;
  margin: 2mm 0; }
.flag { color: #b00; font-weight: bold; }
.muted { color: #555; }
.meta { display: flex; justify-content: space-between; font-size: 9pt; color: #333; }
svg.chart { width: 100%; height: auto; display: block; }
svg .grid { stroke: #ddd; stroke-width: 0.8; }
svg .frame { fill: none; stroke: #555; stroke-width: 1; }
svg .tick { font: 10px sans-serif; fill: #333; }
svg .axis { font: 11px sans-serif; fill: #111; }
.legend { font-size: 8.5pt; margin: 1mm 0 2mm; }
.key { margin-right: 5mm; white-space: nowrap; }
.key i { display: inline-block; width: 8mm; height: 0; border-top: 2.5px solid; vertical-align: middle;
  margin-right: 1.5mm; }
.key i.dash { border-top-style: dashed; }
.key i.band { height: 3mm; border: 0; opacity: 0.3; }
.sign { margin-top: 8mm; display: flex; gap: 10mm; }
.sign div { flex: 1; border-top: 1px solid #333; padding-top: 1mm; font-size: 9pt; }
@media screen { body { padding: 10mm; } }
@media print { a { color: inherit; text-decoration: none; } }
"""


def _e(x):
    return escape("-" if x is None else str(x))


def kv(rows):
    return '<table class="kv">%s</table>' % "".join("<tr><th>%s</th><td>%s</td></tr>" % (_e(k), v) for k, v in rows)


def grid(headers, rows, num=()):
    head = "".join("<th%s>%s</th>" % (' class="num"' if i in num else "", _e(h)) for i, h in enumerate(headers))
    body = "".join("<tr>%s</tr>" % "".join("<td%s>%s</td>" % (' class="num"' if i in num else "", c)
                                         for i, c in enumerate(r)) for r in rows)
    return "<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>" % (head, body)


PAPER = {"a4": "A4", "letter": "letter"}


def render_html(rep, paper=None):
    """paper: None (the browser's or printer's default), "a4" or "letter" (sets @page size)."""
    off = rep["clock"]["utc_offset_s"]
    css = CSS if paper is None else CSS.replace("@page {", "@page { size: %s;" % PAPER[paper], 1)

    def loc(t):
        return _e(render.local(t, off))

    p, pt, bat, rv, prog = rep["pump"], rep["patient"], rep["battery"], rep["reservoir"], rep["programme"]
    prof = pt["profile"] or {}
    out = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
           "<title>Pump %s session report %s</title>" % (_e(p["serial"]), _e(render.local(rep["clock"]["pump_t_s"],
                                                                                            off)[:10])),
           "<style>%s</style></head><body>" % css.replace("@SERIAL@", _css_str(p["serial"])).replace(
               "@DATE@", render.local(rep["clock"]["pump_t_s"], off)[:10])]
    out.append("<h1>Intrathecal baclofen pump - session report</h1>")
    out.append('<div class="meta"><span>Pump <b>%s</b> &middot; %s</span><span>generated %s UTC by pumpctl %s'
               '</span></div>' % (_e(p["serial"]), _e(", ".join(x for x in (prof.get("indication"), prof.get(
                   "age_group"), prof.get("phase")) if x) or "no patient profile"),
                                  _e(render.local(rep["report"]["generated_t_s"])), _e(rep["report"]["pumpctl_version"])))
    if pt["risk_banner"]:
        out.append('<div class="banner" id="risk-banner">%s</div>' % _e(pt["risk_banner"]))
    for a in rep["alarms"]["active"]:
        if isinstance(a, dict) and a.get("class") == "critical":
            out.append('<div class="banner">CRITICAL ALARM ACTIVE: %s</div>' % _e(a.get("name")))

    out.append('<section id="pump"><h2>1. Pump</h2>')
    ck = rep["clock"]
    out.append(kv([
        ("model / serial", "%s mL reservoir &middot; serial <b>%s</b>" % (_e(p["model"]), _e(p["serial"]))),
        ("firmware", "%s (build %s, <b>%s</b> build) &middot; protocol %s" % (
            _e(p["fw_version"]), _e(p["build_hash"]), _e(p["build"]), _e(p["protocol"]))),
        ("pump time", "%s local (UTC%s) &middot; %s UTC%s" % (
            loc(ck["pump_t_s"]), _e(_offset(off)), _e(render.local(ck["pump_t_s"], 0, True)),
            "" if ck["clock_set"] else ' <span class="flag">clock NOT set</span>')),
        ("host time", "%s UTC (pump %s host)%s" % (
            _e(render.local(ck["host_t_s"], 0, True)), _e(_drift(ck["pump_minus_host_s"])),
            ' <span class="flag">pump clock is off: pumpctl time sync</span>' if abs(ck["pump_minus_host_s"]) > 60
            else "")),
        ("battery", "%s %% (about %s left)%s" % (_e(bat["percent"]), _e(render.duration(bat["life_s"])),
                                               ' <span class="flag">ERI since %s</span>' % loc(bat["eri_t_s"])
                                               if bat["eri_t_s"] else "")),
        ("ERI / EOS forecast", "%s / %s" % (loc(bat["eri_due_t_s"]), loc(bat["eos_t_s"]))),
        ("therapy state", "%s, mode %s%s" % (_e(rep["therapy"]["state"]), _e(rep["therapy"]["mode"]),
                                             (", bolus: " + _e(rep["therapy"]["bolus"])) if rep["therapy"]["bolus"]
                                             else "")),
    ]))
    out.append("</section>")

    dl = rep["druglib"]
    out.append('<section id="patient"><h2>2. Patient and drug library</h2>')
    lim = dl["limits"]
    out.append(kv([
        ("indication", _e(prof.get("indication") or "no profile on the pump")),
        ("age group / phase", "%s / %s" % (_e(prof.get("age_group")), _e(prof.get("phase")))),
        ("withdrawal-risk flags", _e(", ".join(prof.get("risk") or []) or "none")),
        ("drug library", "%s %s (%s)" % (_e(dl["library"]), _e(dl["version"]), "applied to this profile"
                                         if dl["applied"] else "not applied: no patient profile")),
        ("library limits", "hard %s-%s mcg/day, typical %s-%s mcg/day; titration &le; %d %%, refill &le; %d %%" % (
            render.mcg(lim["hard_min_ng_day"]), render.mcg(lim["hard_max_ng_day"]),
            render.mcg(lim["soft_min_ng_day"]), render.mcg(lim["soft_max_ng_day"]), lim["titration_max_pct"],
            lim["refill_max_pct"]) if lim else "-"),
    ]))
    if dl.get("guidance"):
        g = dl["guidance"]
        out.append('<p class="muted">Typical changes from %s mcg/day: increase %s %% (%s mcg/day); at refill %s %% '
                   '(%s); reduce for side effects %s %% (%s).</p>' % (
                       render.mcg(prog["daily_ng"]), _span(g["titration_pct"]),
                       _span([render.mcg(x) for x in g["titration_ng_day"]]), _span(g["refill_pct"]),
                       _span([render.mcg(x) for x in g["refill_ng_day"]]), _span(g["decrease_pct"]),
                       _span([render.mcg(x) for x in g["decrease_ng_day"]])))
    out.append("</section>")

    out.append('<section id="programme"><h2>3. Programme in effect</h2>')
    conc = rv["conc_ug_ml"]
    out.append(kv([
        ("mode", _e(prog["mode"]) + (" (changes start %d min before each effect time)" % prog["lead_min"]
                                     if prog.get("lead_min") else "")),
        ("daily total", "<b>%s mcg/day</b> = %s mL/day at %d mcg/mL" % (
            render.mcg(prog["daily_ng"]), render.ml(prog["daily_nl"], 5), conc)),
        ("current rate", "%s mcg/day (%s mL/day)" % (render.mcg(rep["therapy"]["rate_ng_day"]),
                                                      render.ml(rep["therapy"]["flow_nl_day"], 5))),
    ]))
    if prog["mode"] == "continuous":
        out.append("<p>%s mcg/day continuous</p>" % render.mcg(prog["dose_ng_day"]))
    if prog["steps"]:
        out.append(grid(["effect time", "dose (mcg/day)", "change", "change window"], [[
            _e(render.DAYS[s["day"]] + " " if s["day"] >= 0 else "") + render.hhmm(s["effect_min"]),
            render.mcg(s["dose_ng_day"]), _e(s["shape"]),
            "%s-%s" % (render.hhmm(s["change_start_min"]), render.hhmm(s["effect_min"]))] for s in prog["steps"]],
            num=(1,)))
    out.append("<p>Periodic boluses: %s</p>" % _e("; ".join(b["text"] for b in prog["boluses"]) or "none"))
    if prog["rate_curve"]:
        out.append(_figure("Programmed rate over 24 h (pump local time)", _rate_chart(prog)))
    out.append("</section>")

    out.append('<section id="reservoir"><h2>4. Reservoir</h2>')
    out.append(kv([
        ("volume now", "<b>%s mL</b> at %d mcg/mL (%s mL delivered since the last refill)" % (
            render.ml(rv["reservoir_nl"], 2), conc, render.ml(rv["delivered_nl"], 2))),
        ("low-reservoir alarm", "%s (threshold %s mL)" % (loc(rv["alarm_t_s"]), render.ml(rv["low_res_nl"], 1))),
        ("reservoir empty", loc(rv["empty_t_s"])),
    ]))
    lr = rv["last_refill"]
    if lr:
        disc = "-"
        if lr["discrepancy_permille"] is not None:
            disc = "%s %%" % render.dec(lr["discrepancy_permille"], 10)
            if lr["discrepancy_flag"]:
                disc = '<span class="flag">%s: above 14.5 %%, check pump and catheter</span>' % disc
        out.append("<h3>Last refill</h3>" + kv([
            ("when", loc(lr["t_s"])),
            ("added", "%s mL at %d mcg/mL%s" % (render.ml(lr["added_nl"], 2), lr["conc_ug_ml"],
                                                " (bridge bolus at the old strength)" if lr["bridge"] else "")),
            ("expected / withdrawn", "%s mL / %s mL" % (_ml(lr["expected_nl"]), _ml(lr["withdrawn_nl"]))
             if lr["expected_nl"] is not None else '<span class="muted">%s</span>' % _e(lr["record"])),
            ("discrepancy", disc),
            ("source", '<span class="muted">%s</span>' % _e(lr["record"]))]))
    if rv["forecast"]:
        out.append(_figure("Reservoir forecast", _forecast_chart(rv, off)))
    out.append("</section>")

    ss = rep["session"]
    out.append('<section id="session" class="newpage"><h2>5. This session</h2>')
    out.append('<p class="muted">Pump log entries since %s local (%s).</p>' % (
        loc(rep["report"]["since_t_s"]), _e(rep["report"]["since_arg"] or "default: start of the pump's local day")))
    if ss["programme_changes"]:
        out.append("<h3>Programme changes</h3>" + grid(["time", "old daily total", "new daily total", "change",
                                                        "highest step old -> new"], [[
            loc(c["t_s"]), "%s mcg/day" % render.mcg(c["old_ng_day"]), "<b>%s mcg/day</b>" % render.mcg(
                c["new_ng_day"]), _change(c["old_ng_day"], c["new_ng_day"]), _peaks(c)]
            for c in ss["programme_changes"]], num=(1, 2, 3, 4)))
    if ss["entries"]:
        out.append("<h3>Events</h3>" + grid(["seq", "time", "event", "details"], [[
            _e(e["seq"]), loc(e["t_s"]), _e(e["event"]), _e(_details(e))] for e in ss["entries"]], num=(0,)))
    else:
        out.append("<p>No therapy changes, refills, boluses or alarms logged in this session.</p>")
    out.append("</section>")

    al = rep["alarms"]
    out.append('<section id="alarms"><h2>6. Alarms</h2>')
    act = [a for a in al["active"] if isinstance(a, dict)]
    out.append("<p>Active: %s</p>" % (", ".join('<span class="flag">%s</span> (%s, since %s)' % (
        _e(a.get("name")), _e(a.get("class")), loc(a.get("raised_t_s"))) for a in act) or "none"))
    if al["recent"]:
        out.append(grid(["time", "event", "alarm"], [[
            loc(e["t_s"]), _e(e["event"]), _e(e["data"].get("alarm") or _details(e))] for e in al["recent"]]))
    else:
        out.append("<p>No alarms raised or cleared in the last 90 days.</p>")
    out.append("</section>")

    out.append('<section id="warnings"><h2>7. Label warnings (drug library %s %s)</h2><ul>' % (
        _e(dl["library"]), _e(dl["version"])))
    for w in rep["label_warnings"]:
        out.append('<li><b>%s</b> %s: %s</li>' % (_e(LEVEL.get(w["level"], w["level"])), _e(w["rule"]), _e(w["text"])))
    out.append("</ul>")
    out.append('<div class="sign"><div>Clinician (name, signature)</div><div>Date</div></div></section>')
    out.append("</body></html>\n")
    return "\n".join(out)


def _figure(title, body):
    return '<div class="figure"><h3>%s</h3>%s</div>' % (_e(title), body)


def _css_str(x):
    """A value inside a CSS string: only letters, digits and - _ . survive (serials are [A-Z0-9])."""
    return "".join(c for c in str(x or "?") if c.isalnum() or c in "-_.")


def _offset(off):
    sign = "-" if off < 0 else "+"
    return "%s%02d:%02d" % (sign, abs(off) // 3600, abs(off) % 3600 // 60)


def _drift(s):
    """Signed clock difference: seconds when small, else days/hours (render.duration)."""
    if abs(s) < 120:
        return "%+d s vs" % s
    return "%s %s" % (render.duration(abs(s)), "ahead of" if s > 0 else "behind")


def _ml(nl):
    return "-" if nl is None else render.ml(nl, 2)


def _span(xs):
    xs = [str(x) for x in xs]
    return xs[0] if len(set(xs)) == 1 else "%s-%s" % (xs[0], xs[-1])


def _change(old, new):
    if not old:
        return "first programme"
    return "%s %%" % render.dec((new - old) * 1000 // old, 10)


def _peaks(c):
    """Old and new highest basal step (the pump's programme_peak entry; '-' from firmware without it)."""
    if c.get("new_peak_ng_day") is None:
        return "-"
    old = "none" if not c["old_peak_ng_day"] else render.mcg(c["old_peak_ng_day"])
    return "%s -> %s mcg/day" % (old, render.mcg(c["new_peak_ng_day"]))


def _details(e):
    d = e["data"]
    n = e["event"]
    if n == "programme":
        out = "daily total %s -> %s mcg/day" % (render.mcg(e["a"]), render.mcg(e["b"]))
        if d.get("new_peak_ng_day") is not None:
            out += "; highest step %s" % _peaks(d)
        return out
    if n == "refill":
        out = "added %s mL at %d mcg/mL" % (render.ml(e["a"], 2), e["b"])
        if d.get("expected_nl") is not None:
            out += "; expected %s mL, withdrawn %s mL" % (render.ml(d["expected_nl"], 2),
                                                          render.ml(d["withdrawn_nl"], 2))
        return out
    if n == "bolus_start":
        return "%s mcg over %s" % (render.mcg(e["a"]), render.duration(e["b"]))
    if n == "patient_bolus":
        return "%s mcg" % render.mcg(e["a"])
    if n in ("alarm_raised", "alarm_cleared"):
        return d.get("alarm", "")
    return ", ".join("%s=%s" % kv_ for kv_ in d.items() if kv_[0] != "alarm")


def _rate_chart(prog):
    pts = [(t / 3600, r / 1000) for t, r in prog["rate_curve"]]
    top = svg.nice_top(max(r for _t, r in pts) * 1.15)
    bands = [(a / 3600, b / 3600, "#f0a030", "change window (ramp)" if i == 0 else "")
             for i, (a, b) in enumerate(_day_windows(prog["windows"]))]
    return svg.chart([(pts, "#1f5fb4", "programmed rate (mcg/day)")], (0, 24), (0, top),
                     [(h, "%02d:00" % h) for h in range(0, 25, 3)],
                     [(top * k / 5, render.dec(int(top * k * 200), 1000)) for k in range(6)],
                     "mcg/day", bands=bands, title="programmed rate over 24 hours")


def _day_windows(windows):
    out = []
    for a, b in windows:
        a, b = a % DAY_S, a % DAY_S + (b - a)
        out += [(a, DAY_S), (0, b - DAY_S)] if b > DAY_S else [(a, b)]
    return out


def _forecast_chart(rv, off):
    f = rv["forecast"]
    t0, t1 = f[0][0], f[-1][0]
    pts = [(t, v / 1e6) for t, v in f]
    top = svg.nice_top(max(v for _t, v in pts) * 1.1)
    n = 6
    xt = [(t0 + (t1 - t0) * k // n, render.local(t0 + (t1 - t0) * k // n, off)[:10]) for k in range(n + 1)]
    vl = []
    if rv["alarm_t_s"] is not None and t0 <= rv["alarm_t_s"] <= t1:
        vl.append((rv["alarm_t_s"], "#e07000", "low-reservoir alarm %s" % render.local(rv["alarm_t_s"], off)))
    if rv["empty_t_s"] is not None and t0 <= rv["empty_t_s"] <= t1:
        vl.append((rv["empty_t_s"], "#c00000", "empty %s" % render.local(rv["empty_t_s"], off)))
    return svg.chart([(pts, "#2a8a2a", "reservoir volume (mL)")], (t0, t1), (0, top), xt,
                     [(top * k / 5, render.dec(int(top * k * 200), 1000)) for k in range(6)], "mL",
                     hlines=[(rv["low_res_nl"] / 1e6, "#e07000", "low-reservoir threshold %s mL"
                              % render.ml(rv["low_res_nl"], 1))], vlines=vl,
                     points=[(t0, pts[0][1], "#2a8a2a", "now")], title="reservoir forecast")
