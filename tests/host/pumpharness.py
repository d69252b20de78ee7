"""A host and a plant around the REAL firmware runtime, for the stateful, power-loss and fuzz machinery.

- CutFlash: MemoryFlash that cuts the power at the N-th write from now, after k bytes of it
  (k = len(data): the write completes, then the supply dies).
- Plant: the pump's hardware across reboots. It owns the flash and the true clocks (monotonic
  restarts at 0 on every boot, the battery-backed RTC keeps going) and counts completed motor
  strokes itself: the truth the reservoir estimate is checked against.
- Host: frames encoded and signed like pumpctl (protocol.encode, auth.sign), fed to the runtime;
  a PowerLoss escaping the runtime is a cut: the plant reboots a new runtime on the same flash.
Every exchange is appended to a pumpctl-like transcript (`> frame` / `< reply` / `# event`).
"""
from flash import MemoryFlash, PowerLoss
from hal_sim import SimHal
from runtime import PumpRuntime
from protocol import Decoder, encode
from auth import login_mac, session_key, sign
from compat import hexlify

T0 = 90000000          # 2026-11-07T16:00:00Z in pump-epoch seconds
KEYS = {"clinician": "c1" * 16, "patient": "9a" * 16}


class CutFlash(MemoryFlash):
    def __init__(self):
        MemoryFlash.__init__(self)
        self.cut_in = None          # writes to let through before the cut (0: the next one)
        self.cut_k = 0
        self.write_log = []         # (name, offset or None, len) of every write attempt
        self.count = 0

    def arm(self, n, k):
        self.cut_in = n
        self.cut_k = k

    def disarm(self):
        self.cut_in = None

    def _gate(self, data):
        self.count += 1
        if self.cut_in is None:
            return False
        if self.cut_in > 0:
            self.cut_in -= 1
            return False
        self.cut_in = None
        if self.cut_k < len(data):
            self.tear_next_write_after = self.cut_k
            return False               # MemoryFlash tears it and raises PowerLoss
        return True                    # whole write lands, then the supply dies

    def write(self, name, data):
        self.write_log.append((name, None, len(data)))
        after = self._gate(data)
        MemoryFlash.write(self, name, data)
        if after:
            raise PowerLoss()

    def write_at(self, name, offset, data):
        self.write_log.append((name, offset, len(data)))
        after = self._gate(data)
        MemoryFlash.write_at(self, name, offset, data)
        if after:
            raise PowerLoss()


class CountingHal(SimHal):
    """SimHal whose completed strokes are also counted by the plant (the firmware never sees it)."""

    def __init__(self, plant, **kw):
        SimHal.__init__(self, **kw)
        self.plant = plant

    def motor_strokes(self, n):
        done = SimHal.motor_strokes(self, n)
        if done < 0 or done > n:
            raise AssertionError("HAL returned %d of %d strokes" % (done, n))
        self.plant.strokes += done
        self.plant.stroke_log.append((self.plant.rtc_s(), done))
        return done


class Plant:
    def __init__(self, t0=T0, seed=1):
        self.flash = CutFlash()
        self.rtc0 = t0              # RTC at the current boot's monotonic 0
        self.seed = seed
        self.strokes = 0
        self.stroke_log = []
        self.hal = None
        self.rt = None
        self.boots = 0
        self.boot_frames = b""
        self.elapsed0 = 0           # physical seconds before the current boot

    def elapsed_s(self):
        """Physical time since the first power-up (no clock setting moves it)."""
        return self.elapsed0 + (self.hal.mono_s if self.hal is not None else 0)

    def rtc_s(self):
        return self.hal.rtc_s() if self.hal is not None else self.rtc0

    def boot(self, down_s=0):
        """Power up (again): monotonic restarts at 0, the RTC goes on; the simulated HAL reseeds its
        RNG identically on every boot (the worst random source: challenges must not repeat anyway)."""
        if self.hal is not None:
            self.elapsed0 += self.hal.mono_s + down_s
            # the battery-backed RTC goes on (the firmware may have set it: time_set, sim_warp)
            self.rtc0 = self.hal.rtc_s() + down_s
        self.flash.fail_writes = 0
        self.flash.tear_next_write_after = None
        self.hal = CountingHal(self, start_t_s=self.rtc0, flash=self.flash, seed=self.seed)
        self.rt = PumpRuntime(self.hal)
        self.boots += 1
        self.boot_frames = self.rt.boot()
        return self.boot_frames


class Host:
    """pumpctl's side of the link, in process. `send` returns the reply dict, or "CUT"."""

    def __init__(self, plant, transcript):
        self.plant = plant
        self.tx = transcript
        self.next_id = 1
        self.session = None          # [role, skey, sq]
        self.events = []

    def _feed(self, raw):
        return self.plant.rt.feed(raw)

    def raw(self, raw, tag=">", quiet=False):
        """Feed raw bytes; return (list of replies, "CUT" or None)."""
        tx = [] if quiet else self.tx
        tx.append("%s %s" % (tag, raw[:300].decode("ascii", "replace").rstrip("\n")))
        try:
            out = self._feed(raw)
        except PowerLoss:
            tx.append("! power cut (PowerLoss from the runtime)")
            return [], "CUT"
        replies = []
        for obj in Decoder().feed(out):
            if isinstance(obj, dict) and "ev" in obj:
                self.events.append(obj)
                tx.append("# %s %s" % (obj.get("ev"), obj.get("d", obj)))
            else:
                replies.append(obj)
                tx.append("< %s" % (obj,))
        return replies, None

    def frame(self, cmd, args=None, signed=True, session=None):
        obj = {"id": self.next_id, "cmd": cmd}
        self.next_id += 1
        if args is not None:
            obj["args"] = args
        s = session if session is not None else self.session
        if signed and s is not None:
            s[2] += 1
            obj["sq"] = s[2]
            obj = sign(s[1], obj)
        return encode(obj)

    def send(self, cmd, args=None, signed=True, quiet=False):
        raw = self.frame(cmd, args, signed)
        replies, cut = self.raw(raw, quiet=quiet)
        if cut:
            return "CUT", raw
        if len(replies) != 1:
            raise AssertionError("expected one reply to %s, got %r" % (cmd, replies))
        return replies[0], raw

    def login(self, role, key_hex, good=True):
        """auth_begin + auth. Returns (nonce or None, reply to auth or the refusal, raw frames)."""
        r1, f1 = self.send("auth_begin", {"role": role}, signed=False)
        if r1 == "CUT" or not r1.get("ok"):
            return None, r1, [f1]
        nonce = r1["res"]["nonce"]
        key = bytes.fromhex(key_hex)
        mac = hexlify(login_mac(key, nonce, role))
        if not good:
            mac = ("0" if mac[0] != "0" else "1") + mac[1:]
        r2, f2 = self.send("auth", {"role": role, "mac": mac}, signed=False)
        if r2 != "CUT" and r2.get("ok"):
            self.session = [role, session_key(key, nonce), 0]
        elif good is False and r2 != "CUT":
            pass
        return nonce, r2, [f1, f2]
