"""Portable fuzz rig (CPython and MicroPython): a booted, filled, infusing pump with a clinician
session, fed one hostile frame at a time. Used by tools/fuzz/wirefuzz.py (CPython, in process) and
tools/fuzz/mpy_fuzz.mjs (MicroPython WebAssembly). No floats; only modules both runtimes have.

Input file: frames, each as "<len>\\n<bytes>". A frame starting with b"SIGN " is a JSON object the
rig signs with its session (next sq) before feeding it (both runtimes sign identically: the HAL's
random source here is a counter, so nonces and session keys are the same on both).
Output file: per frame "<crash> <therapy_changed> <len>\\n<reply bytes>".
"""
import json

from auth import dev_service_key, login_mac, session_key, sign
from compat import hexlify, unhexlify
from hal_sim import SimHal
from protocol import Decoder, encode
from runtime import PumpRuntime

CLIN_KEY = "c1" * 16


class DetHal(SimHal):
    def __init__(self):
        SimHal.__init__(self, start_t_s=90000000)
        self.n = 0

    def random_bytes(self, n):
        self.n += 1
        return bytes([(self.n * 31 + i * 7) & 255 for i in range(n)])


class Rig:
    def __init__(self):
        self.hal = DetHal()
        self.rt = PumpRuntime(self.hal)
        self.rt.boot()
        self.id = 0
        self.skey = None
        self.sq = 0
        self.login("service", dev_service_key("SIM00001"))
        self.cmd("provision", {"keys": {"clinician": CLIN_KEY}})
        self.login("clinician", unhexlify(CLIN_KEY))
        st = self.cmd("refill_stage", {"added_nl": 20000000, "withdrawn_nl": 0, "conc_ug_ml": 2000})
        self.cmd("refill_commit", {"hash": st["hash"]})
        st = self.cmd("programme_stage", {"programme": {"mode": "continuous", "dose_ng_day": 500000}})
        self.cmd("programme_commit", {"hash": st["hash"]})
        self.relogins = 0

    def _one(self, obj):
        out = Decoder().feed(self.rt.feed(encode(obj)))
        for r in out:
            if isinstance(r, dict) and "ok" in r:
                return r
        raise ValueError("no reply")

    def login(self, role, key):
        self.id += 1
        r = self._one({"id": self.id, "cmd": "auth_begin", "args": {"role": role}})
        nonce = r["res"]["nonce"]
        self.id += 1
        r = self._one({"id": self.id, "cmd": "auth", "args": {"role": role,
                                                              "mac": hexlify(login_mac(key, nonce, role))}})
        if not r["ok"]:
            raise ValueError("login failed")
        self.skey = session_key(key, nonce)
        self.sq = 0

    def cmd(self, name, args):
        self.id += 1
        self.sq += 1
        r = self._one(sign(self.skey, {"id": self.id, "cmd": name, "args": args, "sq": self.sq}))
        if not r["ok"]:
            raise ValueError("%s refused: %s" % (name, r))
        return r["res"]

    def digest(self):
        c = self.rt.ctl
        return (c.fsm.state, c.programme, c.fill_nl, c.conc_ug_ml, c.strokes_fill, c.strokes_total,
                sorted(c.alarms.active), c.settings, c.clock_offset_s, c.ledger.base_nl, c.ledger.anchor_t_s,
                c.ledger.utc_offset_s, len(c.ledger.overrides), c.profile)

    def feed(self, frame):
        if frame[:5] == b"SIGN ":
            try:
                obj = json.loads(frame[5:])
                self.sq += 1
                obj["sq"] = self.sq
                frame = encode(sign(self.skey, obj))
            except Exception:
                return 1, 0, b""
        before = self.digest()
        crash = 0
        try:
            out = self.rt.feed(frame)
        except Exception as e:  # an exception out of the runtime is a crash
            out = ("CRASH %s\n" % type(e).__name__).encode()
            crash = 1
        changed = 1 if self.digest() != before else 0
        if self.rt.link.auth._session is None:
            # a hostile logout/auth_begin ended the session: log in again (not counted as a frame)
            self.relogins += 1
            self.login("clinician", unhexlify(CLIN_KEY))
        return crash, changed, out


def run_file(src, dst, rig=None):
    rig = rig or Rig()
    with open(src, "rb") as f:
        data = f.read()
    out = []
    i = 0
    n = len(data)
    while i < n:
        j = data.index(b"\n", i)
        ln = int(data[i:j])
        frame = data[j + 1:j + 1 + ln]
        i = j + 1 + ln
        crash, changed, reply = rig.feed(frame)
        out.append(b"%d %d %d\n" % (crash, changed, len(reply)))
        out.append(reply)
    with open(dst, "wb") as f:
        f.write(b"".join(out))
    return rig
