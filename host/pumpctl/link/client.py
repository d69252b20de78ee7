"""Host client for the pump's serial protocol (docs/protocol.md). CPython only.

    with PumpClient("socket://127.0.0.1:7700") as pump:
        info = pump.hello()
        pump.login("clinician", key)
        pump.request("stop")

Every read has a timeout; errors name the cause and the fix. Frames, CRC and MACs
come from the firmware's own modules (protocol.py, auth.py), not a second copy.
"""
import collections
import time

from pumpctl import fwpath

fwpath.ensure()

import auth  # noqa: E402  (firmware module, on sys.path via fwpath)
import protocol  # noqa: E402
from compat import hexlify, unhexlify  # noqa: E402

POLL_S = 0.05  # serial read timeout per poll; request deadlines are enforced on top
MAX_EVENTS = 10000  # events kept if nobody reads them (oldest dropped, counted)


class PumpClientError(Exception):
    """Base class: every client error has a cause and a fix (both strings)."""

    def __init__(self, cause, fix=""):
        super().__init__(cause + (" -- fix: " + fix if fix else ""))
        self.cause = cause
        self.fix = fix


class PumpTimeout(PumpClientError):
    pass


class PumpPortError(PumpClientError):
    pass


class PumpURLError(PumpPortError):
    """The port is not a device path or a URL scheme pyserial knows (a usage mistake, not the cable)."""


class PumpProtocolError(PumpClientError):
    """Wrong firmware or protocol version on the other end."""


class PumpReplyError(PumpClientError):
    """The pump refused the request: code (e.g. "E_DOSE_RANGE"), n (stable number), msg."""

    def __init__(self, code, n, msg, cmd=None):
        self.code = code
        self.n = n
        self.msg = msg
        self.cmd = cmd
        where = "%s: " % cmd if cmd else ""
        super().__init__("%s%s (%s): %s" % (where, code, n, user_units(msg)), _FIXES.get(code, ""))
        self.json_extra = {"pump_message": msg}
        self.args = (code, n, msg)


