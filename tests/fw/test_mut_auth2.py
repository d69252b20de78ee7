"""Auth survivors of the timed mutation run (issue 8): challenge lifetime boundary, the
failure count after a success, the lockout seconds left across a reboot, the refusal texts,
and the frame-MAC hex check.

Every expected value comes from docs/protocol.md ("Authentication", the error table, "msg
says what exactly was wrong") or from arithmetic in the test; never from auth's constants."""
from auth import Auth, Keyring, login_mac, session_key, sign, valid_mac
from compat import hexlify
from flash import MemoryFlash
from protocol import PumpError
from pumpkit import CountingRandom

KEY_C = b"clinician-key-0123456789abcdef!!"
KEY_P = b"patient-key-0123456789abcdef!!!!"
WRONG = "ab" * 32


def _err(fn, *args):
    try:
        fn(*args)
    except PumpError as e:
        return e
    raise AssertionError("expected a refusal")


def _answer(a, role, key, now_s):
    """auth_begin then the right answer; returns the session key (protocol.md steps 1-3)."""
    nonce = a.begin(role, now_s)
    a.complete(role, hexlify(login_mac(key, nonce, role)), now_s)
    return session_key(key, nonce)


def _wrong(a, role, now_s):
    a.begin(role, now_s)
    return _err(a.complete, role, WRONG, now_s)


def test_a_challenge_answered_at_exactly_60_s_is_still_fresh():
    """protocol.md: a challenge "expires after 60 s": answered 60 s after auth_begin it is
    accepted, 61 s after it is refused with E_AUTH_NO_CHALLENGE, whose msg names auth_begin
    and the role (error table: "auth without a fresh auth_begin for that role")."""
    a = Auth(Keyring({"clinician": KEY_C}), CountingRandom())
    nonce = a.begin("clinician", 1000)
    assert a.complete("clinician", hexlify(login_mac(KEY_C, nonce, "clinician")), 1000 + 60) == "clinician"
    nonce = a.begin("clinician", 2000)
    e = _err(a.complete, "clinician", hexlify(login_mac(KEY_C, nonce, "clinician")), 2000 + 61)
    assert e.code == "E_AUTH_NO_CHALLENGE"
    assert e.detail == "call auth_begin for clinician first", e.detail
    # no challenge at all: the same refusal, naming the role asked for
    b = Auth(Keyring({"patient": KEY_P}), CountingRandom())
    e = _err(b.complete, "patient", WRONG, 0)
    assert e.code == "E_AUTH_NO_CHALLENGE" and e.detail == "call auth_begin for patient first", e.detail


def test_a_success_resets_the_failure_count_to_zero():
    """protocol.md: "after 3 consecutive wrong answers for a role, that role is locked for 30 s
    ... A success resets the count": 2 failures, a success, then 2 more failures are still
    plain E_AUTH_BAD_MAC; only the 3rd failure after the success locks (for 30 s)."""
    a = Auth(Keyring({"clinician": KEY_C}), CountingRandom())
    assert _wrong(a, "clinician", 0).code == "E_AUTH_BAD_MAC"
    assert _wrong(a, "clinician", 0).code == "E_AUTH_BAD_MAC"
    _answer(a, "clinician", KEY_C, 0)
    assert _wrong(a, "clinician", 1).code == "E_AUTH_BAD_MAC"
    assert _wrong(a, "clinician", 1).code == "E_AUTH_BAD_MAC"
    assert a.locked_for_s("clinician", 1) == 0
    e = _wrong(a, "clinician", 1)
    assert e.code == "E_AUTH_LOCKED"
    assert a.locked_for_s("clinician", 1) == 30


def test_refusal_texts_name_their_cause():
    """protocol.md: msg "says what exactly was wrong"; for E_AUTH_LOCKED it carries the
    seconds left ("retry in N s"). The texts are asserted whole: pumpctl shows them to the user. A wrong answer says the response was wrong; the answer
    that triggers the lockout says so and gives 30 s (the documented first lockout)."""
    a = Auth(Keyring({"clinician": KEY_C}), CountingRandom())
    e = _wrong(a, "clinician", 0)
    assert e.code == "E_AUTH_BAD_MAC"
    assert e.detail == "wrong challenge response", e.detail
    _wrong(a, "clinician", 0)
    e = _wrong(a, "clinician", 0)
    assert e.code == "E_AUTH_LOCKED"
    assert e.detail == "wrong response; retry in 30 s", e.detail


def test_the_last_second_of_a_lockout_survives_a_reboot():
    """protocol.md: "a reboot neither clears the count nor shortens the lockout; the seconds
    left at the last failure start again at boot". The clinician is locked at t=0 for 30 s;
    a patient failure at t=29 rewrites the auth store with 30 - 29 = 1 s left for the
    clinician, so after a reboot the clinician is still locked for exactly 1 s."""
    flash = MemoryFlash()
    keys = Keyring({"clinician": KEY_C, "patient": KEY_P})
    a = Auth(keys, CountingRandom(), flash, 0)
    for _ in range(3):
        _wrong(a, "clinician", 0)
    assert a.locked_for_s("clinician", 0) == 30
    assert _wrong(a, "patient", 29).code == "E_AUTH_BAD_MAC"
    b = Auth(keys, CountingRandom(), flash, 500)   # reboot: monotonic clock at 500
    assert b.locked_for_s("clinician", 500) == 1
    assert _err(b.begin, "clinician", 500).code == "E_AUTH_LOCKED"
    assert b.locked_for_s("clinician", 501) == 0


def test_frame_mac_is_64_hex_digits_in_either_case():
    """protocol.md: a frame's "mac" is 64 hex digits; hex digits are 0-9, a-f in either case
    ("Hex digits may be lower case on input"). An upper-case MAC is well formed and verifies;
    'X' (and any other non-hex letter) is not a hex digit."""
    assert valid_mac("AB" * 32) and valid_mac("ab" * 32) and valid_mac("0123456789ABCDEF" * 4)
    assert not valid_mac("X" * 64)
    assert not valid_mac("ab" * 31 + "aX")
    assert not valid_mac("ab" * 31 + "ag")
    assert not valid_mac("ab" * 32 + "a")
    a = Auth(Keyring({"clinician": KEY_C}), CountingRandom())
    skey = _answer(a, "clinician", KEY_C, 0)
    frame = sign(skey, {"id": 1, "cmd": "status", "args": {}, "sq": 1})
    frame["mac"] = frame["mac"].upper()
    assert valid_mac(frame["mac"])
    assert a.check(frame, 1) == "clinician"
