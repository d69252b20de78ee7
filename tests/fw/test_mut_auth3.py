"""Auth survivors of the timed mutation run without the wire fuzz (issue 8, wave 3): the nonce's
boot and challenge numbers, the boot number's retry after a failed write, what a stored auth
record may and may not restore, a bad random source, and the login and session refusal texts.

Every expected value comes from docs/protocol.md ("Authentication", the auth_begin example, the
error table and its examples, "msg says what exactly was wrong") or from arithmetic in the test,
never from auth's constants. The texts reach the host as the reply's msg (pumpctl shows them),
so they are asserted whole: each names the refused role, field or number."""
from auth import Auth, Keyring, sign
from compat import hexlify
from flash import EIO, MemoryFlash
from pumpkit import CountingRandom
from store import StateStore
from test_mut_auth2 import KEY_C, KEY_P, WRONG, _answer, _err, _wrong


class _Recorder(CountingRandom):
    """CountingRandom that keeps what it returned (the nonce's random half is checked too)."""

    def __init__(self):
        CountingRandom.__init__(self)
        self.out = []

    def __call__(self, n):
        b = CountingRandom.__call__(self, n)
        self.out.append(b)
        return b


def _keys():
    return Keyring({"clinician": KEY_C, "patient": KEY_P})


def test_nonce_counts_boots_and_challenges_from_one():
    """protocol.md, Authentication step 1: the nonce is the boot number (4 bytes, big-endian),
    the challenge number within this boot (4 bytes) and 8 random bytes; the auth_begin example
    on a fresh pump answers 00000001 00000001 <random>. So on a fresh flash: boot 1 and
    challenges 1, 2, 3; after a reboot on the same flash: boot 2, challenge 1 again. An Auth
    without flash has no stored boot number either: it is a fresh pump's boot 1."""
    flash = MemoryFlash()
    rnd = _Recorder()
    a = Auth(_keys(), rnd, flash, 0)
    nonces = [a.begin("clinician", 0), a.begin("patient", 1), a.begin("clinician", 2)]
    assert [n[:16] for n in nonces] == ["0000000100000001", "0000000100000002", "0000000100000003"], nonces
    assert [n[16:] for n in nonces] == [hexlify(b) for b in rnd.out], (nonces, rnd.out)
    b = Auth(_keys(), _Recorder(), flash, 100)   # reboot
    assert b.begin("clinician", 100)[:16] == "0000000200000001"
    assert b.begin("clinician", 101)[:16] == "0000000200000002"
    c = Auth(_keys(), _Recorder())               # no flash
    assert c.begin("patient", 0)[:16] == "0000000100000001"


def test_the_boot_number_is_an_unsigned_32_bit_count():
    """protocol.md: the boot number is 4 bytes big-endian, a count of boots (never negative):
    after boot 2147483647 (0x7FFFFFFF, the largest signed 32-bit value) comes boot 2147483648,
    sent as 80000000."""
    flash = MemoryFlash()
    StateStore(flash, "auth").save({"boot": 0x7FFFFFFF, "fails": {}, "lock_s": {}})
    a = Auth(_keys(), _Recorder(), flash, 0)
    assert a.begin("clinician", 0)[:16] == "8000000000000001"


def test_a_failed_boot_number_write_is_retried_by_the_next_challenge():
    """protocol.md: the boot number is written to flash before the first challenge of every
    boot, and no challenge is issued if that write fails (E_FLASH). So the next auth_begin,
    with the flash working again, must write it before it answers: after a reboot the boot
    number is 2, not 1 again (a repeated boot number is issue 8's defect 2)."""
    flash = MemoryFlash()
    a = Auth(_keys(), _Recorder(), flash, 0)
    flash.fail_writes = 1
    assert _err(a.begin, "clinician", 0).code == "E_FLASH"
    assert a.begin("clinician", 1)[:16] == "0000000100000001"
    b = Auth(_keys(), _Recorder(), flash, 50)    # reboot
    assert b.begin("clinician", 50)[:16] == "0000000200000001"