_FIXES = {
    "E_FRAME_CRC": "line noise or a wrong baud rate damaged the frame; retry (nothing changed)",
    "E_FRAME_NO_CRC": "the pump received a line without a CRC; retry (nothing changed)",
    "E_FRAME_OVERSIZE": "request too long (max 8192 bytes per line); split it",
    "E_AUTH_REQUIRED": "log in first: pumpctl login --role clinician",
    "E_AUTH_EXPIRED": "the session timed out; log in again",
    "E_AUTH_LOCKED": "wait for the lockout to end, then log in with the right key",
    "E_AUTH_BAD_MAC": "wrong key for this pump and role",
    "E_AUTH_NO_KEY": "provision a key for this role (service role: pumpctl provision)",
    "E_ROLE": "log in with a role allowed to use this command",
    "E_TEST_BUILD_ONLY": "simulation commands need a test build (emulator or HIL firmware)",
    "E_HASH_MISMATCH": "stage again and commit the hash the pump returned",
    "E_NO_STAGED": "stage first, then commit",
    "E_FRAME_JSON": "the request was not strict JSON (a tool bug or a damaged line); retry, report it if it repeats",
    "E_FRAME_FIELDS": "the request frame lacked id/cmd/args (a tool bug); update pumpctl to match the firmware",
    "E_UNKNOWN_CMD": "this firmware has no such command: update the firmware or use the matching pumpctl version",
    "E_INTERNAL": "a firmware fault (nothing changed); note the time, download the log (pumpctl log) and report it",
    "E_AUTH_REPLAY": "a stale or repeated request: run the command again (a new session is opened)",
    "E_AUTH_NO_CHALLENGE": "the login challenge expired: run the command again",
    "E_BAD_ARGS": "a value is outside what the pump accepts (named above): correct it and run again",
    "E_STATE": "not possible in the pump's current state: check pumpctl status (e.g. fill it, resume, end the bolus)",
    "E_DOSE_RANGE": "prescribe a daily dose within the pump's range (named above)",
    "E_FLOW_RANGE": "at this concentration the rate is outside the pump's flow range: change the dose or the "
                    "concentration (pumpctl dilution)",
    "E_CONC": "use 500 or 2000 mcg/mL, or a dilution up to 2000 mcg/mL",
    "E_OVERFILL": "add less: the reservoir holds the model's capacity minus what remains (pumpctl status)",
    "E_STEP_OVERLAP": "move the effect times apart or shorten lead_min so the change windows do not overlap",
    "E_STEP_COUNT": "give between 1 and the model's maximum number of flex steps",
    "E_BOLUS_RANGE": "choose a smaller bolus dose or a longer duration (pumpctl bolus --dose-mcg D --minutes M)",
    "E_THRESHOLD_RANGE": "give a low-reservoir threshold between 0.5 and 5.0 mL",
    "E_VOLUME": "check the volumes: more cannot be withdrawn than the reservoir holds (pumpctl status)",
    "E_FLASH": "the pump could not store the change (nothing changed); retry once, then contact service: the "
               "pump's flash may be failing",
    "E_TITRATION": "increase by at most the titration cap per 24 h (the limit is named above); wait or prescribe less",
    "E_REFILL_INCREASE": "at refill increase by at most the maintenance cap (named above), or wait 4 h",
    "E_FIRST_24H": "no increase within 24 h of the first programme: keep the dose, increase from the next day",
    "E_CLINICAL_LIMIT": "prescribe within the patient profile's limits, or correct the profile (pumpctl profile)",
    "E_NOT_PROVISIONED": "provision the pump first: pumpctl provision (service role)",
    "E_PATIENT_BOLUS_LOCKOUT": "wait until the lockout interval has passed (pumpctl settings shows it)",
    "E_PATIENT_BOLUS_MAX": "the 24-hour maximum of patient boluses is reached: wait, or a clinician reviews the dose",
    "E_CLOCK": "set the pump clock: pumpctl time sync",
    "E_CONFIRM_REQUIRED": "confirm the > 2x change with --confirm-ratio PCT (the percentage the pump states)",
    "E_OVERRIDE_REQUIRED": "give the clinical reason with --override-reason TEXT (logged on the pump)",
}


_UNITS = (("ng/day", 1000, "mcg/day"), ("nL/day", 1000000, "mL/day"), ("ng", 1000, "mcg"), ("nL", 1000000, "mL"))


def user_units(text):
    """A pump message in the user's units: "2500000 ng/day" -> "2500 mcg/day", "1..2 nL" -> "0.000001..0.000002 mL".
    Exact decimal division (issue 10, defect 6: limits were shown in ng/nL to a user who wrote mcg/mL)."""
    import re

    def conv(m):
        for unit, div, new in _UNITS:
            if m.group(3) == unit:
                nums = [_dec(int(m.group(1)), div)] + ([_dec(int(m.group(2)), div)] if m.group(2) else [])
                return "%s %s" % ("..".join(nums), new)
        return m.group(0)

    return re.sub(r"(?<![\w.])(-?\d+)(?:\.\.(-?\d+))? ?(ng/day|nL/day|ng|nL)\b", conv, text or "")


def _dec(n, div):
    from decimal import Decimal

    return format((Decimal(n) / Decimal(div)).normalize(), "f")


def _has_port(rest):
    """True if 'HOST:PORT[/...][?...]' (a pyserial socket/rfc2217 URL after '://') names a port."""
    hostport = rest.split("/", 1)[0].split("?", 1)[0]
    return hostport.rpartition(":")[2].isdigit()


