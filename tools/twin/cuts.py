"""Power cuts at littlefs block operations on the board twin (`make twin-cuts [CUTS=1000]`).

littlefs's own power-loss model (littlefs runners/test_runner.c, bd/lfs_emubd): lose power at
block operation N (a program or an erase; that operation is dropped, everything before it is on
flash), reboot on the surviving image, and check invariants. The body is a pump in therapy
(1 mL/day, 20 mL) taking eight warps (60..899 s, drawn per try), a settings change and a status:
the checkpoint and event-log writes of those warps, and the recovery writes of the boot before
them, are the operations cut. N is drawn per try (seeded) from 1..OPS (what boot + body do uncut,
measured first). Tries are chained on one image: each boots from what the previous cut left, as
littlefs's own reentrant power-loss tests do. A cut point past what that try's body did is "not
reached" (counted apart). At the end the image must still mount in littlefs-python.

After each cut the twin restarts (reset cause PWRON, no RTC) and must: answer hello and status,
be infusing or alarm-stopped with a memory alarm (never silently lose therapy), keep its
reservoir estimate at or below the plant's truth, and have made no program onto unerased flash.
Prints one line per failure (seed, try, cut point, warps, what), progress every 100 tries and\nthe closing `cuts: N tried, N reached a cut, N failed ...`.
Exit status 1 on any failure.
"""
import argparse
import os
import random
import shutil
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [os.path.join(REPO, "host"), os.path.join(REPO, "hil")]

from pumpctl.twin.launcher import Twin, build_firmware  # noqa: E402

import dut as dutmod  # noqa: E402


REFILL_BELOW_NL = 5000000   # well above the 2 mL low-reservoir alarm: the chain never runs dry


class _Frames:
    def traffic(self, *_a):
        pass

    def note(self, *_a):
        pass


class _Target:
    caps = {"power_cycle"}
    name = "twin"
    reply_timeout_s = 30.0

    def __init__(self, twin):
        self.twin = twin
        self.port = twin.pty_path

    def open(self):
        return self.twin.pty_path

    def service_key(self, serial):
        return dutmod.auth.dev_service_key(serial)


