"""labgrid places as HIL targets (issue 10, "labgrid, the existing engine for board farms").

With labgrid's pytest plugin active and an environment given (``--lg-env FILE`` or ``LG_ENV``),
the HIL suite takes its board from the env's ``main`` target instead of ``--target``:

* the serial port is the target's ``NetworkSerialPort`` (what an exporter publishes for a
  ``USBSerialPort`` through ser2net, or a TCP port exported as is) turned into the pyserial URL
  pumpctl's client opens: ``rfc2217://host:port`` (protocol ``rfc2217``, ser2net's default) or
  ``socket://host:port`` (protocol ``raw``); a local ``RawSerialPort``/``USBSerialPort`` gives
  its device path;
* ``power_cycle`` goes through the target's ``PowerProtocol`` driver (ExternalPowerDriver,
  USBPowerDriver, NetworkPowerDriver, ManualPowerDriver ...): capability ``power_cycle`` is there
  exactly when the env has one;
* target ``features`` say what the port cannot: ``rtc`` (the clock survives a power cut).

The place must be acquired first (``labgrid-client -p PLACE acquire``): labgrid's ``target``
fixture stops the session with its own message if it is not. Nothing here talks to the
coordinator itself; the tests still reach the pump only through ``pumpctl.link.client``.
"""
import os

import dut as dutmod
import reach

FIX_ENV = ("check the env file's `main` target: it needs a NetworkSerialPort (from a RemotePlace whose "
           "place matches the exporter's serial port) or a RawSerialPort/USBSerialPort (docs/hil.md, labgrid)")


FIX_PLACE = ("start the coordinator and the exporter, then `labgrid-client -p PLACE acquire`; point the tests at "
             "the coordinator (LG_COORDINATOR or --lg-coordinator HOST:PORT) and the place (LG_PLACE); "
             "`labgrid-client -p PLACE show` says who holds it and which resources it has (docs/hil.md, labgrid)")


def lab_env_given(config):
    """True when labgrid's plugin is loaded and an environment was named."""
    opt = getattr(config.option, "lg_env", None)
    return bool(opt or (config.pluginmanager.hasplugin("labgrid") and os.environ.get("LG_ENV")))


def check_env_variables(config):
    """Refuse an env file whose ``!template $LG_...`` variables are not set, with the names.

    labgrid itself fails on the first missing one with an INTERNALERROR traceback."""
    import re

    import pytest

    path = getattr(config.option, "lg_env", None) or (os.environ.get("LG_ENV") if lab_env_given(config) else None)
    if not path:
        return
    if config.getoption("--target") != "emu":
        raise pytest.UsageError("--target %s and --lg-env both name the board: give one of them"
                                % config.getoption("--target"))
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise pytest.UsageError("--lg-env %s: %s (the env files are in hil/env/)" % (path, e.strerror))
    used = []
    for line in text.splitlines():
        if "!template" in line.split("#")[0]:
            used += [v for v in re.findall(r"\$\{?(LG_[A-Za-z0-9_]+)", line) if v not in used]
    missing = [v for v in used if v not in os.environ]
    if missing:
        raise pytest.UsageError(
            "--lg-env %s needs %s set (e.g. export LG_PLACE=<your place>; `labgrid-client places` lists "
            "them). hil/env/lab-loopback.yaml is meant for `make hil-lab`, which sets them all."
            % (path, ", ".join(missing)))


def port_url(resource):
    """pyserial URL (or device path) for a labgrid serial resource."""
    cls = type(resource).__name__
    if cls == "NetworkSerialPort":
        scheme = {"rfc2217": "rfc2217", "raw": "socket"}.get(resource.protocol)
        if scheme is None:
            raise reach.Unreachable(cls, "protocol %r: pumpctl speaks rfc2217 and raw" % resource.protocol,
                                    FIX_ENV)
        return "%s://%s:%d" % (scheme, resource.host, resource.port)
    port = getattr(resource, "port", None)
    if isinstance(port, str) and port:
        return port
    raise reach.Unreachable(cls, "no serial port in this resource", FIX_ENV)


