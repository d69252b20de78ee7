"""`machine` for the board twin: the rp2 port's API on simulated silicon, wired to the plant.

Found before the unix port's small built-in `machine` because a .py on sys.path shadows the
extensible built-ins (MicroPython docs, "Extending built-in libraries from Python"). Behaviour
follows the rp2 port (docs/library/machine.*.rst, ports/rp2/machine_*.c) where the firmware can
see it: Pin ids are GPIO numbers 0-29 or "LED" (GP25 on a Pico); an output pin reads back its
driven level, an input its external level (pull-up: 1 when nothing drives it); ADC takes a
channel 0-4 or an ADC-capable GPIO 26-29 and returns 12-bit samples scaled to 16 bits; PWM freq
must be 8 Hz .. 62.5 MHz and duty_u16 0..65535; WDT timeout is 1..8388 ms and cannot be stopped;
machine.reset() is a watchdog reboot on rp2, so reset_cause() then reads WDT_RESET; the RTC
restarts at 2021-01-01 on every boot through rp2's main() (power-up, watchdog, machine.reset;
the launcher's rtc_survives_reset option keeps it over resets).

Everything the firmware drives or reads goes through `bus` (the plant, plant.py), set by
twin_boot before the firmware starts.
"""
import vclock

PWRON_RESET = 1
WDT_RESET = 3
IDLE = 0
SLEEP = 2
DEEPSLEEP = 4

bus = None          # the plant: on_pin(gpio, level), pin_level(gpio), on_pwm(gpio, freq, duty), adc_u16(ch)
reset_hook = None   # twin_boot: reset_hook(cause) never returns
_cause = PWRON_RESET
_uid = b"\xe6\x60\x38\x53\x2b\x33\x5f\x2c"
_rtc_base_s = 1609459200  # 2021-01-01T00:00:00Z: the rp2 RTC after power-up
_rtc_set_us = 0
_LED_GPIO = 25
_ADC_GPIO = {26: 0, 27: 1, 28: 2, 29: 3}
_VALID_GPIO = 30


def _gpio(pin_id):
    if isinstance(pin_id, Pin):
        return pin_id.gpio
    if pin_id == "LED" or pin_id == "GP25":
        return _LED_GPIO
    if isinstance(pin_id, str) and pin_id[:2] == "GP" and pin_id[2:].isdigit():
        pin_id = int(pin_id[2:])
    if isinstance(pin_id, int) and 0 <= pin_id < _VALID_GPIO:
        return pin_id
    raise ValueError("invalid pin")


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    ALT = 3
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, pin_id, mode=-1, pull=-1, *, value=None, alt=-1):
        self.gpio = _gpio(pin_id)
        self.mode = Pin.IN
        self.pull = None
        self.out = 0
        self._hook = None
        self.init(mode, pull, value=value)

    def init(self, mode=-1, pull=-1, *, value=None, alt=-1):
        if mode != -1:
            self.mode = mode
        if pull != -1:
            self.pull = pull
        if value is not None:
            self.value(value)
        if bus is not None:
            self._hook = bus.attach(self)
        return None

    def value(self, v=None):
        if v is None:
            if self.mode == Pin.OUT:
                return self.out
            return bus.pin_level(self.gpio, self.pull) if bus is not None else (1 if self.pull == Pin.PULL_UP else 0)
        v = 1 if v else 0
        if v != self.out:
            self.out = v
            if self._hook is not None:
                self._hook(v)
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def high(self):
        self.value(1)

    def low(self):
        self.value(0)

    def toggle(self):
        self.value(1 - self.out)

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING, hard=False):
        return None

    def __repr__(self):
        return "Pin(GPIO%d, mode=%s)" % (self.gpio, ("IN", "OUT", "OPEN_DRAIN", "ALT")[self.mode])


