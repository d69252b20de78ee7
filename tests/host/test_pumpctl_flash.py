"""Issue 10, defect 13: `make flash` (tools/flash.py) explains mpremote's failures. The failures are produced by
the real mpremote (pinned in requirements-dev.txt): no board on this machine, a missing device, and a pty that
runs the pump firmware (the emulator: it answers frames, never a REPL, like a board with the REPL detached)."""
import os
import subprocess
import sys

import pytest

from cli_helpers import REPO, start_emulator

FLASH = os.path.join(REPO, "tools", "flash.py")
MPREMOTE = os.path.join(os.path.dirname(sys.executable), "mpremote")


def flash(tmp_path, *argv, mpremote=MPREMOTE):
    build = tmp_path / "build"
    build.mkdir(exist_ok=True)
    (build / "main.py").write_text("print('pump')\n")
    (build / "pump.mpy").write_bytes(b"M")
    r = subprocess.run([sys.executable, FLASH, "--build", str(build), "--mpremote", mpremote] + list(argv),
                       capture_output=True, text=True, timeout=120)
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    return r


needs_mpremote = pytest.mark.skipif(not os.path.exists(MPREMOTE), reason="mpremote not installed (make venv)")


@needs_mpremote
@pytest.mark.req("PUMPCTL-FLASH")
def test_missing_device_says_how_to_connect(tmp_path):
    r = flash(tmp_path, "--port", "/dev/ttyBOGUS-flash")
    assert r.returncode == 3 and "fix:" in r.stderr and ("in use" in r.stderr or "dialout" in r.stderr)


@needs_mpremote
@pytest.mark.req("PUMPCTL-FLASH")
def test_running_pump_points_to_the_safe_mode_jumper(tmp_path):
    emu = start_emulator(no_tcp=True)
    try:
        r = flash(tmp_path, "--port", emu.pty_path, "--probe-timeout", "4")
    finally:
        emu.stop()
    assert r.returncode == 3 and "safe-mode jumper" in r.stderr and "docs/board.md" in r.stderr


@pytest.mark.req("PUMPCTL-FLASH")
def test_no_device_found_message_is_explained(tmp_path):
    fake = tmp_path / "mpremote"
    fake.write_text("#!%s\nimport sys\nprint('mpremote: no device found')\nsys.exit(1)\n" % sys.executable)
    fake.chmod(0o755)
    r = flash(tmp_path, mpremote=str(fake))
    assert r.returncode == 3 and "UF2" in r.stderr and "PORT=" in r.stderr


def test_success_copies_every_file_then_resets(tmp_path):
    log = tmp_path / "argv.txt"
    fake = tmp_path / "mpremote"
    fake.write_text("#!%s\nimport sys\nif 'exec' in sys.argv and 'probe' in sys.argv[4]: print('flash-probe-ok')\n"
                    "else: open(%r, 'w').write('\\n'.join(sys.argv[1:]))\n" % (sys.executable, str(log)))
    fake.chmod(0o755)
    r = flash(tmp_path, "--port", "/dev/ttyACM9", mpremote=str(fake))
    assert r.returncode == 0, r.stderr
    argv = log.read_text().split("\n")
    assert argv[:2] == ["connect", "/dev/ttyACM9"] and argv[-2:] == ["+", "reset"], argv
    assert "main.py" in argv and "pump.mpy" in argv
