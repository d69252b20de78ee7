"""hil/lab.py and hil/lab_power.py without a labgrid install (the lab lane runs them for real:
`make hil-lab`, hil/test_0_lab.py).

Expected URLs are pyserial's own URL forms for the protocols labgrid's NetworkSerialPort names
(rfc2217 = ser2net's telnet/RFC 2217 accepter, raw = a plain TCP byte stream)."""
import os
import socket
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HIL = os.path.join(REPO, "hil")
sys.path.insert(0, HIL)

import lab  # noqa: E402
import reach  # noqa: E402


class NetworkSerialPort:  # the class name is what hil/lab.py dispatches on, as for labgrid's resource
    def __init__(self, host, port, protocol="rfc2217"):
        self.host, self.port, self.protocol = host, port, protocol


class RawSerialPort:
    def __init__(self, port):
        self.port = port


@pytest.mark.req("HIL-LABGRID")
def test_network_serial_port_becomes_the_pyserial_url_pumpctl_opens():
    assert lab.port_url(NetworkSerialPort("rig3.lab", 4001)) == "rfc2217://rig3.lab:4001"
    assert lab.port_url(NetworkSerialPort("127.0.0.1", 7701, "raw")) == "socket://127.0.0.1:7701"
    assert lab.port_url(RawSerialPort("/dev/ttyACM0")) == "/dev/ttyACM0"


@pytest.mark.req("HIL-LABGRID")
def test_unknown_protocol_or_portless_resource_is_refused_with_a_fix():
    with pytest.raises(reach.Unreachable) as e:
        lab.port_url(NetworkSerialPort("h", 1, "telnet"))
    assert "telnet" in e.value.cause and "NetworkSerialPort" in e.value.fix
    with pytest.raises(reach.Unreachable):
        lab.port_url(RawSerialPort(None))


class FakePower:
    def __init__(self):
        self.calls = []

    def cycle(self):
        self.calls.append("cycle")


@pytest.mark.req("HIL-LABGRID")
def test_power_cycle_capability_exactly_when_the_place_has_a_power_driver():
    power = FakePower()
    t = lab.LabTarget("socket://127.0.0.1:1", {"power": power})
    assert "power_cycle" in t.caps
    assert t.power_cycle() == "socket://127.0.0.1:1" and power.calls == ["cycle"]
    assert "power_cycle" not in lab.LabTarget("socket://127.0.0.1:1", {"power": None}).caps


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def power(action, state, port):
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "host"))
    return subprocess.run([sys.executable, os.path.join(HIL, "lab_power.py"), action, "--state", state,
                           "--port", str(port)], capture_output=True, text=True, timeout=60, env=env)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child of an exited lab_power.py may linger as a zombie until reaped: dead all the same.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.req("HIL-LABGRID-LOOPBACK")
def test_power_switch_stops_the_emulator_even_after_a_factory_reset_wiped_its_flash(tmp_path):
    """Found in the lab lane: the pid file lived in the flash directory and sim_reset erased it, so
    `off` left the old emulator running and `on` failed on the busy port."""
    state, port = str(tmp_path / "flash"), free_port()
    on = power("on", state, port)
    pid = None
    try:
        assert on.returncode == 0, on.stderr
        pid = int(open(state + ".pid").read())
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        assert power("on", state, port).returncode == 0   # already on: nothing happens
        assert int(open(state + ".pid").read()) == pid
        for name in os.listdir(state):  # what sim_reset does to the flash
            os.remove(os.path.join(state, name))
        assert power("off", state, port).returncode == 0
        end = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < end:
            time.sleep(0.05)
        assert not pid_alive(pid)
        assert not os.path.exists(state + ".pid")
    finally:
        power("off", state, port)
        if pid is not None and pid_alive(pid):
            os.kill(pid, 9)


@pytest.mark.req("HIL-LABGRID-LOOPBACK")
def test_power_on_refuses_a_port_another_program_holds(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        proc = power("on", str(tmp_path / "flash"), s.getsockname()[1])
    assert proc.returncode == 1
    assert "in use by another program" in proc.stderr
    assert not os.path.exists(str(tmp_path / "flash") + ".pid")


class FakeConfig:
    """What check_env_variables reads of pytest's config: labgrid's --lg-env and the plugin's --target."""

    def __init__(self, lg_env, target="emu"):
        self.option = type("Opt", (), {"lg_env": lg_env})()
        self.pluginmanager = type("PM", (), {"hasplugin": staticmethod(lambda name: False)})()
        self._target = target

    def getoption(self, name):
        assert name == "--target"
        return self._target


@pytest.mark.req("HIL-LABGRID")
def test_env_file_usage_mistakes_are_usage_errors(monkeypatch):
    env_dir = os.path.join(HIL, "env")
    monkeypatch.setenv("LG_PLACE", "p")
    lab.check_env_variables(FakeConfig(os.path.join(env_dir, "pico.yaml")))   # accepted
    lab.check_env_variables(FakeConfig(None, target="/dev/ttyACM0"))            # no labgrid at all
    with pytest.raises(pytest.UsageError, match="--target /dev/ttyACM0 and --lg-env both name the board"):
        lab.check_env_variables(FakeConfig(os.path.join(env_dir, "pico.yaml"), target="/dev/ttyACM0"))
    with pytest.raises(pytest.UsageError, match="nope.yaml: No such file"):
        lab.check_env_variables(FakeConfig(os.path.join(env_dir, "nope.yaml")))
    monkeypatch.delenv("LG_PLACE")
    monkeypatch.delenv("LG_PUMP_PYTHON", raising=False)
    with pytest.raises(pytest.UsageError, match="needs LG_PLACE, LG_PUMP_PYTHON set"):
        lab.check_env_variables(FakeConfig(os.path.join(env_dir, "lab-loopback.yaml")))