class Signal:
    def __init__(self, pin, invert=False):
        self.pin = pin
        self.invert = invert

    def value(self, v=None):
        if v is None:
            return self.pin.value() ^ (1 if self.invert else 0)
        self.pin.value((1 if v else 0) ^ (1 if self.invert else 0))

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class PWM:
    def __init__(self, pin, *, freq=None, duty_u16=None, duty_ns=None, invert=False):
        self.gpio = _gpio(pin)
        self._freq = 0
        self._duty = 0
        if freq is not None:
            self.freq(freq)
        if duty_u16 is not None:
            self.duty_u16(duty_u16)

    def freq(self, f=None):
        if f is None:
            return self._freq
        # rp2 machine_pwm.c: the 8.4 clock divider cannot go below ~8 Hz at 125 MHz
        if f < 8:
            raise ValueError("freq too small")
        if f > 62500000:
            raise ValueError("freq too large")
        self._freq = f
        self._out()

    def duty_u16(self, d=None):
        if d is None:
            return self._duty
        if d < 0 or d > 65535:
            raise ValueError("duty_u16 must be from 0 to 65535")
        self._duty = d
        self._out()

    def duty_ns(self, ns=None):
        if ns is None:
            return 0 if not self._freq else self._duty * 1000000000 // self._freq // 65536
        self.duty_u16(ns * self._freq * 65536 // 1000000000)

    def deinit(self):
        self._duty = 0
        self._out()

    def _out(self):
        if bus is not None:
            bus.on_pwm(self.gpio, self._freq, self._duty)


class ADC:
    CORE_TEMP = 4

    def __init__(self, src):
        ch = -1
        if isinstance(src, int) and 0 <= src <= 4:
            ch = src
        else:
            ch = _ADC_GPIO.get(_gpio(src), -1)
            if ch < 0:
                raise ValueError("Pin doesn't have ADC capabilities")
        self.channel = ch

    def read_u16(self):
        # RP2040 ADC: 12-bit result, scaled to 16 bits as the rp2 port does (raw << 4 | raw >> 8)
        raw = bus.adc_raw12(self.channel) if bus is not None else 0
        return (raw << 4) | (raw >> 8)


class RTC:
    def __init__(self, *args):
        pass

    def _unix_s(self):
        return _rtc_base_s + (vclock.now_us() - _rtc_set_us) // 1000000

    def datetime(self, dt=None):
        global _rtc_base_s, _rtc_set_us
        if dt is None:
            y, mo, d, hh, mm, ss, wd = vclock._rtime.gmtime(self._unix_s())[:7]
            return (y, mo, d, wd, hh, mm, ss, 0)
        y, mo, d, _wd, hh, mm, ss = dt[:7]
        if not (2000 <= y <= 4095 and 1 <= mo <= 12 and 1 <= d <= 31 and hh < 24 and mm < 60 and ss < 60):
            raise OSError(22)
        _rtc_set_us = vclock.now_us()
        _rtc_base_s = vclock._rtime.mktime((y, mo, d, hh, mm, ss, 0, 0))
        if bus is not None:
            bus.note("rtc_set", _rtc_base_s)


class WDT:
    def __init__(self, id=0, timeout=5000):
        if id != 0:
            raise ValueError("WDT(%d) doesn't exist" % id)
        # rp2 machine_wdt.c: the counter is 24-bit at 2 ticks/us -> at most 8388 ms
        if timeout < 1 or timeout > 8388:
            raise ValueError("timeout exceeds 8388ms" if timeout > 8388 else "timeout too short")
        vclock.start_wdt(timeout * 1000)
        if bus is not None:
            bus.note("wdt_start", timeout)

    def feed(self):
        vclock.feed_wdt()


def unique_id():
    return _uid


def reset():
    reset_hook(WDT_RESET)  # rp2: machine.reset() is a watchdog reboot


def soft_reset():
    reset_hook(WDT_RESET)


def reset_cause():
    return _cause


def freq(hz=None):
    return 125000000 if hz is None else None


def idle():
    return None


def lightsleep(ms=None):
    vclock.skip_us((ms or 0) * 1000)


def deepsleep(ms=None):
    reset_hook(PWRON_RESET)


def disable_irq():
    return 0


def enable_irq(state=0):
    return None


def bootloader():
    reset_hook(PWRON_RESET)


def time_pulse_us(pin, level, timeout_us=1000000):
    return -2
