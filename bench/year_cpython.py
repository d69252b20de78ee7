"""make bench (CPython): wall time to simulate one year (target <= 1 s, issue 2)."""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "firmware"), HERE]
import scenario_year as sc  # noqa: E402

for step, label in ((86400, "daily advance calls"), (3600, "hourly advance calls")):
    hal, ctl = sc.setup()
    t0 = time.perf_counter()
    strokes = sc.run_year(hal, ctl, step)
    dt = time.perf_counter() - t0
    print("year_sim[%s]: %.3f s wall, %d strokes, state %s, alarms %s"
          % (label, dt, strokes, ctl.fsm.state, sorted(ctl.alarms.active)))

# Board-like: one tick per second between strokes (steady state) and at stroke time.
hal, rt = sc.setup_runtime()
N = 86400
t0 = time.perf_counter()
for _ in range(N):
    hal.advance_s(1)
    rt.tick()
dt = time.perf_counter() - t0
print("tick_1s_for_a_day: %.3f s wall for %d ticks (%.2f us/tick incl. %d strokes)"
      % (dt, N, dt * 1e6 / N, hal.strokes))
