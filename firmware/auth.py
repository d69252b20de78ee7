"""Roles, keys, HMAC-SHA256 challenge-response, session MACs, replay guard, lockout.

Flow (docs/protocol.md, "Authentication"):
  auth_begin {role}            -> {nonce}  (16 bytes from the HAL's random source, hex)
  auth {role, mac}             mac = HMAC(key_role, nonce_hex + "|" + role)
  session key                  = HMAC(key_role, "session|" + nonce_hex)
  every request in the session carries "sq" (strictly increasing) and
  "mac" = HMAC(session_key, canonical_json(frame without "mac")), hex.
Nothing here changes state unless the frame authenticates.
"""
import struct

from compat import consteq, hexlify, hmac_sha256, unhexlify
from protocol import MAX_ID, ROLES, SERVICE, PumpError, canonical_json

NONCE_BYTES = 16
# Issue 8, defect 2: the first challenge after every reboot repeated (the simulated HAL reseeds
# its RNG identically), so a recorded login + signed frame from an earlier boot was accepted.
# A nonce is now boot number (4 bytes) | challenge number in this boot (4 bytes) | 8 random
# bytes. The boot number is on flash (A/B store "auth") before the first challenge of a boot,
# so no two challenges are ever equal, whatever the RNG does; the random half keeps them
# unpredictable when the RNG is good.
NONCE_RANDOM_BYTES = 8
AUTH_STORE = "auth"
MIN_KEY_BYTES = 16  # 128-bit keys at least (NIST SP 800-107: HMAC key >= security strength)
MAC_HEX_LEN = 64  # HMAC-SHA256 digest as hex

# Design choices (documented in docs/protocol.md):
CHALLENGE_TTL_S = 60  # an unanswered challenge expires after a minute
SESSION_IDLE_S = 600  # a session with no authenticated frame for 10 min ends
LOCK_AFTER_FAILURES = 3  # consecutive failed logins per role before the first lockout
LOCK_BASE_S = 30  # first lockout; doubles with every further failure
LOCK_MAX_S = 3600  # back-off ceiling: one hour

# Test builds only: the factory service key is derived from the serial number with
# this published development secret, so emulators and HIL rigs can log in as service.
# Clinical builds never use it: their service key must be provisioned in flash.
DEV_SECRET = b"itb-pump-dev-secret/NOT-FOR-CLINICAL-USE"


def dev_service_key(serial):
    return hmac_sha256(DEV_SECRET, b"service|" + serial.encode())


def login_mac(key, nonce_hex, role):
    return hmac_sha256(key, (nonce_hex + "|" + role).encode())


def session_key(key, nonce_hex):
    return hmac_sha256(key, ("session|" + nonce_hex).encode())


def frame_mac(skey, frame):
    """MAC of a request frame: HMAC(session key, canonical JSON of the frame without 'mac')."""
    body = {}
    for k in frame:
        if k != "mac":
            body[k] = frame[k]
    return hexlify(hmac_sha256(skey, canonical_json(body)))


def sign(skey, frame):
    """Host side: return a copy of frame with its 'mac' added."""
    out = dict(frame)
    out["mac"] = frame_mac(skey, frame)
    return out


def _key_from_hex(text):
    if not isinstance(text, str) or len(text) < 2 * MIN_KEY_BYTES or len(text) % 2:
        raise PumpError("E_BAD_ARGS", "key must be >= %d bytes as hex" % MIN_KEY_BYTES)
    try:
        return unhexlify(text)
    except Exception:
        raise PumpError("E_BAD_ARGS", "key is not hex")


