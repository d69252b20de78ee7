"""Issue 8, defect 2 (replay after reboot, lockout over a power cycle) and the firmware half of
defect 9 (only the session holder or a new successful login ends a session).

Driven through the link like a host (PumpRuntime.feed); a reboot is a new runtime on the same
HAL (same flash, same RTC), as the emulator's supervisor and the board's main.py do it. The
RNG is deliberately constant: uniqueness must not depend on it. Expected outcomes come from the
protocol's rules (docs/protocol.md, "Authentication"), not from the firmware's own output."""
import auth
import protocol
from compat import hexlify
from hal_sim import SimHal
from runtime import PumpRuntime
from pumpkit import T0

SERIAL = "SIM00001"
KC = b"C" * 32


class ConstHal(SimHal):
    """The worst RNG: the same bytes every time (and after every reboot)."""

    def random_bytes(self, n):
        return b"\x42" * n


class Host:
    def __init__(self, rt):
        self.rt = rt
        self.id = 0
        self.skey = None
        self.sq = 0
        self.sent = []

    def frame(self, name, args=None, sign=True):
        self.id += 1
        f = {"id": self.id, "cmd": name, "args": args or {}}
        if sign and self.skey is not None and name not in ("auth_begin", "auth"):
            self.sq += 1
            f["sq"] = self.sq
            f = auth.sign(self.skey, f)
        return protocol.encode(f)

    def raw(self, line):
        self.sent.append(line)
        reply = None
        for item in protocol.Decoder().feed(self.rt.feed(line)):
            if "ev" not in item:
                reply = item
        return reply

    def send(self, name, args=None, sign=True):
        return self.raw(self.frame(name, args, sign))

    def login(self, role, key):
        r = self.send("auth_begin", {"role": role}, sign=False)
        if not r["ok"]:
            return r
        nonce = self.nonce = r["res"]["nonce"]
        r = self.send("auth", {"role": role, "mac": hexlify(auth.login_mac(key, nonce, role))}, sign=False)
        if r["ok"]:
            self.skey = auth.session_key(key, nonce)
            self.sq = 0
        return r


def _code(r):
    return None if r["ok"] else r["err"]["code"]


def boot(hal):
    rt = PumpRuntime(hal, serial=SERIAL, build="test")
    rt.boot()
    return rt


def provisioned():
    hal = ConstHal(start_t_s=T0)
    rt = boot(hal)
    h = Host(rt)
    assert h.login("service", auth.dev_service_key(SERIAL))["ok"]
    assert h.send("provision", {"keys": {"clinician": hexlify(KC)}})["ok"]
    return hal, rt


def reboot(hal, off_s=5):
    hal.advance_s(off_s)
    return boot(hal)


def test_challenges_never_repeat_across_reboots_with_a_constant_rng():
    hal, rt = provisioned()
    seen = []
    for _ in range(5):
        h = Host(rt)
        for _ in range(3):
            r = h.send("auth_begin", {"role": "clinician"}, sign=False)
            assert r["ok"], r
            seen.append(r["res"]["nonce"])
            assert len(r["res"]["nonce"]) == 2 * auth.NONCE_BYTES
        rt = reboot(hal)
    assert len(set(seen)) == len(seen), seen


def test_challenges_never_repeat_across_a_factory_reset():
    from flash import PowerLoss
    hal = ConstHal(start_t_s=T0)
    rt = boot(hal)
    h = Host(rt)
    seen = [h.send("auth_begin", {"role": "service"}, sign=False)["res"]["nonce"]]
    assert h.login("service", auth.dev_service_key(SERIAL))["ok"]
    seen.append(h.nonce)
    assert h.send("sim_reset")["ok"]
    try:
        rt.tick()
    except PowerLoss:
        pass
    rt = reboot(hal)
    seen.append(Host(rt).send("auth_begin", {"role": "service"}, sign=False)["res"]["nonce"])
    assert seen[2] not in seen[:2], seen


def test_recorded_login_and_signed_bolus_from_an_earlier_boot_are_refused():
    hal, rt = provisioned()
    h = Host(rt)
    assert h.send("refill_stage", {"added_nl": 1, "withdrawn_nl": 0})["err"]["code"] == "E_AUTH_REQUIRED"
    h.sent = []
    assert h.login("clinician", KC)["ok"]
    st = h.send("status")
    assert st["ok"], st
    recorded = list(h.sent)                    # auth_begin, auth, signed status: an eavesdropper's copy
    rt = reboot(hal)
    evil = Host(rt)
    replies = [evil.raw(line) for line in recorded]
    assert replies[0]["ok"]                    # a new challenge is issued...
    assert _code(replies[1]) == "E_AUTH_BAD_MAC", replies[1]   # ...so the recorded answer is wrong
    assert _code(replies[2]) == "E_AUTH_REQUIRED", replies[2]  # and the signed frame has no session


