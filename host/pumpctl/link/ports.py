"""Which serial port to use: ``--port``, else ``$PUMPCTL_PORT``, else USB autodetect.

Autodetect looks for VID:PID 2E8A:0005 (Raspberry Pi Pico running MicroPython, the
pump board of issue 4). Anything pyserial opens is accepted as a port: a device path or
a URL (``socket://``, ``rfc2217://``, ``loop://``, ``spy://``).
"""
import os

from pumpctl.link.client import PumpPortError

ENV = "PUMPCTL_PORT"
PICO_VID = 0x2E8A  # Raspberry Pi
PICO_PID = 0x0005  # MicroPython on RP2040/RP2350 (USB CDC)


def _access_problem(device):
    if not os.path.exists(device):
        return None
    if not os.access(device, os.R_OK | os.W_OK):
        return "no read/write permission: add yourself to the dialout group (sudo usermod -aG dialout $USER)"
    return None


def candidates(comports=None):
    """[{device, description, vid_pid, usable, reason}] for every serial port pyserial sees."""
    if comports is None:
        from serial.tools import list_ports

        comports = list_ports.comports()
    out = []
    for p in comports:
        vid, pid = getattr(p, "vid", None), getattr(p, "pid", None)
        vp = "%04X:%04X" % (vid, pid) if vid is not None and pid is not None else None
        pico = vid == PICO_VID and pid == PICO_PID
        problem = _access_problem(p.device)
        if pico and problem:
            reason = "Pico (MicroPython) VID:PID 2E8A:0005, but " + problem
        elif pico:
            reason = "Pico (MicroPython) VID:PID 2E8A:0005"
        elif vp:
            reason = "not a pump: USB VID:PID %s is not 2E8A:0005" % vp
        else:
            reason = "not a pump: not a USB device"
        out.append({"device": p.device, "description": getattr(p, "description", "") or "",
                    "vid_pid": vp, "usable": pico and not problem, "reason": reason})
    return out


def resolve(port=None, env=None, comports=None):
    """(url, how) where how is "--port", "PUMPCTL_PORT" or "autodetect"; raises PumpPortError."""
    if port:
        return port, "--port"
    env = os.environ if env is None else env
    if env.get(ENV):
        return env[ENV], ENV
    found = candidates(comports)
    usable = [c for c in found if c["usable"]]
    if len(usable) == 1:
        return usable[0]["device"], "autodetect"
    if len(usable) > 1:
        raise PumpPortError("several pumps connected: %s" % ", ".join(c["device"] for c in usable),
                            "choose one with --port DEVICE or PUMPCTL_PORT")
    picos = [c for c in found if c["vid_pid"] == "2E8A:0005"]
    if picos:
        raise PumpPortError("pump port %s cannot be opened: %s" % (picos[0]["device"], picos[0]["reason"]),
                            "add yourself to the serial group: sudo usermod -aG dialout $USER, then log out and in")
    raise PumpPortError(
        "no pump port given and no USB serial device with VID:PID 2E8A:0005 found (%d other ports)" % len(found),
        "connect the pump, or pass --port DEVICE|socket://HOST:PORT (pumpctl emulate prints one) "
        "or set PUMPCTL_PORT; 'pumpctl ports' lists candidates")
