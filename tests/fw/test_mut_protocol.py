"""Issue 8 (mutation survivors in protocol, link, auth, flash): decoder error values and their
reply text, the login after a logout, the failure count saved while another role is locked, and
the file-backed flash's names and directory handling.

Oracles: docs/protocol.md's error table (number and meaning of each code; `msg` falls back to
the meaning when there is no detail) and its golden frame `{"args":{},"cmd":"hello","id":1}*54E46EE5`
(so a wrong suffix must be answered "expected 54E46EE5"); docs/protocol.md "Authentication"
(a login needs a fresh auth_begin; logout ends the session); docs/design.md's flash API (names()
lists the stored names; a name is one path component, no '/', not empty, not starting with '.').
"""
import os

import auth
import protocol
from auth import Auth, Keyring
from flash import FileFlash, MemoryFlash
from protocol import FrameError, PumpError
from pumpkit import CountingRandom, tmpdir, rmtree

KEY_C = b"clinician-key-0123456789abcdef!!"
KEY_P = b"patient-key-0123456789abcdef!!!!"


def test_frame_errors_carry_the_documented_number_and_compare_by_code():
    assert FrameError("E_FRAME_CRC").num == 2 and FrameError("E_FRAME_JSON", "x").num == 4
    assert FrameError("E_FRAME_CRC").detail == ""
    assert FrameError("E_FRAME_CRC", "a") == FrameError("E_FRAME_CRC", "b")
    assert not (FrameError("E_FRAME_CRC") == FrameError("E_FRAME_JSON"))
    assert not (FrameError("E_FRAME_CRC") == "E_FRAME_CRC")
    assert repr(FrameError("E_FRAME_CRC", "x")) == "FrameError('E_FRAME_CRC', 'x')"


def test_reply_without_detail_says_the_documented_meaning():
    err = protocol.reply_err(7, "E_FRAME_CRC")
    assert err == {"id": 7, "ok": False, "err": {"code": "E_FRAME_CRC", "n": 2,
                                                 "msg": "CRC-32 suffix does not match the JSON bytes"}}, err
    assert protocol.error_obj("E_BAD_ARGS") == {"code": "E_BAD_ARGS", "n": 40,
                                                "msg": "argument missing, of the wrong type or out of its domain"}
    fe = FrameError("E_FRAME_OVERSIZE")
    assert protocol.reply_err(None, fe.code, fe.detail)["err"]["msg"] == \
        "line longer than 8192 bytes; discarded up to the next newline"


def test_link_answers_a_wrong_crc_with_the_expected_crc():
    from hal_sim import SimHal
    from runtime import PumpRuntime
    from pumpkit import T0
    rt = PumpRuntime(SimHal(start_t_s=T0), serial="SIM00001", build="test")
    rt.boot()
    out = protocol.Decoder().feed(rt.feed(b'{"args":{},"cmd":"hello","id":1}*00000000\n'))
    replies = [x for x in out if "ev" not in x]
    assert replies == [{"id": None, "ok": False, "err": {"code": "E_FRAME_CRC", "n": 2,
                                                         "msg": "expected 54E46EE5"}}], replies


Counter = CountingRandom   # tests/fw/pumpkit.py


def _code(fn, *args):
    try:
        fn(*args)
    except PumpError as e:
        return e.code
    return None


def test_logout_drops_a_pending_challenge():
    a = Auth(Keyring({"clinician": KEY_C}), Counter())
    nonce = a.begin("clinician", 0)
    a.logout()
    mac = auth.hexlify(auth.login_mac(KEY_C, nonce, "clinician"))
    assert _code(a.complete, "clinician", mac, 1) == "E_AUTH_NO_CHALLENGE"
    # and a fresh challenge works again
    nonce = a.begin("clinician", 2)
    assert a.complete("clinician", auth.hexlify(auth.login_mac(KEY_C, nonce, "clinician")), 2) == "clinician"