def connect(twin, keys=None, deadline_s=20.0):
    """A Dut on the twin's port, retrying hello until deadline_s (the twin may be rebooting)."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            d = dutmod.Dut(_Target(twin), _Frames())
            break
        except (dutmod.PumpTimeout, dutmod.PumpPortError):
            if time.monotonic() >= end:
                raise
            time.sleep(0.1)
    if keys:
        d.keys = dict(keys)
    return d


def body(d, timeout_s=10.0, warps=(600,) * 8):
    # warps shorter than the 900 s checkpoint interval: a longer warp strokes more than the
    # "a checkpoint's worth was delivered" recovery assumes (a test-build-only burst; with 3600 s
    # warps the estimate ends ~31 uL above the plant's truth: docs/board.md)
    for i, w in enumerate(warps):
        d.request("sim_warp", {"seconds": w}, role="service", timeout_s=timeout_s)
        if i == 3:
            d.request("settings_set", {"low_res_nl": 3000000 + 1000 * w}, timeout_s=timeout_s)
    return d.status()


def prepare(base, build_dir):
    """A pump in therapy on a twin image; returns (keys, block operations of boot + body)."""
    twin = Twin(base, build_dir=build_dir, no_tcp=True, speed=1, log=open(os.devnull, "w"))
    twin.start()
    try:
        d = connect(twin)
        d.provision_keys()
        d.fill(20000000, 500)
        twin.control("withdraw_all")
        twin.control_sync("refill", 20000000)
        d.programme(dutmod.continuous(500000))
        d.request("sim_warp", {"seconds": 7200})
        keys = dict(d.keys)
        d.close()
    finally:
        twin.stop()
    # measure on a copy: boot (recovery writes) + body, uncut
    probe_dir = base + ".probe"
    shutil.copytree(base, probe_dir, ignore=shutil.ignore_patterns("ctl.fifo", "build"))
    twin = Twin(probe_dir, build_dir=None, no_tcp=True, speed=1, log=open(os.devnull, "w"))
    twin.build_dir = build_dir
    twin.start()
    try:
        d = connect(twin, keys)
        body(d)
        ops = twin.probe()["ops"]
        d.close()
    finally:
        twin.stop()
        shutil.rmtree(probe_dir, ignore_errors=True)
    return keys, max(1, ops)


def one_cut(base, build_dir, keys, cut, work, warps=(600,) * 8, chain=False):
    """Boot the prepared pump with power dying at block operation `cut` (counted from main.py's
    start: boot recovery writes, then the body's), reboot, check. Returns None, "not reached"
    (the body did fewer operations) or what failed. chain: cut the same image again and again
    (littlefs's reentrant style: each cut starts from what the previous one left)."""
    state = base
    if not chain:
        state = os.path.join(work, "cut")
        shutil.rmtree(state, ignore_errors=True)
        shutil.copytree(base, state, ignore=shutil.ignore_patterns("ctl.fifo", "build"))
    twin = Twin(state, build_dir=None, no_tcp=True, speed=1, log=open(os.devnull, "w"), cut_at=cut)
    twin.build_dir = build_dir
    cuts_before = len(twin.truth()["cuts"])
    twin.start()
    try:
        try:
            d = connect(twin, keys, 5.0)
            body(d, timeout_s=2.0, warps=warps)
            d.close()
        except (dutmod.PumpTimeout, dutmod.PumpPortError):
            pass
        end = time.monotonic() + 20
        while time.monotonic() < end and not (len(twin.truth()["cuts"]) > cuts_before and twin.boots >= 2):
            time.sleep(0.05)
        if len(twin.truth()["cuts"]) <= cuts_before:
            return "not reached"
        d = connect(twin, keys)
        st = d.status()
        truth = twin.truth()
        if st["reservoir_nl"] > truth["reservoir_nl"]:
            return "estimate %d above truth %d" % (st["reservoir_nl"], truth["reservoir_nl"])
        if st["state"] != "infusing" and "memory_critical" not in st["alarms"]:
            return "state %s alarms %s after the cut" % (st["state"], st["alarms"])
        nor = twin.probe()["nor_violations"]
        if nor:
            return "%d programs onto unerased flash" % nor
        if chain and st["reservoir_nl"] < REFILL_BELOW_NL:
            # a chain of hundreds of tries outlasts one fill: the clinician refills (pump + plant)
            d.fill(20000000, 500)
            twin.control("withdraw_all")
            twin.control_sync("refill", 20000000)
        d.close()
        return None
    except Exception as e:  # noqa: BLE001 - every failure is reported with its cut point
        return "%s: %s" % (type(e).__name__, e)
    finally:
        twin.stop()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=9)
    args = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="twin-cuts-")
    try:
        build_dir = build_firmware(os.path.join(work, "build"))
        base = os.path.join(work, "base")
        keys, ops = prepare(base, build_dir)
        rng = random.Random(args.seed)
        print("cuts: boot + body do about %d block operations; %d cuts chained on one image (seed %d)"
              % (ops, args.count, args.seed), flush=True)
        failed = reached = 0
        t0 = time.monotonic()
        for i in range(args.count):
            warps = tuple(rng.randrange(60, 900) for _ in range(8))
            cut = rng.randrange(1, ops + 1)
            why = one_cut(base, build_dir, keys, cut, work, warps, chain=True)
            if why == "not reached":
                continue
            reached += 1
            if why:
                failed += 1
                print("FAILED seed=%d try=%d cut=%d warps=%s: %s" % (args.seed, i, cut, warps, why), flush=True)
            if (i + 1) % 100 == 0:
                print("cuts: %d tried, %d reached, %d failed (%.0f s)" % (i + 1, reached, failed, time.monotonic() - t0),
                      flush=True)
        from littlefs import LittleFS

        fs = LittleFS(block_size=4096, block_count=352, prog_size=256, mount=False)
        with open(os.path.join(base, "flash.img"), "rb") as f:
            fs.context.buffer = bytearray(f.read())
        fs.mount()   # the image after every cut still mounts in an independent littlefs
        names = sorted(fs.listdir("/pump"))
        print("cuts: %d tried, %d reached a cut, %d failed in %.0f s; image mounts with littlefs-python, /pump: %s"
              % (args.count, reached, failed, time.monotonic() - t0, ", ".join(names)))
        return 1 if failed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
