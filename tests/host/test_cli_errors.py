"""pumpctl error paths: each names cause and fix and exits with its documented code."""
import os
import socket
import threading

import pytest

from cli_helpers import NIGHT_RAMP, Pump, run
from pumpctl.cli import main as cli
from pumpctl.link.keys import KeyStore
from pumpctl.link.session import Session, SessionError
from protocol import encode, reply_ok


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class FakeServer:
    """A TCP peer that is not a pump: silent, REPL-like garbage, or another protocol version."""

    def __init__(self, mode):
        self.mode = mode
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.url = "socket://127.0.0.1:%d" % self.ls.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._talk, args=(c,), daemon=True).start()

    def _talk(self, c):
        buf = b""
        while True:
            try:
                d = c.recv(4096)
            except OSError:
                return
            if not d:
                return
            buf += d
            if self.mode == "repl":
                c.sendall(b"Traceback (most recent call last):\r\n>>> ")
            elif self.mode == "version" and b'"hello"' in buf:
                c.sendall(encode(reply_ok(1, {"protocol": 99, "serial": "X", "build": "test"})))
                buf = b""

    def close(self):
        self.ls.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def no_port_env(monkeypatch):
    monkeypatch.delenv("PUMPCTL_PORT", raising=False)
    import pumpctl.link.ports as ports

    monkeypatch.setattr(ports, "candidates", lambda comports=None: [])


def test_no_port_anywhere_exit_3_names_fix(no_port_env, tmp_path):
    r = run(["--keys", str(tmp_path / "k.toml"), "status"])
    assert r.rc == cli.EXIT_PORT == 3
    assert "VID:PID 2E8A:0005" in r.err and "fix:" in r.err and "pumpctl emulate" in r.err


def test_bad_device_path_exit_3():
    r = run(["--port", "/dev/does-not-exist-pump9", "status"])
    assert r.rc == 3 and "not found" in r.err and "pumpctl ports" in r.err


def test_nothing_listening_exit_3():
    r = run(["--port", "socket://127.0.0.1:%d" % _free_port(), "status"])
    assert r.rc == 3 and "nothing is listening" in r.err and "emulate" in r.err