def serial_resource(lg_target):
    """The target's serial resource, remote resources of an acquired place included."""
    for res in lg_target.resources:
        if type(res).__name__ in ("NetworkSerialPort", "RawSerialPort", "USBSerialPort"):
            return res
    raise reach.Unreachable("labgrid target %r" % lg_target.name, "no serial port resource", FIX_ENV)


def power_driver(lg_target):
    """The target's PowerProtocol driver, activated, or None."""
    try:
        power = lg_target.get_driver("PowerProtocol", activate=False)
    except Exception:  # labgrid's NoDriverFoundError: no power switch in this env
        return None
    lg_target.activate(power)
    return power


def board_from_labgrid(request):
    """("board", url, rig) for the env's main target; rig carries the power driver and the
    make_target hook the dut fixture uses."""
    import pytest

    try:
        lg_target = request.getfixturevalue("target")
        env = request.getfixturevalue("env")
    except pytest.exit.Exception as e:  # labgrid's own stop, e.g. "place X is not acquired"
        pytest.exit(reach.Unreachable("labgrid place %s" % os.environ.get("LG_PLACE", "?"), e.msg, FIX_PLACE)
                    .message(), returncode=reach.EXIT_UNREACHABLE)
    except Exception as e:  # coordinator down, place unknown, exporter gone: once, not per test
        pytest.exit(reach.Unreachable("labgrid place %s" % os.environ.get("LG_PLACE", "?"),
                                      "%s: %s" % (type(e).__name__, e), FIX_PLACE).message(),
                    returncode=reach.EXIT_UNREACHABLE)
    features = set(env.get_features()) | set(env.get_target_features())
    try:
        res = serial_resource(lg_target)
        url = port_url(res)
    except reach.Unreachable as e:
        pytest.exit(e.message(), returncode=reach.EXIT_UNREACHABLE)
    power = power_driver(lg_target)
    if power is not None and type(power).__name__ != "ManualPowerDriver":
        # A board that is off cannot answer the preflight: switch it on (idempotent on labgrid's
        # power drivers) before the session checks the port. A manual bench is assumed on: its
        # driver would stop at a prompt.
        power.on()
    place = getattr(getattr(res, "parent", None), "name", None)
    rig = {"name": "labgrid:%s" % (place or lg_target.name), "power": power, "rtc": "rtc" in features,
           "make_target": LabTarget, "lg_target": lg_target, "resource": res}
    return "board", url, rig


class LabTarget(dutmod.BoardTarget):
    """A board (or an emulator standing in for one) in a labgrid place.

    ``port`` is read from the place's resource each time: when a Pico re-enumerates after a power
    cycle, the exporter restarts ser2net for it, possibly on another TCP port, and the coordinator
    publishes the new one."""

    RESOURCE_BACK_S = dutmod.REBOOT_DEADLINE_S

    def __init__(self, port, rig):
        self._port = port
        super().__init__(port, rig)
        self.name = "lab"
        if rig.get("power") is not None:
            self.caps.add("power_cycle")

    @property
    def port(self):
        res, lg_target = self.rig.get("resource"), self.rig.get("lg_target")
        if res is not None and lg_target is not None:
            try:
                lg_target.update_resources()
                if getattr(res, "avail", True):
                    self._port = port_url(res)
            except Exception:  # coordinator hiccup: keep the last known URL, the connect retries
                pass
        return self._port

    @port.setter
    def port(self, value):
        self._port = value

    def power_cycle(self):
        self.rig["power"].cycle()
        res, lg_target = self.rig.get("resource"), self.rig.get("lg_target")
        if res is not None and lg_target is not None:
            try:
                lg_target.await_resources([res], timeout=self.RESOURCE_BACK_S)
            except Exception:  # not back yet: Dut's reconnect keeps trying until its own deadline
                pass
        return self.port
