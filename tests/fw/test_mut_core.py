"""Issue 8: controller, battery, pumpmodel and hal_sim behaviours the mutation run found
unchecked (docs/mutation/core.md).

Oracles: the label's unit arithmetic (ng/day * s / 86400 = ng; ng * 1000 / (mcg/mL) = nL,
floored as the log promises whole nL), the status example of docs/protocol.md ("bolus":null
when no bolus runs), battery.py's documented linear cell curve (2600 mV empty, 3200 mV full,
600 mAh: 1 mV is exactly 1 mAh = 1000000 nAh) and integer-only firmware (results are int).
"""
from pumpkit import ready_pump, cmd, warp, log_since, make_pump
import battery
from hal_sim import SimHal

REQS = {
    "test_bolus_end_logs_the_whole_nl_the_bolus_gave": ["SAFE-MUTANTS"],
    "test_battery_voltage_curve_is_integer_and_clamped": ["SAFE-MUTANTS"],
    "test_sim_clock_only_moves_forward_and_counts_watchdog_feeds": ["SAFE-MUTANTS"],
    "test_a_reboot_under_a_utc_offset_keeps_the_delivered_volume": ["SAFE-MUTANTS"],
}

CONT = {"mode": "continuous", "dose_ng_day": 100000}


def _bolus_end_a(seconds, dose_ng, duration_min):
    hal, ctl = ready_pump(CONT, conc=2000)
    seq = ctl.log.last_seq
    cmd(ctl, "bolus", dose_ng=dose_ng, duration_min=duration_min)
    warp(hal, ctl, seconds)
    cmd(ctl, "bolus_cancel")
    assert cmd(ctl, "status")["bolus"] is None
    ends = [e for e in log_since(ctl, seq) if e[2] == "bolus_end"]
    assert len(ends) == 1 and ends[0][4] == 1                         # b = 1: cancelled
    return ends[0][3]


def test_bolus_end_logs_the_whole_nl_the_bolus_gave():
    """518399 ng over 1440 min is 518399 ng/day; 1 s of it is 518399 / 86400 = 5.99999 ng =
    2.999995 nL at 2000 mcg/mL: 2 whole nL (not 3). Cancelled in the second it started: 0 nL.
    Run to its end the bolus logs its whole dose: 10000 ng = 5000 nL."""
    assert _bolus_end_a(1, 518399, 1440) == 2
    assert _bolus_end_a(0, 518399, 1440) == 0
    hal, ctl = ready_pump(CONT, conc=2000)
    seq = ctl.log.last_seq
    cmd(ctl, "bolus", dose_ng=10000, duration_min=10)
    warp(hal, ctl, 600)
    assert [e[3:] for e in log_since(ctl, seq) if e[2] == "bolus_end"] == [[5000, 0]]
    st = cmd(ctl, "status")
    assert st["bolus"] is None and st["state"] == "infusing"
    assert ctl.pushed[-1][:2] == ("bolus_finished", {"kind": "single"})


def test_battery_voltage_curve_is_integer_and_clamped():
    assert battery.voltage_mv(battery.CAPACITY_NAH) == 3200
    assert battery.voltage_mv(300000000) == 2900
    for nah in (-1, -600000000):                                      # over-drawn reads as empty
        assert battery.voltage_mv(nah) == 2600
    v = battery.voltage_mv(1)                                         # 600 mV * 1 / 6e8: floors to 0
    assert v == 2600 and type(v) is int
    for mv, nah in ((2500, 0), (2600, 0), (2601, 1000000), (2900, 300000000), (3200, 600000000),
                    (3300, 600000000)):
        r = battery.remaining_from_mv(mv)
        assert r == nah and type(r) is int


def test_sim_clock_only_moves_forward_and_counts_watchdog_feeds():
    hal = SimHal(start_t_s=1000)
    hal.set_monotonic_s(50)
    assert hal.monotonic_s() == 50 and hal.rtc_s() == 1050
    hal.set_monotonic_s(40)                                           # never backwards
    assert hal.monotonic_s() == 50
    assert hal.watchdog_feeds == 0
    hal.feed_watchdog()
    hal.feed_watchdog()
    assert hal.watchdog_feeds == 2


def test_fsm_table_check_names_the_row_and_the_fault():
    """fsm.check_table's ValueError names the 0-based row and what is wrong with it, so a bad
    edit to the transition table is found at once (oracle: the rows built here, fsm.STATES and
    fsm.TRIGGERS)."""
    import fsm
    ok = ("stopped", "resume", None, "infusing", None)
    cases = (
        ((ok, ("stopped", "resume", None, "infusing")), "row 1: need 5 fields"),
        ((("nowhere", "resume", None, "infusing", None),), "row 0: unknown source 'nowhere'"),
        ((ok, ok, ("stopped", "resume", None, "nowhere", None)), "row 2: unknown dest 'nowhere'"),
        ((("stopped", "nope", None, "infusing", None),), "row 0: unknown trigger 'nope'"),
        ((("stopped", "resume", "nope", "infusing", None),), "row 0: unknown guard 'nope'"),
        ((("stopped", "resume", None, "infusing", "nope"),), "row 0: unknown action 'nope'"),
    )
    for rows, msg in cases:
        try:
            fsm.check_table(rows)
            got = None
        except ValueError as e:
            got = str(e)
        assert got == msg, (got, msg)


