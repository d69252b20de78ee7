"""Power switch of the loopback lab's "board": the emulator as a process (docs/hil.md, labgrid).

labgrid's ExternalPowerDriver runs ``cmd_on`` / ``cmd_off`` (hil/env/lab-loopback.yaml):

    python hil/lab_power.py on  --state DIR --port 7701    # start the emulator (no-op if it runs)
    python hil/lab_power.py off --state DIR                # cut power: stop it, flash stays in DIR

The emulator serves TCP only (``--no-pty``) on a fixed port, the port the exporter publishes as a
``NetworkSerialPort`` with ``protocol: raw``. "off" stops the process the way the in-process HIL
targets cut power (``Emulator.stop``: RAM gone, flash and the battery-backed RTC kept), so
``power_cycle`` means the same on every target; SIGKILL only if it does not stop in time.
Settings may also come from the environment (LG_PUMP_STATE, LG_PUMP_TCP_PORT, LG_PUMP_PYTHON):
labgrid's env YAML substitutes only LG_* variables.
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import time

HIL_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HIL_DIR)
UP_DEADLINE_S = 15.0  # the emulator listens within a second; MicroPython start-up is slower
STOP_DEADLINE_S = 5.0


def pid_file(state):
    # Beside the flash directory, not in it: the firmware's factory reset (sim_reset) erases every
    # file in its flash.
    return os.path.normpath(state) + ".pid"


def log_file(state):
    return os.path.normpath(state) + ".log"


def running_pid(state):
    try:
        with open(pid_file(state)) as f:
            pid = int(f.read().split()[0])
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError, IndexError):
        return None


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def power_on(state, port, python, runtime, serial):
    if running_pid(state):
        return 0
    if listening(port):
        print("lab_power: port %d is in use by another program: pick a free LG_PUMP_TCP_PORT" % port,
              file=sys.stderr)
        return 1
    os.makedirs(state, exist_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.join(REPO, "host"), env.get("PYTHONPATH")) if p)
    with open(log_file(state), "a") as log:
        proc = subprocess.Popen(
            [python, "-m", "pumpctl.emulator", "--no-pty", "--host", "127.0.0.1", "--port", str(port),
             "--state", state, "--runtime", runtime, "--serial", serial],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True)
    with open(pid_file(state), "w") as f:
        f.write("%d\n" % proc.pid)
    end = time.monotonic() + UP_DEADLINE_S
    while not listening(port):
        if proc.poll() is not None:
            print("lab_power: the emulator exited (status %s): see %s" % (proc.returncode, log_file(state)),
                  file=sys.stderr)
            return 1
        if time.monotonic() > end:
            print("lab_power: the emulator is not listening on port %d after %.0f s: see %s"
                  % (port, UP_DEADLINE_S, log_file(state)), file=sys.stderr)
            return 1
        time.sleep(0.05)
    return 0


def power_off(state):
    pid = running_pid(state)
    if pid is None:
        return 0
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + STOP_DEADLINE_S
    while running_pid(state) and time.monotonic() < end:
        time.sleep(0.05)
    if running_pid(state):
        os.kill(pid, signal.SIGKILL)
    try:
        os.remove(pid_file(state))
    except OSError:
        pass
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("action", choices=("on", "off"))
    p.add_argument("--state", default=os.environ.get("LG_PUMP_STATE"), help="emulated flash directory")
    p.add_argument("--port", type=int, default=int(os.environ.get("LG_PUMP_TCP_PORT", "0")), help="TCP port")
    p.add_argument("--python", default=os.environ.get("LG_PUMP_PYTHON", sys.executable))
    p.add_argument("--runtime", default=os.environ.get("LG_PUMP_RUNTIME", "cpython"),
                   choices=("cpython", "micropython"))
    p.add_argument("--serial", default="HILLAB01")
    a = p.parse_args(argv)
    if not a.state:
        p.error("--state DIR (or LG_PUMP_STATE) is required")
    if a.action == "off":
        return power_off(a.state)
    if not 0 < a.port < 65536:
        p.error("--port N (or LG_PUMP_TCP_PORT) is required for on")
    return power_on(a.state, a.port, a.python, a.runtime, a.serial)


if __name__ == "__main__":
    sys.exit(main())
