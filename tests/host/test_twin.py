"""The board twin's parts (host/pumpctl/twin), each under the native MicroPython it runs on.

Expected values come from outside the twin: the rp2 port's documented limits (machine docs and
ports/rp2 sources, quoted per test), the mechanism's arithmetic done here with Fraction, the
firmware's own board module (wiring agreement) and littlefs-python (an independent littlefs
implementation reading the image)."""
import os
import subprocess
from fractions import Fraction

import pytest

from pumpctl.twin import config
from pumpctl.twin.launcher import BOARD_DIR, micropython_exe



def mpy(code, tmp_path=None):
    """Run code under native MicroPython with the twin's board dir first on the path; returns
    the printed lines."""
    prog = "import sys\nsys.path[:] = [%r]\n%s" % (BOARD_DIR, code)
    p = subprocess.run([micropython_exe(), "-c", prog], capture_output=True, text=True, timeout=60,
                       cwd=str(tmp_path) if tmp_path else None, env=dict(os.environ, MICROPYPATH=""))
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout.split("\n")


@pytest.mark.req("TWIN-PLANT-ORACLE")
def test_twin_wiring_agrees_with_the_firmware_board_module():
    """The plant's wiring (twin/config.py, written from docs/board.md) and firmware/boards/pico.py
    are two sources for one bench: a change on one side only must fail here."""
    from boards import pico

    w = config.WIRING
    assert (w["step"], w["dir"], w["enable"], w["stall"], w["buzzer"]) == (
        pico.STEP_PIN, pico.DIR_PIN, pico.ENABLE_PIN, pico.STALL_PIN, pico.BUZZER_PIN)
    assert pico.LED_PIN == "LED" and w["led"] == 25                 # rp2: "LED" is GP25 on a Pico
    assert pico.VSYS_ADC == 29 and w["vsys_adc_channel"] == 3       # GPIO29 = ADC3
    assert (w["enable_active"], w["dir_forward"], w["stall_active"]) == (
        pico.ENABLE_ACTIVE, pico.DIR_FORWARD, pico.STALL_ACTIVE)
    assert config.MECHANISM["steps_per_stroke"] == pico.STEPS_PER_STROKE


CHECK = """
import machine, time
def ok(f):
    try:
        f()
        print("ok")
    except (ValueError, OSError) as e:
        print("refused")
"""


@pytest.mark.req("TWIN-MACHINE-RP2")
@pytest.mark.parametrize("expr,expected", [
    # rp2 machine_wdt.c: "timeout exceeds 8388ms" (24-bit counter at 2 ticks/us)
    ("machine.WDT(timeout=8388)", "ok"), ("machine.WDT(timeout=8389)", "refused"),
    ("machine.WDT(timeout=1)", "ok"), ("machine.WDT(timeout=0)", "refused"),
    # rp2 machine_pwm.c: frequencies below ~8 Hz cannot be reached by the divider
    ("machine.PWM(machine.Pin(15), freq=8)", "ok"), ("machine.PWM(machine.Pin(15), freq=7)", "refused"),
    ("machine.PWM(machine.Pin(15)).duty_u16(65535)", "ok"), ("machine.PWM(machine.Pin(15)).duty_u16(65536)", "refused"),
    # rp2 machine_adc.c: channels 0-4 or an ADC-capable GPIO (26-29)
    ("machine.ADC(29)", "ok"), ("machine.ADC(4)", "ok"), ("machine.ADC(25)", "refused"),
    # RP2040 has GPIO 0-29; "LED" names GP25 on a Pico
    ("machine.Pin(29)", "ok"), ("machine.Pin(30)", "refused"), ("machine.Pin('LED')", "ok"),
])
def test_machine_accepts_and_refuses_as_rp2(expr, expected):
    """Proves the simulated machine's boundaries against the rp2 port's documented limits."""
    out = mpy(CHECK + "ok(lambda: %s)\n" % expr)
    assert out[0] == expected, (expr, out)


