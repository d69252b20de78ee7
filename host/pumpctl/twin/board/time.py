"""`time` for the board twin: shadows the unix port's built-in (a .py on the path wins for the
extensible built-ins), so the unchanged firmware's ticks_ms/sleep_us follow the virtual clock.

Same API and wrap-around as the rp2 port: ticks_* wrap at 2**30 (TICKS_PERIOD) and must be
compared with ticks_diff; time()/localtime() come from the RTC (machine.RTC), like rp2's.
"""
import vclock

_PERIOD = 1 << 30
_HALF = 1 << 29
_MASK = _PERIOD - 1


def ticks_us():
    return vclock.now_us() & _MASK


def ticks_ms():
    return (vclock.now_us() // 1000) & _MASK


def ticks_cpu():
    return ticks_us()


def ticks_diff(a, b):
    return ((a - b + _HALF) & _MASK) - _HALF


def ticks_add(t, delta):
    return (t + delta) & _MASK


def sleep_us(us):
    # the hot path of every motor step (hal_pico.motor_strokes): nothing to do unless sleeps
    # are to advance the clock (vclock.MOTOR_TIME), and then twin_boot rebinds it
    return None


def sleep_ms(ms):
    vclock.skip_us(ms * 1000)


def _motor_sleep_us(us):
    vclock.skip_us(us)


def sleep(s):
    vclock.skip_us(int(s * 1000000))


def time():
    import machine

    return machine.RTC()._unix_s()


def time_ns():
    return time() * 1000000000


def gmtime(secs=None):
    return vclock._rtime.gmtime(time() if secs is None else secs)


localtime = gmtime


def mktime(t):
    return vclock._rtime.mktime(t)
