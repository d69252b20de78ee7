"""Board twin entry point, run by native MicroPython (unix port) as the Pico's ROM + rp2 _boot.py:

    micropython -X heapsize=<Pico heap in words>w twin_boot.py <config.json>

1. loads the simulated board (time, select, machine shims; the plant) while the host
   filesystem is still mounted, and opens the side-channel files (plant log, strokes CSV,
   control FIFO) and the flash image;
2. mounts littlefs on the image at "/" as rp2's _boot.py does (format if it does not mount),
   after copying `install` files into it (`make flash`'s job) when asked;
3. runs /boot.py if present, then /main.py as __main__ (sys.path as on rp2: '', '/lib'), with
   stdin/stdout = the USB CDC line (a pty held by the host launcher).

A reset (machine.reset, watchdog) or a power cut (block-device operation `cut_at`) notes its
cause on the side channel and kills this process with SIGKILL, so nothing else runs after it,
as on silicon; the host launcher restarts the twin on the same flash image.
"""
import json
import os
import sys

import vfs

CFG = json.load(open(sys.argv[1]))
sys.path[:] = [CFG["board_dir"]]

import vclock  # noqa: E402

vclock.setup(CFG["speed_num"], CFG["speed_den"], CFG.get("motor_time", False))
import time  # noqa: E402,F401 - the shim, before the firmware can import anything
import select  # noqa: E402
import machine  # noqa: E402
import micropython  # noqa: E402

if vclock.MOTOR_TIME:
    time.sleep_us = time._motor_sleep_us

import blockdev  # noqa: E402
import plant as plantmod  # noqa: E402

LOG = open(CFG["log"], "a")
CSV = open(CFG["strokes_csv"], "a")
CTL = open(CFG["ctl_fifo"], "r+b")
PLANT = plantmod.Plant(CFG["plant"], LOG, CSV)
_ctl_poll = select._rselect.poll()
_ctl_poll.register(CTL, select.POLLIN)
_dying = [False]


def die(kind, detail):
    """The end of this boot: note it, then SIGKILL ourselves (no finally/except runs after)."""
    if _dying[0]:
        return
    _dying[0] = True
    rtc = machine.RTC()._unix_s() if machine._rtc_set_us or machine._rtc_base_s != 1609459200 else None
    LOG.write('{"t_ms": %d, "%s": %s, "rtc_unix_s": %s, "strokes": %d, "ops": %d, "nor_violations": %d}\n' % (
        PLANT.t_ms(), kind, plantmod._json(detail), plantmod._json(rtc), PLANT.strokes, BDEV.ops,
        BDEV.nor_violations))
    os.system("kill -9 $PPID")
    while True:  # SIGKILL is on its way
        vclock.real_sleep_ms(1000)


def _reset(cause):
    die("reset", "wdt" if cause == machine.WDT_RESET else "pwron")


def _wdt_expired():
    vclock.wdt_deadline_us = 0
    die("reset", "wdt_timeout")


def _cut(n):
    die("cut", n)


BDEV = blockdev.FileBlockDev(CFG["image"], CFG["block_count"], CFG.get("cut_at") or 0, _cut)
machine.bus = PLANT
machine.reset_hook = _reset
machine._cause = CFG["reset_cause"]
machine._uid = bytes(CFG["unique_id"])
if CFG.get("rtc_unix_s"):
    machine._rtc_base_s = CFG["rtc_unix_s"]
vclock.on_wdt = _wdt_expired