@pytest.mark.req("TWIN-MACHINE-RP2")
def test_ticks_wrap_at_2_to_the_30_and_adc_is_12_bit_scaled_to_16():
    """MicroPython time docs: ticks_* wrap at TICKS_PERIOD (2**30 on rp2), ticks_diff is signed
    modular; rp2 ADC.read_u16 returns the 12-bit sample as (raw << 4) | (raw >> 8)."""
    out = mpy("""
import time
t = (1 << 30) - 5
print(time.ticks_add(t, 10), time.ticks_diff(time.ticks_add(t, 10), t), time.ticks_diff(t, time.ticks_add(t, 10)))
import machine
class Bus:
    def attach(self, p): return None
    def adc_raw12(self, ch): return 4095 if ch == 3 else 1234
machine.bus = Bus()
print(machine.ADC(29).read_u16(), machine.ADC(0).read_u16())
""")
    assert out[0] == "5 10 -10"
    assert out[1] == "%d %d" % (65535, (1234 << 4) | (1234 >> 8))


PLANT = """
import io, machine, plant
cfg = {"wiring": %(wiring)r, "mechanism": %(mech)r,
       "state": {"reservoir_nl": %(res)d, "blocked": False, "battery_mv": 3300, "strokes": 0, "t_ms": 0}}
csv = io.StringIO()
P = plant.Plant(cfg, io.StringIO(), csv)
machine.bus = P
Pin = machine.Pin
step = Pin(2, Pin.OUT, value=0); d = Pin(3, Pin.OUT, value=1); en = Pin(4, Pin.OUT, value=1)
stall = Pin(5, Pin.IN, Pin.PULL_UP)
en.value(0)
stalled_at = -1
for i in range(%(steps)d):
    step.value(1); step.value(0)
    if stall.value() == 0 and stalled_at < 0:
        stalled_at = i + 1
en.value(1)
print(P.strokes, stalled_at, P.reservoir_pl, stall.value())
print(csv.getvalue().replace(chr(10), ";"))
"""


def run_plant(res_nl, steps, sys_ppm=0, rand_ppm=0):
    mech = dict(config.MECHANISM, error_systematic_ppm=sys_ppm, error_random_ppm=rand_ppm)
    out = mpy(PLANT % {"wiring": config.WIRING, "mech": mech, "res": res_nl, "steps": steps})
    strokes, stalled_at, res_pl, stall_after = (int(x) for x in out[0].split())
    vols = [int(r.split(",")[1]) for r in out[1].split(";") if r]
    return strokes, stalled_at, res_pl, stall_after, vols


@pytest.mark.req("TWIN-PLANT-ORACLE")
def test_the_stroke_that_empties_the_reservoir_completes_and_the_next_step_stalls():
    """1000 nL = 4 strokes of 250 nL: the 800th step pushes the last drop out and completes (no
    stall); step 801 cannot move and asserts the stall line; disabling the driver releases it.
    (Failed before the plant latched stall on a failed step: the line was active as soon as
    the reservoir was empty, so the pump wrote off the last good stroke; HIL test_3 on the twin.)"""
    strokes, stalled_at, res_pl, stall_after, vols = run_plant(1000, 805)
    assert strokes == 4 and vols == [250] * 4 and res_pl == 0
    assert stalled_at == 801
    assert stall_after == 1


@pytest.mark.req("TWIN-PLANT-ORACLE")
def test_stroke_volume_carries_systematic_and_random_error():
    """+2 % systematic: 250 nL x 1.02 = 255 nL a stroke (Fraction arithmetic); with +-1 % random
    on top every stroke lies in [250 x 1.01, 250 x 1.03] (+-1 nL of carried remainder) and the total is exact to < 1 nL."""
    _s, _a, _r, _st, vols = run_plant(10 ** 7, 200 * 10, sys_ppm=20000)
    assert vols == [int(Fraction(250) * Fraction(102, 100))] * 10
    _s, _a, res_pl, _st, vols = run_plant(10 ** 7, 200 * 50, sys_ppm=20000, rand_ppm=10000)
    assert len(vols) == 50 and len(set(vols)) > 1
    lo, hi = Fraction(250) * Fraction(101, 100), Fraction(250) * Fraction(103, 100)
    assert all(lo - 1 <= v <= hi + 1 for v in vols), vols   # +-1 nL: the sub-nL carry between strokes
    assert abs((10 ** 10 - res_pl) - sum(vols) * 1000) < 1000


