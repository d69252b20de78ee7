"""A fake MicroPython `machine` (+ `time`, `micropython`) for proving the board HAL on CPython.

`FakeMachine()` is a module-like object: Pin, PWM, ADC, WDT, RTC, unique_id, reset, as the
rp2 port spells them. Every output change, PWM setting, ADC read and watchdog feed is
appended to `m.log` as (t_us, what, key, value) against a virtual clock `m.time` (FakeTime:
ticks_ms/ticks_diff with MicroPython's 2**30 ms wrap, sleep_us/sleep_ms advance it). Input
pins read `pin.level`, or `pin.script()` when a test sets one.

    m = FakeMachine()
    hal_pico = load_hal_pico(monkeypatch, m)   # imports hal_pico against the fake
"""
import importlib
import sys
import types

TICKS_PERIOD_MS = 1 << 30  # MicroPython: ticks_ms() wraps at 2**30 (TICKS_MAX + 1)


class FakeTime:
    def __init__(self, start_ms=0):
        self.us = start_ms * 1000
        self.slept_us = 0

    def ticks_ms(self):
        return (self.us // 1000) % TICKS_PERIOD_MS

    def ticks_diff(self, a, b):
        half = TICKS_PERIOD_MS // 2
        return ((a - b + half) % TICKS_PERIOD_MS) - half

    def ticks_add(self, a, d):
        return (a + d) % TICKS_PERIOD_MS

    def sleep_us(self, us):
        self.us += us
        self.slept_us += us

    def sleep_ms(self, ms):
        self.sleep_us(ms * 1000)

    def advance_ms(self, ms):
        self.us += ms * 1000


class FakeReset(BaseException):
    """machine.reset() was called."""


class FakeMachine(types.ModuleType):
    def __init__(self, time=None):
        super().__init__("machine")
        self.time = time if time is not None else FakeTime()
        self.log = []
        self.pins = {}
        self.wdt = None
        self.uid = bytes([0xE6, 0x60, 0x58, 0x38, 0x83, 0x1A, 0x2B, 0x3C])
        self.adc_u16 = 0
        self.adc_reads = 0
        self.rtc_datetime = (2021, 1, 1, 4, 0, 0, 0, 0)  # rp2 port's power-on value
        self.input_levels = {}  # pin id -> level an input pin reads (default: its pull)
        m = self

        class Pin:
            IN = 0
            OUT = 1
            OPEN_DRAIN = 2
            PULL_UP = 1
            PULL_DOWN = 2

            def __init__(self, ident, mode=-1, pull=None, *, value=None):
                self.id = ident
                self.mode = mode
                self.pull = pull
                self.level = m.input_levels.get(ident, 1 if pull == Pin.PULL_UP else 0)
                self.script = None
                self.reads = 0
                m.pins[ident] = self
                if value is not None:
                    self.value(value)

            def value(self, v=None):
                if v is None:
                    self.reads += 1
                    return self.script() if self.script is not None else self.level
                self.level = 1 if v else 0
                m.log.append((m.time.us, "pin", self.id, self.level))
                return None

            def on(self):
                self.value(1)

            def off(self):
                self.value(0)

        class PWM:
            def __init__(self, pin, freq=0, duty_u16=0):
                self.pin = pin
                self._freq = freq
                self._duty = duty_u16

            def freq(self, f=None):
                if f is None:
                    return self._freq
                self._freq = f
                m.log.append((m.time.us, "pwm_freq", self.pin.id, f))
                return None

            def duty_u16(self, d=None):
                if d is None:
                    return self._duty
                self._duty = d
                m.log.append((m.time.us, "pwm_duty", self.pin.id, d))
                return None

            def deinit(self):
                self.duty_u16(0)

        class ADC:
            def __init__(self, ident):
                self.id = ident

            def read_u16(self):
                m.adc_reads += 1
                return m.adc_u16

        class WDT:
            def __init__(self, id=0, timeout=5000):
                self.timeout = timeout
                self.feeds = 0
                m.wdt = self

            def feed(self):
                self.feeds += 1
                m.log.append((m.time.us, "wdt", 0, self.feeds))

        class RTC:
            def datetime(self, dt=None):
                if dt is None:
                    return m.rtc_datetime
                m.rtc_datetime = tuple(dt)
                m.log.append((m.time.us, "rtc", 0, tuple(dt)))
                return None

        self.Pin, self.PWM, self.ADC, self.WDT, self.RTC = Pin, PWM, ADC, WDT, RTC

    def unique_id(self):
        return self.uid

    def reset(self):
        raise FakeReset()

    # --- helpers for tests ---------------------------------------------------------------
    def pin_events(self, ident):
        return [(t, v) for (t, what, key, v) in self.log if what == "pin" and key == ident]

    def pwm_events(self):
        return [(t, what, v) for (t, what, key, v) in self.log if what.startswith("pwm")]


class FakeMicropython(types.ModuleType):
    def __init__(self):
        super().__init__("micropython")
        self.kbd_intr_calls = []

    def kbd_intr(self, c):
        self.kbd_intr_calls.append(c)

    @staticmethod
    def const(x):
        return x


def load_hal_pico(monkeypatch, m):
    """Import (fresh) firmware/hal_pico.py against fake machine `m` and its virtual time."""
    monkeypatch.setitem(sys.modules, "machine", m)
    monkeypatch.delitem(sys.modules, "hal_pico", raising=False)
    hal_pico = importlib.import_module("hal_pico")
    monkeypatch.setattr(hal_pico, "time", m.time)
    return hal_pico
