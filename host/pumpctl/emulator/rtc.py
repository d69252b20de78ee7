"""The emulator's battery-backed RTC: the pump time kept in the --state DIR across restarts."""
import os
import time

PUMP_EPOCH_UNIX = 1704067200  # compat.PUMP_EPOCH_UNIX: design.md "pump epoch 2024-01-01T00:00:00Z"
CLOCK_FILE = ".emu_clock"  # in --state DIR; dot names are not flash files (flash.FileFlash.names)


def _clock_file(state):
    return os.path.join(state, CLOCK_FILE) if state else None


def rtc_start(state):
    """SimHal's RTC at mono 0: the pump time saved at the last stop plus the real time the
    emulator was off (a battery-backed RTC keeps running); a new pump starts at real UTC now."""
    now_unix = int(time.time())
    path = _clock_file(state)
    if path:
        try:
            with open(path) as f:
                pump_t_s, unix_s = (int(x) for x in f.read().split()[:2])
            return pump_t_s + max(0, now_unix - unix_s)
        except (OSError, ValueError):
            pass
    return now_unix - PUMP_EPOCH_UNIX


def save_clock(state, pump_now):
    path = _clock_file(state)
    if not path or not os.path.isdir(state):
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (pump_now, int(time.time())))
    os.replace(tmp, path)
