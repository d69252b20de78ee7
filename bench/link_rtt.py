"""make bench: command round trip over the emulator's pty (target <= 2 ms median) and the time
to download a 1 000-entry event log (target <= 1 s), on the CPython and MicroPython runtimes."""
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "host")]
from pumpctl import fwpath  # noqa: E402

fwpath.ensure()
from pumpctl.link.client import PumpClient  # noqa: E402
from pumpctl.emulator.server import Emulator  # noqa: E402


def measure(runtime):
    quiet = open(os.devnull, "w")
    emu = Emulator(runtime=runtime, port=0, speed=1, log=quiet, out=quiet)
    emu.start()
    try:
        with PumpClient(emu.pty_path, timeout_s=5.0) as pump:
            pump.hello()
            times = []
            for _ in range(200):
                t0 = time.perf_counter()
                pump.request("status")
                times.append(time.perf_counter() - t0)
            pump.login_dev_service()
            keys = {"clinician": "43" * 32}
            pump.request("provision", {"keys": keys})
            pump.login("clinician", bytes.fromhex(keys["clinician"]))
            while pump.request("log_read", {"first_seq": 0, "max_n": 1})["last_seq"] < 1000:
                pump.request("alarms_test")
            t0 = time.perf_counter()
            seq, entries = 0, []
            while True:
                page = pump.request("log_read", {"first_seq": seq, "max_n": 24})
                entries += page["entries"]
                if not page["entries"] or page["entries"][-1][0] >= page["last_seq"]:
                    break
                seq = page["entries"][-1][0] + 1
            dl = time.perf_counter() - t0
    finally:
        emu.stop()
    print("link[%s]: status round trip over pty median %.2f ms (p95 %.2f ms, n=200); "
          "log download %d entries in %.3f s"
          % (runtime, statistics.median(times) * 1e3, sorted(times)[189] * 1e3, len(entries), dl))


for rt in ("cpython", "micropython"):
    measure(rt)
