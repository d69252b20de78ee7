"""Board HAL for the Raspberry Pi Pico: the only firmware module importing `machine`.

Implements the HAL of docs/design.md ("HAL") on real pins; the pin map and timing are
data in a board module (boards/pico.py), passed in, so another wiring is one file.
Proven without a board by tests/host/test_board.py with tests/host/fake_machine.py.

Nothing here blocks longer than one stroke (STEPS_PER_STROKE * STEP_PERIOD_US), and the
watchdog is fed between strokes, so even a long catch-up run cannot trip it. Tones and the
LED blink are sequenced by `service()`, which the main loop calls every iteration.
"""
import os
import time

import machine

import battery

# Alarm tones (alarms.py: critical = two-tone, non-critical = single tone). Segments of
# (frequency Hz, duration ms); 0 Hz = silence. Frequencies inside the 150-1000 Hz band
# IEC 60601-1-8 requires for an alarm signal's fundamental.
TONE_HIGH_HZ = 880
TONE_LOW_HZ = 660
_H = TONE_HIGH_HZ
_L = TONE_LOW_HZ
TONES = {
    "critical": ((_H, 250), (_L, 250), (_H, 250), (_L, 250), (_H, 250), (_L, 250)),
    "noncritical": ((_H, 600),),
    "test": ((_H, 600), (0, 400), (_H, 250), (_L, 250), (_H, 250), (_L, 250)),  # both, in turn
}
LED_BLINK_MS = 500  # "alarm": LED toggles every 500 ms