class Keyring:
    """Per-pump, per-role keys. Persist with to_dict()/from_dict() (role -> hex string).

    dev_serial: on test builds, the serial number from which the service key is
    derived when none is provisioned (see DEV_SECRET). Leave None on clinical builds.
    """

    def __init__(self, keys=None, dev_serial=None):
        self._keys = {}
        self.dev_serial = dev_serial
        if keys:
            for role in keys:
                self.set(role, keys[role])

    def set(self, role, key):
        if role not in ROLES:
            raise PumpError("E_BAD_ARGS", "unknown role %s" % role)
        if isinstance(key, str):
            key = _key_from_hex(key)
        if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
            raise PumpError("E_BAD_ARGS", "key must be >= %d bytes" % MIN_KEY_BYTES)
        self._keys[role] = key

    def remove(self, role):
        if role in self._keys:
            del self._keys[role]

    def get(self, role):
        key = self._keys.get(role)
        if key is None and role == SERVICE and self.dev_serial:
            key = dev_service_key(self.dev_serial)
        return key

    def roles(self):
        return sorted(r for r in ROLES if self.get(r) is not None)

    def to_dict(self):
        out = {}
        for role in self._keys:
            out[role] = hexlify(self._keys[role])
        return out

    @classmethod
    def from_dict(cls, d, dev_serial=None):
        return cls(d or {}, dev_serial)


