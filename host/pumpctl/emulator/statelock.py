"""One running emulator or board twin per --state DIR: an exclusive flock on DIR/.lock, held for
the process's life and dropped by the kernel when it dies (so a restart after kill -9, the power cut
of the HIL and new-user trials, is never refused). No imports from the rest of pumpctl: the
emulator (server.py) and the twin (twin/launcher.py) both use it."""
import os


class StateBusy(RuntimeError):
    """--state DIR is held by another running emulator: two pumps would write one flash."""

    def __init__(self, state, pid):
        super().__init__("--state %s is in use by another running emulator%s: two pumps would share one flash"
                         % (state, " (pid %s)" % pid if pid else ""))
        self.fix = ("stop that emulator first%s, or give another --state DIR"
                    % (" (kill %s)" % pid if pid else ""))


def lock_state(state):
    """Hold an exclusive flock on DIR/.lock for the emulator's life; the kernel drops it when the
    process dies, so a restart after `kill -9` (a power cut) is never refused. Returns the fd."""
    import fcntl

    os.makedirs(state, exist_ok=True)
    fd = os.open(os.path.join(state, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = os.read(fd, 32).decode(errors="replace").strip()
        os.close(fd)
        raise StateBusy(state, pid) from None
    os.ftruncate(fd, 0)
    os.write(fd, b"%d\n" % os.getpid())
    return fd