class _ReadsFail(MemoryFlash):
    """A flash whose next `bad_reads` reads fail (EIO); writes work."""

    def __init__(self, bad_reads):
        MemoryFlash.__init__(self)
        self.bad_reads = bad_reads

    def read(self, name):
        if self.bad_reads:
            self.bad_reads -= 1
            raise OSError(EIO)
        return MemoryFlash.read(self, name)


def test_an_unreadable_auth_store_at_boot_still_lets_the_pump_log_in():
    """The auth store is read while the link starts, i.e. at every boot; a read error there
    must not stop the boot (no link, no therapy commands). When the store reads again at the
    first auth_begin, logins work (protocol.md steps 1-3)."""
    a = Auth(_keys(), _Recorder(), _ReadsFail(1), 0)
    skey = _answer(a, "clinician", KEY_C, 0)
    assert a.check(sign(skey, {"id": 1, "cmd": "status", "args": {}, "sq": 1}), 1) == "clinician"


def test_stored_failure_counts_must_be_positive_counts_of_known_roles():
    """protocol.md: after 3 consecutive wrong answers a role is locked for 30 s, and the counts
    and lockouts kept on flash survive a reboot. A stored value that is no count (true, a
    negative number) restores nothing: a negative count must not buy extra guesses, true is not
    one failure, and neither locks the role. Expected: 2 wrong answers are E_AUTH_BAD_MAC, the
    3rd locks for 30 s, for both roles."""
    flash = MemoryFlash()
    StateStore(flash, "auth").save({"boot": 4, "fails": {"clinician": True, "patient": -5},
                                    "lock_s": {"clinician": True, "patient": -5}})
    a = Auth(_keys(), _Recorder(), flash, 1000)
    for role in ("clinician", "patient"):
        assert a.locked_for_s(role, 1000) == 0, role
        assert _wrong(a, role, 1000).code == "E_AUTH_BAD_MAC", role
        assert _wrong(a, role, 1000).code == "E_AUTH_BAD_MAC", role
        assert _wrong(a, role, 1000).code == "E_AUTH_LOCKED", role
        assert a.locked_for_s(role, 1000) == 30, role


def test_login_refusal_texts_name_the_role_and_the_seconds_left():
    """protocol.md: roles are patient, clinician, service; E_AUTH_NO_KEY means no key is
    provisioned for that role; while locked auth_begin answers E_AUTH_LOCKED with the seconds
    left in msg ("retry in N s"): locked at t=0 for 30 s, N is 30 at t=0 and 30 - 12 = 18 at
    t=12."""
    e = _err(Keyring().set, "admin", KEY_C)
    assert (e.code, e.detail) == ("E_BAD_ARGS", "unknown role admin"), e.detail
    a = Auth(Keyring({"clinician": KEY_C}), _Recorder())
    e = _err(a.begin, "root", 0)
    assert (e.code, e.detail) == ("E_BAD_ARGS", "role must be one of patient, clinician, service"), e.detail
    e = _err(a.begin, "patient", 0)
    assert (e.code, e.detail) == ("E_AUTH_NO_KEY", "no patient key provisioned"), e.detail
    for _ in range(3):
        _wrong(a, "clinician", 0)
    e = _err(a.begin, "clinician", 0)
    assert (e.code, e.detail) == ("E_AUTH_LOCKED", "retry in 30 s"), e.detail
    e = _err(a.begin, "clinician", 12)
    assert (e.code, e.detail) == ("E_AUTH_LOCKED", "retry in 18 s"), e.detail


class _BadRandom:
    def __init__(self, value):
        self.value = value

    def __call__(self, n):
        return self.value


def test_a_bad_random_source_is_an_internal_fault_and_issues_no_challenge():
    """protocol.md: the nonce holds 8 bytes from the HAL's random source; E_INTERNAL (9) is an
    "unexpected firmware fault" and msg says what was wrong. A source that returns 7 or 9
    bytes, or 8 characters that are not bytes, gives no challenge: auth then answers
    E_AUTH_NO_CHALLENGE."""
    for value in (b"\x01" * 7, b"\x01" * 9, "abcdefgh"):
        a = Auth(Keyring({"clinician": KEY_C}), _BadRandom(value))
        e = _err(a.begin, "clinician", 0)
        assert (e.code, e.num, e.detail) == ("E_INTERNAL", 9, "random source returned a bad nonce"), (value, e)
        assert _err(a.complete, "clinician", WRONG, 0).code == "E_AUTH_NO_CHALLENGE"