def test_a_failed_login_is_saved_while_another_role_is_locked_out():
    """3 failures lock a role for 30 s (docs/protocol.md); a failure of another role meanwhile is
    still an ordinary E_AUTH_BAD_MAC and is persisted with the running lockout."""
    fl = MemoryFlash()
    a = Auth(Keyring({"clinician": KEY_C, "patient": KEY_P}), Counter(), flash=fl, now_s=0)
    for _ in range(3):
        a.begin("clinician", 0)
        last = _code(a.complete, "clinician", "ab" * 32, 0)
    assert last == "E_AUTH_LOCKED"
    a.begin("patient", 10)
    assert _code(a.complete, "patient", "ab" * 32, 10) == "E_AUTH_BAD_MAC"
    # a reboot at t=10 keeps both: the clinician's 20 s left, the patient's one failure
    b = Auth(Keyring({"clinician": KEY_C, "patient": KEY_P}), Counter(), flash=fl, now_s=100)
    assert b.locked_for_s("clinician", 100) == 20
    b.begin("patient", 100)
    assert _code(b.complete, "patient", "ab" * 32, 100) == "E_AUTH_BAD_MAC"
    b.begin("patient", 100)
    assert _code(b.complete, "patient", "ab" * 32, 100) == "E_AUTH_LOCKED"


def test_file_flash_refuses_names_that_are_not_one_plain_component():
    d = tmpdir("mutflash")
    try:
        fl = FileFlash(d)
        for bad in ("", ".hidden", "a/b", "/abs"):
            try:
                fl.write(bad, b"x")
            except ValueError:
                continue
            raise AssertionError("accepted flash name %r" % bad)
        fl.write("ok", b"x")
        assert fl.names() == ["ok"]
    finally:
        rmtree(d)


def test_file_flash_names_skip_dot_files_and_a_trailing_slash_is_the_same_directory():
    d = tmpdir("mutflash")
    try:
        with open(d + "/.littlefs-tmp", "wb") as f:
            f.write(b"not ours")
        fl = FileFlash(d + "/")
        assert fl.root == d
        fl.write("events", b"1234")
        assert fl.names() == ["events"]
        assert FileFlash(d).read("events") == b"1234"
        # only the slash is stripped: a directory name ending in "X" stays itself
        fx = FileFlash(d + "/subX/")
        assert fx.root == d + "/subX"
        fx.write("a", b"1")
        assert fx.names() == ["a"]
        fx.remove("a")
        os.rmdir(d + "/subX")
    finally:
        rmtree(d)
    assert FileFlash("/").root == "/"     # the board's littlefs root: nothing to create


def test_file_flash_creates_a_relative_nested_directory():
    d = tmpdir("mutflash")
    cwd = os.getcwd()
    try:
        os.chdir(d)
        fl = FileFlash("outer/inner")
        fl.write("x", b"1")
        assert FileFlash(d + "/outer/inner").read("x") == b"1"
    finally:
        os.chdir(cwd)
        os.remove(d + "/outer/inner/x")
        os.rmdir(d + "/outer/inner")
        os.rmdir(d + "/outer")
        os.rmdir(d)


def test_pump_error_defaults_and_an_unknown_code_becomes_e_internal_naming_it():
    """docs/protocol.md error table: E_INTERNAL (9) is "unexpected firmware fault"; a refusal raised
    with a code the table lacks is reported as E_INTERNAL whose msg keeps the code and its text."""
    e = PumpError("E_STATE")
    assert (e.code, e.detail, e.num, str(e)) == ("E_STATE", "", 41, "E_STATE")
    e = PumpError("E_NO_SUCH_CODE", "why")
    assert (e.code, e.detail, e.num) == ("E_INTERNAL", "E_NO_SUCH_CODE: why", 9)
    e = PumpError("E_NO_SUCH_CODE")
    assert (e.code, e.detail) == ("E_INTERNAL", "E_NO_SUCH_CODE")
    assert str(PumpError("E_STATE", "x")) == "E_STATE: x"
