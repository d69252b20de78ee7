"""The twin's virtual clock (MicroPython side): shared by the time, machine and select shims.

Virtual time passes only while the firmware waits, and by sleeps:
* a waiting poll (select shim) that lasted r real microseconds moves the clock on by
  r x SPEED_NUM // SPEED_DEN: the main loop's 100 ms period, a frame arriving early, all real;
* time.sleep_us/sleep_ms move it on by the time asked when MOTOR_TIME is on (a stroke then costs
  its 200 ms of step timing, as on silicon).
The host's own computing time is not pump time: the host is not a 125 MHz RP2040, so counting it
would only make the twin's clock depend on how busy the host is (a warp pulsing days of strokes
through the pins takes seconds of host time that would otherwise pass as pump time).
Integers only: the firmware's steady-state tick must not allocate, and these shims run inside
it (a float is a heap object on the unix port).

The hardware watchdog is checked on every clock read: a WDT not fed within its timeout (virtual
ms) resets the twin (on_wdt, set by twin_boot), as the RP2040's watchdog does.
"""
import sys

_path = sys.path[:]
sys.path.clear()
import time as _rtime  # noqa: E402 - the built-in, reached with the path emptied (shadowing rules)
sys.path.extend(_path)

SPEED_NUM = 1
SPEED_DEN = 1
# Off by default: the test build's sim_warp catches a day up in one command, which on a real
# Pico blocks for minutes (docs/board.md); off, the twin's strokes are instantaneous like the
# emulators' and the HIL scenarios' timing holds.
MOTOR_TIME = False
virt_us = 0          # virtual microseconds since this boot
wdt_deadline_us = 0  # 0: watchdog not started
wdt_timeout_us = 0
on_wdt = None        # set by twin_boot: called when the watchdog expires


def setup(speed_num, speed_den, motor_time=False):
    global SPEED_NUM, SPEED_DEN, MOTOR_TIME
    SPEED_NUM = speed_num
    SPEED_DEN = speed_den
    MOTOR_TIME = motor_time


def now_us():
    """Virtual microseconds since this boot (monotonic)."""
    if wdt_deadline_us and virt_us > wdt_deadline_us:
        on_wdt()
    return virt_us


def skip_us(us):
    """A sleep: virtual time moves on by us, no wall time is spent."""
    global virt_us
    if us > 0 and MOTOR_TIME:
        virt_us += us
    now_us()


def waited_real_us(real_us):
    """A wait of real_us host microseconds happened (a poll): that much virtual time x speed."""
    global virt_us
    if real_us > 0:
        virt_us += real_us * SPEED_NUM // SPEED_DEN
    now_us()


def real_ms(virtual_ms):
    """Host milliseconds a virtual wait of virtual_ms lasts (at least 1 for a positive wait)."""
    if virtual_ms <= 0:
        return 0
    return (virtual_ms * SPEED_DEN + SPEED_NUM - 1) // SPEED_NUM


def feed_wdt():
    global wdt_deadline_us
    if wdt_timeout_us:
        wdt_deadline_us = virt_us + wdt_timeout_us


def start_wdt(timeout_us):
    global wdt_timeout_us
    wdt_timeout_us = timeout_us
    feed_wdt()


def real_sleep_ms(ms):
    _rtime.sleep_ms(ms)


def real_ticks_us():
    return _rtime.ticks_us()


def real_ticks_diff(a, b):
    return _rtime.ticks_diff(a, b)
