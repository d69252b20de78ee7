"""Virtual clock for the emulator: pump-monotonic seconds = real elapsed x speed.

The firmware only sees whole seconds (``hal.monotonic_s()``, design.md "HAL"). The
emulator samples :meth:`VClock.now_s` before every ``feed``/``tick`` and sleeps, with
:meth:`VClock.real_delay_until`, until the runtime's next due time (issue 3: "Virtual
clock: real time by default, ``--speed N`` for acceleration"). Host-only module, so the
real-time arithmetic may use floats; the values handed to the firmware are ints.
"""
import time


class VClock:
    """Monotonic pump seconds advancing ``speed`` times faster than real time.

    ``start_s`` is the value at construction (0: like a board's ticks after reset).
    ``time_fn`` is injectable so tests can drive the clock without sleeping.
    """

    def __init__(self, speed=1, start_s=0, time_fn=time.monotonic):
        if not speed or speed <= 0:
            raise ValueError("speed must be > 0, got %r" % (speed,))
        self.speed = speed
        self.start_s = int(start_s)
        self._time_fn = time_fn
        self._t0 = time_fn()
        self._last = self.start_s

    def now_s(self):
        """Whole pump-monotonic seconds; never goes backwards."""
        t = self.start_s + int((self._time_fn() - self._t0) * self.speed)
        if t < self._last:  # guard against a misbehaving time_fn
            t = self._last
        self._last = t
        return t

    def real_delay_until(self, mono_s):
        """Real seconds to wait until :meth:`now_s` reaches ``mono_s`` (0 if reached)."""
        target_real = self._t0 + (int(mono_s) - self.start_s) / self.speed
        return max(0.0, target_real - self._time_fn())

    def set_speed(self, speed):
        """Change speed without a jump: re-anchor at the current pump time."""
        if not speed or speed <= 0:
            raise ValueError("speed must be > 0, got %r" % (speed,))
        now_real = self._time_fn()
        exact = self.start_s + (now_real - self._t0) * self.speed
        self.start_s = int(exact)
        # Keep the fractional second so the next whole second arrives on time.
        self._t0 = now_real - (exact - self.start_s) / speed
        self.speed = speed