def test_clearing_the_last_critical_alarm_without_a_programme_stops_in_stopped():
    """fsm_spec.py: alarm_stopped --alarms_cleared--> infusing if the pump can deliver, else
    stopped. A pump with no programme (it cannot deliver) that had a critical motor stall goes
    to stopped when the alarm is cleared, not refused."""
    hal, ctl = make_pump()
    assert ctl.fsm.state == "stopped" and ctl.programme is None
    ctl.raise_alarm("motor_stall", ctl.t_s)
    assert ctl.fsm.state == "alarm_stopped"
    res = cmd(ctl, "alarms_clear")
    assert res["cleared"] == ["motor_stall"] and res["state"] == "stopped"


def test_sim_fault_injection_and_output_log():
    """protocol.md sim_fault: motor_stall `count` strokes stall (two injections of 2 stall 4
    strokes), serial_noise sets `ppm`. The emulator's log (on_output) gets every tone and each
    LED change; the tone history holds the newest 64 (hal_sim.py), oldest first."""
    out = []
    hal = SimHal(on_output=lambda kind, value: out.append((kind, value)))
    hal.inject("motor_stall", 2)
    hal.inject("motor_stall", 2)
    assert [hal.motor_strokes(3) for _ in range(5)] == [0, 0, 0, 0, 3]
    assert hal.noise_ppm == 0
    hal.inject("serial_noise", 500)
    assert hal.noise_ppm == 500 and hal.stall_pending == 0
    for i in range(70):
        hal.buzzer(i)
    assert [p for _, p in hal.tones] == list(range(6, 70))
    hal.led("alarm")
    hal.led("alarm")
    assert out == [("buzzer", i) for i in range(70)] + [("led", "alarm")]


def test_sim_hal_defaults_are_a_reproducible_off_pump_at_epoch_zero():
    """SimHal() starts at pump time 0 with the LED off (an "off" request changes nothing) and a
    random stream fixed by its seed (default 1), so every run of a test sees the same bytes."""
    out = []
    hal = SimHal(on_output=lambda kind, value: out.append((kind, value)))
    assert hal.rtc_s() == 0 and hal.led_state == "off"
    hal.led("off")
    assert out == []
    a = hal.random_bytes(16)
    assert SimHal(seed=1).random_bytes(16) == a
    assert SimHal(seed=7).random_bytes(16) == SimHal(seed=7).random_bytes(16) != a


def test_a_reboot_under_a_utc_offset_keeps_the_delivered_volume():
    """Local time UTC+1, plan 400 mcg/day from 00:00 and 800 from 12:00 local (steps, no lead) at
    2000 mcg/mL: 200000 / 400000 nL/day. Committed at 16:00Z = 17:00 local, rebooted 2 h later,
    read 12 h after the commit (05:00 local): 7 h at 400000 + 5 h at 200000 nL/day =
    116666.7 + 41666.7 = 158333.3 nL, so the reservoir reads 20000000 - 158333 nL."""
    from controller import Controller
    from pumpkit import make_pump, refill, programme
    plan = {"mode": "flex", "lead_min": 0, "steps": [{"effect_min": 0, "dose_ng_day": 400000, "shape": "step"},
                                                    {"effect_min": 720, "dose_ng_day": 800000, "shape": "step"}]}
    hal, ctl = make_pump()
    refill(ctl, 20000000, 2000)
    cmd(ctl, "settings_set", utc_offset_s=3600)
    programme(ctl, plan)
    warp(hal, ctl, 2 * 3600)
    ctl.save()
    ctl = Controller(hal, model_id=20, build="test")
    ctl.boot()
    warp(hal, ctl, 10 * 3600)
    st = cmd(ctl, "status")
    assert st["state"] == "infusing" and st["reservoir_nl"] == 20000000 - 158333


def test_an_unknown_pump_model_is_refused_naming_it():
    """pumpmodel.MODELS holds the two reservoirs the labeling describes (20 and 40 mL); any other
    id is a configuration error whose message names the id it was given."""
    import pumpmodel as pm
    assert pm.model(20)["capacity_nl"] == 20000000 and pm.model(40)["capacity_nl"] == 40000000
    for bad in (30, 0, "20"):
        try:
            pm.model(bad)
        except ValueError as e:
            assert str(e) == "unknown pump model %r" % (bad,), str(e)
        else:
            raise AssertionError("model %r accepted" % (bad,))
