"""HIL pytest plugin: one scenario set, any target (issue 4, "HIL suite"; docs/hil.md).

    pytest hil                          # --target emu: CPython emulator (host/pumpctl/emulator.py)
    pytest hil --target mpy             # the same emulator with --runtime micropython
    pytest hil --target /dev/ttyACM0    # a board: a device, a pyserial URL (rfc2217://h:p) or auto
    pytest hil --rig-file rigs.toml -n 2 --target rig   # one xdist worker per board of the rig file
    pytest hil --lg-env hil/env/pico.yaml   # a labgrid place (hil/lab.py; needs .venv-lab)

Tests ask for the ``dut`` fixture (dut.Dut) and declare what they need with
``@pytest.mark.needs("warp", "faults", "reset", "power_cycle")``; a target without it skips the
test and says why. Emulator targets start a fresh pump per test; a board on a test build is
factory-reset (``sim_reset``, ``Dut.factory_reset``) before each test. Every test runs under pytest-timeout; the frames of each test are logged to
``<hil-logs>/<test>.frames.log`` and attached to its report when it fails; the JUnit XML
gets target, firmware version, build hash and port as properties.
"""
import os
import re
import sys

import pytest

HIL_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HIL_DIR)
for _p in (os.path.join(REPO, "host"), HIL_DIR):
    if _p not in sys.path:
        sys.path.insert(0, _p)

CAPS = ("warp", "faults", "reset", "power_cycle")
WHY_MISSING = {
    "warp": "clinical build refuses sim_warp (E_TEST_BUILD_ONLY): no clock warp",
    "faults": "clinical build refuses sim_fault (E_TEST_BUILD_ONLY): no fault injection",
    "reset": "clinical build refuses sim_reset (E_TEST_BUILD_ONLY): no factory reset",
    "power_cycle": "no way to cut power: add power_cycle_cmd for this board to the rig file",
}
DEFAULT_TIMEOUT_S = 120


def pytest_addoption(parser):
    g = parser.getgroup("hil", "hardware-in-the-loop (hil/, docs/hil.md)")
    g.addoption("--target", default="emu",
                help="emu (CPython emulator), mpy (MicroPython emulator), twin (board twin), a serial port or URL "
                     "(/dev/ttyACM0, rfc2217://host:port), auto (USB VID:PID 2E8A:0005), or rig "
                     "(the rig file's entry for this xdist worker)")
    g.addoption("--rig-file", default=None, help="TOML file of rigs (hil/rigs.example.toml)")
    g.addoption("--emu-build", default="test", choices=("test", "clinical"),
                help="build kind of the emulated firmware (clinical: sim commands refused, tests skip)")
    g.addoption("--hil-logs", default=None, help="directory for per-test frame logs (default .reports/hil/<target>)")
    g.addoption("--hil-timeout", type=int, default=DEFAULT_TIMEOUT_S,
                help="pytest-timeout for tests without their own timeout marker (s)")


@pytest.hookimpl(tryfirst=True)  # before labgrid's plugin reads the env file (hil/lab.py)
def pytest_configure(config):
    config.addinivalue_line("markers", "needs(*caps): target capabilities the test needs (%s)" % ", ".join(CAPS))
    config.addinivalue_line("markers", "req(id): requirement id(s) this test proves")
    if not config.pluginmanager.hasplugin("timeout"):
        raise pytest.UsageError("the HIL suite needs pytest-timeout (requirements-dev.txt)")
    import lab

    lab.check_env_variables(config)


def pytest_sessionstart(session):
    junit_logs_to_system_out(session.config)  # the junitxml plugin is set up by now


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(config.getoption("--hil-timeout")))
        for m in item.iter_markers("needs"):
            bad = [c for c in m.args if c not in CAPS]
            if bad:
                raise pytest.UsageError("%s: unknown capability %s (known: %s)" % (item.nodeid, bad, CAPS))


# ---- target selection --------------------------------------------------------------------------
def load_rigs(path):
    """Rig file: [[rig]] tables with port (required), power_cycle_cmd, service_key, name."""
    import tomllib

    with open(path, "rb") as f:
        rigs = tomllib.load(f).get("rig", [])
    if not rigs or not all(isinstance(r, dict) and r.get("port") for r in rigs):
        raise pytest.UsageError("%s: needs [[rig]] tables, each with a port" % path)
    return rigs


def worker_index():
    """0 without xdist; N for xdist worker gwN (one worker per board)."""
    w = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(w[2:]) if w.startswith("gw") and w[2:].isdigit() else 0


@pytest.fixture(scope="session")
def hil_target(request, pytestconfig):
    """(kind, port-or-None, rig dict): kind is emu, mpy or board."""
    import lab

    if lab.lab_env_given(pytestconfig):  # --lg-env: the board is the labgrid place (hil/lab.py)
        return lab.board_from_labgrid(request)
    target = pytestconfig.getoption("--target")
    rig_file = pytestconfig.getoption("--rig-file")
    rigs = load_rigs(rig_file) if rig_file else []
    if target in ("emu", "mpy", "twin"):
        return target, None, {}
    if target == "rig":
        if not rigs:
            raise pytest.UsageError("--target rig needs --rig-file")
        i = worker_index()
        if i >= len(rigs):
            raise pytest.UsageError("xdist worker %d but only %d rigs in %s: use -n %d" % (i, len(rigs), rig_file,
                                                                                          len(rigs)))
        return "board", rigs[i]["port"], rigs[i]
    rig = next((r for r in rigs if r["port"] == target), {})
    return "board", target, rig


