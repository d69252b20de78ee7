"""Budgets on native MicroPython (the board twin's interpreter: unix port 1.29, 64-bit), run by
`make bench` as  .venv/bin/micropython -X heapsize=194560w bench/native_budgets.py  from the repo
root, on the firmware as built (build/*.mpy; run `make firmware` first).

* steady-state tick: 0 B, proven with micropython.heap_lock() held around >= 1000 ticks between
  strokes (any allocation raises MemoryError; issue 9: "proven with micropython.heap_lock()");
* stroke ticks: bytes allocated per tick (GC off around it), checkpoint ticks apart;
* RAM: in use after boot + fill + night-ramp programme (after a collect), largest free block
  (the largest bytearray that can be allocated, by bisection), and the peak over a simulated week
  (live after a collect + what the tick allocates, per stroke), as bench/mpy_budgets.mjs does on
  the 32-bit port. 64-bit objects are about twice the Pico's: compare trends, not the 96 KiB goal.

Exit 1 if a heap-locked tick allocated.
"""
import gc
import os
import sys

import micropython

sys.path[:] = ["build", "bench"]
FLASH = "build/native_bench_flash"
DAYS = 7


def largest_block():
    gc.collect()
    lo, hi = 0, gc.mem_free()
    while hi - lo > 64:
        mid = (lo + hi) // 2
        try:
            b = bytearray(mid)
            del b
            lo = mid
        except MemoryError:
            hi = mid
        gc.collect()
    return lo


def report(name, value, unit=""):
    print("  %s: %s %s" % (name, value, unit))


def main():
    try:
        for n in os.listdir(FLASH):
            os.remove(FLASH + "/" + n)
    except OSError:
        pass
    gc.collect()
    a0 = gc.mem_alloc()
    for m in ("compat", "protocol", "pumpmodel", "schedule", "delivery", "alarms", "battery", "fsm", "flash",
              "store", "eventlog", "auth", "clinical", "commands", "commands_admin", "dispatch", "controller",
              "link", "runtime", "hal_sim"):
        __import__(m)
    gc.collect()
    mods = gc.mem_alloc() - a0
    from flash import FileFlash
    import scenario_budget as sc
    for f in sc.setup_steps("night_ramp", FileFlash(FLASH)):
        gc.collect()
        f()
    gc.collect()
    print("Native MicroPython %s (%d-bit unix port), heap %d B, firmware from build/*.mpy:" % (
        ".".join(str(v) for v in sys.implementation.version[:3]), 64 if sys.maxsize > 2 ** 32 else 32,
        gc.mem_alloc() + gc.mem_free()))
    report("firmware modules loaded", mods, "B")
    report("after boot + fill + night-ramp programme", gc.mem_alloc(), "B in use")
    report("free after boot", gc.mem_free(), "B")
    report("largest free block after boot", largest_block(), "B")

    hal, rt = sc.S["hal"], sc.S["rt"]
    micropython.heap_lock()                          # the proof can fail: the lock must bite
    try:
        bytearray(16)
        bites = False
    except MemoryError:
        bites = True
    finally:
        micropython.heap_unlock()
    if not bites:
        print("native_budgets: micropython.heap_lock() did not stop an allocation: no proof")
        return 1
    # Steady state under heap_lock: the clock moves a second at a time up to just before the
    # next stroke; nothing is due, so the tick must not allocate.
    locked_ok = 0
    locked_fail = 0
    while locked_ok + locked_fail < 1000:
        sc.step()                                    # a stroke (unlocked), then the quiet seconds after it
        now = hal.monotonic_s()
        due = rt.next_due_s() - rt.ctl.clock_offset_s
        for t in range(now + 1, min(due, now + 201)):
            hal.set_monotonic_s(t)
            micropython.heap_lock()
            try:
                rt.tick()
                locked_ok += 1
            except MemoryError:
                locked_fail += 1
            finally:
                micropython.heap_unlock()
    report("steady-state ticks under micropython.heap_lock()", "%d ok, %d allocated" % (locked_ok, locked_fail))

    # running figures only: a list of 8000 results would itself grow the heap being measured
    n_plain = sum_plain = max_plain = n_saves = sum_saves = 0
    peak = live_max = 0
    while sc.sim_days() < DAYS:
        gc.collect()
        live = gc.mem_alloc()
        a, saved = sc.step_alloc()
        if saved:
            n_saves += 1
            sum_saves += a
        else:
            n_plain += 1
            sum_plain += a
            max_plain = max(max_plain, a)
        live_max = max(live_max, live)
        peak = max(peak, live + a)
    report("week of the night ramp", "%d stroke ticks, %d checkpoint ticks" % (n_plain, n_saves))
    report("stroke tick allocation", "mean %d B, max %d B" % (sum_plain // n_plain, max_plain))
    report("checkpoint tick allocation", "mean %d B" % (sum_saves // max(1, n_saves)))
    report("peak heap over the week", peak, "B (live max %d B)" % live_max)
    report("largest free block after the week", largest_block(), "B")
    return 0 if locked_fail == 0 and locked_ok > 0 else 1


sys.exit(main())