def test_permission_denied_names_dialout(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can open any device node")
    dev = tmp_path / "ttyFAKE"
    dev.write_text("")
    os.chmod(dev, 0)
    r = run(["--port", str(dev), "status"])
    assert r.rc == 3 and "dialout" in r.err


def test_silent_peer_times_out_exit_4():
    srv = FakeServer("silent")
    try:
        r = run(["--port", srv.url, "--timeout", "0.3", "status"])
    finally:
        srv.close()
    assert r.rc == cli.EXIT_TIMEOUT == 4 and "no reply" in r.err and "fix:" in r.err


def test_repl_instead_of_firmware_says_so():
    srv = FakeServer("repl")
    try:
        r = run(["--port", srv.url, "--timeout", "0.3", "info"])
    finally:
        srv.close()
    assert r.rc == 4 and "not pump frames" in r.err and "flash the firmware" in r.err


def test_protocol_version_mismatch_exit_5():
    srv = FakeServer("version")
    try:
        r = run(["--port", srv.url, "--timeout", "1", "status"])
    finally:
        srv.close()
    assert r.rc == cli.EXIT_VERSION == 5 and "protocol 99" in r.err and "fix:" in r.err


@pytest.fixture
def pump(tmp_path):
    p = Pump(tmp_path, via="tcp", no_pty=True)
    yield p
    p.stop()


def test_wrong_key_exit_6_and_not_saved(pump):
    pump.ok("provision")
    good = KeyStore(pump.keys).get("EMU00001", "clinician")
    r = pump.run("login", "--role", "clinician", "--key", "00" * 32)
    assert r.rc == cli.EXIT_AUTH == 6 and "E_AUTH_BAD_MAC" in r.err and "wrong key" in r.err
    assert KeyStore(pump.keys).get("EMU00001", "clinician") == good


def test_no_key_exit_6_names_provision(pump):
    r = pump.run("stop", "--yes")
    assert r.rc == 6 and "no clinician key" in r.err and "pumpctl provision" in r.err


def test_malformed_key_is_usage_error(pump):
    r = pump.run("login", "--key", "not-hex")
    assert r.rc == 2 and "hex" in r.err


def test_world_readable_key_file_refused(pump):
    pump.ok("provision")
    os.chmod(pump.keys, 0o644)
    r = pump.run("stop", "--yes")
    assert r.rc == 6 and "chmod 600" in r.err


def test_pump_refusal_exit_7_with_code(pump):
    pump.ok("provision")
    pump.ok("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--yes")
    r = pump.run("bolus", "--dose-mcg", "50", "--yes")
    assert r.rc == 7 and "E_STATE" in r.err
    r = pump.run("refill", "--withdrawn-ml", "0", "--added-ml", "25", "--yes")
    assert r.rc == 7 and "E_OVERFILL" in r.err


def test_bad_prescription_is_usage_error_before_touching_pump(pump, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[drug]\nconcentration_mcg_ml = 2000\n[programme]\nmode = "continuous"\ndose_mcg_day = 0.0005\n')
    r = pump.run("programme", str(bad), "--yes")
    assert r.rc == 2 and "finer than" in r.err
    over = tmp_path / "over.toml"
    over.write_text('[drug]\nconcentration_mcg_ml = 2000\n[programme]\nmode = "continuous"\ndose_mcg_day = 2500\n')
    r = pump.run("programme", str(over), "--yes")
    assert r.rc == 2 and "E_DOSE_RANGE" in r.err


def test_clinical_build_refuses_sim_exit_10(tmp_path):
    p = Pump(tmp_path, via="tcp", no_pty=True, build="clinical")
    try:
        r = p.run("sim", "warp", "1d")
        assert r.rc == cli.EXIT_BUILD == 10 and "test builds" in r.err and "clinical" in r.err
        r = p.run("provision")  # no derived service key on a clinical build
        assert r.rc == 6 and "no service key" in r.err
    finally:
        p.stop()


def test_commit_without_stage_impossible_and_hash_never_supplied_by_caller(pump):
    """The session has no way to commit a hash it was not given by the pump for the current stage."""
    pump.ok("provision")
    ks = KeyStore(pump.keys)
    with Session(pump.url, keystore=ks, timeout_s=5) as s:
        s.connect()
        s.ensure_role("clinician")
        with pytest.raises(SessionError) as ei:
            cli_guard(s, "commit")
        assert "stage first" in ei.value.fix
        assert s.state == "authenticated"
        import inspect

        assert list(inspect.signature(s._do_commit).parameters) == []
        s.stage("refill", {"withdrawn_nl": 0, "added_nl": 1000000, "conc_ug_ml": 500})
        assert s.state == "staged"
        s.request("alarms_test")  # any state-changing request in between drops the stage
        assert s.state == "authenticated" and s.staged is None
        with pytest.raises(SessionError):
            cli_guard(s, "commit")
        s.stage("refill", {"withdrawn_nl": 0, "added_nl": 1000000, "conc_ug_ml": 500})
        s.commit()
        s.verify()
        assert s.state == "verified"


def cli_guard(s, trig):
    from pumpctl.link.session import guarded

    return guarded(s, trig)


def test_interactive_confirmation_answer_no_changes_nothing(pump, monkeypatch):
    pump.ok("provision")
    pump.ok("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--yes")
    monkeypatch.setenv("PUMPCTL_ASSUME_TTY", "1")
    r = pump.run("programme", NIGHT_RAMP, stdin="n\n")
    assert r.rc == 8 and "not confirmed" in r.err
    r = pump.run("programme", NIGHT_RAMP, stdin="y\n")
    assert r.rc == 0 and "identical" in r.out