def test_session_refusal_texts():
    """protocol.md: a signed frame without a session is E_AUTH_REQUIRED ("log in"); after 600 s
    without an authenticated frame the session ends (E_AUTH_EXPIRED), so the next signed frame
    has no session again; a frame whose MAC does not verify is E_AUTH_BAD_MAC; a replayed sq is
    E_AUTH_REPLAY with msg "sq 23 <= last 23" (the error examples), the last sq, not a time."""
    a = Auth(_keys(), _Recorder())
    frame = {"id": 1, "cmd": "status", "args": {}, "sq": 1, "mac": WRONG}
    e = _err(a.check, frame, 0)
    assert (e.code, e.detail) == ("E_AUTH_REQUIRED", "no session; log in first"), e.detail

    skey = _answer(a, "clinician", KEY_C, 0)
    e = _err(a.check, sign(skey, {"id": 2, "cmd": "status", "args": {}, "sq": 1}), 601)
    assert (e.code, e.detail) == ("E_AUTH_EXPIRED", "idle for more than 600 s"), e.detail
    assert a.role() is None
    e = _err(a.check, sign(skey, {"id": 3, "cmd": "status", "args": {}, "sq": 2}), 602)
    assert (e.code, e.detail) == ("E_AUTH_REQUIRED", "no session; log in first"), e.detail

    skey = _answer(a, "patient", KEY_P, 1000)
    bad = sign(skey, {"id": 4, "cmd": "status", "args": {}, "sq": 1})
    bad["sq"] = 2   # changed after signing: the MAC covers sq
    e = _err(a.check, bad, 1001)
    assert (e.code, e.detail) == ("E_AUTH_BAD_MAC", "frame MAC does not verify"), e.detail
    f = sign(skey, {"id": 5, "cmd": "patient_bolus", "args": {}, "sq": 23})
    assert a.check(f, 1005) == "patient"
    e = _err(a.check, f, 1006)
    assert (e.code, e.detail) == ("E_AUTH_REPLAY", "sq 23 <= last 23"), e.detail


def test_a_read_error_at_boot_neither_repeats_a_boot_number_nor_drops_a_lockout():
    """protocol.md: no two challenges are ever equal, across reboots too (the boot number on
    flash), and "a reboot neither clears the count nor shortens the lockout". The auth store
    holds boot 5 and a clinician lockout with 30 s left; the read at boot fails once (EIO). The
    first auth_begin must still see both: the clinician is locked ("retry in 30 s"), the
    patient's nonce is boot 6 (5 + 1), challenge 1. A store that cannot be read at all gives no
    challenge: E_FLASH (persistent storage failed), as for a failed boot-number write, and msg
    names the store and the cause (protocol.md: msg says what exactly was wrong)."""
    flash = _ReadsFail(0)
    StateStore(flash, "auth").save({"boot": 5, "fails": {"clinician": 3}, "lock_s": {"clinician": 30}})
    flash.bad_reads = 1
    a = Auth(_keys(), _Recorder(), flash, 0)
    e = _err(a.begin, "clinician", 0)
    assert (e.code, e.detail) == ("E_AUTH_LOCKED", "retry in 30 s"), (e.code, e.detail)
    assert a.begin("patient", 0)[:16] == "0000000600000001"

    flash.bad_reads = 1000
    b = Auth(_keys(), _Recorder(), flash, 0)
    e = _err(b.begin, "patient", 0)
    assert (e.code, e.detail) == ("E_FLASH", "auth store unreadable"), (e.code, e.detail)
    assert _err(b.complete, "patient", WRONG, 0).code == "E_AUTH_NO_CHALLENGE"