class PicoHal:
    def __init__(self, board, flash, wdt=None):
        self.board = board
        self.flash = flash
        self.wdt = wdt
        Pin = machine.Pin
        self.step = Pin(board.STEP_PIN, Pin.OUT, value=0)
        self.dir = Pin(board.DIR_PIN, Pin.OUT, value=board.DIR_FORWARD)
        self.enable = Pin(board.ENABLE_PIN, Pin.OUT, value=1 - board.ENABLE_ACTIVE)
        if board.STALL_PULL_UP:
            self.stall = Pin(board.STALL_PIN, Pin.IN, Pin.PULL_UP)
        else:
            self.stall = Pin(board.STALL_PIN, Pin.IN)
        self.led_pin = Pin(board.LED_PIN, Pin.OUT, value=0)
        self.pwm = machine.PWM(Pin(board.BUZZER_PIN))
        self.pwm.duty_u16(0)
        self.adc = machine.ADC(board.VSYS_ADC)
        self.rtc = machine.RTC()
        # monotonic clock: whole seconds + ms remainder, both small ints (no allocation),
        # accumulated from ticks_ms deltas so the 2**30 ms ticks wrap does not matter.
        self._last_ms = time.ticks_ms()
        self._mono_s = 0
        self._mono_rem_ms = 0
        self.led_state = "off"
        self._led_on = 0
        self._led_ms = 0
        self._tone = None          # current pattern's segments
        self._tone_i = 0
        self._tone_ms = 0          # ticks_ms when the current segment started
        self.tones_played = 0
        self.stall_pending = 0     # injected stalls (test builds)

    # --- clock ---------------------------------------------------------------------------
    def monotonic_s(self):
        now = time.ticks_ms()
        self._mono_rem_ms += time.ticks_diff(now, self._last_ms)
        self._last_ms = now
        if self._mono_rem_ms >= 1000:
            self._mono_s += self._mono_rem_ms // 1000
            self._mono_rem_ms = self._mono_rem_ms % 1000
        return self._mono_s

    def rtc_s(self):
        """Pump-epoch seconds from the RTC, or None while it has never been set (the RP2040
        RTC restarts at 2021-01-01 after a hard reset: any date before 2024 means unset)."""
        y, mo, d, _wd, hh, mm, ss, _sub = self.rtc.datetime()
        if y < 2024:
            return None
        return battery.days_from_civil(y, mo, d) * 86400 + hh * 3600 + mm * 60 + ss

    def set_rtc_s(self, t_s):
        """Set the RTC from pump time (host time sync). 2024-01-01 is a Monday (weekday 0)."""
        y, mo, d, hh, mm, ss = battery.civil_from_t_s(t_s)
        self.rtc.datetime((y, mo, d, (t_s // 86400) % 7, hh, mm, ss, 0))

    # --- motor ---------------------------------------------------------------------------
    def motor_strokes(self, n):
        """Deliver n strokes; returns how many completed. A stall (stall input at its active
        level after any step) aborts the stroke in progress and the rest: fewer returned."""
        if n <= 0:
            return 0
        if self.stall_pending > 0:
            self.stall_pending -= 1
            return 0
        b = self.board
        step = self.step
        stall = self.stall
        low_us = b.STEP_PERIOD_US - b.STEP_HIGH_US
        self.dir.value(b.DIR_FORWARD)
        self.enable.value(b.ENABLE_ACTIVE)
        time.sleep_us(b.ENABLE_SETTLE_US)
        done = 0
        try:
            while done < n:
                for _ in range(b.STEPS_PER_STROKE):
                    step.value(1)
                    time.sleep_us(b.STEP_HIGH_US)
                    step.value(0)
                    time.sleep_us(low_us)
                    if stall.value() == b.STALL_ACTIVE:
                        return done
                done += 1
                self.feed_watchdog()
            return done
        finally:
            step.value(0)
            self.enable.value(1 - b.ENABLE_ACTIVE)

    # --- annunciators ------------------------------------------------------------------------
    def buzzer(self, pattern):
        segs = TONES.get(pattern)
        self._tone = segs
        self._tone_i = 0
        self._tone_ms = time.ticks_ms()
        if segs is None:
            self.pwm.duty_u16(0)
            return
        self.tones_played += 1
        self._start_segment(segs[0])

    def _start_segment(self, seg):
        if seg[0] == 0:
            self.pwm.duty_u16(0)
        else:
            self.pwm.freq(seg[0])
            self.pwm.duty_u16(self.board.BUZZER_DUTY_U16)

    def led(self, state):
        self.led_state = state
        self._led_on = 0 if state == "off" else 1
        self._led_ms = time.ticks_ms()
        self.led_pin.value(self._led_on)

    def service(self):
        """Advance the tone sequence and the alarm blink; called by the main loop."""
        now = time.ticks_ms()
        segs = self._tone
        if segs is not None and time.ticks_diff(now, self._tone_ms) >= segs[self._tone_i][1]:
            self._tone_i += 1
            self._tone_ms = now
            if self._tone_i >= len(segs):
                self._tone = None
                self.pwm.duty_u16(0)
            else:
                self._start_segment(segs[self._tone_i])
        if self.led_state == "alarm" and time.ticks_diff(now, self._led_ms) >= LED_BLINK_MS:
            self._led_ms = now
            self._led_on = 1 - self._led_on
            self.led_pin.value(self._led_on)

    # --- battery -------------------------------------------------------------------------------
    def battery_mv(self):
        """VSYS in mV: mean of ADC_SAMPLES 16-bit readings x Vref x divider."""
        b = self.board
        total = 0
        for _ in range(b.ADC_SAMPLES):
            total += self.adc.read_u16()
        # mean first: 65535 * 3300 * 3 stays a small int (< 2**30), no long arithmetic
        return (total // b.ADC_SAMPLES) * (b.ADC_VREF_MV * b.VSYS_DIVIDER) // 65535

    def battery_remaining_nah(self):
        """What the measured voltage says about the cell (battery.remaining_from_mv)."""
        return battery.remaining_from_mv(self.battery_mv())

    # --- fault injection (test builds: sim_fault) ------------------------------------------------
    def inject(self, fault, n):
        """motor_stall: the next n motor_strokes calls move nothing and report a stall.
        serial_noise is an emulator-only fault (the USB line is not ours to corrupt)."""
        if fault == "motor_stall":
            self.stall_pending += n

    # --- misc ----------------------------------------------------------------------------------
    def random_bytes(self, n):
        return os.urandom(n)

    def feed_watchdog(self):
        if self.wdt is not None:
            self.wdt.feed()


# --- board services main.py needs (kept here: the only module importing machine) -----------
def make_watchdog(board):
    """Start the hardware watchdog. It cannot be stopped again on the RP2040."""
    return machine.WDT(timeout=board.WDT_TIMEOUT_MS)


def safe_mode_requested(board):
    """True when the safe-mode jumper pulls SAFE_MODE_PIN low at boot."""
    return machine.Pin(board.SAFE_MODE_PIN, machine.Pin.IN, machine.Pin.PULL_UP).value() == 0


def unique_id():
    return machine.unique_id()


def detach_repl():
    """Ctrl-C on the USB serial no longer raises KeyboardInterrupt: the protocol owns it."""
    import micropython

    micropython.kbd_intr(-1)


def reset():
    machine.reset()
