"""Wire protocol shared by the pump firmware and the host (docs/protocol.md).

One frame per line: ``<compact JSON>*<CRC-32 as 8 uppercase hex>\\n`` (NMEA-style
checksum suffix). The CRC is binascii/zlib CRC-32 (compat.crc32) over the JSON bytes.
Anything hashed or MACed is encoded with ``canonical_json`` because MicroPython
dicts are unordered. This module does no I/O.
"""
import json

from compat import crc32
from jsonstrict import count_members, scan

PROTOCOL_VERSION = 1

# Longest accepted line including the trailing "\n". Issue 3 suggests 1 KiB; a 13-step
# flex programme's stage reply is ~1.3 KB and the 64-step maximum ~6 KB, so 8 KiB: still a
# small fixed bound on the RP2040 (264 KB RAM), and one frame per programme keeps the
# stage/commit hash over exactly what was sent.
MAX_LINE = 8192

# Ids, sequence numbers and MAC counters stay MicroPython small ints (design.md: 31-bit).
MAX_ID = 0x3FFFFFFF

# Deepest JSON nesting a frame may use; keeps validation recursion bounded.
MAX_DEPTH = 8

# name -> (stable number, one-line meaning). Numbers never change once released:
# 1-19 framing/dispatch, 20-39 authentication, 40-99 pump core refusals.
ERRORS = {
    # link level
    "E_FRAME_NO_CRC": (1, "line has no '*XXXXXXXX' CRC-32 suffix"),
    "E_FRAME_CRC": (2, "CRC-32 suffix does not match the JSON bytes"),
    "E_FRAME_OVERSIZE": (3, "line longer than 8192 bytes; discarded up to the next newline"),
    "E_FRAME_JSON": (4, "payload is not valid UTF-8 JSON of int/str/bool/null/list/object"),
    "E_FRAME_FIELDS": (5, "frame lacks or mistypes id, cmd, args, sq or mac"),
    "E_UNKNOWN_CMD": (6, "no such command"),
    "E_ROLE": (7, "the session's role may not use this command"),
    "E_TEST_BUILD_ONLY": (8, "simulation command refused: this is a clinical build"),
    "E_INTERNAL": (9, "unexpected firmware fault while handling the command (a bug; report it)"),
    # authentication
    "E_AUTH_REQUIRED": (20, "command needs an authenticated session (auth_begin, auth)"),
    "E_AUTH_BAD_MAC": (21, "challenge response or frame MAC is wrong"),
    "E_AUTH_REPLAY": (22, "sequence number not greater than the last accepted one"),
    "E_AUTH_LOCKED": (23, "too many failed logins; retry after the stated seconds"),
    "E_AUTH_NO_CHALLENGE": (24, "auth without a fresh auth_begin for that role"),
    "E_AUTH_NO_KEY": (25, "no key is provisioned for that role"),
    "E_AUTH_EXPIRED": (26, "session ended by idle timeout; log in again"),
    # pump core
    "E_BAD_ARGS": (40, "argument missing, of the wrong type or out of its domain"),
    "E_STATE": (41, "command not allowed in the pump's current state"),
    "E_DOSE_RANGE": (42, "daily dose outside the pump's hard range"),
    "E_FLOW_RANGE": (43, "flow outside the model's programmable range"),
    "E_CONC": (44, "concentration not allowed"),
    "E_OVERFILL": (45, "fill would exceed the reservoir capacity"),
    "E_STEP_OVERLAP": (46, "flex steps' lead windows overlap"),
    "E_STEP_COUNT": (47, "too many or too few flex steps"),
    "E_BOLUS_RANGE": (48, "bolus dose or rate outside the model's limits"),
    "E_NO_STAGED": (49, "nothing staged to commit"),
    "E_HASH_MISMATCH": (50, "commit hash differs from the staged one; nothing changed"),
    "E_THRESHOLD_RANGE": (51, "low-reservoir threshold outside 0.5-5.0 mL"),
    "E_VOLUME": (52, "volume not possible (e.g. more withdrawn than present)"),
    "E_FLASH": (53, "persistent storage write failed"),
    "E_TITRATION": (54, "increase exceeds the titration rule"),
    "E_REFILL_INCREASE": (55, "increase at refill exceeds the maintenance rule"),
    "E_FIRST_24H": (56, "no dose increase in the first 24 h after the initial programme"),
    "E_CLINICAL_LIMIT": (57, "outside the patient profile's hard clinical limit"),
    "E_NOT_PROVISIONED": (58, "pump not provisioned (serial, model or keys missing)"),
    "E_PATIENT_BOLUS_LOCKOUT": (59, "patient bolus lockout interval not elapsed"),
    "E_PATIENT_BOLUS_MAX": (60, "patient bolus 24-hour maximum reached"),
    "E_CLOCK": (61, "time not set or outside the accepted range"),
    "E_CONFIRM_REQUIRED": (62, "more than 2x the current daily dose: stage again with confirm_ratio"),
    "E_OVERRIDE_REQUIRED": (63, "outside the soft (typical) range: stage again with override_reason"),
}


