"""Heap the firmware costs when its .mpy files run from a ROMFS instead of the filesystem (issue 9,
"Budgets": peak <= 96 KiB; docs/design.md, RAM).

A module imported from a .mpy file on littlefs is copied into the heap (bytecode, constant
strings); from a ROMFS (MicroPython >= 1.25, `vfs.VfsRom`, memory-mapped flash) its bytecode runs
in place. The WebAssembly port has no VfsRom, so this runs on native MicroPython 1.29 (the twin's
interpreter, 64-bit unix port: objects are about twice the Pico's, so compare the two rows, not
the absolute figures with the 96 KiB goal).

Method: the build/*.mpy files (less hal_pico, which needs `machine`) go into a ROMFS image built
as `make romfs` builds it (tools/mpy/build_firmware.py --romfs: mpremote's own writer); the image is read into a bytes object
and mounted before the first reading (on a board it is flash, outside the heap). The same
script then runs with sys.path on build/ (files) and on /rom: modules imported in dependency
order, then boot + fill + night-ramp programme (bench/scenario_budget.py), then DAYS simulated
days one stroke tick at a time with the GC off around each tick, as bench/mpy_budgets.mjs does.
Every figure is gc.mem_alloc() minus the reading before the first import.

usage: python bench/native_romfs.py [--days N]     (needs `make firmware` first)
"""
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(REPO, "build")
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")

SCRIPT = r'''
import gc, os, sys, vfs
mode, img_path, build, bench, flash_dir, days = sys.argv[1:7]
days = int(days)
ORDER = ("compat", "jsonstrict", "protocol", "pumpmodel", "schedule", "delivery", "alarms", "battery",
         "endoflife", "fsm", "flash", "store", "eventlog", "auth", "clinical", "argspec", "commands",
         "commands_admin", "dispatch", "controller", "link", "runtime", "hal_sim")
if mode == "romfs":
    with open(img_path, "rb") as f:
        img = f.read()
    vfs.mount(vfs.VfsRom(img), "/rom")
    sys.path[:] = ["/rom", bench]
else:
    sys.path[:] = [build, bench]
gc.collect()
a0 = gc.mem_alloc()
for m in ORDER:
    __import__(m)
    gc.collect()
mods = gc.mem_alloc() - a0
from flash import FileFlash
import scenario_budget as sc
for step in sc.setup_steps("night_ramp", FileFlash(flash_dir)):
    gc.collect()
    step()
gc.collect()
boot = gc.mem_alloc() - a0
peak = live_max = 0
while sc.sim_days() < days:
    gc.collect()
    live = gc.mem_alloc() - a0
    a, _saved = sc.step_alloc()
    live_max = max(live_max, live)
    peak = max(peak, live + a)
print(mode, mods, boot, live_max, peak)
'''


def build_image(tmp):
    sys.path.insert(0, os.path.join(REPO, "tools", "mpy"))
    from build_firmware import romfs_image

    img = romfs_image(BUILD, skip=("hal_pico.mpy",))   # the board HAL needs `machine`
    path = os.path.join(tmp, "rom.img")
    with open(path, "wb") as f:
        f.write(img)
    return path, len(img)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    days = int(argv[argv.index("--days") + 1]) if "--days" in argv else 7
    if not os.path.isfile(os.path.join(BUILD, "controller.mpy")):
        raise SystemExit("native_romfs: no build/*.mpy: run `make firmware` first")
    with tempfile.TemporaryDirectory() as tmp:
        img_path, img_len = build_image(tmp)
        script = os.path.join(tmp, "romfs_ram_mpy.py")
        with open(script, "w") as f:
            f.write(SCRIPT)
        rows = []
        for mode in ("files", "romfs"):
            flash_dir = os.path.join(tmp, "flash_" + mode)
            os.makedirs(flash_dir)
            out = subprocess.run([MICROPYTHON, script, mode, img_path, BUILD, os.path.join(REPO, "bench"),
                                  flash_dir, str(days)], capture_output=True, text=True, check=True).stdout
            rows.append(out.split())
    print("Firmware heap, .mpy from files vs from a ROMFS (native MicroPython 1.29, 64-bit unix port;"
          " ROMFS image %d B):" % img_len)
    print("  source   modules B   after boot+fill+programme B   live max B   peak over %d days B" % days)
    for mode, mods, boot, live, peak in rows:
        print("  %-7s %10s   %27s   %10s   %s" % (mode, mods, boot, live, peak))
    return 0


if __name__ == "__main__":
    sys.exit(main())
