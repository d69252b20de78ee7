"""What the emulator asks of a runtime backend (LocalBackend here, MpyBackend under Node)."""


class BackendOps:
    """The three operations the emulator drives, on top of a backend's `_call(op, mono_s, data)`."""

    def boot(self, mono_s):
        return self._call("B", mono_s)

    def feed(self, mono_s, data):
        return self._call("F", mono_s, data)

    def tick(self, mono_s):
        return self._call("T", mono_s)
