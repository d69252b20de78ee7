"""Helpers for MicroPython bench scenarios (bench/mpy_*.py), run by bench/mpy_bench.mjs.

A scenario imports this module (the harness puts it on sys.path; under CPython
add tools/mpy to sys.path) and reports figures with ``report()``; the harness
collects the ``BENCH {json}`` lines into its table.

    import mpybench
    per_tick = mpybench.alloc_bytes(lambda: ctl.tick(t), n=1000)  # gc disabled while measuring
    mpybench.report("tick_alloc", per_tick, "B/tick")
    ms = mpybench.time_ms(run_year)
    mpybench.report("year_sim", ms, "ms")
"""
import gc
import json
import time

try:
    _ticks_ms = time.ticks_ms
    _ticks_diff = time.ticks_diff
except AttributeError:  # CPython

    def _ticks_ms():
        return time.monotonic_ns() // 1000000

    def _ticks_diff(a, b):
        return a - b


def mem_alloc():
    return gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0


def alloc_bytes(fn, n=1):
    """Heap bytes allocated per call of fn, over n calls, with the GC off.

    Exact on MicroPython (gc.mem_alloc() only grows while collection is
    disabled; granularity is one 16-byte GC block). Always 0 on CPython.
    Keep n small enough that n calls fit in the heap without collecting.
    """
    fn()  # warm up: first-call caches, interned strings
    gc.collect()
    gc.disable()
    try:
        a0 = mem_alloc()
        for _ in range(n):
            fn()
        a1 = mem_alloc()
    finally:
        gc.enable()
    return (a1 - a0) // n


def time_ms(fn, n=1):
    """Wall milliseconds for n calls of fn (total)."""
    t0 = _ticks_ms()
    for _ in range(n):
        fn()
    return _ticks_diff(_ticks_ms(), t0)


def report(name, value, unit=""):
    print("BENCH " + json.dumps({"name": name, "value": value, "unit": unit}))
