"""Start-up and trumpet curves from stroke records, by the IEC 60601-2-24 method.

Standalone (standard library; matplotlib imported only by `write_png`): the input is what a
plant measures, not what the pump believes.

Input
  strokes   [(t_ms, volume_nl)]: one row per completed stroke, the time it completed and the
            volume it really moved (the board twin's plant writes these as CSV `t_ms,volume_nl`).
  reference the programmed delivery: a constant rate `rate_nl_h`, or `programmed_nl(t_ms)`, the
            programmed cumulative volume since the start (for a programme whose rate varies,
            such as the labelling's night ramp).
  t0_ms     the start of the infusion (time 0 of the curves).

Method (IEC 60601-2-24:2012, clause 201.12.1, "Accuracy of operation": gravimetric test with
a balance read at a fixed sample interval; the names below are the standard's)
  S     sample interval, 0.5 min by default. The balance reading W_i is the volume delivered by
        t_i = i * S (a stroke completing exactly at t_i counts in W_i).
  T     test period, 120 min by default; the start-up curve is Q_i for i = 1 .. T/S:
            Q_i = (W_i - W_(i-1)) / S                       (standard: 60 (W_i - W_(i-1)) / (S d),
                                                            mL/h from grams; here volumes directly)
  T1-T2 analysis period: the second hour (60-120 min) by default; for low rates the last hour
        of the first N hours (e.g. 23-24 h) is passed as analysis_min=(23*60, 24*60).
        Flow in the analysis period and its percentage error:
            Q = (W(T2) - W(T1)) / (T2 - T1)          A = 100 (Q - r) / r
  P     observation windows 2, 5, 11, 19 and 31 min; p = P / S samples; the windows are every
        position j inside the analysis period: m = (T2 - T1 - P) / S + 1 windows, and
            Ep(max) = max_(j=1..m) (S/P) sum_(i=j..j+p-1) 100 (Q_i - r) / r
            Ep(min) = min_(j=1..m) (same)
        (S/P) sum Q_i is the mean flow over the window, so each term is the percentage error of
        the volume delivered in the window against r * P.
  Time-varying programme (our generalisation, not in the standard): r * P becomes the
        programmed volume of the window R_j, so the error of a window is 100 (W_win - R_j) / R_j
        and A = 100 (W(T2) - W(T1) - R) / R; with a constant rate this is the formula above.

All arithmetic is exact (fractions.Fraction); results carry Fractions, and the CSV/PNG writers
round only when printing.
"""
import csv
from fractions import Fraction

WINDOWS_MIN = (2, 5, 11, 19, 31)
MS_PER_MIN = 60000


class TrumpetError(ValueError):
    """A bad input: the message names the cause and the fix."""


def _check_strokes(strokes):
    out = []
    last = None
    for n, row in enumerate(strokes, 1):
        if len(row) != 2:
            raise TrumpetError("stroke %d: expected (t_ms, volume_nl), got %r" % (n, row))
        t, v = row
        if type(t) is not int or type(v) is not int:
            raise TrumpetError("stroke %d: t_ms and volume_nl must be integers, got %r" % (n, row))
        if v < 0:
            raise TrumpetError("stroke %d: negative volume %d nL" % (n, v))
        if last is not None and t < last:
            raise TrumpetError("stroke %d: t_ms %d is before the previous stroke (%d): records must be "
                               "in time order" % (n, t, last))
        last = t
        out.append((t, v))
    return out


