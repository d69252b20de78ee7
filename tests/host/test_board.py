"""Board HAL and main loop, proven on CPython against a fake `machine` (fake_machine.py).

Checks the documented behaviour of firmware/hal_pico.py and firmware/main.py: step pulses
per stroke with DIR and ENABLE right, stall -> short count, watchdog fed by the loop, ADC ->
battery model, ticks wrap, RTC, tone patterns, and a loop iteration that never waits for
input. Times are the fake's virtual clock (no wall-clock assertions).
"""
import importlib
import os
import sys
import types

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_machine import FakeMachine, FakeMicropython, FakeReset, FakeTime, load_hal_pico  # noqa: E402

import battery  # noqa: E402
from boards import pico as BOARD  # noqa: E402
from flash import MemoryFlash  # noqa: E402
from protocol import decode_line, encode  # noqa: E402
from runtime import PumpRuntime  # noqa: E402

T0 = 90000000  # 2026-11-07T16:00:00Z in pump-epoch seconds (tests/fw/pumpkit.py)


@pytest.fixture
def m():
    return FakeMachine()


@pytest.fixture
def hp(monkeypatch, m):
    return load_hal_pico(monkeypatch, m)


@pytest.fixture
def hal(hp, m):
    return hp.PicoHal(BOARD, MemoryFlash(), m.WDT(timeout=BOARD.WDT_TIMEOUT_MS))


def rising_edges(events):
    out, prev = [], 0
    for t, v in events:
        if v == 1 and prev == 0:
            out.append(t)
        prev = v
    return out


def level_at(events, t_us, initial):
    """Level of a pin at time t_us from its event list (last change at or before t)."""
    v = initial
    for t, val in events:
        if t > t_us:
            break
        v = val
    return v


# --- motor -----------------------------------------------------------------------------
def test_one_stroke_is_the_documented_step_pulses_with_dir_and_enable(hal, m):
    m.log.clear()
    assert hal.motor_strokes(1) == 1
    step = m.pin_events(BOARD.STEP_PIN)
    en = m.pin_events(BOARD.ENABLE_PIN)
    d = m.pin_events(BOARD.DIR_PIN)
    edges = rising_edges(step)
    assert len(edges) == BOARD.STEPS_PER_STROKE
    # ENABLE asserted before the first step (after the driver's settle time), released after
    t_enable = [t for t, v in en if v == BOARD.ENABLE_ACTIVE][0]
    assert edges[0] - t_enable >= BOARD.ENABLE_SETTLE_US
    assert en[-1][1] == 1 - BOARD.ENABLE_ACTIVE
    assert en[-1][0] >= step[-1][0]
    # every step happens with the driver enabled and DIR in the dispensing direction
    for t in edges:
        assert level_at(en, t, 1 - BOARD.ENABLE_ACTIVE) == BOARD.ENABLE_ACTIVE
        assert level_at(d, t, None) == BOARD.DIR_FORWARD
    # pulse shape meets the driver's minimum high time; STEP ends low
    highs = [step[i + 1][0] - step[i][0] for i in range(len(step) - 1) if step[i][1] == 1]
    assert min(highs) >= BOARD.STEP_HIGH_US
    assert step[-1][1] == 0


def test_n_strokes_feed_the_watchdog_between_strokes(hal, m):
    m.log.clear()
    assert hal.motor_strokes(3) == 3
    assert len(rising_edges(m.pin_events(BOARD.STEP_PIN))) == 3 * BOARD.STEPS_PER_STROKE
    assert m.wdt.feeds >= 3
    assert hal.motor_strokes(0) == 0


