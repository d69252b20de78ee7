"""The device under test, as the HIL scenarios see it: one pump behind the host client.

``Dut`` wraps ``pumpctl.link.client.PumpClient`` (no second protocol implementation): it logs in
with whichever role a command needs, waits for pushed events with deadlines
(``expect_event``), never with bare sleeps, and knows what its target can do
(``caps``: ``warp``, ``faults``, ``reset``, ``power_cycle``). The targets (``conftest.py`` picks one):

* ``EmuTarget``: ``host/pumpctl/emulator.py`` in this process, CPython or MicroPython runtime,
  flash in a per-test directory; a power cycle is stop + restart on the same flash (the
  emulator's battery-backed RTC keeps running, as it does on the pump);
* ``BoardTarget``: a serial port or URL (``/dev/ttyACM0``, ``rfc2217://host:port``);
  a power cycle needs a command in the rig file (e.g. a switchable USB hub). A board keeps
  its flash between tests, so on test builds the fixture calls ``Dut.factory_reset()``
  (``sim_reset``) before each test: every test starts from a factory-fresh pump.

Every byte in both directions goes to a per-test frame log (``FrameLog``).
"""
import io
import os
import shlex
import subprocess
import time

from pumpctl.link.client import PumpClient, PumpPortError, PumpReplyError, PumpTimeout

import auth  # firmware module: on sys.path once pumpctl.link.client is imported
import protocol
from argspec import CLOCK_MIN_T_S
from compat import PUMP_EPOCH_UNIX, hexlify

PICO_VID_PID = (0x2E8A, 0x0005)  # Raspberry Pi Pico running MicroPython (USB-CDC)
REPLY_TIMEOUT_S = 10.0  # per request; the MicroPython emulator answers in milliseconds
REBOOT_DEADLINE_S = 30.0  # a Pico resets and its USB-CDC port comes back within a few seconds
RESET_REPLY_S = 2.0  # sim_reset is never answered (the pump reboots first): how long to wait for it
BOOT_EVENT_S = 2.0  # after sim_reset, how long to wait for the `boot` event on the same connection
RECONNECT_POLL_S = 0.25  # pause between attempts to open a port that is not there yet
WHO_CAN = {  # the role the fixture logs in with for each role-restricted command (protocol.COMMANDS)
    "patient_bolus": "patient",
    "provision": "service",
    "sim_warp": "service",
    "sim_fault": "service",
    "sim_reset": "service",
}
DAY_S = 86400
AUTO = "auto"  # request(role=AUTO): log in with the role the command needs


class FrameLog:
    """Per-test log of the serial traffic: one line per frame, direction and host time."""

    def __init__(self, path):
        self.path = path
        self._f = open(path, "w", encoding="utf-8")
        self._t0 = time.monotonic()
        self._partial = {"tx": b"", "rx": b""}

    def traffic(self, direction, data):
        buf = self._partial[direction] + data
        lines = buf.split(b"\n")
        self._partial[direction] = lines.pop()
        for line in lines:
            text = "".join(chr(b) if 32 <= b < 127 else "\\x%02x" % b for b in line)
            self.note("%s %s" % (">" if direction == "tx" else "<", text))

    def note(self, text):
        if self._f.closed:
            return
        self._f.write("%9.3f %s\n" % (time.monotonic() - self._t0, text))
        self._f.flush()

    def close(self):
        for d in ("tx", "rx"):
            if self._partial[d]:
                self.traffic(d, b"\n")
        self._f.close()


# ---- targets -----------------------------------------------------------------------------------
class EmuTarget:
    """A fresh emulated pump per test (issue 4: ``--target emu`` / ``--target mpy``)."""

    def __init__(self, runtime, state_dir, log_path, build="test", serial="HIL00001", model=20):
        self.runtime = runtime
        self.name = "emu" if runtime == "cpython" else "mpy"
        self.opts = dict(runtime=runtime, state=state_dir, build=build, serial=serial, model=model)
        self.log_path = log_path
        self._log = open(log_path, "w", encoding="utf-8")
        self.emu = None
        self.has_rtc = True  # SimHal keeps a battery-backed RTC; the emulator keeps it across restarts
        self.caps = {"power_cycle"} | ({"warp", "faults", "reset"} if build == "test" else set())

    def open(self):
        from pumpctl.emulator.server import Emulator

        self.emu = Emulator(log=self._log, out=io.StringIO(), **self.opts).start()
        return self.emu.pty_path

    @property
    def port(self):
        return self.emu.pty_path if self.emu else None

    def service_key(self, serial):
        return auth.dev_service_key(serial)

    def power_cycle(self):
        """Cut power (RAM state lost; flash and RTC survive) and power up again."""
        self.emu.stop()
        return self.open()

    def close(self):
        if self.emu is not None:
            self.emu.stop()
            self.emu = None
        self._log.close()


