"""Simulated HAL: the pump's hardware as plain objects, with fault injection.

Used by unit tests, the emulator (CPython and MicroPython) and benchmarks. Nothing here
sleeps: time is whatever the owner sets (`set_monotonic_s`, `advance_s`).
"""
import random
from flash import MemoryFlash


class SimHal:
    def __init__(self, start_t_s=0, flash=None, seed=1, rtc=True, on_output=None):
        self.flash = flash if flash is not None else MemoryFlash()
        self.mono_s = 0
        self.rtc_base_s = start_t_s      # pump-epoch time at mono 0 (battery-backed RTC)
        self.has_rtc = rtc
        self.strokes = 0
        self.stall_pending = 0
        self.noise_ppm = 0
        self.tones = []                  # (mono_s, pattern) - the emulator logs these
        self.led_state = "off"
        self.watchdog_feeds = 0
        self.on_output = on_output       # callback(kind, value) for the emulator's log
        random.seed(seed)

    # clock
    def monotonic_s(self):
        return self.mono_s

    def set_monotonic_s(self, s):
        if s > self.mono_s:
            self.mono_s = s

    def advance_s(self, s):
        self.mono_s += s

    def rtc_s(self):
        return self.rtc_base_s + self.mono_s if self.has_rtc else None

    def set_rtc_s(self, t_s):
        """Set the battery-backed RTC (time_set, and sim_warp: simulated time is real time
        to the pump, so a power cut after a warp keeps it; issue 8, defect 10)."""
        self.rtc_base_s = t_s - self.mono_s

    # actuators
    def motor_strokes(self, n):
        if self.stall_pending > 0:
            self.stall_pending -= 1
            return 0
        self.strokes += n
        return n

    def buzzer(self, pattern):
        self.tones.append((self.mono_s, pattern))
        if len(self.tones) > 64:
            self.tones.pop(0)
        if self.on_output:
            self.on_output("buzzer", pattern)

    def led(self, state):
        if state != self.led_state:
            self.led_state = state
            if self.on_output:
                self.on_output("led", state)

    def battery_mv(self):
        return 3100

    def random_bytes(self, n):
        return bytes(random.getrandbits(8) for _ in range(n))

    def feed_watchdog(self):
        self.watchdog_feeds += 1

    # fault injection (test builds, via sim_fault)
    def inject(self, fault, n):
        if fault == "motor_stall":
            self.stall_pending += n
        elif fault == "serial_noise":
            self.noise_ppm = n