class PumpError(Exception):
    """A refusal with a stable code from ERRORS; nothing changed on the pump."""

    def __init__(self, code, detail=""):
        if code not in ERRORS:
            detail = code + (": " + detail if detail else "")
            code = "E_INTERNAL"
        super().__init__(code, detail)
        self.code = code
        self.detail = detail
        self.num = ERRORS[code][0]

    def __str__(self):
        if self.detail:
            return self.code + ": " + self.detail
        return self.code


class FrameError:
    """A decoder result for a line that is not a usable frame (a value, not raised)."""

    def __init__(self, code, detail=""):
        self.code = code
        self.detail = detail
        self.num = ERRORS[code][0]

    def __eq__(self, other):
        return isinstance(other, FrameError) and other.code == self.code

    def __repr__(self):
        return "FrameError(%r, %r)" % (self.code, self.detail)


# Roles. A command with an empty role tuple is open (no session needed).
PATIENT = "patient"
CLINICIAN = "clinician"
SERVICE = "service"
ROLES = (PATIENT, CLINICIAN, SERVICE)
ROLES_OPEN = ()
_C = (CLINICIAN,)

# name -> (stable numeric id, roles allowed). Numbers never change once released.
COMMANDS = {
    "hello": (1, ROLES_OPEN),
    "status": (2, ROLES_OPEN),
    "auth_begin": (3, ROLES_OPEN),
    "auth": (4, ROLES_OPEN),
    "logout": (5, ROLES_OPEN),
    "programme_get": (6, ROLES_OPEN),
    "programme_stage": (7, _C),
    "programme_commit": (8, _C),
    "refill_stage": (9, _C),
    "refill_commit": (10, _C),
    "bolus": (11, _C),
    "patient_bolus": (12, (PATIENT,)),
    "bolus_cancel": (13, _C),
    "stop": (14, _C),
    "resume": (15, _C),
    "alarms_list": (16, ROLES_OPEN),
    "alarms_clear": (17, _C),
    "alarms_silence": (18, (PATIENT, CLINICIAN)),
    "alarms_test": (19, _C),
    "log_read": (20, (CLINICIAN, SERVICE)),
    "time_get": (21, ROLES_OPEN),
    "time_set": (22, (CLINICIAN, SERVICE)),
    "settings_get": (23, ROLES_OPEN),
    "settings_set": (24, _C),
    "profile_get": (25, ROLES_OPEN),
    "profile_set": (26, _C),
    "provision": (27, (SERVICE,)),
    "sim_warp": (28, (SERVICE,)),
    "sim_fault": (29, (SERVICE,)),
    "sim_reset": (30, (SERVICE,)),
}

# Commands that exist only in test builds (issue 3/4: clinical builds reject them).
TEST_BUILD_ONLY = ("sim_warp", "sim_fault", "sim_reset")

# Commands the link layer answers itself; they never reach the controller.
LINK_COMMANDS = ("auth_begin", "auth", "logout")

