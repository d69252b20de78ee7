"""Start-up and trumpet curves (IEC 60601-2-24 method) as CSV + PNG: issue 9.

    python tools/trumpet_report.py analyse STROKES.csv --rate-ml-day 0.048 [--t0-ms 0]
        [--test-min 120] [--analysis 60-120] --out DIR [--name NAME] [--json]
    python tools/trumpet_report.py generate {night_ramp,min_flow} [--sys-ppm N] [--rand-ppm N]
        [--seed N] --out DIR [--name NAME] [--json]
    python tools/trumpet_report.py docs        # the four cases in docs/trumpet/ + a markdown table

`analyse` reads a plant's stroke record (CSV rows `t_ms,volume_nl`, e.g. from the board twin).
`generate` makes one: the firmware (CPython, firmware/hal_sim.SimHal) runs the prescription and
a small plant wrapper here turns every stroke the pump commands into a measured volume, 250 nL
x (1 + systematic + uniform random error) in picolitres with the remainder carried, so mechanical
error 0 leaves only the stroke quantisation. `main(argv)` is what a `pumpctl trumpet` verb calls.

Cases (docs/board.md, "Trumpet curves"):
  night_ramp  examples/night_ramp.toml (500 -> 600 mcg/day at 2000 mcg/mL, 2 h ramps), infusion
              started at 20:00 pump local time, the start of the evening ramp; test period
              2 h, analysis period the second hour (the standard's default); the reference is
              the exact programmed volume (the rate changes along the ramp).
  min_flow    the model's minimum flow 0.048 mL/day (24 mcg/day at 500 mcg/mL) = 2 uL/h, one
              stroke every 7.5 min; test period 24 h, analysis period the last hour of it.
"""
import argparse
import json
import os
import random
import sys
from fractions import Fraction

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "host"), os.path.join(REPO, "firmware")]

from pumpctl import trumpet  # noqa: E402
from pumpctl.trumpet import TrumpetError  # noqa: E402

PPM = 1000000
DAY_S = 86400
# The cases: (programme source, conc, local start, test min, analysis min, constant reference nL/h)
CASES = {
    "night_ramp": ("examples/night_ramp.toml", 2000, 20 * 3600, 120, (60, 120), None),
    "min_flow": ({"mode": "continuous", "dose_ng_day": 24000}, 500, 8 * 3600, 24 * 60,
                 (23 * 60, 24 * 60), Fraction(48000, 24)),   # 0.048 mL/day = 2000 nL/h
}
DOC_ERRORS = ((0, 0), (-20000, 50000))      # none; -2 % systematic with +-5 % random per stroke


def load_toml_programme(path):
    """examples/*.toml -> (firmware programme dict, conc_ug_ml). The same fields pumpctl reads."""
    import tomllib
    with open(os.path.join(REPO, path), "rb") as f:
        d = tomllib.load(f)
    p = d["programme"]
    prog = {"mode": p["mode"], "lead_min": p.get("lead_min", 120), "steps": []}
    for s in p["steps"]:
        hh, mm = s["effect"].split(":")
        prog["steps"].append({"effect_min": int(hh) * 60 + int(mm), "dose_ng_day": int(s["dose_mcg_day"] * 1000),
                              "shape": s.get("shape", "ramp")})
    return prog, d["drug"]["concentration_mcg_ml"]