def test_stall_input_cuts_the_count_short_and_releases_the_driver(hal, m):
    stall = m.pins[BOARD.STALL_PIN]
    reads = {"n": 0}

    def script():  # stall asserted half-way through the second stroke
        reads["n"] += 1
        return BOARD.STALL_ACTIVE if reads["n"] > BOARD.STEPS_PER_STROKE * 3 // 2 else 1 - BOARD.STALL_ACTIVE

    stall.script = script
    m.log.clear()
    assert hal.motor_strokes(3) == 1
    edges = rising_edges(m.pin_events(BOARD.STEP_PIN))
    assert len(edges) == BOARD.STEPS_PER_STROKE * 3 // 2 + 1
    assert m.pins[BOARD.ENABLE_PIN].level == 1 - BOARD.ENABLE_ACTIVE
    assert m.pins[BOARD.STEP_PIN].level == 0


def test_stall_sense_input_is_pulled_up_and_idle_reads_no_stall(hal, m):
    p = m.pins[BOARD.STALL_PIN]
    assert p.mode == m.Pin.IN and p.pull == m.Pin.PULL_UP
    assert hal.motor_strokes(2) == 2


def test_injected_stall_moves_nothing(hal, m):
    hal.inject("motor_stall", 1)
    m.log.clear()
    assert hal.motor_strokes(2) == 0
    assert m.pin_events(BOARD.STEP_PIN) == []
    assert hal.motor_strokes(2) == 2


# --- battery ---------------------------------------------------------------------------
@pytest.mark.parametrize("vsys_mv", [2500, 2600, 2900, 3100, 3200, 4800])
def test_adc_reading_maps_to_the_battery_model(hal, m, vsys_mv):
    # ADC3 sees VSYS / 3 against a 3.3 V reference, 16-bit scaled
    m.adc_u16 = vsys_mv * 65535 // (BOARD.VSYS_DIVIDER * BOARD.ADC_VREF_MV)
    mv = hal.battery_mv()
    assert m.adc_reads == BOARD.ADC_SAMPLES  # averaged
    assert abs(mv - vsys_mv) <= 1  # 16-bit ADC step is 0.15 mV at the pin, 0.45 mV at VSYS
    assert hal.battery_remaining_nah() == battery.remaining_from_mv(mv)


def test_adc_is_vsys_on_gpio29(hal):
    assert hal.adc.id == 29 == BOARD.VSYS_ADC


def test_battery_remaining_clamps_at_both_ends(hal, m):
    m.adc_u16 = 65535
    assert hal.battery_remaining_nah() == battery.CAPACITY_NAH
    m.adc_u16 = 0
    assert hal.battery_remaining_nah() == 0


# --- clock -----------------------------------------------------------------------------
def test_monotonic_seconds_survive_the_ticks_wrap(monkeypatch):
    m = FakeMachine(FakeTime(start_ms=(1 << 30) - 2500))  # 2.5 s before ticks_ms wraps
    hp = load_hal_pico(monkeypatch, m)
    hal = hp.PicoHal(BOARD, MemoryFlash())
    seen = []
    for _ in range(100):
        m.time.advance_ms(700)
        seen.append(hal.monotonic_s())
    assert seen == sorted(seen)
    assert seen[-1] == 70  # 100 x 0.7 s, across the wrap
    assert m.time.ticks_ms() < 100000  # it did wrap


def test_monotonic_seconds_stay_small_ints_for_weeks(hal, m):
    for _ in range(30):  # 30 days in 1-day hops (ticks_diff is exact up to 2**29 ms)
        m.time.advance_ms(86400000)
        hal.monotonic_s()
    assert hal.monotonic_s() == 30 * 86400
    assert hal._mono_rem_ms < 1000


def test_rtc_is_unset_until_host_sync_then_round_trips(hal, m):
    assert hal.rtc_s() is None  # power-on 2021-01-01: never set
    hal.set_rtc_s(T0)
    assert hal.rtc_s() == T0
    assert m.rtc_datetime[:3] == (2026, 11, 7) and m.rtc_datetime[4:7] == (16, 0, 0)
    assert m.rtc_datetime[3] == 5  # Saturday (Monday = 0)
    hal.set_rtc_s(0)
    assert m.rtc_datetime[:4] == (2024, 1, 1, 0)  # the pump epoch is a Monday
    assert hal.rtc_s() == 0