_HEX = "0123456789ABCDEF"


# Escaped form of object keys (bounded). Values are not cached: every frame's MAC is computed
# over canonical_json of what the host sent, so short values (stage hashes, reasons) filled the
# cache with one-off strings, up to ~11 KB of heap (issue 9, "Budgets": peak <= 96 KB).
_JCACHE = {}
JCACHE_MAX = 128


def _jstr(s, out):
    # Deterministic string escaping on both runtimes: printable ASCII as is,
    # everything else as \\uXXXX (CPython and MicroPython json.dumps differ here).
    # State snapshots repeat the same ~100 keys every checkpoint: escaping them once
    # made canonical_json 5x faster (bench/year_cpython.py, hourly calls).
    hit = _JCACHE.get(s)
    if hit is not None:
        out.append(hit)
        return
    if len(s) <= 24 and len(_JCACHE) < JCACHE_MAX:
        tmp = []
        _jstr_raw(s, tmp)
        hit = "".join(tmp)
        _JCACHE[s] = hit
        out.append(hit)
        return
    _jstr_raw(s, out)


def _jstr_raw(s, out):
    # Runs of printable ASCII go out as one piece (the whole string when nothing needs escaping):
    # a token per character made the checkpoint save's list of pieces several KB (issue 9).
    out.append('"')
    start = 0
    i = 0
    for ch in s:
        o = ord(ch)
        if ch == '"' or ch == "\\" or o < 0x20 or o >= 0x7F:
            if start < i:
                out.append(s[start:i])
            if ch == '"' or ch == "\\":
                out.append("\\" + ch)
            elif o < 0x10000:
                out.append("\\u%04x" % o)
            else:
                o -= 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (o >> 10), 0xDC00 + (o & 0x3FF)))
            start = i + 1
        i += 1
    if start == 0:
        out.append(s)
    elif start < i:
        out.append(s[start:i])
    out.append('"')


def _enc(obj, out, depth):
    # depth = brackets already open. Only a bracket nests: the frame's object and 8 levels in it
    # (MAX_DEPTH + 1 brackets) may hold values, as the decoder's scan allows; counting the value
    # too refused frames the pump had accepted (E_INTERNAL from the MAC, issue 8 round 7).
    if depth > MAX_DEPTH and isinstance(obj, (list, tuple, dict)):
        raise ValueError("nesting deeper than %d" % (MAX_DEPTH + 1))
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        out.append(str(obj))
    elif isinstance(obj, str):
        _jstr_raw(obj, out)
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        first = True
        for v in obj:
            if not first:
                out.append(",")
            first = False
            _enc(v, out, depth + 1)
        out.append("]")
    elif isinstance(obj, dict):
        keys = list(obj.keys())
        for k in keys:
            if not isinstance(k, str):
                raise ValueError("object key is not a str")
        keys.sort()
        out.append("{")
        first = True
        for k in keys:
            if not first:
                out.append(",")
            first = False
            _jstr(k, out)
            out.append(":")
            _enc(obj[k], out, depth + 1)
        out.append("}")
    else:
        raise ValueError("type not allowed in a frame: %s" % type(obj).__name__)


def canonical_json(obj):
    """Compact JSON, sorted keys, ASCII only; ints/str/bool/None/list/dict. -> bytes."""
    out = []
    _enc(obj, out, 0)
    return "".join(out).encode()


def crc_hex(data):
    c = crc32(data)
    return "".join(_HEX[(c >> s) & 15] for s in (28, 24, 20, 16, 12, 8, 4, 0))


def encode(obj):
    """One frame: canonical JSON, '*', CRC-32 in 8 uppercase hex digits, newline."""
    body = canonical_json(obj)
    return body + b"*" + crc_hex(body).encode() + b"\n"


def _hexval(b):
    # b is one byte value; -1 if not a hex digit (either case accepted on input).
    if 48 <= b <= 57:
        return b - 48
    if 65 <= b <= 70:
        return b - 55
    if 97 <= b <= 102:
        return b - 87
    return -1


