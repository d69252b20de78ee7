"""make bench-twin: the board twin's budgets (issue 9), figures printed, no pass/fail timing.

* 30 simulated days of the labeling's night-ramp prescription (examples/night_ramp.toml: 500
  mcg/day, +20 % effective 22:00, 2000 mcg/mL) with every stroke pulsed through the pins: wall
  time (goal <= 60 s), pump strokes vs plant strokes and delivered volume;
* RAM on the twin (64-bit unix port, -X heapsize=190 KB in 32-bit words): free heap after boot,
  the highest live heap (after collect) and allocation (before collect) sampled daily over a
  simulated week, the largest free block;
* steady-state ticks run under micropython.heap_lock(): how many, how many tried to allocate.
"""
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(REPO, "host"), os.path.join(REPO, "hil")]

from pumpctl.twin.launcher import build_firmware  # noqa: E402

import dut as dutmod  # noqa: E402

try:
    import tomllib
except ImportError:  # pragma: no cover
    import tomli as tomllib

DAY_S = 86400


def night_ramp():
    with open(os.path.join(REPO, "examples", "night_ramp.toml"), "rb") as f:
        t = tomllib.load(f)
    steps = []
    for s in t["programme"]["steps"]:
        hh, mm = (int(x) for x in s["effect"].split(":"))
        steps.append({"effect_min": hh * 60 + mm, "dose_ng_day": s["dose_mcg_day"] * 1000, "shape": s["shape"]})
    return {"mode": "flex", "lead_min": t["programme"]["lead_min"], "steps": steps}, t["drug"]["concentration_mcg_ml"]


class _Frames:
    def traffic(self, *_a):
        pass

    def note(self, *_a):
        pass


def main():
    work = tempfile.mkdtemp(prefix="twin-bench-")
    build = build_firmware(os.path.join(work, "build"))
    target = dutmod.TwinTarget(os.path.join(work, "state"), os.path.join(work, "twin.log"), build,
                               heap_lock_ticks=True)
    d = dutmod.Dut(target, _Frames())
    twin = target.twin
    try:
        time.sleep(1.0)
        boot = twin.mem()
        print("twin heap after boot: %d B free, %d B used, largest free block %d B (heap %d B = 190 KB of 32-bit words)"
              % (boot["mem_free"], boot["mem_alloc"], boot["largest_free"], boot["mem_free"] + boot["mem_alloc"]))
        prog, conc = night_ramp()
        dutmod.start_therapy(d, prog, 20000000, conc)
        s0, p0 = d.status()["strokes"], twin.truth()
        t0 = time.perf_counter()
        peak_live = peak_alloc = 0
        least_largest = boot["largest_free"]
        for day in range(30):
            d.request("sim_warp", {"seconds": DAY_S}, timeout_s=120)
            if day < 7:
                m = twin.mem()
                peak_live = max(peak_live, m["mem_alloc"])
                peak_alloc = max(peak_alloc, m["alloc_before_collect"])
                least_largest = min(least_largest, m["largest_free"])
        wall = time.perf_counter() - t0
        st, p1 = d.status(), twin.truth()
        strokes = st["strokes"] - s0
        print("night_ramp 30 days, every stroke pulsed: %.1f s wall (goal <= 60 s); pump %d strokes, plant %d strokes, "
              "%d nL delivered (labeling: 268 750 nL/day x 30 = 8 062 500 nL)"
              % (wall, strokes, p1["strokes"] - p0["strokes"], p1["delivered_nl"] - p0["delivered_nl"]))
        print("twin heap over the first simulated week: peak live %d B, peak allocated before collect %d B, "
              "smallest largest-free-block %d B" % (peak_live, peak_alloc, least_largest))
        time.sleep(2.0)
        m = twin.mem()
        print("steady-state ticks under micropython.heap_lock(): %d run, %d tried to allocate (goal 0)"
              % (m["locked_ticks"], m["locked_fail"]))
    finally:
        d.close()
        target.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