# --- annunciators ----------------------------------------------------------------------
def play(hal, m, pattern, ms=4000):
    m.log.clear()
    hal.buzzer(pattern)
    for _ in range(ms // 50):
        m.time.advance_ms(50)
        hal.service()
    ev = m.pwm_events()
    freqs = [v for _, what, v in ev if what == "pwm_freq"]
    return ev, freqs


@pytest.mark.parametrize(
    "pattern, n_freqs",
    [("critical", 2), ("noncritical", 1), ("test", 2)],
)
def test_tone_patterns(hal, m, pattern, n_freqs):
    ev, freqs = play(hal, m, pattern)
    assert len(set(freqs)) == n_freqs
    assert all(150 <= f <= 1000 for f in freqs)  # IEC 60601-1-8 fundamental band
    assert ev[-1][1:] == ("pwm_duty", 0)  # silent at the end
    assert hal.tones_played == 1


def test_critical_alternates_two_tones_and_off_silences(hal, m):
    _, freqs = play(hal, m, "critical")
    assert all(freqs[i] != freqs[i + 1] for i in range(len(freqs) - 1))
    m.log.clear()
    hal.buzzer("critical")
    hal.buzzer("off")
    assert m.pwm_events()[-1][1:] == ("pwm_duty", 0)
    for _ in range(10):
        m.time.advance_ms(100)
        hal.service()
    assert hal.pwm.duty_u16() == 0  # stays silent: the sequence was dropped


def test_led_states(hal, m):
    led = m.pins[BOARD.LED_PIN]
    hal.led("ok")
    assert led.level == 1
    hal.led("alarm")
    levels = []
    for _ in range(8):
        m.time.advance_ms(250)
        hal.service()
        levels.append(led.level)
    assert 0 in levels and 1 in levels  # blinks
    hal.led("off")
    m.time.advance_ms(1000)
    hal.service()
    assert led.level == 0


def test_random_bytes(hal):
    r = hal.random_bytes(16)
    assert isinstance(r, bytes) and len(r) == 16


# --- main loop -------------------------------------------------------------------------
class Rx:
    def __init__(self):
        self.data = bytearray()
        self.reads = 0

    def read(self, n):
        self.reads += 1
        if not self.data:
            raise AssertionError("read() with nothing waiting would block")
        out = bytes(self.data[:n])
        del self.data[:n]
        return out


class Tx:
    def __init__(self):
        self.data = bytearray()

    def write(self, b):
        self.data += b
        return len(b)

    def frames(self):
        lines = bytes(self.data).split(b"\n")
        self.data = bytearray()
        return [decode_line(x) for x in lines if x]


class Poller:
    """select.poll stand-in: ready while rx has bytes; records every timeout asked for."""

    def __init__(self, rx):
        self.rx = rx
        self.timeouts = []

    def poll(self, timeout=-1):
        self.timeouts.append(timeout)
        return [(self.rx, 1)] if self.rx.data else []


@pytest.fixture
def loop(hp, hal, m, monkeypatch):
    import main

    monkeypatch.setattr(main, "time", m.time)
    rt = PumpRuntime(hal, serial="PICO0001", build="test")
    rx, tx = Rx(), Tx()
    lp = main.PumpLoop(rt, hal, rx, tx, Poller(rx), BOARD)
    lp.start()
    tx.frames()
    return lp


def test_iteration_without_input_returns_without_reading(loop, m):
    feeds = m.wdt.feeds
    assert loop.step() == 0
    assert loop.rx.reads == 0
    assert loop.poller.timeouts == [0]  # polled, never waited
    assert m.wdt.feeds == feeds + 1


def test_watchdog_is_fed_every_iteration(loop, m):
    feeds = m.wdt.feeds
    for _ in range(50):
        m.time.advance_ms(100)
        loop.step()
    assert m.wdt.feeds >= feeds + 50
    assert m.wdt.timeout == BOARD.WDT_TIMEOUT_MS


def test_run_paces_the_loop_without_busy_waiting(loop, m):
    loop.poller.timeouts.clear()
    loop.run(iterations=5)
    assert loop.iterations == 5
    waits = [t for t in loop.poller.timeouts if t != 0]
    assert len(waits) == 5 and all(0 < t <= BOARD.LOOP_PERIOD_MS for t in waits)


def test_a_frame_is_answered_in_one_iteration(loop):
    loop.rx.data += encode({"id": 7, "cmd": "hello"})
    assert loop.step() > 0
    (reply,) = [f for f in loop.tx.frames() if f.get("id") == 7]
    assert reply["ok"] is True
    assert reply["res"]["serial"] == "PICO0001" and reply["res"]["build"] == "test"


def test_input_is_bounded_per_iteration(loop):
    frame = encode({"id": 8, "cmd": "hello"})
    loop.rx.data += b"x" * (BOARD.RX_MAX_PER_LOOP + 10) + b"\n" + frame
    assert loop.step() == BOARD.RX_MAX_PER_LOOP
    n = 0
    while loop.rx.data:
        n += loop.step()
    assert [f for f in loop.tx.frames() if f.get("id") == 8]


def test_a_burst_of_frames_is_answered_one_frame_per_iteration(loop):
    """A host may queue many frames at once (issue 9: 500 `hello` with the host not reading).
    Each iteration reads up to the end of one line and answers that frame only, so a burst never
    builds one large reply buffer; the rest wait in the USB buffer for the next iterations.
    Oracle: the frames' own byte lengths and ids (what was queued)."""
    frames = [encode({"id": 20 + i, "cmd": "hello"}) for i in range(3)]
    loop.rx.data += b"".join(frames)
    for i, f in enumerate(frames):
        assert loop.step() == len(f)
        assert [x["id"] for x in loop.tx.frames() if "id" in x] == [20 + i]
    assert loop.step() == 0


def test_ctrl_c_bytes_are_data_not_an_interrupt(loop):
    loop.rx.data += b"\x03\x03garbage\n"
    loop.step()
    (r,) = loop.tx.frames()  # answered with an error frame; the loop is still alive
    assert r["ok"] is False and r["err"]["code"] == "E_FRAME_NO_CRC"
    assert loop.step() == 0


def test_time_sync_reaches_the_rtc(loop, hal):
    assert hal.rtc_s() is None
    loop.rt.ctl.command("time_set", {"t_s": T0}, "service")
    loop.step()
    assert abs(hal.rtc_s() - T0) <= 1


def start_therapy(loop):
    """Fill and programme through the controller's dispatch (the link's auth is tested
    elsewhere), then let the runtime recompute its due time as it does after any frame."""
    ctl = loop.rt.ctl
    ctl.command("time_set", {"t_s": T0}, "service")
    st = ctl.command("refill_stage", {"added_nl": 20000000, "withdrawn_nl": 0, "conc_ug_ml": 2000}, "clinician")
    ctl.command("refill_commit", {"hash": st["hash"]}, "clinician")
    st = ctl.command("programme_stage", {"programme": {"mode": "continuous", "dose_ng_day": 480000}}, "clinician")
    ctl.command("programme_commit", {"hash": st["hash"]}, "clinician")
    loop.rt.feed(b"")
    return ctl


def test_therapy_on_the_board_hal_steps_the_motor(loop, hal, m):
    ctl = start_therapy(loop)
    m.log.clear()
    for _ in range(180):  # 3 h in 60 s iterations
        m.time.advance_ms(60000)
        loop.step()
    strokes = ctl.strokes_total
    # 480 mcg/day at 2000 mcg/mL = 240 uL/day = 960 strokes/day = 40/h (pumpmodel 250 nL/stroke)
    assert 119 <= strokes <= 121
    assert len(rising_edges(m.pin_events(BOARD.STEP_PIN))) == strokes * BOARD.STEPS_PER_STROKE


def test_stall_on_the_board_raises_the_critical_alarm(loop, hal, m):
    ctl = start_therapy(loop)
    m.pins[BOARD.STALL_PIN].level = BOARD.STALL_ACTIVE
    for _ in range(10):
        m.time.advance_ms(60000)
        loop.step()
    assert "motor_stall" in ctl.alarms.active
    assert hal.tones_played >= 1


# --- wiring of the real board (make_loop / main) ----------------------------------------
@pytest.fixture
def board_env(hp, m, monkeypatch):
    import flash
    import main

    mp = FakeMicropython()
    monkeypatch.setitem(sys.modules, "micropython", mp)
    monkeypatch.setitem(sys.modules, "build_info", types.SimpleNamespace(BUILD_KIND="clinical"))
    monkeypatch.setattr(flash, "FileFlash", lambda root: MemoryFlash())
    rx, tx = Rx(), Tx()
    fake_sys = types.SimpleNamespace(
        stdin=types.SimpleNamespace(buffer=rx), stdout=types.SimpleNamespace(buffer=tx),
        print_exception=lambda e, f=None: None,
    )
    poller = Poller(rx)
    fake_select = types.SimpleNamespace(POLLIN=1, poll=lambda: poller)
    poller.register = lambda obj, mask: None
    monkeypatch.setattr(main, "sys", fake_sys)
    monkeypatch.setattr(main, "select", fake_select)
    monkeypatch.setattr(main, "time", m.time)
    return main, mp, rx, tx


@pytest.mark.req("BUILD-CLINICAL-NO-SIM")
def test_make_loop_wires_the_board(board_env, m):
    main, mp, rx, tx = board_env
    lp = main.make_loop()
    assert mp.kbd_intr_calls == [-1]  # REPL detached: Ctrl-C is data
    assert m.wdt is not None and m.wdt.timeout == 8000
    assert lp.rt.build == "clinical"
    assert lp.rt.ctl.serial == "PICO831A2B3C"  # last 4 bytes of machine.unique_id()
    lp.start()
    assert tx.frames()  # boot events
    rx.data += encode({"id": 1, "cmd": "sim_warp", "args": {"s": 60}})
    lp.step()
    (r,) = [f for f in tx.frames() if f.get("id") == 1]
    assert r["ok"] is False and r["err"]["code"] == "E_TEST_BUILD_ONLY"  # clinical build


def test_safe_mode_jumper_keeps_the_repl(board_env, m, capsys):
    main, mp, _, _ = board_env
    m.input_levels[BOARD.SAFE_MODE_PIN] = 0
    assert main.main() is None
    assert m.wdt is None and mp.kbd_intr_calls == []


def test_power_loss_fault_resets_the_board(board_env, m, monkeypatch):
    main, _, rx, _ = board_env
    from flash import PowerLoss

    def boom(self):
        raise PowerLoss()

    monkeypatch.setattr(main.PumpLoop, "run", boom)
    with pytest.raises(FakeReset):
        main.main()


def test_main_py_imports_without_starting_anything(m):
    import main

    importlib.reload(main)
    assert m.wdt is None


def test_only_the_board_hal_imports_machine():
    fw = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "firmware")
    offenders = []
    for root, _dirs, files in os.walk(fw):
        for n in files:
            if n.endswith(".py") and n != "hal_pico.py":
                with open(os.path.join(root, n)) as f:
                    src = f.read()
                if "import machine" in src or "import rp2" in src or "from machine" in src:
                    offenders.append(n)
    assert offenders == []


