"""Issue 10, defect 2: a commit whose reply is lost. pumpctl reconnects, reads the pump's own log and says
"committed" or "not committed"; only an unreachable pump leaves the outcome unknown, said plainly with how to
check. Nothing is ever sent twice. The truth comes from outside the tool: a proxy that forwards (or drops) the
commit, and the pump's event log counted afterwards."""
import json
import socket
import threading

import pytest

from cli_helpers import NIGHT_RAMP, Pump, run


class LossyProxy:
    """TCP proxy to the emulator. When a request for `cmd` passes: "lose_reply" forwards it and mutes every reply
    on that connection (the pump acts, the host hears nothing: SIGSTOP at the prompt, a cable pulled);
    "drop" swallows it (the pump never sees it); "dead" swallows it and stops accepting connections."""

    def __init__(self, upstream_url, cmd, mode):
        self.up = upstream_url.split("//")[1].rsplit(":", 1)
        self.cmd = cmd.encode()
        self.mode = mode
        self.fired = 0
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.url = "socket://127.0.0.1:%d" % self.ls.getsockname()[1]
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            u = socket.create_connection((self.up[0], int(self.up[1])))
            self.socks += [c, u]
            mute = threading.Event()
            threading.Thread(target=self._up, args=(c, u, mute), daemon=True).start()
            threading.Thread(target=self._down, args=(u, c, mute), daemon=True).start()

    def _up(self, c, u, mute):
        buf = b""
        while True:
            try:
                d = c.recv(4096)
            except OSError:
                d = b""
            if not d:
                u.close()
                return
            buf += d
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if self.cmd in line and not self.fired:
                    self.fired += 1
                    mute.set()
                    if self.mode == "dead":
                        self._stop_listening()
                    if self.mode != "lose_reply":
                        continue
                if not mute.is_set() or self.mode == "lose_reply":
                    u.sendall(line + b"\n")

    def _down(self, u, c, mute):
        while True:
            try:
                d = u.recv(4096)
            except OSError:
                d = b""
            if not d:
                return
            if not mute.is_set():
                try:
                    c.sendall(d)
                except OSError:
                    return

    def _stop_listening(self):
        try:
            self.ls.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not on Linux
        except OSError:
            pass
        self.ls.close()

    def close(self):
        self._stop_listening()
        for s in self.socks:
            s.close()


@pytest.fixture
def pump(tmp_path):
    p = Pump(tmp_path, via="tcp", no_pty=True)
    p.ok("provision")
    yield p
    p.stop()


def via(pump, proxy, *argv):
    return run(["--port", proxy.url, "--keys", pump.keys, "--timeout", "1"] + list(argv))


def events(pump, name):
    return [e for e in json.loads(pump.ok("log", "--json").out)["entries"] if e["event"] == name]


def fill(pump):
    pump.ok("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--yes")


@pytest.mark.req("PUMPCTL-OUTCOME")
def test_programme_reply_lost_but_committed_says_committed(pump):
    fill(pump)
    px = LossyProxy(pump.url, "programme_commit", "lose_reply")
    try:
        r = via(pump, px, "programme", NIGHT_RAMP, "--yes")
    finally:
        px.close()
    assert px.fired == 1
    assert r.rc == 0, r
    assert "committed" in r.out and "reconnect" in r.err
    assert len(events(pump, "programme")) == 1  # applied once, never again
    assert json.loads(pump.ok("status", "--json").out)["daily_ng"] == 537500


@pytest.mark.req("PUMPCTL-OUTCOME")
def test_programme_request_lost_says_not_committed(pump):
    fill(pump)
    px = LossyProxy(pump.url, "programme_commit", "drop")
    try:
        r = via(pump, px, "programme", NIGHT_RAMP, "--yes", "--json")
    finally:
        px.close()
    err = json.loads(r.out)["error"]
    assert r.rc == 4 and "NOT committed" in err["message"] and err["outcome"] == "not_committed"
    assert events(pump, "programme") == []


@pytest.mark.req("PUMPCTL-OUTCOME")
def test_pump_unreachable_after_lost_reply_says_unknown_and_how_to_check(pump):
    fill(pump)
    px = LossyProxy(pump.url, "programme_commit", "dead")
    try:
        r = via(pump, px, "programme", NIGHT_RAMP, "--yes")
    finally:
        px.close()
    assert r.rc == 4 and "UNKNOWN" in r.err and "pumpctl log" in r.err and "Traceback" not in r.err


@pytest.mark.req("PUMPCTL-OUTCOME")
def test_refill_reply_lost_but_committed_is_found_once(pump):
    fill(pump)
    px = LossyProxy(pump.url, "refill_commit", "lose_reply")
    try:
        r = via(pump, px, "refill", "--withdrawn-ml", "19", "--added-ml", "19", "--yes")
    finally:
        px.close()
    assert r.rc == 0, r
    assert len(events(pump, "refill")) == 2  # the fill above + this one, not three


@pytest.mark.req("PUMPCTL-OUTCOME")
def test_bolus_request_lost_says_not_given(pump):
    fill(pump)
    pump.ok("programme", NIGHT_RAMP, "--yes")
    px = LossyProxy(pump.url, '"bolus"', "drop")
    try:
        r = via(pump, px, "bolus", "--dose-mcg", "50", "--minutes", "30", "--yes")
    finally:
        px.close()
    assert r.rc == 4 and "NOT" in r.err and events(pump, "bolus_start") == []
    px = LossyProxy(pump.url, '"bolus"', "lose_reply")
    try:
        r = via(pump, px, "bolus", "--dose-mcg", "50", "--minutes", "30", "--yes")
    finally:
        px.close()
    assert r.rc == 0 and "started" in r.out, r
    assert len(events(pump, "bolus_start")) == 1


@pytest.mark.req("PUMPCTL-OUTCOME")
def test_rerunning_the_same_refill_is_refused_unless_repeat(pump):
    """After 'outcome unknown' a user may re-run the refill: the pump's log shows it already happened."""
    fill(pump)
    r = pump.run("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--yes")
    assert r.rc == 7 and "looks like a repeat" in r.err and "--repeat" in r.err
    assert len(events(pump, "refill")) == 1


def test_a_different_refill_or_an_explicit_repeat_is_accepted(pump):
    fill(pump)
    pump.ok("refill", "--withdrawn-ml", "20", "--added-ml", "19", "--yes")
    pump.ok("refill", "--withdrawn-ml", "19", "--added-ml", "19", "--repeat", "--yes")
    assert len(events(pump, "refill")) == 3
