"""Emulator glue: the firmware runtime + simulated HAL as the emulator front end drives it.

This one file runs unchanged on CPython (in-process, ``--runtime cpython``) and on
MicroPython (inside ``mpy_bridge.mjs``, ``--runtime micropython``), so both runtimes are
driven by the same code and host tools cannot tell them apart (issue 3). Firmware rules
apply here (design.md): ints only, no ``/``, only modules both runtimes have.

The emulator owns the clock: before each call it passes the pump-monotonic seconds it
sampled from its virtual clock, and ``EmuHal.monotonic_s()`` returns that value.
"""


def make_hal_class(base):
    """Subclass the firmware's SimHal: emulator clock, buzzer/LED changes recorded."""

    class EmuHal(base):
        def __init__(self, emu, *args, **kwargs):
            self._emu = emu
            base.__init__(self, *args, **kwargs)

        def monotonic_s(self):
            return self._emu.mono_s

        def buzzer(self, pattern):
            self._emu.note("buzzer", pattern)
            return base.buzzer(self, pattern)

        def led(self, state):
            if state != self._emu.led_state:
                self._emu.led_state = state
                self._emu.note("led", state)
            return base.led(self, state)

    return EmuHal


class Session:
    """One powered-on pump: ``hal_cls(**hal_kwargs)`` wrapped by EmuHal, and the runtime."""

    def __init__(self, runtime_cls, hal_cls, hal_kwargs, build, mono_s=0):
        self.mono_s = mono_s
        self.notes = []
        self.led_state = None
        self.hal = make_hal_class(hal_cls)(self, **hal_kwargs)
        self.rt = runtime_cls(self.hal, build=build)

    def note(self, kind, value):
        self.notes.append((self.mono_s, self.pump_now(), kind, str(value)))

    def pump_now(self):
        rt = self.rt if hasattr(self, "rt") else None
        if rt is not None:
            f = getattr(rt, "now_s", None)
            if f is not None:
                return f()
            ctl = getattr(rt, "controller", None)
            if ctl is not None and hasattr(ctl, "now_s"):
                return ctl.now_s()
        return self.mono_s

    def boot(self, mono_s):
        self.mono_s = mono_s
        return self.rt.boot() or b""

    def feed(self, mono_s, data):
        self.mono_s = mono_s
        return self.rt.feed(data) or b""

    def tick(self, mono_s):
        self.mono_s = mono_s
        return self.rt.tick() or b""

    def next_due_mono(self):
        """The runtime's next due time (pump time) translated to the emulator's clock."""
        due = self.rt.next_due_s()
        if due is None:
            return self.mono_s + 3600
        return self.mono_s + (due - self.pump_now())

    def noise_ppm(self):
        # Serial noise set by the firmware's test-build sim_fault("serial_noise") in SimHal.
        v = getattr(self.hal, "serial_noise_ppm", 0)
        return v if v else 0

    def take_notes(self):
        n = self.notes
        self.notes = []
        return n


class Supervisor:
    """Keeps a Session alive across injected power losses (flash.PowerLoss).

    ``factory(mono_s)`` builds a fresh Session over the same flash. A PowerLoss raised
    mid-write drops the runtime (RAM is gone) and reboots from flash, as flash.py asks.
    """

    def __init__(self, factory):
        self.factory = factory
        self.s = factory(0)
        self.reboots = 0

    def call(self, op, mono_s, data=b""):
        try:
            if op == "B":
                return self.s.boot(mono_s)
            if op == "F":
                return self.s.feed(mono_s, data)
            return self.s.tick(mono_s)
        except BaseException as e:  # noqa: B036 - PowerLoss derives from BaseException on purpose
            if type(e).__name__ != "PowerLoss":
                raise
        notes = self.s.take_notes()
        self.reboots += 1
        self.s = self.factory(mono_s)
        self.s.notes = notes
        self.s.note("power", "lost_mid_write_rebooting")
        return self.s.boot(mono_s)


def wire_step(sup, op, mono_s, data):
    """One bridge request -> one reply line (used by mpy_bridge.mjs; text only).

    Reply: ``<hex out> <next due mono> <pump now> <noise ppm> [<mono>:<pump>:<kind>:<value> ...]``.
    """
    import binascii

    out = sup.call(op, mono_s, data)
    s = sup.s
    parts = [
        binascii.hexlify(out).decode() if out else "-",
        str(s.next_due_mono()),
        str(s.pump_now()),
        str(s.noise_ppm()),
    ]
    for mono, pump, kind, value in s.take_notes():
        parts.append("%d:%d:%s:%s" % (mono, pump, kind, value.replace(" ", "_")))
    return " ".join(parts)


def make_js_flash(flash_mod, js):
    """Flash back-end over a JS module (Node ``fs`` on the --state DIR; MicroPython only).

    Same API and fault hooks as firmware/flash.py (it subclasses flash._Faults) and the
    same layout as ``flash.FileFlash`` (one file per name), so a --state DIR written under
    CPython boots under MicroPython and back. Bytes cross the JS boundary as hex text.
    """
    import binascii

    class JsFlash(flash_mod._Faults):
        def __init__(self):
            flash_mod._Faults.__init__(self)

        def read(self, name):
            h = js.read(name)
            return None if h is None else binascii.unhexlify(h)

        def read_at(self, name, offset, n):
            d = self.read(name)
            return None if d is None else d[offset:offset + n]

        def write(self, name, data):
            data, torn = self._pre_write(bytes(data))
            js.write(name, binascii.hexlify(data).decode())
            if torn:
                raise flash_mod.PowerLoss()

        def write_at(self, name, offset, data):
            data, torn = self._pre_write(bytes(data))
            js.write_at(name, offset, binascii.hexlify(data).decode())
            if torn:
                raise flash_mod.PowerLoss()

        def remove(self, name):
            js.remove(name)

        def names(self):
            s = js.names()
            return sorted(n for n in s.split("/") if n) if s else []

    return JsFlash()


def session_factory(runtime_mod, hal_mod, flash, build, model, serial, seed):
    """-> factory(mono_s) building Session(PumpRuntime(EmuHal(SimHal kwargs))) over ``flash``.

    The single place that knows SimHal's constructor, shared by both runtimes.
    """

    def factory(mono_s):
        kwargs = {"flash": flash, "model": model, "serial": serial, "seed": seed}
        return Session(runtime_mod.PumpRuntime, hal_mod.SimHal, kwargs, build, mono_s)

    return factory