def open_error(url, exc):
    """Translate an exception from opening a port into cause + fix."""
    text = str(exc)
    low = text.lower()
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("socket", "rfc2217") and not _has_port(rest):
        # pyserial reports a missing port as a TypeError about None ('<=' not supported ...)
        return PumpURLError("%s has no port number" % url,
                            "write %s://HOST:PORT, e.g. %s://127.0.0.1:7700 (pumpctl emulate prints its URL)"
                            % (scheme, scheme))
    if isinstance(exc, ValueError) and "protocol" in low and "not known" in low:
        return PumpURLError(
            "%s is not a port: pyserial knows no URL scheme %r" % (url, url.partition("://")[0]),
            "give a device (/dev/ttyACM0, COM3) or a URL socket://HOST:PORT, rfc2217://HOST:PORT, loop://, "
            "spy://DEVICE",
        )
    if ("name or service not known" in low or "errno -2]" in low or "errno -3]" in low or "errno -5]" in low
            or "nodename nor servname" in low or "getaddrinfo" in low):
        return PumpPortError(
            "cannot resolve the host name in %s (%s)" % (url, text),
            "check the host name (typo? DNS? VPN?) or use an IP address: socket://192.0.2.10:7700",
        )
    if "timed out" in low:
        return PumpPortError(
            "no answer from %s while connecting (%s)" % (url, text),
            "check the host is up and the port is open (firewall), or that the rig is powered",
        )
    if "permission denied" in low or "errno 13" in low:
        return PumpPortError(
            "no permission to open %s (%s)" % (url, text),
            "add yourself to the serial group: sudo usermod -aG dialout $USER, then log out and in",
        )
    if "busy" in low or "errno 16" in low or "could not exclusively lock" in low:
        return PumpPortError(
            "%s is in use by another program (%s)" % (url, text),
            "close the other terminal/mpremote/pumpctl session using the port",
        )
    if "connection refused" in low or "errno 111" in low:
        return PumpPortError(
            "nothing is listening at %s (%s)" % (url, text),
            "start the emulator (pumpctl emulate) or check host:port",
        )
    if "no such file" in low or "errno 2" in low or "could not open port" in low:
        return PumpPortError(
            "port %s not found (%s)" % (url, text),
            "check the cable and --port / PUMPCTL_PORT; 'pumpctl ports' lists candidates",
        )
    return PumpPortError("cannot open %s: %s" % (url, text), "check --port / PUMPCTL_PORT")