# --- the same HAL and loop under real MicroPython (WebAssembly port) --------------------
# The fake `machine` below is plain MicroPython-compatible Python (fake_machine.py uses
# CPython's types.ModuleType); it is written into the MEMFS next to the firmware.
MPY_FAKE_MACHINE = """
log = []
class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    def __init__(self, ident, mode=-1, pull=-1, value=None):
        self.id = ident
        self.level = 1 if pull == 1 else 0
        if value is not None:
            self.value(value)
    def value(self, v=None):
        if v is None:
            return self.level
        self.level = 1 if v else 0
        log.append((self.id, self.level))
class PWM:
    def __init__(self, pin):
        self.d = 0
    def freq(self, f):
        pass
    def duty_u16(self, d=None):
        if d is None:
            return self.d
        self.d = d
class ADC:
    def __init__(self, i):
        pass
    def read_u16(self):
        return 20000
class WDT:
    feeds = 0
    def __init__(self, timeout=0):
        pass
    def feed(self):
        WDT.feeds += 1
_dt = [(2021, 1, 1, 4, 0, 0, 0, 0)]
class RTC:
    def datetime(self, dt=None):
        if dt is None:
            return _dt[0]
        _dt[0] = tuple(dt)
def unique_id():
    return bytes([1, 2, 3, 4, 0xE6, 0x60, 0x58, 0x38])
"""