# The twin's clock runs at real time in the HIL suite; host computing time is not pump time
# (host/pumpctl/twin/board/vclock.py), so a warp pulsing days of strokes through the pins does not
# shift the scenarios' "just before the forecast" instants.
TWIN_SPEED = 1


class TwinTarget:
    """The board twin (issue 9, ``--target twin``): the flashed Pico image on native MicroPython
    with a pump plant (host/pumpctl/twin). A fresh blank Pico per test; no battery-backed RTC (a
    Pico has none); a power cycle is a SIGKILL and restart on the same littlefs image. The plant
    is told about refills (``on_request``) and is the oracle in hil/test_twin_*.py (``truth()``)."""

    def __init__(self, state_dir, log_path, build_dir, build="test", serial="PICO0000A001", **twin_opts):
        self.name = "twin"
        self._log_path = log_path
        self.reply_timeout_s = 60.0   # a warp of days pulses every stroke through the pins
        self._log = open(log_path, "w", encoding="utf-8")
        self.state_dir, self.build_dir, self.build, self.serial = state_dir, build_dir, build, serial
        self.twin_opts = twin_opts
        self.twin = None
        self.has_rtc = False
        self.caps = {"power_cycle"}
        self._staged = {}
        self._heard = 0

    def open(self):
        from pumpctl.twin.launcher import Twin

        opts = dict(speed=TWIN_SPEED, **self.twin_opts)
        self.twin = Twin(self.state_dir, build_dir=self.build_dir, build=self.build, serial=self.serial,
                         no_tcp=True, log=self._log, **opts).start()
        return self.twin.pty_path

    @property
    def port(self):
        return self.twin.pty_path if self.twin else None

    @property
    def log_path(self):
        """The twin's log, with the alarm sounds the plant heard appended as `pump: buzzer <name>`
        lines (the emulators' HAL log format), once the current sound has finished."""
        if self.twin is not None and not self._log.closed:
            time.sleep(0.6 / self.twin.speed)   # long enough to hear both tones of a two-tone alarm
            for t_ms, name in self.twin.heard()[self._heard:]:
                self._log.write("plant t_ms=%d pump: buzzer %s\n" % (t_ms, name))
                self._heard += 1
            self._log.flush()
        return self._log_path

    def service_key(self, serial):
        return auth.dev_service_key(serial)

    def power_cycle(self):
        return self.twin.power_cycle()

    def truth(self):
        return self.twin.truth()

    def on_request(self, cmd, args, res):
        """A committed refill happens to the plant too: aspirate the reservoir, add the new drug."""
        if cmd == "refill_stage":
            self._staged[res.get("hash")] = dict(args or {})
        elif cmd == "refill_commit":
            st = self._staged.pop((args or {}).get("hash"), None)
            if st is not None:
                self.twin.control("withdraw_all")
                self.twin.control_sync("refill", int(st.get("added_nl", 0)))

    def close(self):
        if self.twin is not None:
            self.twin.stop()
            self.twin = None
        self._log.close()


class BoardTarget:
    """A real pump board on a serial port or pyserial URL; settings from the rig file entry."""

    def __init__(self, port, rig=None):
        self.rig = rig or {}
        self.port = resolve_port(port)
        self.name = "board"
        self.log_path = None
        self.has_rtc = bool(self.rig.get("rtc"))  # rig file: rtc = true if the board keeps time unpowered
        self.caps = set()  # warp/faults/reset come from hello (test build); power_cycle from the rig file
        if self.rig.get("power_cycle_cmd"):
            self.caps.add("power_cycle")

    def open(self):
        return self.port

    def service_key(self, serial):
        key = self.rig.get("service_key")
        return key if key else auth.dev_service_key(serial)

    def power_cycle(self):
        cmd = self.rig["power_cycle_cmd"].format(port=self.port)
        subprocess.run(shlex.split(cmd), check=True, timeout=60)
        return self.port

    def close(self):
        pass