class Auth:
    """Login challenges, the current session and per-role lockout. Clock: now_s ints.

    Use a clock that sim_warp does not move (hal.monotonic_s), so a warp does not
    end a session or a lockout.
    """

    def __init__(self, keyring, random_bytes, flash=None, now_s=0):
        self.keyring = keyring
        self.random_bytes = random_bytes
        self._challenge = None  # (role, nonce_hex, issued_s)
        self._session = None  # [role, skey, last_sq, last_s]
        self._fails = {}  # role -> consecutive failures
        self._locked_until = {}  # role -> now_s when the lockout ends
        self._n = 0  # challenges issued in this boot
        self.boot = 0  # this boot's number, claimed on flash at the first challenge
        self._claimed = False
        self._store = None
        self._saved_boot = 0
        self._loaded = flash is None
        if flash is not None:
            from store import StateStore
            self._store = StateStore(flash, AUTH_STORE)
            self._load(now_s)

    def _load(self, now_s):
        # A read error leaves _loaded False and begin() reads again: guessing "no record" would
        # claim an old boot number (repeated nonces, defect 2) and forget a lockout.
        try:
            d = self._store.load() or {}
        except OSError:
            return
        self._loaded = True
        b = d.get("boot")
        self._saved_boot = b if type(b) is int and b > 0 else 0
        # Lockout survives a power cycle: counts and the seconds left when last saved
        # restart now (time switched off does not count: conservative).
        for src, dst in ((d.get("fails"), self._fails), (d.get("lock_s"), self._locked_until)):
            if type(src) is dict:
                for role in src:
                    v = src[role]
                    if role in ROLES and type(v) is int and v > 0:
                        dst[role] = v + (now_s if dst is self._locked_until else 0)

    def _save(self, now_s):
        # Persist before the reply that depends on it returns (design.md: persist, then acknowledge).
        if self._store is None:
            return
        locks = {}
        for role in self._locked_until:
            left = self._locked_until[role] - now_s
            if left > 0:
                locks[role] = left
        self._store.save({"boot": self.boot if self._claimed else self._saved_boot,
                          "fails": dict(self._fails), "lock_s": locks})

    def _claim_boot(self, now_s):
        if self._claimed:
            return
        self.boot = self._saved_boot + 1
        self._claimed = True
        try:
            self._save(now_s)   # raises E_FLASH: no challenge without a persisted boot number
        except BaseException:
            self._claimed = False
            raise

    # -- queries
    def role(self):
        return self._session[0] if self._session else None

    def locked_for_s(self, role, now_s):
        until = self._locked_until.get(role, 0)
        return until - now_s if until > now_s else 0

    # -- login
    def _check_role(self, role, now_s):
        if role not in ROLES:
            raise PumpError("E_BAD_ARGS", "role must be one of patient, clinician, service")
        left = self.locked_for_s(role, now_s)
        if left:
            raise PumpError("E_AUTH_LOCKED", "retry in %d s" % left)
        if self.keyring.get(role) is None:
            raise PumpError("E_AUTH_NO_KEY", "no %s key provisioned" % role)

    def begin(self, role, now_s):
        if not self._loaded:
            self._load(now_s)
            if not self._loaded:
                raise PumpError("E_FLASH", "auth store unreadable")
        self._check_role(role, now_s)
        self._claim_boot(now_s)
        rnd = self.random_bytes(NONCE_RANDOM_BYTES)
        if not isinstance(rnd, bytes) or len(rnd) != NONCE_RANDOM_BYTES:
            raise PumpError("E_INTERNAL", "random source returned a bad nonce")
        self._n += 1
        nonce_hex = hexlify(struct.pack(">II", self.boot & 0xFFFFFFFF, self._n & 0xFFFFFFFF) + rnd)
        # Issue 8, defect 9: a challenge does not end the current session; only the session
        # holder's signed logout, the idle timeout or a new *successful* login do.
        self._challenge = (role, nonce_hex, now_s)
        return nonce_hex

    def _fail(self, role, now_s):
        n = self._fails.get(role, 0) + 1
        self._fails[role] = n
        if n >= LOCK_AFTER_FAILURES:
            lock_s = LOCK_BASE_S
            k = n - LOCK_AFTER_FAILURES
            while k > 0 and lock_s < LOCK_MAX_S:
                lock_s *= 2
                k -= 1
            if lock_s > LOCK_MAX_S:
                lock_s = LOCK_MAX_S
            self._locked_until[role] = now_s + lock_s
            self._save(now_s)
            return lock_s
        self._save(now_s)
        return 0

    def complete(self, role, mac_hex, now_s):
        """Answer to the challenge. Returns the role on success, raises PumpError otherwise."""
        self._check_role(role, now_s)
        ch = self._challenge
        if ch is None or ch[0] != role or now_s - ch[2] > CHALLENGE_TTL_S or now_s < ch[2]:
            raise PumpError("E_AUTH_NO_CHALLENGE", "call auth_begin for %s first" % role)
        self._challenge = None  # single use, whatever the outcome
        key = self.keyring.get(role)
        want = hexlify(login_mac(key, ch[1], role))
        if not isinstance(mac_hex, str) or not consteq(want.encode(), mac_hex.lower().encode()):
            lock_s = self._fail(role, now_s)
            if lock_s:
                raise PumpError("E_AUTH_LOCKED", "wrong response; retry in %d s" % lock_s)
            raise PumpError("E_AUTH_BAD_MAC", "wrong challenge response")
        if self._fails.get(role):
            self._fails[role] = 0
            self._save(now_s)
        self._session = [role, session_key(key, ch[1]), -1, now_s]
        return role

    def logout(self):
        """End the session (the link calls this only for a logout signed by the session)."""
        self._session = None
        self._challenge = None

    # -- per-frame check
    def check(self, frame, now_s):
        """Role of an authenticated frame, None for an unauthenticated one; raises on a bad one.

        Only a frame that passes every check updates the session (sq, idle clock).
        """
        if "mac" not in frame:
            return None
        s = self._session
        if s is None:
            raise PumpError("E_AUTH_REQUIRED", "no session; log in first")
        if now_s - s[3] > SESSION_IDLE_S:
            self._session = None
            raise PumpError("E_AUTH_EXPIRED", "idle for more than %d s" % SESSION_IDLE_S)
        mac = frame["mac"]
        want = frame_mac(s[1], frame)
        if not consteq(want.encode(), mac.lower().encode()):
            raise PumpError("E_AUTH_BAD_MAC", "frame MAC does not verify")
        sq = frame["sq"]
        if sq <= s[2]:
            raise PumpError("E_AUTH_REPLAY", "sq %d <= last %d" % (sq, s[2]))
        s[2] = sq
        s[3] = now_s
        return s[0]


def valid_sq(v):
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_ID


def valid_mac(v):
    if not isinstance(v, str) or len(v) != MAC_HEX_LEN:
        return False
    for ch in v:
        if ch not in "0123456789abcdefABCDEF":
            return False
    return True
