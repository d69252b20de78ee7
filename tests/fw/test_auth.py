"""Authentication: keyring, challenge-response, session MACs, replay, lockout."""
import auth
from auth import Auth, Keyring, frame_mac, login_mac, session_key, sign
from compat import hexlify, hmac_sha256
from protocol import PumpError
from pumpkit import CountingRandom

KEY_C = b"clinician-key-0123456789abcdef!!"
KEY_P = b"patient-key-0123456789abcdef!!!!"
Counter = CountingRandom   # tests/fw/pumpkit.py


def _raises(code, fn, *args):
    try:
        fn(*args)
    except PumpError as e:
        assert e.code == code, (e.code, code)
        return e
    raise AssertionError("expected " + code)


def _login(a, role, key, now_s=0):
    nonce = a.begin(role, now_s)
    a.complete(role, hexlify(login_mac(key, nonce, role)), now_s)
    return session_key(key, nonce)


def test_hmac_rfc4231_case_2():
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?")
    assert hexlify(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_keyring_roundtrip_and_validation():
    k = Keyring({"clinician": KEY_C})
    k.set("patient", hexlify(KEY_P))
    d = k.to_dict()
    assert d == {"clinician": hexlify(KEY_C), "patient": hexlify(KEY_P)}
    k2 = Keyring.from_dict(d)
    assert k2.get("clinician") == KEY_C and k2.get("patient") == KEY_P
    assert k2.get("service") is None
    _raises("E_BAD_ARGS", k.set, "admin", KEY_C)
    _raises("E_BAD_ARGS", k.set, "patient", b"short")
    _raises("E_BAD_ARGS", k.set, "patient", "zz" * 16)
    k.remove("patient")
    assert k.roles() == ["clinician"]


def test_dev_service_key_only_when_asked():
    k = Keyring({}, dev_serial="ITB-000123")
    assert k.get("service") == auth.dev_service_key("ITB-000123")
    assert k.get("service") != auth.dev_service_key("ITB-000124")
    assert "service" not in k.to_dict()  # derived, never persisted
    clinical = Keyring({})
    assert clinical.get("service") is None
    provisioned = Keyring({"service": KEY_C}, dev_serial="ITB-000123")
    assert provisioned.get("service") == KEY_C


def test_login_and_session_frames():
    a = Auth(Keyring({"clinician": KEY_C}), Counter())
    skey = _login(a, "clinician", KEY_C, 100)
    assert a.role() == "clinician"
    f = sign(skey, {"id": 1, "cmd": "stop", "args": {}, "sq": 1})
    assert a.check(f, 101) == "clinician"
    f2 = sign(skey, {"id": 2, "cmd": "stop", "args": {}, "sq": 5})
    assert a.check(f2, 102) == "clinician"
    # a frame without a MAC is simply unauthenticated
    assert a.check({"id": 3, "cmd": "status"}, 103) is None


def test_replay_and_reorder_rejected():
    a = Auth(Keyring({"clinician": KEY_C}), Counter())
    skey = _login(a, "clinician", KEY_C)
    f1 = sign(skey, {"id": 1, "cmd": "stop", "args": {}, "sq": 1})
    f2 = sign(skey, {"id": 2, "cmd": "resume", "args": {}, "sq": 2})
    assert a.check(f1, 1) == "clinician"
    _raises("E_AUTH_REPLAY", a.check, f1, 2)
    assert a.check(f2, 3) == "clinician"
    _raises("E_AUTH_REPLAY", a.check, f1, 4)
    _raises("E_AUTH_REPLAY", a.check, f2, 5)


def test_tampered_frame_rejected_without_state_change():
    a = Auth(Keyring({"clinician": KEY_C}), Counter())
    skey = _login(a, "clinician", KEY_C)
    f = sign(skey, {"id": 1, "cmd": "bolus", "args": {"dose_ng": 50000}, "sq": 7})
    bad = dict(f)
    bad["args"] = {"dose_ng": 500000}
    _raises("E_AUTH_BAD_MAC", a.check, bad, 1)
    bad_sq = dict(f)
    bad_sq["sq"] = 8
    _raises("E_AUTH_BAD_MAC", a.check, bad_sq, 1)
    # the genuine frame still passes: failed frames did not advance sq
    assert a.check(f, 2) == "clinician"


def test_recorded_frame_fails_in_a_new_session():
    a = Auth(Keyring({"clinician": KEY_C}), Counter())
    skey = _login(a, "clinician", KEY_C)
    f = sign(skey, {"id": 1, "cmd": "stop", "args": {}, "sq": 1})
    assert a.check(f, 1) == "clinician"
    _login(a, "clinician", KEY_C, 2)
    _raises("E_AUTH_BAD_MAC", a.check, f, 3)


def test_session_ends_on_logout_new_login_and_idle():
    a = Auth(Keyring({"clinician": KEY_C}), Counter())
    skey = _login(a, "clinician", KEY_C)
    a.logout()
    _raises("E_AUTH_REQUIRED", a.check, sign(skey, {"id": 1, "cmd": "stop", "sq": 1}), 1)
    skey = _login(a, "clinician", KEY_C, 10)
    # issue 8, defect 9: a new challenge alone does not end the session (anyone may ask for one)
    a.begin("clinician", 11)
    assert a.role() == "clinician"
    assert a.check(sign(skey, {"id": 1, "cmd": "stop", "sq": 1}), 12) == "clinician"
    _login(a, "clinician", KEY_C, 13)   # ...a successful new login does
    _raises("E_AUTH_BAD_MAC", a.check, sign(skey, {"id": 2, "cmd": "stop", "sq": 2}), 14)
    skey = _login(a, "clinician", KEY_C, 20)
    assert a.check(sign(skey, {"id": 1, "cmd": "stop", "sq": 1}), 20 + auth.SESSION_IDLE_S) == "clinician"
    late = 20 + 2 * auth.SESSION_IDLE_S + 1
    _raises("E_AUTH_EXPIRED", a.check, sign(skey, {"id": 2, "cmd": "stop", "sq": 2}), late)
    assert a.role() is None


def test_challenge_single_use_role_bound_and_fresh():
    a = Auth(Keyring({"clinician": KEY_C, "patient": KEY_P}), Counter())
    _raises("E_AUTH_NO_CHALLENGE", a.complete, "clinician", "00" * 32, 0)
    nonce = a.begin("patient", 0)
    # answering for another role than the challenge was issued for
    _raises("E_AUTH_NO_CHALLENGE", a.complete, "clinician", hexlify(login_mac(KEY_C, nonce, "clinician")), 0)
    nonce = a.begin("clinician", 0)
    good = hexlify(login_mac(KEY_C, nonce, "clinician"))
    a.complete("clinician", good, 1)
    _raises("E_AUTH_NO_CHALLENGE", a.complete, "clinician", good, 2)
    nonce = a.begin("clinician", 100)
    good = hexlify(login_mac(KEY_C, nonce, "clinician"))
    _raises("E_AUTH_NO_CHALLENGE", a.complete, "clinician", good, 100 + auth.CHALLENGE_TTL_S + 1)


def test_nonces_differ_and_come_from_the_hal():
    rnd = Counter()
    a = Auth(Keyring({"clinician": KEY_C}), rnd)
    n1 = a.begin("clinician", 0)
    n2 = a.begin("clinician", 0)
    assert n1 != n2 and len(n1) == 2 * auth.NONCE_BYTES and rnd.n == 2


def test_patient_key_cannot_log_in_as_clinician():
    a = Auth(Keyring({"clinician": KEY_C, "patient": KEY_P}), Counter())
    nonce = a.begin("clinician", 0)
    _raises("E_AUTH_BAD_MAC", a.complete, "clinician", hexlify(login_mac(KEY_P, nonce, "clinician")), 0)
    assert a.role() is None


def test_unknown_role_and_missing_key():
    a = Auth(Keyring({"clinician": KEY_C}), Counter())
    _raises("E_BAD_ARGS", a.begin, "root", 0)
    _raises("E_AUTH_NO_KEY", a.begin, "patient", 0)
    _raises("E_AUTH_NO_KEY", a.begin, "service", 0)


def _fail_once(a, now_s):
    a.begin("clinician", now_s)
    try:
        a.complete("clinician", "ab" * 32, now_s)
    except PumpError as e:
        return e.code
    raise AssertionError("wrong MAC accepted")


def test_lockout_with_exponential_backoff():
    a = Auth(Keyring({"clinician": KEY_C, "patient": KEY_P}), Counter())
    assert _fail_once(a, 0) == "E_AUTH_BAD_MAC"
    assert _fail_once(a, 0) == "E_AUTH_BAD_MAC"
    assert _fail_once(a, 0) == "E_AUTH_LOCKED"
    assert a.locked_for_s("clinician", 0) == auth.LOCK_BASE_S
    e = _raises("E_AUTH_LOCKED", a.begin, "clinician", auth.LOCK_BASE_S - 1)
    assert "1 s" in e.detail
    # other roles are not locked out by a clinician's failures
    _login(a, "patient", KEY_P, 1)
    # after the lockout, the next failure doubles it
    t = auth.LOCK_BASE_S
    assert _fail_once(a, t) == "E_AUTH_LOCKED"
    assert a.locked_for_s("clinician", t) == 2 * auth.LOCK_BASE_S
    t += 2 * auth.LOCK_BASE_S
    assert _fail_once(a, t) == "E_AUTH_LOCKED"
    assert a.locked_for_s("clinician", t) == 4 * auth.LOCK_BASE_S
    # a correct login while locked is refused too (no oracle)
    _raises("E_AUTH_LOCKED", a.begin, "clinician", t + 1)
    # success after the lockout resets the counter
    t += 4 * auth.LOCK_BASE_S
    _login(a, "clinician", KEY_C, t)
    assert _fail_once(a, t) == "E_AUTH_BAD_MAC"


def test_lockout_is_capped():
    a = Auth(Keyring({"clinician": KEY_C}), Counter())
    t = 0
    for _ in range(30):
        _fail_once(a, t)
        t += a.locked_for_s("clinician", t)
    _fail_once(a, t)
    assert a.locked_for_s("clinician", t) == auth.LOCK_MAX_S


def test_frame_mac_is_order_independent():
    skey = b"k" * 32
    f1 = {"id": 1, "cmd": "x", "args": {"a": 1, "b": 2}, "sq": 3}
    f2 = {}
    for k in ("sq", "args", "cmd", "id"):
        f2[k] = f1[k]
    assert frame_mac(skey, f1) == frame_mac(skey, f2)
    assert frame_mac(skey, sign(skey, f1)) == frame_mac(skey, f1)


def test_worked_example_in_protocol_doc():
    # docs/protocol.md, "Worked example": independent implementations check against this.
    key = auth.dev_service_key("ITB-000042")
    assert hexlify(key) == "12c12505d2d246fc5c657599de3d906e0578925884dbbf0031cf025444de0eff"
    nonce = "00112233445566778899aabbccddeeff"
    assert hexlify(login_mac(key, nonce, "service")) == (
        "afd3ae37dcc490a9c9895a3af6bc47b55ec38b86ca4688ccd1a396170bc2c53b"
    )
    skey = session_key(key, nonce)
    assert hexlify(skey) == "880ddcde0c5e79aa217ccc642fd4c6ebad018543c910f301959b107c04421bac"
    frame = {"id": 7, "cmd": "sim_warp", "args": {"seconds": 3600}, "sq": 1}
    assert frame_mac(skey, frame) == "5d4b541ae5d5721760bd0acd66d3b96ae3cbef26cf83abd5fff22aefa6aa287a"


# Requirement ids proven by each test (requirements/requirements.toml; read by tools/trace.py).
REQS = {
    "test_replay_and_reorder_rejected": ["AUTH-REPLAY"],
    "test_lockout_with_exponential_backoff": ["AUTH-LOCKOUT"],
    "test_patient_key_cannot_log_in_as_clinician": ["AUTH-ROLES"],
}