@pytest.fixture(scope="session")
def hil_port(hil_target):
    """The board's port, checked once per session: unreachable -> one message, no test runs."""
    import reach

    kind, port, _ = hil_target
    return reach.require(port, lambda: resolve_board_port(port)) if kind == "board" else None


def resolve_board_port(port):
    import dut as dutmod
    import reach

    try:
        return dutmod.resolve_port(port)
    except RuntimeError as e:
        raise reach.Unreachable(port, str(e), reach.FIX_AUTO) from e


@pytest.fixture(scope="session")
def hil_logs(pytestconfig, hil_target):
    d = pytestconfig.getoption("--hil-logs")
    if not d:
        name = hil_target[0] if hil_target[0] != "board" else re.sub(r"[^A-Za-z0-9_.-]+", "_", hil_target[1])
        d = os.path.join(str(pytestconfig.rootpath), ".reports", "hil", name)
    os.makedirs(d, exist_ok=True)
    return d


@pytest.fixture(scope="session")
def twin_build(pytestconfig, tmp_path_factory):
    """`make firmware` once per session for --target twin (the image every twin test flashes)."""
    from pumpctl.twin.launcher import build_firmware

    return build_firmware(str(tmp_path_factory.mktemp("twin-build")), pytestconfig.getoption("--emu-build"))


_suite_props = {}


@pytest.fixture
def dut(request, hil_target, hil_port, hil_logs, tmp_path, record_property, record_testsuite_property):
    """A pump ready for a scenario: connected, hello done, capabilities checked (dut.Dut)."""
    import dut as dutmod

    kind, port, rig = hil_target
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    frames = dutmod.FrameLog(os.path.join(hil_logs, base + ".frames.log"))
    request.node._hil_frames = frames.path
    if kind in ("emu", "mpy"):
        target = dutmod.EmuTarget("cpython" if kind == "emu" else "micropython", str(tmp_path / "flash"),
                                  os.path.join(hil_logs, base + ".emu.log"),
                                  build=request.config.getoption("--emu-build"))
        request.node._hil_emu_log = target.log_path
    elif kind == "twin":
        target = dutmod.TwinTarget(str(tmp_path / "twin"), os.path.join(hil_logs, base + ".twin.log"),
                                   request.getfixturevalue("twin_build"), build=request.config.getoption("--emu-build"))
        request.node._hil_emu_log = target._log_path
    else:
        target = rig.get("make_target", dutmod.BoardTarget)(hil_port, rig)
    d = None
    try:
        d = dutmod.Dut(target, frames, keys={k[:-4]: v for k, v in rig.items() if k.endswith("_key")})
        props = {"target": kind, "port": d.port or "", "fw_version": d.info.get("fw_version", ""),
                 "build_hash": d.info.get("build_hash", ""), "build": d.info.get("build", ""),
                 "serial": d.info.get("serial", "")}
        per_test = request.config.getini("junit_family") != "xunit2"  # xunit2 has no per-test properties
        for k, v in props.items():
            if per_test:
                record_property(k, v)
            if _suite_props.get(k) != v:
                _suite_props[k] = v
                record_testsuite_property(k, v)
        needed = set()
        for m in request.node.iter_markers("needs"):
            needed.update(m.args)
        missing = sorted(needed - d.caps)
        if missing:
            pytest.skip("target %s (%s build) lacks %s" % (
                kind if kind != "board" else port, d.info.get("build"),
                "; ".join("%s: %s" % (c, WHY_MISSING[c]) for c in missing)))
        if kind == "board" and "reset" in d.caps:
            # A board keeps its flash from the previous test (scenario 4 ends at end of service):
            # start from a factory-fresh pump, as the emulators do.
            d.factory_reset()
        yield d
    finally:
        if d is not None:
            d.close()
        target.close()
        frames.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    # rep.sections: the terminal report of this phase. item.add_report_section: the teardown
    # report, which is the one the JUnit writer takes system-out from (issue 10, defect 14:
    # before, the logs reached the terminal but never the XML).
    for attr, what in (("_hil_frames", "HIL frames"), ("_hil_emu_log", "emulator log")):
        path = getattr(item, attr, None)
        if path and os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            if len(text) > 20000:
                text = "... (%d bytes cut; full log in the file)\n" % (len(text) - 20000) + text[-20000:]
            key = "stdout %s: %s" % (what, path)
            rep.sections.append(("Captured " + key, text))
            item.add_report_section(rep.when, key, "===== %s: %s\n%s" % (what, path, text))


def junit_logs_to_system_out(config):
    """--junitxml: captured stdout (the attached logs) goes to each failing test's system-out.

    pytest's default junit_logging is "no", which drops them; an explicit -o junit_logging=...
    other than "no" is kept. (The junitxml plugin object is internal: tests/host/test_hil_plugin.py
    proves the XML really carries the logs with the pinned pytest.)"""
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # pragma: no cover - a pytest without it: logs stay in the files
        return
    xml = config.stash.get(xml_key, None)
    if xml is not None and xml.logging == "no":
        xml.logging = "system-out"
