"""The test-build simulation commands (firmware/commands_sim.py) and argspec.given, the one place
a handler reads a declared default. Expected values: docs/protocol.md's sim_fault and log_read
tables (defaults 16 bytes, 0 ppm, 1 stroke, 1 write; 24 entries) and flash.py's documented
fault model (a torn write stores its first k bytes, then PowerLoss)."""
from flash import MemoryFlash, PowerLoss
from pumpkit import T0, cmd, make_pump, raises


def _changed(before, flash):
    return {n: bytes(v) for n, v in flash.files.items() if before.get(n) != bytes(v)}


def _tear(after_bytes=None):
    flash = MemoryFlash()
    hal, ctl = make_pump(flash=flash)
    before = {n: bytes(v) for n, v in flash.files.items()}
    args = {"fault": "power_loss"}
    if after_bytes is not None:
        args["after_bytes"] = after_bytes
    try:
        ctl.command("sim_fault", args, "service")
    except PowerLoss:
        return _changed(before, flash)
    raise AssertionError("sim_fault power_loss did not die mid-write")


def test_power_loss_tears_the_next_state_write_after_16_bytes_by_default():
    assert [len(v) for v in _tear().values()] == [16]
    assert [len(v) for v in _tear(40).values()] == [40]
    torn = _tear(0)
    assert [len(v) for v in torn.values()] == [0]


def test_serial_noise_sets_ppm_default_0_and_motor_stall_arms_count_strokes_default_1():
    hal, ctl = make_pump()
    hal.noise_ppm = 7
    assert cmd(ctl, "sim_fault", fault="serial_noise") == {"fault": "serial_noise"}
    assert hal.noise_ppm == 0
    cmd(ctl, "sim_fault", fault="serial_noise", ppm=1000000)
    assert hal.noise_ppm == 1000000 and hal.stall_pending == 0
    cmd(ctl, "sim_fault", fault="motor_stall")
    assert hal.stall_pending == 1
    cmd(ctl, "sim_fault", fault="motor_stall", count=1000)
    assert hal.stall_pending == 1001 and hal.noise_ppm == 1000000


def test_battery_drain_needs_nah_and_adds_it():
    hal, ctl = make_pump()
    e = raises("E_BAD_ARGS", cmd, ctl, "sim_fault", fault="battery_drain")
    assert e.detail.startswith("nah: missing"), e.detail
    assert ctl.drain_nah == 0
    cmd(ctl, "sim_fault", fault="battery_drain", nah=5)
    cmd(ctl, "sim_fault", fault="battery_drain", nah=7)
    assert ctl.drain_nah == 12


def test_sim_warp_moves_the_pump_clock_by_its_seconds():
    hal, ctl = make_pump()
    t = ctl.now_s()
    res = cmd(ctl, "sim_warp", seconds=3600)
    assert res["t_s"] == t + 3600 == T0 + 3600 and ctl.now_s() == t + 3600


def test_given_returns_the_value_or_the_declared_default():
    from argspec import LOG_PAGE, given

    assert LOG_PAGE == 24    # docs/protocol.md, log_read: max_n 1..24, default 24
    assert given("log_read", {}, "max_n") == 24 and given("log_read", {}, "first_seq") == 0
    assert given("log_read", {"max_n": 3}, "max_n") == 3
    assert given("sim_fault", {}, "nah") is None           # declared without a default
    assert given("alarms_silence", {}, "duration_min") == 60
    try:
        given("log_read", {}, "max")
    except KeyError:
        pass
    else:
        raise AssertionError("an undeclared field must be a KeyError")


def test_log_read_pages_24_entries_by_default_from_seq_0():
    hal, ctl = make_pump()
    for _ in range(30):
        cmd(ctl, "alarms_test")
    page = cmd(ctl, "log_read")
    assert len(page["entries"]) == 24 and page["entries"][0][0] == max(0, page["first_seq"])
    assert [e[0] for e in cmd(ctl, "log_read", first_seq=5, max_n=2)["entries"]] == [5, 6]


def test_the_silence_schema_is_the_alarm_modules_range():
    """alarms_silence reads its minutes from the schema (1..1440, docs/protocol.md) and hands
    them to alarms.silence, which refuses outside 1 s..SILENCE_MAX_S: the two must agree, or
    the handler's guard would turn a valid request into E_INTERNAL."""
    from alarms import SILENCE_MAX_S
    from argspec import COMMAND_ARGS, HI, LO

    (f,) = COMMAND_ARGS["alarms_silence"]
    assert (f[LO], f[HI]) == (1, 1440) and SILENCE_MAX_S == 1440 * 60   # 24 h
    hal, ctl = make_pump()
    assert cmd(ctl, "alarms_silence")["silenced_until_t_s"] == ctl.now_s() + 3600   # default 60 min
    assert cmd(ctl, "alarms_silence", duration_min=1440)["silenced_until_t_s"] == ctl.now_s() + 86400
