"""Self-tests of the labgrid path (hil/lab.py): run only on a labgrid place (`make hil-lab`).

The expected values come from outside the plugin: the emulator's TCP port and flash directory that
hil/lab_loopback.py chose (LG_PUMP_TCP_PORT, LG_PUMP_STATE), the emulator process id that only
hil/lab_power.py (the env's ExternalPowerDriver commands) writes, and the pump's own event log.
"""
import os
import subprocess
import sys

import pytest

import lab


@pytest.fixture
def loopback(request, pytestconfig, hil_target):
    if not lab.lab_env_given(pytestconfig):
        pytest.skip("labgrid self-test: runs with --lg-env only (make hil-lab)")
    if not os.environ.get("LG_PUMP_STATE"):
        pytest.skip("labgrid self-test: needs the loopback lab's emulator (hil/lab_loopback.py)")
    return request.getfixturevalue("target")


def emulator_pid():
    with open(os.path.normpath(os.environ["LG_PUMP_STATE"]) + ".pid") as f:
        return int(f.read())


@pytest.mark.req("HIL-LABGRID", "HIL-LABGRID-LOOPBACK")
def test_dut_talks_to_the_places_serial_port(loopback, dut):
    """The pump is reached through the acquired place's NetworkSerialPort (raw TCP = socket://),
    published by the exporter, not through --target."""
    remote = [r for r in loopback.resources if type(r).__name__ == "NetworkSerialPort"]
    assert len(remote) == 1 and type(remote[0].parent).__name__ == "RemotePlace", loopback.resources
    assert remote[0].parent.name == os.environ["LG_PLACE"]
    assert dut.port == "socket://127.0.0.1:%s" % os.environ["LG_PUMP_TCP_PORT"]
    assert dut.info["serial"] == "HILLAB01"  # lab_power.py's emulator, not an in-process one


@pytest.mark.needs("power_cycle")
@pytest.mark.req("HIL-LABGRID", "HIL-LABGRID-LOOPBACK")
def test_power_cycle_goes_through_the_places_power_driver(loopback, dut):
    """power_cycle is the env's ExternalPowerDriver: a new emulator process on the same flash,
    and the pump logs the power cut as an unclean reset (issue 2, "Persistence and log")."""
    pid = emulator_pid()
    seq = dut.log()[-1][0]
    dut.power_cycle()
    assert emulator_pid() != pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    names = [e[2] for e in dut.log(seq + 1)]
    assert names == ["reset_unclean"], names


ENV_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "env")


@pytest.mark.req("HIL-LABGRID")
def test_env_files_name_classes_labgrid_has():
    """hil/env/*.yaml (the loopback lab and the documented Pico bench) use only resources, drivers and
    exporter classes that the pinned labgrid registers: the bench example is not untried fiction."""
    labgrid = pytest.importorskip("labgrid", reason="labgrid is in .venv-lab only (make hil-lab)")
    from labgrid.factory import target_factory
    from labgrid.remote.config import ResourceConfig
    from labgrid.remote.exporter import exports
    from labgrid.util.yaml import load

    assert labgrid.__version__.startswith("26.0.1")
    for name in ("pico.yaml", "lab-loopback.yaml"):
        with open(os.path.join(ENV_DIR, name)) as f:
            main = load(f)["targets"]["main"]
        assert set(main["resources"]) <= set(target_factory.resources), name
        assert main["drivers"] and set(main["drivers"]) <= set(target_factory.drivers), name
    for name in ("pico-exporter.yaml", "lab-exporter.yaml"):
        cfg = ResourceConfig(os.path.join(ENV_DIR, name), {"env": {"LG_PUMP_TCP_PORT": "7701"}})
        for group in cfg.data.values():
            classes = {k for k in group if k != "location"}
            assert classes and all(c in exports or c in target_factory.resources for c in classes), (name, classes)


def run_hil_subprocess(args, env):
    hil = os.path.dirname(os.path.abspath(__file__))
    env = dict(env)
    env.pop("LG_ENV", None)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                           os.path.join(hil, "test_1_night_schedule.py"), *args],
                          cwd=os.path.dirname(hil), env=env, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.req("HIL-LABGRID", "HIL-UNREACHABLE-ONCE")
def test_place_not_acquired_stops_the_session_once(loopback, tmp_path):
    """A place nobody acquired gives one message with the fix, not one error per test (issue 10,
    defect 14; before hil/lab.py caught labgrid's errors a dead coordinator gave 18 errors). The
    place is made here, on the lab's coordinator, and never acquired."""
    place = "pump-unacquired"
    client = [os.path.join(os.path.dirname(sys.executable), "labgrid-client"), "-p", place]
    subprocess.run(client + ["create"], check=True, capture_output=True, timeout=60)
    try:
        env = dict(os.environ, LG_PLACE=place)
        rc, out = run_hil_subprocess(["--lg-env", os.path.join(ENV_DIR, "lab-loopback.yaml"),
                                      "--hil-logs", str(tmp_path)], env)
    finally:
        subprocess.run(client + ["delete"], capture_output=True, timeout=60)
    assert rc == 4, out
    assert out.count("HIL target unreachable") == 1 and "labgrid place %s" % place in out, out
    assert "is not acquired" in out and "labgrid-client -p PLACE acquire" in out, out
    assert "ERROR" not in out and len(out.splitlines()) < 20, out


@pytest.mark.req("HIL-LABGRID")
def test_unset_env_variable_is_a_usage_error_not_labgrids_traceback():
    """labgrid alone answers an unset LG_ variable of the env file with an INTERNALERROR traceback;
    the plugin checks first (tryfirst pytest_configure) and names the variable."""
    pytest.importorskip("labgrid", reason="labgrid is in .venv-lab only (make hil-lab)")
    env = dict(os.environ)
    env.pop("LG_PLACE", None)
    rc, out = run_hil_subprocess(["--lg-env", os.path.join(ENV_DIR, "pico.yaml")], env)
    assert rc == 4, out
    assert "pico.yaml needs LG_PLACE set" in out and "Traceback" not in out and "INTERNALERROR" not in out, out
