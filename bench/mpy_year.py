"""make bench (MicroPython): one simulated year (target <= 30 s) and bytes allocated per
steady-state control tick (target 0)."""
import gc
import mpybench
import scenario_year as sc

hal, ctl = sc.setup()
box = {}


def year():
    box["strokes"] = sc.run_year(hal, ctl, 86400)


mpybench.report("year_sim_daily_calls", mpybench.time_ms(year), "ms")
hal, ctl = sc.setup()


def year_hourly():
    box["strokes"] = sc.run_year(hal, ctl, 3600)


mpybench.report("year_sim_hourly_calls", mpybench.time_ms(year_hourly), "ms")

hal, rt = sc.setup_runtime()
rt.tick()
# Steady state: between strokes the clock moves but nothing is due.
due = rt.next_due_s() - rt.ctl.clock_offset_s
if due - hal.monotonic_s() < 5:
    hal.set_monotonic_s(due)
    rt.tick()
mpybench.report("tick_alloc_steady", mpybench.alloc_bytes(rt.tick, 1000), "B/tick")
n = [0]


def stroke_tick():
    hal.set_monotonic_s(rt.next_due_s() - rt.ctl.clock_offset_s)
    rt.tick()
    n[0] += 1


mpybench.report("stroke_tick_time", mpybench.time_ms(stroke_tick, 200) * 1000 // 200, "us/stroke")
mpybench.report("stroke_tick_alloc_incl_saves", mpybench.alloc_bytes(stroke_tick, 50), "B/stroke")
# Per tick, the 15-min checkpoint ticks (state save: canonical JSON + CRC) apart.
plain, saves = [], []
gc.disable()   # no collection inside a call on the WebAssembly port anyway: measure, don't collect
for _ in range(200):
    s0 = rt.ctl._last_save_t
    a0 = gc.mem_alloc()
    stroke_tick()
    a = gc.mem_alloc() - a0
    (saves if rt.ctl._last_save_t != s0 else plain).append(a)
gc.enable()
mpybench.report("stroke_tick_alloc_max", max(plain), "B/stroke (goal <= 512, ticks without a save)")
mpybench.report("stroke_tick_alloc_mean", sum(plain) // len(plain), "B/stroke")
mpybench.report("checkpoint_tick_alloc_mean", sum(saves) // max(1, len(saves)), "B/tick (%d of 200)" % len(saves))
