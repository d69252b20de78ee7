"""Board-twin budgets (issue 9, "Budgets"), `make bench-twin`:

* per-stroke realism at speed: 30 simulated days of the labelling's night ramp
  (examples/night_ramp.toml) on the twin, every stroke pulsed through the STEP/DIR/ENABLE pins
  and counted by the plant, in <= 60 s of wall time (the days are caught up by the test build's
  sim_warp, one day per command, as the HIL suite does);
* RAM on the twin: gc.mem_free / mem_alloc read by the plant's side channel after boot and
  after the run (the twin is the 64-bit unix port: objects are about twice the
  Pico's size, so these are not the 32-bit figures of bench/mpy_budgets.mjs).

Exit 1 if the 60-s budget is missed or the plant and the pump disagree on the stroke count.
usage: python bench/twin_budgets.py [--days 30]
"""
import argparse
import os
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "hil"), os.path.join(REPO, "host"), os.path.join(REPO, "firmware")]

import dut as dutmod  # noqa: E402
from pumpctl.twin.launcher import build_firmware  # noqa: E402

DAY_S = 86400
NIGHT = {"mode": "flex", "lead_min": 120, "steps": [
    {"effect_min": 7 * 60, "dose_ng_day": 500000, "shape": "ramp"},
    {"effect_min": 22 * 60, "dose_ng_day": 600000, "shape": "ramp"}]}
GOAL_S = 60


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="twin-bench-") as tmp:
        build = build_firmware(os.path.join(tmp, "build"))
        target = dutmod.TwinTarget(os.path.join(tmp, "twin"), os.path.join(tmp, "twin.log"), build)
        frames = dutmod.FrameLog(os.path.join(tmp, "frames.log"))
        d = dutmod.Dut(target, frames)
        try:
            twin = target.twin
            boot = twin.probe()
            dutmod.start_therapy(d, NIGHT, 20000000, 2000)
            s0 = twin.truth()
            p0 = d.status()["strokes"]
            t0 = time.monotonic()
            for _ in range(args.days):
                d.warp(DAY_S)
            wall = time.monotonic() - t0
            s1, l1 = twin.truth(), twin.probe()
            p1 = d.status()["strokes"]
        finally:
            d.close()
            target.close()     # stops the twin (Dut.close only drops the link)
            frames.close()
    strokes = s1["strokes"] - s0["strokes"]
    from pumpctl.twin import config
    steps = strokes * config.MECHANISM["steps_per_stroke"]   # the plant makes a stroke of that many STEP edges
    print("Board twin (native MicroPython %s, 64-bit unix port, heap 194560 words):" % "1.29")
    print("  %d simulated days of the night ramp: %d strokes (%d STEP pulses counted by the plant, "
          "%.1f uL delivered, measured by the plant) in %.1f s wall (goal <= %d s): %.0f strokes/s"
          % (args.days, strokes, steps, (s1["delivered_nl"] - s0["delivered_nl"]) / 1000, wall, GOAL_S,
             strokes / wall))
    print("  pump's own stroke count %d, plant's %d" % (p1 - p0, strokes))
    print("  RAM (gc.mem_alloc / mem_free as the loop runs, garbage included): after boot %d / %d B, "
          "after the run %d / %d B" % (boot["mem_alloc"], boot["mem_free"], l1["mem_alloc"], l1["mem_free"]))
    ok = wall <= GOAL_S * args.days / 30 and strokes == p1 - p0
    print("  %s 30-day budget%s" % ("ok  " if ok else "MISS", "" if args.days == 30 else " (scaled to %d days)" % args.days))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
