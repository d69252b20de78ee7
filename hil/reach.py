"""Session preflight: is the HIL target there at all? (issue 10, defect 14)

Without it an unreachable board (``--target /dev/ttyBOGUS``, ``auto`` with no Pico plugged in, a
rig host that is down) failed every test's ``dut`` fixture on its own: 14 identical errors and
~2,000 lines of traceback for one cause. ``require(port)`` opens the port once per session and
says hello; if that fails the session stops (``pytest.exit``) with one message: what was tried,
why it failed, and the fix. A target that answered once and then fails later is a real test
failure and is reported per test, as before.
"""
import time

import pytest

from pumpctl.link.client import PumpClient, PumpClientError

EXIT_UNREACHABLE = pytest.ExitCode.USAGE_ERROR  # 4: the run was set up wrongly, no test ran
OPEN_RETRY_S = 3.0  # a board re-enumerating after a reset comes back within this (docs/board.md)
HELLO_TIMEOUT_S = 5.0  # a pump answers hello in milliseconds; a REPL or another program never does
RETRY_POLL_S = 0.25

FIX_PORT = ("check the cable and the port name (ls /dev/serial/by-id/; on another machine: the rig host, "
            "ser2net and the TCP port), or run `make hil` without TARGET to use the emulators")
FIX_AUTO = ("plug in exactly one Pico running the pump firmware (docs/board.md), or name the port: "
            "make hil TARGET=/dev/serial/by-id/...")
FIX_SILENT = ("the port opened but no pump answered: is the pump firmware running (not the REPL, "
              "not a half-flashed board: docs/board.md), and is no other program (pumpctl, ser2net "
              "client, mpremote) holding the port?")


class Unreachable(Exception):
    def __init__(self, what, cause, fix):
        super().__init__("%s: %s" % (what, cause))
        self.what, self.cause, self.fix = what, cause, fix

    def message(self):
        return ("HIL target unreachable, no test was run.\n  target: %s\n  cause:  %s\n  fix:    %s"
                % (self.what, self.cause, self.fix))


def probe(port, open_retry_s=OPEN_RETRY_S, hello_timeout_s=HELLO_TIMEOUT_S):
    """Open `port` and say hello once; returns the hello result or raises Unreachable."""
    end = time.monotonic() + open_retry_s
    while True:
        client = None
        try:
            client = PumpClient(port, timeout_s=hello_timeout_s)
            return client.hello()
        except PumpClientError as e:
            opened = client is not None
            if opened or time.monotonic() >= end:
                fix = FIX_SILENT if opened else FIX_PORT
                if not opened and e.fix and "PUMPCTL_PORT" not in e.fix:  # permission, port busy
                    fix = "%s; or %s" % (e.fix, FIX_PORT)
                raise Unreachable(port, e.cause, fix) from e
        finally:
            if client is not None:
                client.close()
        time.sleep(RETRY_POLL_S)


def require(what, resolve):
    """Stop the session with one message unless the target `what` answers.

    resolve() returns the port (it may raise Unreachable itself, e.g. ``auto`` finding no board)."""
    try:
        port = resolve()
        probe(port)
        return port
    except Unreachable as e:
        pytest.exit(e.message(), returncode=EXIT_UNREACHABLE)
