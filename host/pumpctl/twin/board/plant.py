"""The pump's physics beside the Pico: what the firmware's pins really do. Independent of the
firmware (imports nothing from it): its own wiring table and mechanism constants come from the
twin's configuration (host/pumpctl/twin/config.py), not from boards/pico.py.

* Motor: a STEP rising edge moves the mechanism one step when ENABLE is at its active level and
  DIR is forward; `steps_per_stroke` steps make one stroke. A completed stroke moves
  `stroke_nl` x (1 + systematic error + random error) out of the reservoir (integer picolitres,
  so quantisation is exact) and is recorded as a CSV line `t_ms,volume_nl`.
* Stall sense: a step the mechanism cannot make (blocked: a fault the harness sets; or the
  reservoir physically empty) moves nothing and drives the stall line to its active level until
  a step moves again or the driver is disabled (an nFAULT/encoder comparator reports failed
  motion, not an empty reservoir as such: the step that pushes the last drop out completes).
* VSYS: the plant battery's voltage through the Pico's 3:1 divider on ADC3, 12-bit, Vref 3.3 V.
* Buzzer PWM and LED: every change is recorded (tones: freq and duty; LED level).

Records go to the side channel (`log`, JSON lines) and `csv` (strokes), both opened by twin_boot
before the littlefs mount; `t_ms` is plant time (continuous over resets: t0_ms + this boot).
"""
import vclock

PPM = 1000000


class Plant:
    def __init__(self, cfg, log, csv):
        w = cfg["wiring"]
        self.step_gpio = w["step"]
        self.dir_gpio = w["dir"]
        self.enable_gpio = w["enable"]
        self.stall_gpio = w["stall"]
        self.buzzer_gpio = w["buzzer"]
        self.led_gpio = w["led"]
        self.vsys_channel = w["vsys_adc_channel"]
        self.enable_active = w["enable_active"]
        self.dir_forward = w["dir_forward"]
        self.stall_active = w["stall_active"]
        m = cfg["mechanism"]
        self.steps_per_stroke = m["steps_per_stroke"]
        self.stroke_pl = m["stroke_nl"] * 1000
        self.sys_ppm = m["error_systematic_ppm"]
        self.rand_ppm = m["error_random_ppm"]
        self._rng = (m.get("seed") or 1) & 0x7FFFFFFF or 1
        st = cfg["state"]
        self.reservoir_pl = st["reservoir_nl"] * 1000
        self.blocked = st["blocked"]
        self.battery_mv = st["battery_mv"]
        self.strokes = st["strokes"]
        self.t0_ms = st["t_ms"]
        self.carry_pl = 0
        self.log = log
        self.csv = csv
        self.dir_level = 1 - self.dir_forward
        self.enable_level = 1 - self.enable_active
        self.step_level = 0
        self.stall_latched = False
        self.steps = 0        # steps into the current stroke
        self.reverse_steps = 0
        self.stalled_steps = 0
        self.pwm = (0, 0)
        self.tones = 0

    def t_ms(self):
        return self.t0_ms + vclock.now_us() // 1000

    def note(self, kind, value):
        self.log.write('{"t_ms": %d, "%s": %s}\n' % (self.t_ms(), kind, _json(value)))

    # --- pins ------------------------------------------------------------------------------
    def attach(self, pin):
        g = pin.gpio
        if g == self.step_gpio:
            self.step_level = pin.out
            pin.value = self._step_value    # the hot write of every step: one call
            return None
        if g == self.stall_gpio:
            pin.value = self._stall_value   # the hot read after every step: one call, no lookups
        if g == self.dir_gpio:
            self.dir_level = pin.out    # the level it was created with (Pin(..., value=))
            return self._dir
        if g == self.enable_gpio:
            self.enable_level = pin.out
            return self._enable
        if g == self.led_gpio:
            return self._led
        return None

    def _dir(self, v):
        self.dir_level = v

    def _enable(self, v):
        self.enable_level = v
        if v != self.enable_active:
            self.stall_latched = False

    def _led(self, v):
        self.note("led", v)

    def _step_value(self, v=None):
        if v is None:
            return self.step_level
        if v:
            if not self.step_level:
                self.step_level = 1
                self._step_edge()
        else:
            self.step_level = 0

    def _step_edge(self):
        if self.enable_level != self.enable_active:
            return
        if self.dir_level != self.dir_forward:
            self.reverse_steps += 1
            return
        if self.blocked or self.reservoir_pl <= 0:
            self.stalled_steps += 1
            self.stall_latched = True
            return
        self.stall_latched = False
        self.steps += 1
        if self.steps == self.steps_per_stroke:
            self.steps = 0
            self._stroke()

    def _stroke(self):
        err = self.sys_ppm
        if self.rand_ppm:
            # xorshift32: reproducible from the seed, no `random` module needed
            x = self._rng
            x ^= (x << 13) & 0xFFFFFFFF
            x ^= x >> 17
            x ^= (x << 5) & 0xFFFFFFFF
            self._rng = x
            err += x % (2 * self.rand_ppm + 1) - self.rand_ppm
        pl = self.stroke_pl * (PPM + err) // PPM
        if pl > self.reservoir_pl:
            pl = self.reservoir_pl  # the last drops: the reservoir is empty
        self.reservoir_pl -= pl
        pl += self.carry_pl
        nl = pl // 1000
        self.carry_pl = pl - nl * 1000
        self.strokes += 1
        self.csv.write("%d,%d\n" % (self.t_ms(), nl))

    def _stall_value(self, v=None):
        if self.stall_latched:
            return self.stall_active
        return 1 - self.stall_active

    def pin_level(self, gpio, pull):
        if gpio == self.stall_gpio:
            return self._stall_value()
        return 1 if pull == 1 else 0   # floating input: its pull decides (safe-mode jumper open)

    def on_pwm(self, gpio, freq, duty):
        if gpio != self.buzzer_gpio:
            return
        new = (freq, duty) if duty else (0, 0)
        if new != self.pwm:
            if duty and not self.pwm[1]:
                self.tones += 1
            self.pwm = new
            self.note("tone", [new[0], new[1]])

    def adc_raw12(self, channel):
        if channel != self.vsys_channel:
            return 0
        # VSYS / 3 on ADC3 (Pico datasheet "Powering Pico"), Vref 3300 mV, 12 bits
        mv = self.battery_mv // 3
        raw = mv * 4096 // 3300
        return 4095 if raw > 4095 else raw

    # --- side channel ------------------------------------------------------------------------
    def command(self, op, arg):
        if op == "refill":
            self.reservoir_pl += arg * 1000
        elif op == "withdraw_all":
            # the clinician aspirates the reservoir empty (refill procedure): note what came out
            arg = self.reservoir_pl // 1000
            self.reservoir_pl -= arg * 1000
            op = "withdraw"
        elif op == "block":
            self.blocked = bool(arg)
        elif op == "battery_mv":
            self.battery_mv = arg
        else:
            return False
        self.note(op, arg)
        return True


def _json(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_json(x) for x in v) + "]"
    return str(v)
