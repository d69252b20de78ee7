"""PumpRuntime: controller + link behind a byte stream. Driven by the board's main loop
and by the emulator alike (docs/design.md, "Runtime interface")."""
from controller import Controller
from link import Link


class PumpRuntime:
    def __init__(self, hal, model_id=20, serial="SIM00001", build="test"):
        self.hal = hal
        self.ctl = Controller(hal, model_id, serial, build)
        self.build = build
        self.link = None
        self._due_s = 0

    def boot(self):
        self.ctl.boot()
        # The keyring is restored by boot; the link must hold that object.
        self.link = Link(self.ctl.command, self.ctl.keyring, self.hal.random_bytes, self.hal.monotonic_s,
                         self.build, self.hal.flash)
        return self._after()

    def feed(self, data):
        link = self.link
        if link is None:   # not booted yet: nothing can be answered
            return b""
        out = link.feed(data)
        return out + self._after() if self.ctl.pushed or out else self._after()

    def tick(self):
        """Steady state: two small-int additions and a compare; allocates nothing."""
        if self.hal.monotonic_s() + self.ctl.clock_offset_s < self._due_s:
            return b""
        if self.ctl.reboot_pending:
            from flash import PowerLoss
            raise PowerLoss("factory reset")   # the runner reboots the firmware, as after a power cut
        self.ctl.advance(self.ctl.now_s())
        return self._after()

    def refresh(self):
        """After driving the controller directly (not through feed): recompute the next due
        time and collect pushed events as frames."""
        return self._after()

    def next_due_s(self):
        return self._due_s

    def _after(self):
        if self.ctl.reboot_pending:
            self._due_s = 0           # the next tick reboots
            return self._events()
        due = self.ctl.next_due_s()
        self._due_s = due if due is not None else self.ctl.t_s + 3600
        return self._events()

    def _events(self):
        if not self.ctl.pushed:
            return b""
        out = b""
        link = self.link
        if link is None:
            return out
        for ev, d, t in self.ctl.pushed:
            out += link.event(ev, d, t)
        self.ctl.pushed = []
        return out