def resolve_port(port):
    """``auto``: the one USB device with the Pico's VID:PID; anything else is used as given."""
    if port != "auto":
        return port
    from serial.tools import list_ports

    found = [p.device for p in list_ports.comports() if (p.vid, p.pid) == PICO_VID_PID]
    if len(found) != 1:
        raise RuntimeError("--target auto: expected one device with VID:PID %04X:%04X, found %s"
                           % (PICO_VID_PID + (found or "none",)))
    return found[0]


# ---- the DUT -----------------------------------------------------------------------------------
class Dut:
    """One pump under test. ``request`` logs in as needed; ``expect_event`` waits with a deadline."""

    def __init__(self, target, frames, keys=None):
        self.target = target
        self.frames = frames
        self.keys = dict(keys or {})
        self.client = None
        self.info = None
        self.caps = set()
        self._connect(target.open())
        self.keys.setdefault("service", target.service_key(self.info["serial"]))
        self.caps = set(target.caps)
        if self.info.get("build") == "test":
            self.caps |= {"warp", "faults", "reset"}
        else:
            self.caps -= {"warp", "faults", "reset"}

    # -- connection
    def _connect(self, port, deadline_s=0.0):
        """Open `port` and say hello; retry until deadline_s (a board re-enumerating after a reset)."""
        end = time.monotonic() + deadline_s
        while True:
            try:
                self.client = PumpClient(port, timeout_s=getattr(self.target, "reply_timeout_s", REPLY_TIMEOUT_S),
                                         on_traffic=self.frames.traffic)
                self.info = self.client.hello()
                break
            except (PumpPortError, PumpTimeout) as e:
                self.close()
                if time.monotonic() >= end:
                    raise
                self.frames.note("# %s not answering yet: %s" % (port, e.cause))
                time.sleep(RECONNECT_POLL_S)
                # A labgrid place's port may move while the board re-enumerates (hil/lab.py).
                port = getattr(self.target, "port", None) or port
        self.frames.note("# connected to %s: %r" % (port, self.info))

    @property
    def port(self):
        return self.target.port

    def close(self):
        if self.client is not None:
            self.client.close()
            self.client = None

    def power_cycle(self):
        """Power off and on (rig or emulator). Events queued before are dropped with the link."""
        self.frames.note("# power cycle")
        self.close()
        self._connect(self.target.power_cycle(), REBOOT_DEADLINE_S)

    def reconnect(self):
        """New connection to the same pump (after it rebooted by itself, e.g. sim_fault power_loss)."""
        self.close()
        self._connect(self.target.port, REBOOT_DEADLINE_S)

    def factory_reset(self):
        """Test builds: erase the pump's state, event log and keys (``sim_reset``) and wait until
        it has booted again. Returns ``{"boot": <boot event or None>, "t_before": pump t_s,
        "t_after": pump t_s, "elapsed_s": host seconds, "clock_restored": bool}``.

        The pump answers, then reboots on its next tick (a board's USB port goes away and
        comes back, sometimes before the reply leaves); the emulators push ``boot`` on the same pty,
        a board usually sends it before the port is open again, so the fresh state is checked
        from the log instead: exactly one entry, ``boot``. Only the dev service key is left;
        other roles are provisioned again on demand (``login``). The pump clock must go on
        from where it was: if the board's RTC did not survive its reset, the host sets the
        clock back to the time before plus the time that passed (``time_set``, logged)."""
        self.frames.note("# factory reset (sim_reset)")
        t_before = self.client.request("time_get")["t_s"]
        t0 = time.monotonic()
        try:
            res = self.request("sim_reset", timeout_s=RESET_REPLY_S)
            if res != {"rebooting": True}:
                raise AssertionError("sim_reset answered %r" % (res,))
        except (PumpTimeout, PumpPortError):
            pass   # a board may drop its USB port before the reply leaves
        boot = None
        try:
            boot = self.client.wait_event("boot", BOOT_EVENT_S)
        except (PumpTimeout, PumpPortError):
            pass
        self.reconnect()
        if boot is None:
            try:
                boot = self.client.wait_event("boot", 0.0)
            except PumpTimeout:
                pass
        self.keys = {"service": auth.dev_service_key(self.info["serial"])}
        self.login("service")   # read the log as service: a clinician login would provision a key
        entries = self.log()
        if [e[2] for e in entries] != ["boot"] or entries[0][0] != 1:
            raise AssertionError("sim_reset left an event log behind: %r" % (entries[:5],))
        t_after = self.client.request("time_get")["t_s"]
        elapsed_s = time.monotonic() - t0
        restored = False
        if t_after < t_before:
            t_after = t_before + int(elapsed_s)
            self.frames.note("# pump clock went back over the reset: setting it to %d" % t_after)
            self.request("time_set", {"t_s": t_after}, role="service")
            restored = True
        self.frames.note("# factory reset done: boot event %r, clock %d -> %d" % (boot, t_before, t_after))
        return {"boot": boot, "t_before": t_before, "t_after": t_after, "elapsed_s": elapsed_s,
                "clock_restored": restored}

    # -- sessions and requests
    def provision_keys(self, roles=("clinician", "patient")):
        """Random per-test keys for `roles`, provisioned with the service role (kept in self.keys)."""
        new = {r: hexlify(os.urandom(16)) for r in roles if r not in self.keys}
        if new:
            self.request("provision", {"keys": new}, role="service")
            self.keys.update(new)

    def login(self, role):
        if self.client.role != role:
            if role not in self.keys:
                self.provision_keys((role,))
            try:
                self.client.login(role, self.keys[role])
            except PumpReplyError as e:
                if e.code != "E_AUTH_NO_KEY":
                    raise
                import pytest

                pytest.skip("no %s key on this pump (%s build): put %s_key in the rig file"
                            % (role, self.info.get("build"), role))

    def request(self, cmd, args=None, role=AUTO, timeout_s=None):
        """Result dict of `cmd`; logs in with `role` first (AUTO: the command's usual role;
        None: no session at all, logging out if one is open)."""
        role = _role_for(cmd) if role is AUTO else role
        if role is not None:
            self.login(role)
        elif self.client.role is not None:
            self.client.logout()
        res = self.client.request(cmd, args, timeout_s=timeout_s)
        hook = getattr(self.target, "on_request", None)   # the twin's plant sees refills
        if hook is not None:
            hook(cmd, args, res)
        return res

    def refused(self, cmd, args=None, role=AUTO):
        """Send `cmd` expecting a refusal; returns the error code (fails if it was accepted)."""
        try:
            res = self.request(cmd, args, role)
        except PumpReplyError as e:
            self.frames.note("# refused as expected: %s %s" % (e.code, e.msg))
            return e.code
        raise AssertionError("%s %r was accepted: %r" % (cmd, args, res))

    def raw(self, data, deadline_s=REPLY_TIMEOUT_S):
        """Write raw bytes; return the reply to them (a frame the pump could not read: id null)."""
        self.client.send_raw(data)
        return self.client._wait_reply(None, "raw bytes", deadline_s)

    def send_frame(self, frame):
        """Send a request dict exactly as given (forged/replayed frames); returns the reply dict."""
        return self.client.send_frame(frame)

    # -- events
    def expect_event(self, event, deadline_s=REPLY_TIMEOUT_S, **match):
        """Wait up to deadline_s for pushed event `event` whose data has the `match` items."""
        end = time.monotonic() + deadline_s
        skipped = []
        try:
            while True:
                ev = self.client.wait_event(event, max(0.0, end - time.monotonic()))
                if all(ev.get("d", {}).get(k) == v for k, v in match.items()):
                    self.frames.note("# expected event %s %r at t_s=%s" % (event, ev.get("d"), ev.get("t_s")))
                    return ev
                skipped.append(ev)
        except PumpTimeout as e:
            raise AssertionError("no %s event with %r within %s s (other %s events: %r; %s)"
                                 % (event, match, deadline_s, event, skipped, e.cause)) from None
        finally:
            self.client._events.extendleft(reversed(skipped))  # non-matching ones stay queued, in order

    def events(self, name=None):
        """Events received up to now (a status round trip flushes what the pump already sent)."""
        self.client.request("time_get")
        evs = self.client.events()
        return [e for e in evs if name is None or e.get("ev") == name]

    # -- conveniences over the firmware's commands (commands.py, commands_admin.py)
    def status(self):
        return self.client.request("status")

    def warp(self, seconds):
        """Test builds: move the pump clock forward (sim_warp); returns its result."""
        return self.request("sim_warp", {"seconds": int(seconds)})

    def warp_to(self, t_s):
        """Warp so the pump's clock reads t_s (must be in the future)."""
        now = self.client.request("time_get")["t_s"]
        if t_s <= now:
            raise AssertionError("warp_to(%d): pump time is already %d" % (t_s, now))
        return self.warp(t_s - now)

    def fault(self, fault, **args):
        args["fault"] = fault
        return self.request("sim_fault", args)

    def ensure_clock(self):
        """A never-set clock (pump time before argspec.CLOCK_MIN_T_S: a fresh Pico or twin) is set to
        this computer's time, as a clinician's `pumpctl time sync` would; a set clock is left alone."""
        if self.client.request("time_get")["t_s"] < CLOCK_MIN_T_S:
            self.request("time_set", {"t_s": int(time.time()) - PUMP_EPOCH_UNIX}, role="clinician")

    def set_clock_midnight(self, days_ahead=1, utc_offset_s=0):
        """Set local midnight `days_ahead` days after the pump's current date; returns that t_s."""
        self.request("settings_set", {"utc_offset_s": utc_offset_s})
        now = self.client.request("time_get")["t_s"]
        if now < CLOCK_MIN_T_S:
            # A board whose clock was never set (a Pico's RTC restarts in 2021; the twin's too) reads
            # pump time near 0, which the pump refuses to be set to (argspec CLOCK_MIN_T_S): start
            # from this computer's date, as `pumpctl time sync` would.
            now = int(time.time()) - PUMP_EPOCH_UNIX
        local_day = (now + utc_offset_s) // DAY_S
        t = (local_day + days_ahead) * DAY_S - utc_offset_s
        self.request("time_set", {"t_s": t}, role="clinician")
        return t

    def fill(self, added_nl, conc_ug_ml, withdrawn_nl=None):
        """Refill (stage + commit); withdrawn defaults to the pump's own estimate. Returns the stage result."""
        if withdrawn_nl is None:
            withdrawn_nl = self.status()["reservoir_nl"]
        st = self.request("refill_stage", {"added_nl": added_nl, "conc_ug_ml": conc_ug_ml,
                                           "withdrawn_nl": withdrawn_nl})
        self.request("refill_commit", {"hash": st["hash"]})
        return st

    def programme(self, prog):
        st = self.request("programme_stage", {"programme": prog})
        res = self.request("programme_commit", {"hash": st["hash"]})
        res["stage"] = st
        return res

    def log(self, first_seq=0):
        """Every event-log entry from first_seq on, as [seq, t_s, name, a, b] (pages through log_read)."""
        out = []
        seq = first_seq
        while True:
            page = self.request("log_read", {"first_seq": seq}, role=self._log_role())
            out.extend(page["entries"])
            if not page["entries"] or page["entries"][-1][0] >= page["last_seq"]:
                return out
            seq = page["entries"][-1][0] + 1

    def _log_role(self):
        return self.client.role if self.client.role in ("clinician", "service") else "clinician"

    def therapy(self):
        """What defines the running therapy: compared before/after refused input."""
        st = self.status()
        prog = self.client.request("programme_get")
        return {"state": st["state"], "mode": st["mode"], "daily_ng": st["daily_ng"],
                "conc_ug_ml": st["conc_ug_ml"], "programme": prog["programme"], "alarms": st["alarms"]}


def _role_for(cmd):
    roles = protocol.COMMANDS.get(cmd, (0, ()))[1]
    if not roles:
        return None
    return WHO_CAN.get(cmd, "clinician" if "clinician" in roles else roles[0])


# ---- scenario set-up shared by the test files ---------------------------------------------------
def continuous(dose_ng_day):
    """A simple continuous programme (schedule.py format)."""
    return {"mode": "continuous", "dose_ng_day": dose_ng_day}


def start_therapy(dut, prog, fill_nl, conc_ug_ml, midnight=True):
    """Keys, clock at a local midnight (UTC offset 0), a fill, then `prog` committed.

    Returns the pump time right after the commit (from status)."""
    dut.provision_keys()
    if midnight:
        dut.set_clock_midnight()
    else:
        dut.ensure_clock()
    dut.fill(fill_nl, conc_ug_ml)
    res = dut.programme(prog)
    st = dut.status()
    if st["state"] != "infusing":
        raise AssertionError("therapy did not start: %r after commit %r" % (st, res))
    return st