MPY_SCRIPT = """
import machine, hal_pico, main
from boards import pico as B
from flash import FileFlash
from runtime import PumpRuntime
from protocol import encode
hal = hal_pico.PicoHal(B, FileFlash("/pumpdata"), machine.WDT(timeout=8000))
machine.log.clear()
n = hal.motor_strokes(2)
edges = sum(1 for p, v in machine.log if p == B.STEP_PIN and v == 1)
rtc0 = hal.rtc_s()
hal.set_rtc_s(90000000)
hal.buzzer("critical")
hal.service()
class Rx:
    def __init__(self):
        self.d = bytearray()
    def read(self, k):
        b = bytes(self.d[:k])
        self.d = self.d[k:]
        return b
class Tx:
    def __init__(self):
        self.d = b""
    def write(self, b):
        self.d += b
class P:
    def __init__(self, rx):
        self.rx = rx
    def poll(self, t=-1):
        return [1] if self.rx.d else []
rt = PumpRuntime(hal, serial=main.serial_number(machine.unique_id()), build="test")
rx, tx = Rx(), Tx()
lp = main.PumpLoop(rt, hal, rx, tx, P(rx), B)
lp.start()
rx.d += encode({"id": 3, "cmd": "hello"})
got = lp.step()
idle = lp.step()
lp.run(2)
ok = b'"id":3,"ok":true' in tx.d and b'"serial":"PICOE6605838"' in tx.d
print("RESULT", n, edges, rtc0, hal.rtc_s(), hal.battery_mv(), got > 0, idle, lp.iterations, machine.WDT.feeds > 4, ok)
"""