class PumpClient:
    """A connection to one pump.

    url: any pyserial URL or device (``/dev/ttyACM0``, ``socket://h:p``, ``loop://``,
    ``spy://...``), or an already-open serial-like object (read/write/in_waiting).
    timeout_s: default deadline for a reply. on_traffic(direction, data) sees every
    byte sent ("tx") and received ("rx"), for logs and traces.
    """

    def __init__(self, url, timeout_s=2.0, on_traffic=None):
        self.url = url if isinstance(url, str) else repr(url)
        self.timeout_s = timeout_s
        self.on_traffic = on_traffic
        self._ser = None
        self._dec = protocol.Decoder()
        self._next_id = 0
        self._skey = None
        self.role = None
        self._sq = 0
        self._events = collections.deque()
        self.events_dropped = 0
        self.last_event_seq = None
        self.event_gaps = []  # (expected seq, received seq) when events were missed
        self.pump_restarts = 0  # event seq went back to 1
        self.line_errors = []  # FrameErrors decoding what the pump sent us
        self.stray_bytes = 0
        self.last_sent = None  # the last request frame (dict) written
        if isinstance(url, str):
            import serial

            try:
                self._ser = serial.serial_for_url(url, baudrate=115200, timeout=min(POLL_S, timeout_s))
            except (serial.SerialException, OSError, ValueError) as e:
                raise open_error(url, e) from e
        else:
            self._ser = url
        # Terminate any partial line a previous user left in the pump's buffer.
        self._write(b"\n")

    # -- lifetime
    def close(self):
        ser, self._ser = self._ser, None
        if ser is not None:
            try:
                ser.close()
            except Exception:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- raw I/O
    def _write(self, data):
        if self._ser is None:
            raise PumpPortError("connection is closed", "open a new PumpClient")
        if self.on_traffic:
            self.on_traffic("tx", data)
        try:
            self._ser.write(data)
            flush = getattr(self._ser, "flush", None)
            if flush:
                flush()
        except Exception as e:
            raise PumpPortError("write to %s failed: %s" % (self.url, e), "check the cable/connection") from e

    def _read_some(self):
        if self._ser is None:
            raise PumpPortError("connection is closed", "open a new PumpClient")
        try:
            data = self._ser.read(1)
            if data:
                n = self._ser.in_waiting
                if n:
                    data += self._ser.read(n)
        except Exception as e:
            raise PumpPortError("read from %s failed: %s" % (self.url, e), "check the cable/connection") from e
        if data and self.on_traffic:
            self.on_traffic("rx", data)
        return data

    def send_raw(self, data):
        """Write bytes as they are (tests of the pump's bad-input handling)."""
        self._write(data)

    def _pump_items(self, deadline):
        """Read until a complete frame arrives or the deadline passes.

        Events are queued; replies are returned (possibly an empty list after events).
        """
        while True:
            data = self._read_some()
            if data:
                items = self._dec.feed(data)
                out = []
                bad = False
                for item in items:
                    if isinstance(item, protocol.FrameError):
                        self.line_errors.append(item)
                        bad = True
                    elif "ev" in item and "seq" in item:
                        self._queue_event(item)
                    elif "cmd" in item:
                        continue  # our own request echoed (loop://, half-duplex adapters)
                    else:
                        out.append(item)
                if bad:
                    self.stray_bytes += len(data)
                if items:
                    return out
            if time.monotonic() >= deadline:
                return []

    def _queue_event(self, ev):
        seq = ev.get("seq")
        last = self.last_event_seq
        if isinstance(seq, int) and last is not None and seq != last + 1:
            if seq == 1:
                self.pump_restarts += 1
            else:
                self.event_gaps.append((last + 1, seq))
        if isinstance(seq, int):
            self.last_event_seq = seq
        if len(self._events) >= MAX_EVENTS:
            self._events.popleft()
            self.events_dropped += 1
        self._events.append(ev)

    # -- requests
    def _new_id(self):
        self._next_id = self._next_id + 1 if self._next_id < protocol.MAX_ID else 1
        return self._next_id

    def build_frame(self, cmd, args=None, sign=True):
        """The request dict that request() would send (signed if a session is open)."""
        frame = {"id": self._new_id(), "cmd": cmd, "args": args or {}}
        if sign and self._skey is not None and cmd not in ("auth_begin", "auth"):
            self._sq += 1
            frame["sq"] = self._sq
            frame = auth.sign(self._skey, frame)
        return frame

    def send_frame(self, frame, timeout_s=None):
        """Send a request dict as is; return the pump's reply dict (ok or not), never raise on refusal."""
        self.last_sent = frame
        self._write(protocol.encode(frame))
        return self._wait_reply(frame.get("id"), frame.get("cmd"), timeout_s)

    def _wait_reply(self, req_id, cmd, timeout_s):
        t = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + t
        while True:
            for item in self._pump_items(deadline):
                rid = item.get("id")
                if rid == req_id and "ok" in item:
                    return item
                if rid is None and item.get("ok") is False:
                    # The pump could not read a frame (CRC, noise, oversize): ours, most likely.
                    return item
            if time.monotonic() >= deadline:
                raise self._timeout(cmd, t)

    def _timeout(self, cmd, t):
        if self.stray_bytes:
            return PumpTimeout(
                "no reply to %r within %s s; received %d bytes that are not pump frames" % (cmd, t, self.stray_bytes),
                "the device is not running pump firmware (a MicroPython REPL?) or the baud rate is wrong; "
                "flash the firmware (make flash) and check --port",
            )
        return PumpTimeout(
            "no reply to %r within %s s from %s" % (cmd, t, self.url),
            "check the pump is powered and running, the port/URL is right, and no other program uses it",
        )

    def request(self, cmd, args=None, timeout_s=None):
        """Send a command; return its result dict. Raises PumpReplyError, PumpTimeout."""
        reply = self.send_frame(self.build_frame(cmd, args), timeout_s)
        if reply.get("ok") is True:
            res = reply.get("res")
            return res if isinstance(res, dict) else {}
        err = reply.get("err") or {}
        code = err.get("code", "E_INTERNAL")
        if code in ("E_AUTH_EXPIRED", "E_AUTH_REQUIRED") and self._skey is not None:
            self._skey = None
            self.role = None
        raise PumpReplyError(code, err.get("n"), err.get("msg", ""), cmd)

    # -- session
    def login(self, role, key):
        """Challenge-response login; afterwards every request is MACed. key: bytes or hex."""
        if isinstance(key, str):
            key = unhexlify(key.strip())
        self._skey = None
        self.role = None
        nonce = self.request("auth_begin", {"role": role})["nonce"]
        mac = hexlify(auth.login_mac(key, nonce, role))
        res = self.request("auth", {"role": role, "mac": mac})
        self._skey = auth.session_key(key, nonce)
        self._sq = 0
        self.role = role
        return res

    def login_dev_service(self, serial=None):
        """Test builds only: log in as service with the key derived from the serial number
        (auth.DEV_SECRET, docs/protocol.md). A clinical build answers E_AUTH_NO_KEY or E_AUTH_BAD_MAC."""
        if serial is None:
            serial = self.request("hello")["serial"]
        return self.login(auth.SERVICE, auth.dev_service_key(serial))

    def logout(self):
        try:
            return self.request("logout")
        finally:
            self._skey = None
            self.role = None

    def hello(self):
        """hello, checking the pump speaks our protocol version."""
        res = self.request("hello")
        if "protocol" not in res:
            # every firmware's hello carries `protocol`; a reply without it answered someone else's request
            # with our id (the twin's USB line and an rfc2217 rig relay one line to every client)
            raise PumpProtocolError(
                "the reply to 'hello' is not a hello reply (no protocol field, fields: %s): another program is "
                "probably talking to the pump on this port" % ", ".join(sorted(res)[:6]),
                "close the other program using the port (another pumpctl, mpremote, a terminal) and retry",
            )
        if res.get("protocol") != protocol.PROTOCOL_VERSION:
            raise PumpProtocolError(
                "pump speaks protocol %r, this pumpctl speaks %d" % (res.get("protocol"), protocol.PROTOCOL_VERSION),
                "install the pumpctl version matching the firmware, or update the firmware",
            )
        return res

    # -- events
    def _waiting(self):
        try:
            return self._ser.in_waiting if self._ser is not None else 0
        except Exception:
            return 0

    def poll(self, duration_s=0.0):
        """Read what arrives within duration_s (0: only what is already waiting).

        Events are queued; returns any replies that nobody waited for.
        """
        end = time.monotonic() + duration_s
        out = []
        while True:
            if duration_s <= 0 and not self._waiting():
                return out
            out.extend(self._pump_items(end))
            if duration_s > 0 and time.monotonic() >= end:
                return out

    def events(self):
        """Pushed events received so far (oldest first); clears the queue."""
        self.poll(0.0)
        out = list(self._events)
        self._events.clear()
        return out

    def wait_event(self, name, deadline_s=None):
        """Wait up to deadline_s seconds (default timeout_s) for event `name`; return it.

        Earlier events stay queued in order; raises PumpTimeout naming what did arrive.
        """
        t = self.timeout_s if deadline_s is None else deadline_s
        end = time.monotonic() + t
        while True:
            for i, ev in enumerate(self._events):
                if ev.get("ev") == name:
                    del self._events[i]
                    return ev
            if time.monotonic() >= end:
                seen = sorted(set(e.get("ev") for e in self._events))
                raise PumpTimeout(
                    "event %r not received within %s s (queued: %s)" % (name, t, ", ".join(seen) or "none"),
                    "check the scenario reaches the condition; warp the clock further or wait longer",
                )
            self._pump_items(end)