def plant_hal(sys_ppm, rand_ppm, seed):
    """A SimHal whose strokes are measured by a plant: (t_ms, volume_nl) per completed stroke."""
    from hal_sim import SimHal

    rng = random.Random(seed)

    class PlantHal(SimHal):
        def __init__(self, *a, **k):
            SimHal.__init__(self, *a, **k)
            self.record = []
            self.carry_pl = 0

        def motor_strokes(self, n):
            done = SimHal.motor_strokes(self, n)
            for _ in range(done):
                err = sys_ppm + (rng.randint(-rand_ppm, rand_ppm) if rand_ppm else 0)
                pl = 250000 * (PPM + err) // PPM + self.carry_pl
                self.carry_pl = pl % 1000
                self.record.append((self.mono_s * 1000, pl // 1000))
            return done

    return PlantHal


def generate(case, sys_ppm=0, rand_ppm=0, seed=1):
    """Run the firmware on the case's prescription; return (strokes, analyse kwargs)."""
    import schedule
    from runtime import PumpRuntime

    src, conc, start_tod_s, test_min, analysis, rate = CASES[case]
    prog = load_toml_programme(src)[0] if isinstance(src, str) else src
    t0 = 90000000 - 90000000 % DAY_S + DAY_S + start_tod_s     # pump epoch s, UTC = pump local
    hal = plant_hal(sys_ppm, rand_ppm, seed)(start_t_s=t0)
    rt = PumpRuntime(hal)
    rt.boot()
    ctl = rt.ctl

    def cmd(name, **args):
        return ctl.command(name, args, "clinician")

    st = cmd("refill_stage", withdrawn_nl=0, added_nl=20000000, conc_ug_ml=conc)
    cmd("refill_commit", hash=st["hash"])
    cmd("alarms_clear")
    st = cmd("programme_stage", programme=prog)
    cmd("programme_commit", hash=st["hash"])      # the infusion starts here
    rt.refresh()
    start_mono = hal.mono_s
    start_local = ctl.t_s + ctl.ledger.utc_offset_s
    end = start_mono + test_min * 60 + 60
    while hal.mono_s < end:
        hal.set_monotonic_s(min(rt.next_due_s() - ctl.clock_offset_s, end))
        rt.tick()
    kw = {"t0_ms": start_mono * 1000, "test_min": test_min, "analysis_min": analysis}
    if rate is not None:
        kw["rate_nl_h"] = rate
    else:
        plan = schedule.Plan(ctl.programme)
        g0 = plan.G(start_local)
        den = plan.scale * DAY_S * conc

        def programmed_nl(t_ms):
            # exact programmed volume since the start: the scaled integral of the rate
            # (schedule.Plan.G, proven against Fractions in tests/host/test_schedule_props.py)
            if t_ms % 1000:
                raise TrumpetError("programmed volume is defined at whole seconds")
            return Fraction((plan.G(start_local + t_ms // 1000) - g0) * 1000, den)
        kw["programmed_nl"] = programmed_nl
    return hal.record, kw


def report(strokes, kw, out_dir, name, title):
    os.makedirs(out_dir, exist_ok=True)
    r = trumpet.analyse(strokes, **kw)
    paths = {k: os.path.join(out_dir, "%s%s" % (name, suffix)) for k, suffix in
             (("strokes", "_strokes.csv"), ("startup", "_startup.csv"), ("trumpet", "_trumpet.csv"),
              ("png", ".png"))}
    trumpet.write_strokes_csv(paths["strokes"], strokes)
    trumpet.write_csv(r, paths["startup"], paths["trumpet"])
    trumpet.write_png(r, paths["png"], title)
    return r, paths


def summary(r, paths):
    return {
        "analysis_min": list(r["analysis_min"]), "flow_ul_h": round(float(r["flow_nl_h"]) / 1000, 4),
        "set_ul_h": round(float(r["set_nl_h"]) / 1000, 4), "a_pct": round(float(r["a_pct"]), 3),
        "trumpet": [{"window_min": p, "ep_max_pct": round(float(hi), 2), "ep_min_pct": round(float(lo), 2),
                     "windows": m} for p, hi, lo, m in r["trumpet"]],
        "files": {k: os.path.relpath(v, REPO) if os.path.abspath(v).startswith(REPO + os.sep) else v
                  for k, v in paths.items()},
    }


def _title(case, sys_ppm, rand_ppm):
    err = "mechanical error 0 (stroke quantisation only)" if not (sys_ppm or rand_ppm) else \
        "stroke volume error %+g %% systematic, +-%g %% random" % (sys_ppm / 1e4, rand_ppm / 1e4)
    what = {"night_ramp": "night ramp (examples/night_ramp.toml) from 20:00, the evening ramp",
            "min_flow": "minimum flow 0.048 mL/day, analysis: last hour of the first 24 h"}[case]
    return "IEC 60601-2-24 method: %s\n%s" % (what, err)


def docs():
    out = os.path.join(REPO, "docs", "trumpet")
    rows = []
    for case in CASES:
        for sys_ppm, rand_ppm in DOC_ERRORS:
            name = "%s_%s" % (case, "err0" if not (sys_ppm or rand_ppm) else "err")
            strokes, kw = generate(case, sys_ppm, rand_ppm, seed=1)
            r, paths = report(strokes, kw, out, name, _title(case, sys_ppm, rand_ppm))
            s = summary(r, paths)
            cells = " | ".join("%+.1f / %+.1f" % (x["ep_max_pct"], x["ep_min_pct"]) for x in s["trumpet"])
            rows.append("| %s | %s | %.3f / %.3f | %+.2f | %s |" % (
                case.replace("_", " "), "0" if not (sys_ppm or rand_ppm) else "%+g %%, +-%g %%" % (
                    sys_ppm / 1e4, rand_ppm / 1e4), s["flow_ul_h"], s["set_ul_h"], s["a_pct"], cells))
    print("| case | mechanical error | flow / programmed in the analysis hour (uL/h) | A (%) | "
          "Ep max / min (%): 2 min | 5 min | 11 min | 19 min | 31 min |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


def _analysis(text):
    try:
        a, b = text.split("-")
        return int(a), int(b)
    except ValueError:
        raise argparse.ArgumentTypeError("expected FROM-TO in whole minutes, e.g. 60-120") from None


def main(argv=None):
    ap = argparse.ArgumentParser(prog="trumpet", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="verb", required=True)
    a = sub.add_parser("analyse", help="curves from a stroke record (CSV t_ms,volume_nl)")
    a.add_argument("strokes")
    a.add_argument("--rate-ml-day", required=True, help="programmed constant flow, mL/day (e.g. 0.048)")
    a.add_argument("--t0-ms", type=int, default=0, help="start of the infusion in the record's time base")
    a.add_argument("--test-min", type=int, default=120)
    a.add_argument("--analysis", type=_analysis, default=(60, 120), help="analysis period FROM-TO min")
    g = sub.add_parser("generate", help="run the firmware on a case with a plant and report")
    g.add_argument("case", choices=sorted(CASES))
    g.add_argument("--sys-ppm", type=int, default=0, help="systematic stroke-volume error, ppm")
    g.add_argument("--rand-ppm", type=int, default=0, help="uniform random stroke-volume error bound, ppm")
    g.add_argument("--seed", type=int, default=1)
    for p in (a, g):
        p.add_argument("--out", required=True, help="directory for CSV and PNG")
        p.add_argument("--name", default=None, help="file name stem (default: from the input)")
        p.add_argument("--json", action="store_true", help="print the figures as JSON")
    sub.add_parser("docs", help="regenerate docs/trumpet/ and print the table for docs/board.md")
    args = ap.parse_args(argv)
    try:
        if args.verb == "docs":
            return docs()
        if args.verb == "analyse":
            try:
                rate = Fraction(args.rate_ml_day) * 1000000 / 24
            except ValueError:
                raise TrumpetError("--rate-ml-day %r is not a number" % args.rate_ml_day) from None
            try:
                strokes = trumpet.read_strokes_csv(args.strokes)
            except OSError as e:
                raise TrumpetError("cannot read %s: %s" % (args.strokes, e.strerror)) from None
            kw = {"rate_nl_h": rate, "t0_ms": args.t0_ms, "test_min": args.test_min, "analysis_min": args.analysis}
            name = args.name or os.path.splitext(os.path.basename(args.strokes))[0]
            title = "IEC 60601-2-24 start-up and trumpet curves: %s (%s mL/day)" % (name, args.rate_ml_day)
        else:
            strokes, kw = generate(args.case, args.sys_ppm, args.rand_ppm, args.seed)
            name = args.name or args.case
            title = _title(args.case, args.sys_ppm, args.rand_ppm)
        r, paths = report(strokes, kw, args.out, name, title)
    except TrumpetError as e:
        sys.stderr.write("trumpet: error: %s\n" % e)
        return 2
    s = summary(r, paths)
    if args.json:
        print(json.dumps(s, indent=2))
    else:
        print("analysis %d-%d min: flow %.4f uL/h, programmed %.4f uL/h, A = %+.3f %%"
              % (s["analysis_min"][0], s["analysis_min"][1], s["flow_ul_h"], s["set_ul_h"], s["a_pct"]))
        for x in s["trumpet"]:
            print("  P = %2d min: Ep(max) %+8.2f %%  Ep(min) %+8.2f %%  (%d windows)"
                  % (x["window_min"], x["ep_max_pct"], x["ep_min_pct"], x["windows"]))
        print("wrote " + ", ".join(s["files"].values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