def decode_line(line):
    """Decode one line (without '\\n'; a trailing '\\r' is tolerated) -> dict or FrameError."""
    if line[-1:] == b"\r":
        line = line[:-1]
    star = line.rfind(b"*")
    if star < 0 or len(line) - star != 9:
        return FrameError("E_FRAME_NO_CRC", "expected <json>*XXXXXXXX")
    want = 0
    for b in line[star + 1 :]:
        v = _hexval(b)
        if v < 0:
            return FrameError("E_FRAME_NO_CRC", "CRC suffix is not 8 hex digits")
        want = (want << 4) | v
    body = line[:star]
    got = crc32(body)
    if got != want:
        return FrameError("E_FRAME_CRC", "expected %s" % crc_hex(body))
    # Strict RFC 8259 first (jsonstrict.py): json.loads is lax on MicroPython (issue 8, defect 4).
    # The scan also refuses floats and nesting beyond MAX_DEPTH levels below the frame's object,
    # so what json.loads returns holds only ints, strings, bools, null, lists and str-keyed dicts.
    n = scan(body, MAX_DEPTH + 1)
    if type(n) is str:
        return FrameError("E_FRAME_JSON", n)
    try:
        obj = json.loads(body.decode())
    except Exception:  # ValueError, UnicodeError, RecursionError: all mean "not our JSON"
        return FrameError("E_FRAME_JSON", "payload does not parse")
    if not isinstance(obj, dict):
        return FrameError("E_FRAME_JSON", "payload is not a JSON object")
    if count_members(obj) != n:
        return FrameError("E_FRAME_JSON", "duplicate object key")
    return obj


class Decoder:
    """Feed bytes, get frames. Bounded buffer; never does I/O.

    feed(data) -> list of items, each a decoded frame dict or a FrameError.
    Blank lines are ignored (so a bare newline resynchronises silently).
    """

    def __init__(self, max_line=MAX_LINE):
        self.max_line = max_line
        # One buffer for the longest line, allocated at boot while the heap is whole: a long line
        # arriving in 512-byte reads never grows it. (Growing it on demand failed on a Pico-sized
        # heap: MemoryError for a 6.6 KB block, and the pump reset - found by the board twin.)
        self._buf = bytearray(max_line)
        self._n = 0             # bytes of the current line held in _buf
        self._dropping = False  # inside an oversize line, discarding to the next newline

    def pending(self):
        return self._n

    def feed(self, data):
        if not isinstance(data, (bytes, bytearray)):
            data = bytes(data)  # memoryview: MicroPython's has no find()
        items = []
        start = 0
        n = len(data)
        limit = self.max_line - 1  # bytes allowed before the "\n"
        buf = self._buf
        while start < n:
            nl = data.find(b"\n", start)
            end = n if nl < 0 else nl
            if self._dropping:
                if nl >= 0:
                    self._dropping = False
                start = end + 1
                continue
            k = self._n
            if k + (end - start) > limit:
                self._n = 0
                items.append(FrameError("E_FRAME_OVERSIZE", "line over %d bytes" % self.max_line))
                self._dropping = nl < 0
                start = end + 1
                continue
            if nl < 0:
                buf[k:k + end - start] = memoryview(data)[start:end]   # in place: no growth
                self._n = k + end - start
                break
            if k:
                buf[k:k + end - start] = memoryview(data)[start:end]
                line = bytes(memoryview(buf)[:k + end - start])
                self._n = 0
            else:
                line = bytes(data[start:end])
            start = end + 1
            if line.strip() == b"":
                continue
            items.append(decode_line(line))
        return items


def error_obj(code, detail=""):
    return {"code": code, "n": ERRORS[code][0], "msg": detail or ERRORS[code][1]}


def reply_ok(req_id, res):
    return {"id": req_id, "ok": True, "res": res}


def reply_err(req_id, code, detail=""):
    return {"id": req_id, "ok": False, "err": error_obj(code, detail)}


def event_obj(ev, seq, t_s, d):
    return {"ev": ev, "seq": seq, "t_s": t_s, "d": d}
