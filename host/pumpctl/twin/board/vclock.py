"""The twin's virtual clock (MicroPython side): shared by the time, machine and select shims.

Virtual microseconds since this boot = real microseconds elapsed x SPEED_NUM // SPEED_DEN, plus
every time.sleep_us/sleep_ms the firmware asked for (the motor's step timing): a sleep costs no
wall time, it moves the clock on, so a stroke takes its 200 ms of pump time but microseconds of
host time. Integers only: the firmware's steady-state tick must not allocate, and these shims
run inside it (a float would be a heap object on the unix port).

The hardware watchdog is checked here, on every clock read: a WDT not fed within its timeout
(virtual ms) resets the twin (twin_boot.reset, cause WDT), as the RP2040's watchdog does.
"""
import sys

_path = sys.path[:]
sys.path.clear()
import time as _rtime  # noqa: E402 - the built-in, reached with the path emptied (shadowing rules)
sys.path.extend(_path)

SPEED_NUM = 1
SPEED_DEN = 1
# motor_time: sleeps advance the clock (a stroke costs its 200 ms of pump time, as on silicon).
# Off by default: the test build's sim_warp catches a day up in one command, which on a real
# Pico blocks for minutes (docs/board.md); off, the twin's strokes are instantaneous like the
# emulators' and the HIL scenarios' timing holds.
MOTOR_TIME = False
_last = _rtime.ticks_us()
_real_us = 0        # real microseconds since boot (accumulated ticks deltas: no wrap)
_skip_us = 0        # slept (virtual-only) microseconds
wdt_deadline_us = 0  # 0: watchdog not started
wdt_timeout_us = 0
on_wdt = None       # set by twin_boot: called when the watchdog expires


def setup(speed_num, speed_den, motor_time=False):
    global SPEED_NUM, SPEED_DEN, MOTOR_TIME
    SPEED_NUM = speed_num
    SPEED_DEN = speed_den
    MOTOR_TIME = motor_time


def now_us():
    """Virtual microseconds since this boot (monotonic)."""
    global _last, _real_us
    t = _rtime.ticks_us()
    _real_us += _rtime.ticks_diff(t, _last)
    _last = t
    v = _real_us * SPEED_NUM // SPEED_DEN + _skip_us
    if wdt_deadline_us and v > wdt_deadline_us:
        on_wdt()
    return v


def skip_us(us):
    """A sleep: virtual time moves on by us, no wall time is spent."""
    global _skip_us
    if us > 0 and MOTOR_TIME:
        _skip_us += us
    now_us()


def real_ms(virtual_ms):
    """Host milliseconds a virtual wait of virtual_ms lasts (at least 0)."""
    if virtual_ms <= 0:
        return 0
    return (virtual_ms * SPEED_DEN + SPEED_NUM - 1) // SPEED_NUM


def feed_wdt():
    global wdt_deadline_us
    if wdt_timeout_us:
        wdt_deadline_us = now_us() + wdt_timeout_us


def start_wdt(timeout_us):
    global wdt_timeout_us
    wdt_timeout_us = timeout_us
    feed_wdt()


def real_sleep_ms(ms):
    _rtime.sleep_ms(ms)