def service():
    """Side-channel commands: one JSON object a line ({"op": ..., "arg": ...})."""
    while _ctl_poll.poll(0):
        line = CTL.readline()
        if not line:
            return
        try:
            cmd = json.loads(line)
            op, arg = cmd["op"], cmd.get("arg")
        except (ValueError, KeyError):
            PLANT.note("bad_ctl", repr(line))
            continue
        if op == "hang":
            # the firmware is stuck (no more feeding): only the watchdog gets us out
            PLANT.note("hang", 1)
            while True:
                vclock.virt_us += 1000
                vclock.now_us()
        elif op == "arm_cut":
            BDEV.cut_at = arg   # power dies at block operation `arg` (counted from main.py's start)
            PLANT.note("arm_cut", arg)
        elif op == "mem":
            # free heap after a collect, the largest block one allocation can get (binary search
            # on bytearray: free bytes are not contiguous), the allocator's peak since boot
            before = gc.mem_alloc()
            gc.collect()
            free = gc.mem_free()
            lo, hi = 0, free
            while lo < hi:
                mid = (lo + hi + 1) // 2
                try:
                    b = bytearray(mid)
                    del b
                    lo = mid
                except MemoryError:
                    hi = mid - 1
            gc.collect()
            LOG.write('{"t_ms": %d, "mem": %s, "mem_free": %d, "mem_alloc": %d, "largest_free": %d, "alloc_before_collect": %d, '
                      '"locked_ticks": %d, "locked_fail": %d}\n' % (
                          PLANT.t_ms(), plantmod._json(arg), free, gc.mem_alloc(), lo, before,
                          LOCKED[0], LOCKED[1]))
        elif op == "truth":
            LOG.write('{"t_ms": %d, "truth": %s, "reservoir_pl": %d, "strokes": %d, "steps": %d, "stalled_steps": %d, '
                      '"tones": %d, "ops": %d, "nor_violations": %d, "mem_free": %d, "mem_alloc": %d}\n' % (
                          PLANT.t_ms(), plantmod._json(arg), PLANT.reservoir_pl, PLANT.strokes, PLANT.steps,
                          PLANT.stalled_steps, PLANT.tones, BDEV.ops, BDEV.nor_violations, gc.mem_free(),
                          gc.mem_alloc()))
        elif not PLANT.command(op, arg):
            PLANT.note("bad_ctl", op)


select.service = service


def _hangup():
    # the USB line's other end (the launcher's pty master) is closed: the launcher died without
    # stopping us; do not linger as an orphan
    die("hangup", 1)


select.on_hangup = _hangup

import gc  # noqa: E402

# --- rp2 _boot.py: mount littlefs at / (format on failure) ----------------------------------------
try:
    FS = vfs.VfsLfs2(BDEV, progsize=256)
except OSError:
    vfs.VfsLfs2.mkfs(BDEV, progsize=256)
    FS = vfs.VfsLfs2(BDEV, progsize=256)
install = CFG.get("install") or []
if install:  # `make flash`: old code out, the build in; /pump (therapy state) kept
    vfs.mount(FS, "/flash")
    for name in os.listdir("/flash"):
        if name.endswith(".py") or name.endswith(".mpy"):
            os.remove("/flash/" + name)
    for src, dst in install:
        d = dst.rsplit("/", 1)[0] if "/" in dst else ""
        if d:
            try:
                os.mkdir("/flash/" + d)
            except OSError:
                pass
        with open(src, "rb") as fi:
            data = fi.read()
        with open("/flash/" + dst, "wb") as fo:
            fo.write(data)
    vfs.umount("/flash")
vfs.umount("/")
vfs.mount(FS, "/")
os.chdir("/")
sys.path[:] = ["", "/lib"]
sys.argv[:] = []
LOG.write('{"t_ms": %d, "boot": %d, "reset_cause": %d}\n' % (PLANT.t_ms(), CFG["boot_no"], CFG["reset_cause"]))
BDEV.armed = True
LOCKED = [0, 0]   # steady-state ticks run under heap_lock, and how many tried to allocate
if CFG.get("heap_lock_ticks"):
    # Prove the steady-state tick allocates nothing (docs/design.md): when the runtime is not
    # due, run its tick with the heap locked (an allocation raises MemoryError). Due ticks
    # (strokes, events) allocate by design and run unlocked.
    import runtime as _rtmod

    _tick = _rtmod.PumpRuntime.tick

    def _locked_tick(self):
        if self.hal.monotonic_s() + self.ctl.clock_offset_s < self._due_s:
            micropython.heap_lock()
            try:
                out = _tick(self)
            except MemoryError:
                micropython.heap_unlock()
                LOCKED[1] += 1
                return b""
            micropython.heap_unlock()
            LOCKED[0] += 1
            return out
        return _tick(self)

    _rtmod.PumpRuntime.tick = _locked_tick
gc.collect()
micropython.mem_info() if CFG.get("mem_info") else None
try:
    os.stat("boot.py")
    exec(open("boot.py").read(), {"__name__": "__main__"})
except OSError:
    pass
exec(open("main.py").read(), {"__name__": "__main__", "__file__": "main.py"})
# main() returned (safe-mode jumper): rp2 would run the REPL; the twin idles on the line.
LOG.write('{"t_ms": %d, "main_returned": 1}\n' % PLANT.t_ms())
while True:
    service()
    vclock.real_sleep_ms(50)
