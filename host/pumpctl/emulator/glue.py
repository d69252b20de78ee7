"""Emulator glue: the firmware runtime + simulated HAL as the emulator front end drives it.

This one file runs unchanged on CPython (in-process, ``--runtime cpython``) and on
MicroPython (inside ``mpy_bridge.mjs``, ``--runtime micropython``), so both runtimes are
driven by the same code and host tools cannot tell them apart (issue 3). Firmware rules
apply here (design.md): ints only, no ``/``, only modules both runtimes have.

The emulator owns the clock: before each call it passes the pump-monotonic seconds it
sampled from its virtual clock, and ``EmuHal.monotonic_s()`` returns that value.
"""


class Session:
    """One powered-on pump: PumpRuntime over SimHal (firmware/runtime.py, firmware/hal_sim.py).

    SimHal's clock only moves through ``set_monotonic_s``: the emulator's virtual clock.
    ``start_t_s`` is SimHal's battery-backed RTC at mono 0 (pump-epoch seconds), which the
    controller trusts at boot. Buzzer and LED changes arrive through SimHal's on_output.
    """

    def __init__(self, runtime_mod, hal_mod, flash, build, model, serial, seed, start_t_s, mono_s=0):
        self.notes = []
        self.rt = None
        self.hal = hal_mod.SimHal(start_t_s=start_t_s, flash=flash, seed=seed, on_output=self.note)
        self.hal.set_monotonic_s(mono_s)
        self.rt = runtime_mod.PumpRuntime(self.hal, model_id=model, serial=serial, build=build)

    def note(self, kind, value):
        self.notes.append((self.hal.monotonic_s(), self.pump_now(), kind, str(value)))

    def pump_now(self):
        ctl = getattr(self.rt, "ctl", None)
        if ctl is not None:
            return ctl.now_s()
        return self.hal.monotonic_s()

    def boot(self, mono_s):
        self.hal.set_monotonic_s(mono_s)
        return self.rt.boot() or b""

    def feed(self, mono_s, data):
        self.hal.set_monotonic_s(mono_s)
        return self.rt.feed(data) or b""

    def tick(self, mono_s):
        self.hal.set_monotonic_s(mono_s)
        return self.rt.tick() or b""

    def next_due_mono(self):
        """The runtime's next due time (pump time) translated to the emulator's clock."""
        return self.hal.monotonic_s() + (self.rt.next_due_s() - self.pump_now())

    def noise_ppm(self):
        # Serial noise set by the firmware's test-build sim_fault("serial_noise") (SimHal.inject).
        v = getattr(self.hal, "noise_ppm", 0)
        return v if v else 0

    def take_notes(self):
        n = self.notes
        self.notes = []
        return n


def _exc_text(e):
    """Traceback text on both runtimes (CPython: traceback; MicroPython: sys.print_exception)."""
    import sys

    try:
        import traceback

        return traceback.format_exc()
    except ImportError:
        import io

        buf = io.StringIO()
        sys.print_exception(e, buf)
        return buf.getvalue()


class Supervisor:
    """Keeps a Session alive across resets, like the board's supply and watchdog would.

    ``factory(mono_s)`` builds a fresh Session over the same flash. A PowerLoss raised
    mid-write drops the runtime (RAM is gone) and reboots from flash, as flash.py asks.
    An unexpected firmware exception is logged with its traceback and handled as the
    board's watchdog would (issue 4: machine.WDT): reset and boot from flash. A crash
    while booting is not retried more than MAX_BOOT_CRASHES times in a row (raised).
    """

    MAX_BOOT_CRASHES = 3

    def __init__(self, factory):
        self.factory = factory
        self.s = factory(0)
        self.reboots = 0
        self.crashes = 0

    def call(self, op, mono_s, data=b""):
        try:
            if op == "B":
                out = self.s.boot(mono_s)
                self.crashes = 0
                return out
            if op == "F":
                return self.s.feed(mono_s, data)
            return self.s.tick(mono_s)
        except BaseException as e:  # PowerLoss derives from BaseException on purpose
            if type(e).__name__ == "PowerLoss":
                why = ("after a factory reset" if e.args and e.args[0] == "factory reset"
                       else "after power loss mid-write") + "; booting from flash"
            elif isinstance(e, Exception) and self.crashes < self.MAX_BOOT_CRASHES:
                self.crashes += 1
                why = "by watchdog after firmware exception: " + _exc_text(e).strip().replace("\n", " | ")
            else:
                raise
        notes = self.s.take_notes()
        notes.append((mono_s, self.s.pump_now(), "reset", why))
        self.reboots += 1
        self.s = self.factory(mono_s)
        self.s.notes = notes + self.s.notes
        return self.call("B", mono_s)


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
        parts.append("%d:%d:%s:%s" % (mono, pump, kind, value.replace(" ", "\x1f")))
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


def session_factory(runtime_mod, hal_mod, flash, build, model, serial, seed, start_t_s):
    """-> factory(mono_s): a fresh Session over ``flash`` (first boot, or reboot after power loss).

    The RTC keeps running through a reboot: it is ``start_t_s`` + the emulator's mono clock.
    """

    def factory(mono_s):
        return Session(runtime_mod, hal_mod, flash, build, model, serial, seed, start_t_s, mono_s)

    return factory