@pytest.mark.req("TWIN-FLASH-LFS")
def test_flash_image_is_littlefs_readable_by_littlefs_python_and_cuts_stop_at_op_n(tmp_path):
    """A file written by MicroPython's VfsLfs2 on the twin's block device (Pico geometry,
    progsize 256) reads back identically with littlefs-python (an independent implementation);
    no program landed on unerased bytes; the cut hook fires at operation N exactly."""
    from littlefs import LittleFS

    img = tmp_path / "flash.img"
    img.write_bytes(b"\xff" * (config.PICO_BLOCKS * 4096))
    payload = bytes(range(256)) * 20
    (tmp_path / "scratch.img").write_bytes(b"\xff" * (config.PICO_BLOCKS * 4096))
    out = mpy("""
import vfs, blockdev
bd = blockdev.FileBlockDev(%r, %d)
vfs.VfsLfs2.mkfs(bd, progsize=256)
fs = vfs.VfsLfs2(bd, progsize=256)
vfs.mount(fs, "/flash")
with open("/flash/pump.bin", "wb") as f:
    f.write(%r)
vfs.umount("/flash")
print(bd.nor_violations, bd.progs, bd.erases)
cuts = []
bd2 = blockdev.FileBlockDev(%r, %d, 3, cuts.append)
vfs.VfsLfs2.mkfs(bd2, progsize=256)
bd2.armed = True
fs2 = vfs.VfsLfs2(bd2, progsize=256)
vfs.mount(fs2, "/f2")
with open("/f2/x.bin", "wb") as f:
    f.write(b"y" * 9000)
print(cuts[:1], bd2.ops >= 3)
""" % (str(img), config.PICO_BLOCKS, payload, str(tmp_path / "scratch.img"), config.PICO_BLOCKS), tmp_path)
    nor, progs, erases = (int(x) for x in out[0].split())
    assert nor == 0 and progs > 0 and erases > 0
    assert out[1] == "[3] True"
    fs = LittleFS(block_size=4096, block_count=config.PICO_BLOCKS, prog_size=256, mount=False)
    fs.context.buffer = bytearray(img.read_bytes())
    fs.mount()
    with fs.open("pump.bin", "rb") as f:
        assert f.read() == payload
    from pumpctl.twin import inspect

    assert inspect.listing(str(img)) == [("/pump.bin", len(payload))]


