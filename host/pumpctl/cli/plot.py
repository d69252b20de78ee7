"""`pumpctl plot`: programmed rate over 24 h and reservoir volume forecast, as a PNG.

The curves come from the firmware's own maths, not a re-implementation: the rate from
``schedule.Plan.rate_ng_day`` (ramps and periodic boluses exactly as the pump integrates
them) and the volume from ``delivery.Ledger`` (the pump's exact cumulative volume V(t)).
Matplotlib with the Agg backend (no display needed); imported lazily (``pip install .[plot]``).
"""
import datetime

from pumpctl import fwpath

from pumpctl.cli import render

fwpath.ensure()
import delivery  # noqa: E402  (firmware modules)
import schedule  # noqa: E402

DAY_S = 86400
RATE_STEP_S = 60  # one sample per minute: ramps are 2 h wide (labeling lead)
VOL_SAMPLES = 600


def rate_curve(programme, step_s=RATE_STEP_S):
    """[(tod_s, ng_day)] over one local day from the firmware's Plan."""
    plan = schedule.Plan(programme)
    return [(t, plan.rate_ng_day(t)) for t in range(0, DAY_S + 1, step_s)]


def windows(programme):
    """Ramp/step change windows [(start_tod_s, end_tod_s)] within one day (wrapping split in two)."""
    out = []
    for a, b in schedule.Plan(programme).change_windows():
        a %= DAY_S
        b = a + (b - a)
        if b > DAY_S:
            out += [(a, DAY_S), (0, b - DAY_S)]
        else:
            out.append((a, b))
    return out


def volume_curve(programme, conc_ug_ml, utc_offset_s, t0_s, reservoir_nl, end_t_s, n=VOL_SAMPLES):
    """[(t_s, reservoir_nl)] from t0 to end with the pump's ledger maths; also alarm/empty from the same ledger."""
    led = delivery.Ledger()
    led.rebase(t0_s, plan=schedule.Plan(programme), conc_ug_ml=conc_ug_ml, utc_offset_s=utc_offset_s)
    v0 = led.volume_nl(t0_s)
    if end_t_s is None or end_t_s <= t0_s:
        end_t_s = led.first_t_reaching(v0 + reservoir_nl, t0_s) or t0_s + 30 * DAY_S
    step = max(1, (end_t_s - t0_s) // n)
    pts = []
    for t in range(t0_s, end_t_s + step, step):
        left = reservoir_nl - (led.volume_nl(t) - v0)
        pts.append((t, left if left > 0 else 0))
    return pts, led, v0


def render_png(path, prog, status, settings, title="pump"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    programme = prog["programme"]
    conc = prog["conc_ug_ml"]
    off = settings.get("utc_offset_s", 0)
    low_nl = settings.get("low_res_nl", 2000000)
    rate = rate_curve(programme)
    win = windows(programme)
    t0 = status["t_s"]
    pts, led, v0 = volume_curve(programme, conc, off, t0, status["reservoir_nl"], status.get("empty_t_s"))
    alarm_t = status.get("alarm_t_s")
    empty_t = status.get("empty_t_s")
    led_alarm = led.first_t_reaching(v0 + status["reservoir_nl"] - low_nl, t0) \
        if status["reservoir_nl"] > low_nl else None
    led_empty = led.first_t_reaching(v0 + status["reservoir_nl"], t0)

    def dt(t_s):
        return datetime.datetime.fromtimestamp(render.unix(t_s) + off, datetime.timezone.utc).replace(tzinfo=None)

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 8.5), layout="constrained")
    fig.suptitle("%s: %s mcg/day daily total at %d mcg/mL (pump local time, UTC%+g h)"
                 % (title, render.mcg(prog.get("daily_ng", 0)), conc, off / 3600), fontsize=12)
    hours = [t / 3600 for t, _ in rate]
    mcg_day = [r / 1000 for _, r in rate]
    for i, (a, b) in enumerate(win):
        ax1.axvspan(a / 3600, b / 3600, color="tab:orange", alpha=0.18, lw=0,
                    label="rate change window (starts 2 h before effect)" if i == 0 else None)
    ax1.plot(hours, mcg_day, color="tab:blue", lw=2.2, label="programmed rate")
    for s in programme.get("steps", []) if programme.get("mode") == "flex" else []:
        h = s["effect_min"] / 60
        ax1.axvline(h, color="tab:blue", ls=":", lw=1)
        ax1.annotate("%s mcg/day\neffective %s" % (render.mcg(s["dose_ng_day"]), render.hhmm(s["effect_min"])),
                     (h, s["dose_ng_day"] / 1000), textcoords="offset points", fontsize=9,
                     xytext=(-6, 8) if h > 18 else (6, 8), ha="right" if h > 18 else "left")
    ax1.set_xlim(0, 24)
    ax1.set_xticks(range(0, 25, 2))
    ax1.set_xticklabels(["%02d:00" % h for h in range(0, 25, 2)])
    top = max(mcg_day)
    ax1.set_ylim(0, top * 1.3 if top else 1)
    ax1.set_ylabel("dose rate (mcg/day)")
    ax1.set_xlabel("time of day")
    ax1.set_title("Programmed rate over 24 h")
    ax1.grid(alpha=0.3)
    ax1.legend(loc="lower right", fontsize=9)

    xs = [dt(t) for t, _ in pts]
    ys = [v / 1e6 for _, v in pts]
    ax2.plot(xs, ys, color="tab:green", lw=2.2, label="reservoir volume (forecast)")
    ax2.axhline(low_nl / 1e6, color="tab:orange", ls="--", lw=1.2,
                label="low-reservoir threshold %s mL" % render.ml(low_nl, 1))
    if alarm_t is not None:
        ax2.axvline(dt(alarm_t), color="tab:orange", lw=1.5)
        ax2.annotate("low-reservoir alarm\n%s" % render.local(alarm_t, off), (dt(alarm_t), max(ys) * 0.75),
                     textcoords="offset points", xytext=(-8, 0), ha="right", fontsize=9, color="tab:orange")
    if empty_t is not None:
        ax2.axvline(dt(empty_t), color="tab:red", lw=1.5)
        ax2.annotate("empty\n%s" % render.local(empty_t, off), (dt(empty_t), max(ys) * 0.45),
                     textcoords="offset points", xytext=(-8, 0), ha="right", fontsize=9, color="tab:red")
    ax2.plot([xs[0]], [ys[0]], "o", color="tab:green")
    ax2.annotate("now: %s mL" % render.ml(status["reservoir_nl"], 2), (xs[0], ys[0]), textcoords="offset points",
                 xytext=(8, -4), fontsize=9, va="top")
    ax2.set_ylim(0, max(ys) * 1.1 if max(ys) else 1)
    ax2.set_ylabel("reservoir (mL)")
    ax2.set_title("Reservoir forecast to the empty date (at %s mL/day)" % render.ml(prog.get("daily_nl", 0), 4))
    ax2.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax2.grid(alpha=0.3)
    ax2.legend(loc="upper right", fontsize=9)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {"png": path, "daily_ng": prog.get("daily_ng"), "windows": [list(w) for w in win],
            "t_s": t0, "reservoir_nl": status["reservoir_nl"], "alarm_t_s": alarm_t, "empty_t_s": empty_t,
            "forecast_alarm_t_s": led_alarm, "forecast_empty_t_s": led_empty}
