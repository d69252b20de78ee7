"""What the emulator asks of a runtime backend (LocalBackend here, MpyBackend under Node)."""
from pumpctl.emulator.rtc import save_clock


class BackendOps:
    """The three operations the emulator drives, on top of a backend's `_call(op, mono_s, data)`.

    With a --state DIR (`clock_state`), a jump of the pump clock against the emulator's (a
    warp, a time set) is written to the clock file at once: killing the process right after
    must not bring the pump back with the time before the jump (issue 8, defect 10)."""

    clock_state = None
    _clock_offset = None

    def boot(self, mono_s):
        return self._clock(mono_s, self._call("B", mono_s))

    def feed(self, mono_s, data):
        return self._clock(mono_s, self._call("F", mono_s, data))

    def tick(self, mono_s):
        return self._clock(mono_s, self._call("T", mono_s))

    def _clock(self, mono_s, out):
        off = self.pump_now - mono_s
        if off != self._clock_offset:
            if self._clock_offset is not None and self.clock_state:
                save_clock(self.clock_state, self.pump_now)
            self._clock_offset = off
        return out