def analyse(strokes, rate_nl_h=None, programmed_nl=None, t0_ms=0, sample_s=30, test_min=120,
            analysis_min=(60, 120), windows_min=WINDOWS_MIN):
    """Start-up curve, flow in the analysis period (A) and the trumpet curve (Ep max/min).

    Returns a dict: sample_s, test_min, analysis_min, startup [(t_end_s, q_nl_h, set_nl_h)],
    flow_nl_h, set_nl_h, a_pct, trumpet [(p_min, ep_max_pct, ep_min_pct, windows)] (Fractions).
    """
    rows = _check_strokes(strokes)
    if (rate_nl_h is None) == (programmed_nl is None):
        raise TrumpetError("give exactly one reference: rate_nl_h (constant) or programmed_nl(t_ms)")
    if rate_nl_h is not None:
        rate = Fraction(rate_nl_h)
        if rate <= 0:
            raise TrumpetError("rate_nl_h must be > 0 (got %s): the percentage error is relative to it" % rate_nl_h)

        def programmed(t_ms):
            return rate * t_ms / 3600000
    else:
        def programmed(t_ms):
            return Fraction(programmed_nl(t_ms))
    if type(sample_s) is not int or sample_s <= 0:
        raise TrumpetError("sample_s must be a positive whole number of seconds (standard: 30)")
    s_ms = sample_s * 1000
    t1, t2 = analysis_min
    if not (0 <= t1 < t2 <= test_min):
        raise TrumpetError("analysis period %s min must lie inside the test period 0..%d min" % (analysis_min, test_min))
    if (test_min * MS_PER_MIN) % s_ms or (t1 * MS_PER_MIN) % s_ms or (t2 * MS_PER_MIN) % s_ms:
        raise TrumpetError("test and analysis periods must be whole multiples of the sample interval %d s" % sample_s)
    for p in windows_min:
        if (p * MS_PER_MIN) % s_ms:
            raise TrumpetError("window %s min is not a whole number of %d-s samples" % (p, sample_s))
        if p > t2 - t1:
            raise TrumpetError("window %s min is longer than the analysis period (%d min)" % (p, t2 - t1))

    n = test_min * MS_PER_MIN // s_ms
    # W_i: volume delivered by t0 + i*S (strokes before t0 are not part of this infusion).
    w = [0] * (n + 1)
    i = 0
    total = 0
    for t, v in rows:
        if t <= t0_ms:
            continue
        k = -((t0_ms - t) // s_ms)      # first sample index whose time is >= t (ceil)
        if k > n:
            break
        while i < k:
            w[i] = total
            i += 1
        total += v
    while i <= n:
        w[i] = total
        i += 1
    ref = [programmed(j * s_ms) - programmed(0) for j in range(n + 1)]
    per_h = Fraction(3600000, s_ms)
    startup = [(j * sample_s, (w[j] - w[j - 1]) * per_h, (ref[j] - ref[j - 1]) * per_h) for j in range(1, n + 1)]

    j1 = t1 * MS_PER_MIN // s_ms
    j2 = t2 * MS_PER_MIN // s_ms
    r_a = ref[j2] - ref[j1]
    if r_a <= 0:
        raise TrumpetError("nothing is programmed in the analysis period: no percentage error exists")
    hours = Fraction(t2 - t1, 60)
    out = {
        "sample_s": sample_s, "test_min": test_min, "analysis_min": (t1, t2), "t0_ms": t0_ms,
        "startup": startup,
        "flow_nl_h": (w[j2] - w[j1]) / hours, "set_nl_h": r_a / hours,
        "a_pct": 100 * (w[j2] - w[j1] - r_a) / r_a,
        "delivered_nl": w[n], "programmed_nl": ref[n],
        "trumpet": [],
    }
    for p in windows_min:
        ps = p * MS_PER_MIN // s_ms
        hi = lo = None
        m = 0
        for j in range(j1, j2 - ps + 1):      # window covers samples j+1 .. j+ps
            r = ref[j + ps] - ref[j]
            if r <= 0:
                raise TrumpetError("nothing is programmed in a %s-min window at %d s: no percentage error"
                                   % (p, j * sample_s))
            e = 100 * (w[j + ps] - w[j] - r) / r
            hi = e if hi is None or e > hi else hi
            lo = e if lo is None or e < lo else lo
            m += 1
        out["trumpet"].append((p, hi, lo, m))
    return out


def read_strokes_csv(path):
    """Rows `t_ms,volume_nl` (a header row with those names is allowed)."""
    rows = []
    with open(path, newline="") as f:
        for n, rec in enumerate(csv.reader(f), 1):
            if not rec or rec[0].startswith("#"):
                continue
            if n == 1 and rec[0].strip() == "t_ms":
                continue
            try:
                rows.append((int(rec[0]), int(rec[1])))
            except (ValueError, IndexError):
                raise TrumpetError("%s line %d: expected `t_ms,volume_nl` integers, got %r" % (path, n, rec)) from None
    return rows


def write_strokes_csv(path, strokes):
    with open(path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["t_ms", "volume_nl"])
        wr.writerows(strokes)


def _f(x, nd=4):
    return "%.*f" % (nd, float(x))


def write_csv(result, startup_path, trumpet_path):
    """Two CSV files: the start-up curve (mL/h per sample) and the trumpet curve (% per window)."""
    with open(startup_path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["t_min", "flow_ml_h", "set_ml_h"])
        for t_s, q, r in result["startup"]:
            wr.writerow([_f(Fraction(t_s, 60), 2), _f(q / 1000000, 6), _f(r / 1000000, 6)])
    with open(trumpet_path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["window_min", "ep_max_pct", "ep_min_pct", "windows", "a_pct", "analysis_from_min",
                     "analysis_to_min"])
        t1, t2 = result["analysis_min"]
        for p, hi, lo, m in result["trumpet"]:
            wr.writerow([p, _f(hi, 3), _f(lo, 3), m, _f(result["a_pct"], 3), t1, t2])


def write_png(result, path, title):
    """Start-up curve above, trumpet curve below (the layout of the standard's figures)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 8), layout="constrained")
    fig.suptitle(title, fontsize=10)
    t = [float(Fraction(s, 60)) for s, _, _ in result["startup"]]
    ax1.step(t, [float(q) / 1000 for _, q, _ in result["startup"]], where="pre", lw=0.6, label="flow $Q_i$")
    # Not in the standard: the mean flow over the last 31 min (the longest window; since the
    # start before that), to show the level Q_i averages to when every sample holds a whole
    # number of strokes (a pulsatile pump at low flow).
    q = [x[1] for x in result["startup"]]
    k = 31 * 60 // result["sample_s"]
    mean = [float(sum(q[max(0, i + 1 - k):i + 1]) / min(i + 1, k)) / 1000 for i in range(len(q))]
    ax1.plot(t, mean, color="tab:red", lw=1.4, label="mean flow, last 31 min")
    ax1.plot(t, [float(r) / 1000 for _, _, r in result["startup"]], "k--", lw=1, label="programmed")
    t1, t2 = result["analysis_min"]
    ax1.axvspan(t1, t2, color="0.92", label="analysis period")
    ax1.set_xlabel("time from start (min); sample interval S = %g min" % (result["sample_s"] / 60))
    ax1.set_ylabel("flow (uL/h)")
    ax1.set_title("start-up curve: flow in the analysis period %.4g uL/h, programmed %.4g uL/h"
                  % (float(result["flow_nl_h"]) / 1000, float(result["set_nl_h"]) / 1000), fontsize=10)
    ax1.legend(loc="upper right", fontsize=8)
    ax1.grid(alpha=0.3)
    p = [x[0] for x in result["trumpet"]]
    ax2.plot(p, [float(x[1]) for x in result["trumpet"]], "o-", label="$E_p$(max)")
    ax2.plot(p, [float(x[2]) for x in result["trumpet"]], "s-", label="$E_p$(min)")
    ax2.axhline(float(result["a_pct"]), color="k", ls="--", lw=1, label="A = %.3g %%" % float(result["a_pct"]))
    ax2.axhline(0, color="0.5", lw=0.6)
    ax2.set_xticks(p)
    ax2.set_xlabel("observation window P (min), analysis period %d-%d min" % (t1, t2))
    ax2.set_ylabel("percentage error (%)")
    ax2.set_title("trumpet curve", fontsize=10)
    ax2.legend(loc="upper right", fontsize=8)
    ax2.grid(alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)
