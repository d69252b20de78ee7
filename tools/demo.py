"""`make demo`: an emulated pump programmed and read end to end with pumpctl.

Starts `pumpctl emulate` (TCP, flash kept in a temporary directory), then runs
the commands a clinician would type, echoing each one: provision keys, sync the clock,
fill the reservoir, programme examples/night_ramp.toml, warp 30 days, refill, and read
status, alarms and the log; writes the plot PNG and ends with the session report
(build/demo/report.html, and report.pdf when Chromium is installed). Keys live in a temporary key file
(PUMPCTL_KEYS), never in ~/.config. The emulator is stopped at the end, whatever happens.
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.environ.get("DEMO_DIR", os.path.join(REPO, "build", "demo"))
PUMPCTL = [sys.executable, "-m", "pumpctl"]


def banner(text):
    print("\n\033[1m== %s\033[0m" % text if sys.stdout.isatty() else "\n== %s" % text, flush=True)


def pumpctl(*args, capture=False):
    print("$ pumpctl %s" % " ".join(shlex.quote(a) for a in args), flush=True)
    extra = []
    if RUNTIME == "twin" and args[:1] == ("sim",):
        extra = ["--timeout", "300"]   # the twin pulses every stroke of a warp through the pins
    r = subprocess.run(PUMPCTL + extra + list(args), cwd=REPO, text=True, capture_output=capture, timeout=400)
    if r.returncode != 0:
        if capture:
            sys.stderr.write(r.stdout + r.stderr)
        raise SystemExit("demo: 'pumpctl %s' failed with exit code %d" % (" ".join(args), r.returncode))
    return r.stdout if capture else None


RUNTIME = "cpython"  # `make demo RUNTIME=twin`: the board twin (docs/board.md) instead of the emulator


def plant(tmp, op, arg=None):
    """Board twin only: tell the plant what the clinician physically did (side channel FIFO)."""
    if RUNTIME != "twin":
        return
    with open(os.path.join(tmp, "flash", "ctl.fifo"), "w") as f:
        f.write(json.dumps({"op": op, "arg": arg}) + "\n")
    time.sleep(0.5)   # served on the twin's next waiting poll (100 ms loop)


def plant_refill(tmp, added_ml):
    plant(tmp, "withdraw_all")
    plant(tmp, "refill", int(Decimal(added_ml) * 1000000))


def start_emulator(tmp, log_path):
    cmd = PUMPCTL + ["emulate", "--no-pty", "--port", "0", "--serial", "DEMO0001",
                     "--state", os.path.join(tmp, "flash"), "--runtime", RUNTIME]
    print("$ pumpctl emulate --no-pty --port 0 --serial DEMO0001 --state %s/flash --runtime %s  (log: %s)"
          % (tmp, RUNTIME, os.path.relpath(log_path, REPO)), flush=True)
    log = open(log_path, "w")
    emu = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = emu.stdout.readline()
        if not line:
            break
        print("  " + line.rstrip(), flush=True)
        if line.startswith("tcp: "):
            return emu, line.split()[1]
    emu.kill()
    raise SystemExit("demo: the emulator did not start; see %s" % log_path)


def main(argv=None):
    global RUNTIME
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--runtime"] and len(argv) > 1:
        RUNTIME = argv[1]
    os.makedirs(OUT_DIR, exist_ok=True)
    png = os.path.join(OUT_DIR, "night_ramp.png")
    report = os.path.join(OUT_DIR, "report.html")
    report_pdf = os.path.join(OUT_DIR, "report.pdf")
    with tempfile.TemporaryDirectory(prefix="pumpctl-demo-") as tmp:
        os.environ["PUMPCTL_KEYS"] = os.path.join(tmp, "keys.toml")
        banner("Start an emulated pump (the real firmware behind TCP and a virtual clock)")
        emu, url = start_emulator(tmp, os.path.join(OUT_DIR, "emulator.log"))
        os.environ["PUMPCTL_PORT"] = url
        try:
            banner("Who is there?")
            pumpctl("info")
            banner("Provision clinician and patient keys (service role; test build key)")
            pumpctl("provision")
            pumpctl("time", "sync")
            banner("Fill the empty reservoir: 20 mL at 2000 mcg/mL")
            pumpctl("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--yes")
            plant_refill(tmp, "20")
            banner("Programme the labeling's night-time schedule (+20 % effective 22:00, back at 07:00)")
            pumpctl("programme", "examples/night_ramp.toml", "--yes")
            banner("Thirty days later ...")
            pumpctl("sim", "warp", "30d")
            left = json.loads(pumpctl("status", "--json", capture=True))["reservoir_nl"]
            withdrawn = str((Decimal(left) / 1000000).quantize(Decimal("0.01")))
            banner("Refill visit: withdraw what is left (%s mL measured), add 20 mL" % withdrawn)
            pumpctl("refill", "--withdrawn-ml", withdrawn, "--added-ml", "20", "--yes")
            plant_refill(tmp, "20")
            banner("Status, alarms and the last log entries")
            pumpctl("status")
            pumpctl("alarms")
            pumpctl("log", "--last", "10")
            banner("Plot: programmed rate over 24 h and the reservoir forecast")
            pumpctl("plot", "-o", os.path.relpath(png, REPO))
            st = json.loads(pumpctl("status", "--json", capture=True))
            banner("A missed refill visit: warp to the forecast low-reservoir date; the alarm fires on time")
            pumpctl("sim", "warp", "%ds" % (st["alarm_t_s"] - st["t_s"]))
            pumpctl("alarms")
            banner("The clinician refills; the alarm clears only because its cause is gone")
            left = json.loads(pumpctl("status", "--json", capture=True))["reservoir_nl"]
            withdrawn = str((Decimal(left) / 1000000).quantize(Decimal("0.01")))
            pumpctl("refill", "--withdrawn-ml", withdrawn, "--added-ml", "20", "--yes")   # the pump logs the check
            plant_refill(tmp, "20")
            pumpctl("alarms", "clear")
            pumpctl("status")
            if RUNTIME == "twin":
                banner("The plant's truth (side channel, not the pump's word): strokes it counted on the pins")
                with open(os.path.join(tmp, "flash", "plant", "strokes.csv")) as f:
                    vols = [int(line.split(",")[1]) for line in f if "," in line]
                st = json.loads(pumpctl("status", "--json", capture=True))
                print("plant: %d strokes, %d nL delivered; pump: %d strokes" % (len(vols), sum(vols), st["strokes"]))
            banner("Session report for the patient's chart (one printable HTML file; PDF when Chromium is here)")
            pdf = ["--pdf", os.path.relpath(report_pdf, REPO)] if shutil.which("chromium") else []
            pumpctl("report", "-o", os.path.relpath(report, REPO), *pdf)
        finally:
            emu.terminate()
            try:
                emu.wait(10)
            except subprocess.TimeoutExpired:
                emu.kill()
    banner("Done")
    print("Plot: %s\nReport: %s (open it in a browser; docs/report.md)\nNext: make test (everything CI runs); "
          "docs/pumpctl.md for every verb." % (os.path.relpath(png, REPO), os.path.relpath(report, REPO)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
