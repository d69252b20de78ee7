"""The HIL suite through a real labgrid lab on this machine (`make hil-lab`; docs/hil.md "labgrid").

Starts what a two-machine lab runs, all on 127.0.0.1 and on free ports:

1. ``labgrid-coordinator`` (places and locks; its state files go to a temporary directory);
2. the "board": the pump emulator serving TCP, switched on by labgrid's ExternalPowerDriver
   (``hil/lab_power.py``) when the session starts;
3. ``labgrid-exporter -n pump-rig hil/env/lab-exporter.yaml``: publishes the emulator's TCP port as a
   ``NetworkSerialPort`` (protocol raw);
4. ``labgrid-client``: creates place ``pump-loopback``, matches ``pump-rig/pump/NetworkSerialPort``,
   acquires it;
5. ``pytest hil --lg-env hil/env/lab-loopback.yaml``: the whole HIL suite against the place;

then releases the place and stops everything it started (also on failure or Ctrl-C), and prints
how long each step took. Exit status: pytest's.

usage: .venv-lab/bin/python hil/lab_loopback.py [--emu-python .venv/bin/python] [--runtime cpython]
                                                [--reports .reports] [-- PYTEST_ARGS...]
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HIL_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HIL_DIR)
PLACE = "pump-loopback"
EXPORTER = "pump-rig"
MATCH = EXPORTER + "/pump/NetworkSerialPort"
START_DEADLINE_S = 30.0  # coordinator listening, exporter's resource visible
POLL_S = 0.2


class LabError(Exception):
    pass


def free_ports(n):
    """n distinct free TCP ports (all held open while choosing: the kernel may hand out a just-closed
    port again)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def tool(name):
    """A labgrid console script next to this interpreter (the lab venv), else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    path = here if os.path.exists(here) else shutil.which(name)
    if not path:
        raise LabError("%s not found: run `make hil-lab` (it builds .venv-lab from requirements-lab.txt)" % name)
    return path


class Lab:
    def __init__(self, workdir, env, log):
        self.workdir, self.env, self.log = workdir, env, log
        self.procs = []
        self.acquired = False

    def spawn(self, name, argv):
        out = open(os.path.join(self.workdir, name + ".log"), "w")
        p = subprocess.Popen(argv, cwd=self.workdir, env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, p, out))
        return p

    def client(self, *args, check=True):
        proc = subprocess.run([tool("labgrid-client"), "-p", PLACE, *args], cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=60)
        self.log.write("$ labgrid-client -p %s %s\n%s%s" % (PLACE, " ".join(args), proc.stdout, proc.stderr))
        if check and proc.returncode:
            raise LabError("labgrid-client %s failed: %s" % (" ".join(args), (proc.stderr or proc.stdout).strip()))
        return proc.stdout

    def wait(self, what, ok, proc=None):
        end = time.monotonic() + START_DEADLINE_S
        while not ok():
            if proc is not None and proc.poll() is not None:
                raise LabError("%s exited (status %s): see %s" % (what, proc.returncode, self.workdir))
            if time.monotonic() > end:
                raise LabError("%s not ready after %.0f s: see the logs in %s" % (what, START_DEADLINE_S,
                                                                                   self.workdir))
            time.sleep(POLL_S)

    def resource_visible(self):
        proc = subprocess.run([tool("labgrid-client"), "resources"], cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=30)
        return MATCH in proc.stdout

    def stop(self):
        if self.acquired:
            self.client("release", check=False)
        for name, p, out in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
            out.close()


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--emu-python", default=os.path.join(REPO, ".venv", "bin", "python"),
                    help="python that runs the emulator (needs pumpctl's dependencies)")
    ap.add_argument("--runtime", default="cpython", choices=("cpython", "micropython"))
    ap.add_argument("--reports", default=os.path.join(REPO, ".reports"))
    ap.add_argument("--keep", action="store_true", help="keep the lab's work directory (logs)")
    a = ap.parse_args(argv)

    work = tempfile.mkdtemp(prefix="hil-lab-")
    coord_port, emu_port = free_ports(2)
    coord = "127.0.0.1:%d" % coord_port
    env = dict(os.environ, LG_COORDINATOR=coord, LG_PLACE=PLACE, LG_PUMP_PYTHON=a.emu_python,
               LG_PUMP_STATE=os.path.join(work, "flash"), LG_PUMP_TCP_PORT=str(emu_port),
               LG_PUMP_RUNTIME=a.runtime, PYTHONUNBUFFERED="1")
    env.pop("LG_ENV", None)
    os.makedirs(a.reports, exist_ok=True)
    figures = []
    rc = 1
    with open(os.path.join(work, "lab.log"), "w") as log:
        lab = Lab(work, env, log)
        t0 = time.monotonic()
        try:
            p = lab.spawn("coordinator", [tool("labgrid-coordinator"), "-l", coord])
            lab.wait("labgrid-coordinator", lambda: listening(coord_port), p)
            p = lab.spawn("exporter", [tool("labgrid-exporter"), "-c", coord, "-n", EXPORTER, "--hostname",
                                       "127.0.0.1", os.path.join(HIL_DIR, "env", "lab-exporter.yaml")])
            lab.wait("labgrid-exporter's resource " + MATCH, lab.resource_visible, p)
            lab.client("create")
            lab.client("add-match", MATCH)
            lab.client("acquire")
            lab.acquired = True
            figures.append(("lab up (coordinator, exporter, place acquired)", time.monotonic() - t0))
            t1 = time.monotonic()
            cmd = [sys.executable, "-m", "pytest", "hil", "-p", "no:cacheprovider",
                   "--lg-env", os.path.join(HIL_DIR, "env", "lab-loopback.yaml"), "--lg-coordinator", coord,
                   "--junitxml", os.path.join(a.reports, "hil-lab.xml"), "-o", "junit_suite_name=hil-lab",
                   "-o", "junit_family=xunit1", "--hil-logs", os.path.join(a.reports, "hil", "lab"), *extra]
            print("hil-lab: %s (place %s, coordinator %s, emulator on 127.0.0.1:%s)"
                  % (" ".join(cmd[1:]), PLACE, coord, env["LG_PUMP_TCP_PORT"]), flush=True)
            rc = subprocess.run(cmd, cwd=REPO, env=env).returncode
            figures.append(("HIL suite on the place", time.monotonic() - t1))
        except LabError as e:
            print("hil-lab: %s" % e, file=sys.stderr)
            rc = 3
        except KeyboardInterrupt:
            rc = 130
        finally:
            t2 = time.monotonic()
            subprocess.run([a.emu_python, os.path.join(HIL_DIR, "lab_power.py"), "off"], env=env,
                           timeout=30, check=False)
            lab.stop()
            figures.append(("lab down", time.monotonic() - t2))
    for what, s in figures:
        print("hil-lab: %-48s %5.1f s" % (what, s))
    print("hil-lab: total %.1f s" % sum(s for _, s in figures))
    if a.keep or rc:
        print("hil-lab: logs in %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