def test_boot_counter_is_on_flash_before_the_first_challenge():
    hal, rt = provisioned()
    rt = reboot(hal)
    hal.flash.fail_writes = 1
    h = Host(rt)
    r = h.send("auth_begin", {"role": "clinician"}, sign=False)
    assert _code(r) == "E_FLASH", r            # no challenge unless its boot number is persisted
    assert h.login("clinician", KC)["ok"]


def _fail_login(h, role="clinician"):
    r = h.send("auth_begin", {"role": role}, sign=False)
    if not r["ok"]:
        return _code(r)
    return _code(h.send("auth", {"role": role, "mac": "11" * 32}, sign=False))


def test_lockout_and_its_back_off_survive_a_reboot():
    hal, rt = provisioned()
    h = Host(rt)
    codes = [_fail_login(h) for _ in range(auth.LOCK_AFTER_FAILURES)]
    assert codes[-1] == "E_AUTH_LOCKED", codes
    rt = reboot(hal, off_s=1)                 # power-cycling used to reset the lockout
    h = Host(rt)
    r = h.login("clinician", KC)
    assert _code(r) == "E_AUTH_LOCKED" and "retry in" in r["err"]["msg"], r
    hal.advance_s(auth.LOCK_BASE_S)
    # the back-off goes on from the count before the reboot: one more failure locks for 2x
    assert _fail_login(h) == "E_AUTH_LOCKED"
    rt = reboot(hal, off_s=1)
    h = Host(rt)
    hal.advance_s(auth.LOCK_BASE_S)
    assert _code(h.login("clinician", KC)) == "E_AUTH_LOCKED"
    hal.advance_s(auth.LOCK_BASE_S)
    assert h.login("clinician", KC)["ok"]
    rt = reboot(hal, off_s=1)                 # a success cleared the count, on flash too
    assert Host(rt).login("clinician", KC)["ok"]


def test_unauthenticated_auth_begin_or_logout_does_not_end_a_session():
    hal, rt = provisioned()
    holder = Host(rt)
    assert holder.login("clinician", KC)["ok"]
    st = holder.send("programme_stage", {"programme": {"mode": "continuous", "dose_ng_day": 100000}})
    assert _code(st) in (None, "E_FLOW_RANGE", "E_DOSE_RANGE"), st   # reaches the handler: session alive
    intruder = Host(rt)
    assert intruder.send("logout", sign=False)["ok"]
    assert intruder.send("auth_begin", {"role": "clinician"}, sign=False)["ok"]
    assert _fail_login(intruder) == "E_AUTH_BAD_MAC"        # a failed login ends nothing either
    assert holder.send("status")["ok"]                        # signed: the session survived all three
    assert holder.send("logout")["ok"]                        # the holder's signed logout ends it
    assert _code(holder.send("status")) == "E_AUTH_REQUIRED"


def test_a_new_successful_login_replaces_the_session():
    hal, rt = provisioned()
    first = Host(rt)
    assert first.login("clinician", KC)["ok"]
    second = Host(rt)
    assert second.login("clinician", KC)["ok"]
    assert _code(first.send("status")) == "E_AUTH_BAD_MAC"   # the old session key no longer verifies
    assert second.send("status")["ok"]


REQS = {
    "test_challenges_never_repeat_across_reboots_with_a_constant_rng": ["AUTH-NONCE-REBOOT"],
    "test_recorded_login_and_signed_bolus_from_an_earlier_boot_are_refused": ["AUTH-NONCE-REBOOT"],
    "test_challenges_never_repeat_across_a_factory_reset": ["AUTH-NONCE-REBOOT"],
    "test_boot_counter_is_on_flash_before_the_first_challenge": ["AUTH-NONCE-REBOOT"],
    "test_lockout_and_its_back_off_survive_a_reboot": ["AUTH-LOCKOUT-REBOOT"],
    "test_unauthenticated_auth_begin_or_logout_does_not_end_a_session": ["AUTH-SESSION-OWNER"],
    "test_a_new_successful_login_replaces_the_session": ["AUTH-SESSION-OWNER"],
}