@pytest.mark.req("TWIN-PLANT-ORACLE")
def test_pumpctl_emulate_runtime_twin_serves_the_pico_image_on_a_pty(tmp_path):
    """`pumpctl emulate --runtime twin` prints `pty:` and `tcp:` like the emulator and serves the
    same pump on both; it is the Pico image (hello: serial PICO + the unique id's last 4 bytes, the test build),
    and SIGTERM stops it cleanly."""
    import signal
    import sys

    from pumpctl.link.client import PumpClient

    p = subprocess.Popen([sys.executable, "-m", "pumpctl", "emulate", "--runtime", "twin", "--state",
                          str(tmp_path / "twin")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = [p.stdout.readline() for _ in range(3)]
        pty = [ln.split()[1] for ln in lines if ln.startswith("pty: ")][0]
        c = PumpClient(pty, timeout_s=20)
        info = c.hello()
        c.close()
        assert info["serial"] == "PICO2B335F2C" and info["build"] == "test", info
        tcp = [ln.split()[1] for ln in lines if ln.startswith("tcp: ")][0]
        c = PumpClient(tcp, timeout_s=20)
        assert c.hello()["serial"] == "PICO2B335F2C"   # the same pump over TCP
        c.close()
        assert (tmp_path / "twin" / "flash.img").stat().st_size == config.PICO_BLOCKS * 4096
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(20) == 0


@pytest.mark.req("TWIN-PLANT-ORACLE")
def test_a_clinical_image_boots_on_the_twin_without_its_simulation_code(tmp_path):
    """The clinical image (make firmware KIND=clinical) leaves out commands_sim and hal_sim and has
    no line tables; it still boots on the Pico twin, answers as a clinical build, refuses the
    simulation commands (the link's build check, docs/protocol.md) and reports the pump's status."""
    from pumpctl.link.client import PumpClient, PumpReplyError
    from pumpctl.twin.launcher import Twin

    with Twin(str(tmp_path / "twin"), build="clinical") as tw:
        mods = sorted(os.listdir(tw.build_dir))
        assert "commands_sim.mpy" not in mods and "hal_sim.mpy" not in mods and "commands.mpy" in mods
        with PumpClient(tw.pty_path, timeout_s=20) as c:
            assert c.hello()["build"] == "clinical"
            with pytest.raises(PumpReplyError) as e:
                c.request("sim_warp", {"seconds": 3600})
            assert e.value.code == "E_TEST_BUILD_ONLY"
            assert c.request("status")["state"] == "stopped"   # a new pump: no programme yet (docs/protocol.md)


@pytest.mark.req("TWIN-USB-NOT-DRAINED")
def test_main_loop_starts_a_new_line_after_a_partial_usb_write():
    """A USB write the host did not drain may be cut short (rp2 CDC drops what does not fit
    within its TX timeout; the twin's non-blocking stdout the same). The next frame must start on
    a new line, or it is glued to the torn one and the host loses it (found on the twin: HIL
    test_a_host_that_does_not_read... got no reply to the first request after the host read
    again). A write that returns None (nothing written, or a stream that does not count) is
    not a torn line."""
    from types import SimpleNamespace

    import main

    class Tx:
        def __init__(self, room):
            self.room = room
            self.data = b""

        def write(self, b):
            n = len(b) if self.room is None else min(self.room, len(b))
            self.data += b[:n]
            self.room = None
            return n

    loop = main.PumpLoop(SimpleNamespace(ctl=SimpleNamespace(clock_offset_s=0)), None, None, Tx(10), None,
                         SimpleNamespace(RX_MAX_PER_LOOP=16, LOOP_PERIOD_MS=100))
    f1, f2 = b'{"id":1,"ok":true,"res":{}}*00000000\n', b'{"id":2,"ok":true,"res":{}}*00000000\n'
    loop._write(f1)
    loop._write(f2)
    assert loop.tx.data.split(b"\n")[-2] == f2.rstrip(b"\n")
    assert loop.tx.data == f1[:10] + b"\n" + f2

    class NoneTx(Tx):
        def write(self, b):
            self.data += b
            return None

    loop.tx = NoneTx(None)
    loop._write(f1)
    loop._write(f2)
    assert loop.tx.data == f1 + f2


@pytest.mark.req("TWIN-USB-NOT-DRAINED")
def test_a_torn_line_stays_torn_until_its_newline_is_written():
    """On the unix port (the twin) a non-blocking write that can write nothing returns None
    (io.RawIOBase); rp2's CDC returns 0 after its TX timeout. Either way the newline that ends a
    torn line did not go out: the next frame is dropped whole, not glued to the torn piece (a
    glued reply is lost by the host: HIL test_a_host_that_does_not_read... timed out on 'status'
    after the host read again). The oracle is the byte stream: every complete line is a whole
    frame."""
    from types import SimpleNamespace

    import main

    class Tx:
        def __init__(self, script):
            self.script = list(script)   # per write: None (EAGAIN), 0, or how many bytes fit
            self.data = b""

        def write(self, b):
            room = self.script.pop(0) if self.script else len(b)
            if room is None:
                return None
            self.data += b[:room]
            return min(room, len(b))

    f1, f2, f3 = (b'{"id":%d,"ok":true,"res":{}}*00000000\n' % i for i in (1, 2, 3))
    for blocked in (None, 0):
        loop = main.PumpLoop(SimpleNamespace(ctl=SimpleNamespace(clock_offset_s=0)), None, None,
                             Tx([10, blocked]), None, SimpleNamespace(RX_MAX_PER_LOOP=16, LOOP_PERIOD_MS=100))
        loop._write(f1)     # torn after 10 bytes
        loop._write(f2)     # its newline cannot go out: f2 dropped whole
        loop._write(f3)     # host drains again: newline, then f3 whole
        assert loop.tx.data == f1[:10] + b"\n" + f3, blocked


@pytest.mark.req("TWIN-USB-NOT-DRAINED")
def test_usb_relay_backlog_drops_whole_lines_only():
    """The relay queues the twin's output for an endpoint that does not read; past its cap it
    drops whole lines, never part of one (a torn line glues onto the next frame and the host
    loses that frame too). Oracle: the lines that were queued (each one whole) and the cap."""
    from pumpctl.twin.usbrelay import queue_whole_lines

    lines = [b'{"id":%d,"ok":true,"res":{}}*%08X\n' % (i, i) for i in range(4000)]
    out = bytearray(lines[0][7:])          # the endpoint already took 7 bytes of line 0
    dropped = 0
    for ln in lines[1:]:
        dropped += queue_whole_lines(out, ln, cap=4096)
        assert len(out) <= 4096 + len(ln)
    kept = bytes(out).split(b"\n")
    assert kept[-1] == b""
    assert kept[0] + b"\n" == lines[0][7:]          # the line in progress went out whole
    body = [k + b"\n" for k in kept[1:-1]]
    assert body == lines[len(lines) - len(body):]    # a contiguous tail of whole lines
    assert dropped == sum(map(len, lines[1:len(lines) - len(body)]))