def test_board_hal_and_loop_run_under_micropython(tmp_path):
    import json
    import shutil
    import subprocess

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if shutil.which("node") is None or not os.path.isdir(os.path.join(repo, "node_modules", "@micropython")):
        pytest.skip("node or node_modules missing: run `make node_modules`")
    js = (
        'import { createMicroPython, loadFirmware } from "%s";\n'
        "const mp = await createMicroPython();\n"
        'loadFirmware(mp, { extra: { "/repo/firmware/machine.py": %s, '
        '"/repo/firmware/build_info.py": "BUILD_KIND = \\"test\\"\\n" } });\n'
        "mp.runPython(%s);\n"
    ) % (
        os.path.join(repo, "tools", "mpy", "loader.mjs"),
        json.dumps(MPY_FAKE_MACHINE),
        json.dumps(MPY_SCRIPT),
    )
    script = tmp_path / "board_smoke.mjs"
    script.write_text(js)
    proc = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=120)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")]
    assert proc.returncode == 0 and lines, proc.stdout + proc.stderr
    # strokes, STEP edges, rtc before sync, after, VSYS mV, frame handled, idle step, iterations, wdt, reply
    assert lines[0].split()[1:] == ["2", str(2 * BOARD.STEPS_PER_STROKE), "None", "90000000", "3021",
                                    "True", "0", "4", "True", "True"]
