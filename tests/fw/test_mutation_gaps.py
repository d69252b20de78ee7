"""Issue 8, defect 12: branches the mutation audit found untested (each mutation survived every
lane). Each test below names the mutation it kills; it was applied by hand, the test failed,
and it was reverted (see the h1-safety-fixes report).

Oracles: the label-unit arithmetic of a continuous flow (1000 mcg/day at 2000 mcg/mL is
0.5 mL/day, so 6 mL take exactly 12 days), the daily totals of step plans summed by hand,
and the store's documented record layout (a byte changed inside the JSON payload keeps it
valid JSON of the same length: only the CRC can tell).
"""
import json

from pumpkit import make_pump, ready_pump, cmd, refill, programme, warp, raises, DAY
from hal_sim import SimHal
from controller import Controller
from flash import MemoryFlash
from store import StateStore, HEADER_LEN

REQS = {
    "test_programmed_low_reservoir_threshold_drives_alarm_and_forecasts": ["SAFE-MUTANTS"],
    "test_flex_plan_raising_the_daily_total_in_the_first_24h_without_raising_a_step": ["SAFE-MUTANTS"],
    "test_latched_alarms_are_restored_at_boot": ["SAFE-MUTANTS"],
    "test_store_corruption_that_keeps_valid_json_and_length_is_caught_by_the_crc": ["SAFE-MUTANTS"],
}

CONT = {"mode": "continuous", "dose_ng_day": 1000000}   # 500000 nL/day at 2000 mcg/mL


def test_programmed_low_reservoir_threshold_drives_alarm_and_forecasts():
    """Kills: `self.settings["low_res_nl"]` -> `pm.LOW_RES_DEFAULT_NL` in the forecast
    (controller.reschedule), the stage forecasts (commands._forecast) or the clear check."""
    hal, ctl = make_pump()
    refill(ctl, 10000000, 2000)
    cmd(ctl, "settings_set", low_res_nl=4000000)
    t0 = ctl.t_s
    # Stage forecasts use the programmed 4 mL: 6 mL of 10 mL delivered at 0.5 mL/day = 12 days.
    st = cmd(ctl, "programme_stage", programme=CONT)
    assert st["after"]["alarm_t_s"] == t0 + 12 * DAY
    cmd(ctl, "programme_commit", hash=st["hash"])
    assert cmd(ctl, "status")["alarm_t_s"] == t0 + 12 * DAY
    warp(hal, ctl, 12 * DAY - 1)
    assert "low_reservoir" not in ctl.alarms.active
    warp(hal, ctl, 1)
    assert ctl.alarms.active.get("low_reservoir") == t0 + 12 * DAY
    assert ctl.reservoir_nl() == 4000000
    # Above the 2 mL default but at or below the programmed 4 mL: the alarm's cause persists.
    warp(hal, ctl, DAY)
    assert cmd(ctl, "alarms_clear")["kept"] == ["low_reservoir"]
    # A refill's forecast uses it too: 10 mL added, alarm when 6 mL are gone.
    t1 = ctl.t_s
    st = cmd(ctl, "refill_stage", withdrawn_nl=ctl.reservoir_nl(), added_nl=10000000)
    assert abs(st["after"]["alarm_t_s"] - (t1 + 12 * DAY)) <= 1        # sub-stroke remainder kept
    # A lower threshold moves the date: 8.5 mL of 10 = 17 days.
    cmd(ctl, "refill_commit", hash=st["hash"])
    cmd(ctl, "settings_set", low_res_nl=1500000)
    assert abs(cmd(ctl, "status")["alarm_t_s"] - (t1 + 17 * DAY)) <= 1


SPINAL = {"indication": "spinal", "age_group": "adult"}


def _steps(pairs):
    return {"mode": "flex", "lead_min": 0, "steps": [
        {"effect_min": m, "dose_ng_day": d, "shape": "step"} for m, d in pairs]}


def test_flex_plan_raising_the_daily_total_in_the_first_24h_without_raising_a_step():
    """Kills: dropping the first-24 h check from clinical._check_increase (the flex-step
    check only looks at step peaks, so a plan that spends longer at the same peak slipped by).
    Label: "No dose increases should be given in the first 24 hrs"."""
    hal, ctl = make_pump()
    refill(ctl, 20000000, 500)
    cmd(ctl, "profile_set", profile=SPINAL)
    first = _steps([(0, 100000), (12 * 60, 120000)])      # 12 h at 100 + 12 h at 120 mcg/day: 110 mcg/day
    programme(ctl, first)
    assert ctl.daily_ng() == 110000
    longer = _steps([(0, 100000), (6 * 60, 120000)])      # 6 h at 100 + 18 h at 120: 115 mcg/day
    warp(hal, ctl, DAY - 60)
    raises("E_FIRST_24H", cmd, ctl, "programme_stage", programme=longer)
    # Same peak, lower total: allowed inside the 24 h.
    shorter = _steps([(0, 100000), (18 * 60, 120000)])    # 18 h at 100 + 6 h at 120: 105 mcg/day
    cmd(ctl, "programme_stage", programme=shorter)
    warp(hal, ctl, 60)                                    # 24 h after the initial programme
    st = cmd(ctl, "programme_stage", programme=longer)
    assert st["daily_ng"] == 115000
    cmd(ctl, "programme_commit", hash=st["hash"])


def test_latched_alarms_are_restored_at_boot():
    """Kills: dropping `self.alarms.load(d["alarms"])` from Controller.boot."""
    hal, ctl = ready_pump(CONT, fill_nl=2500000)
    warp(hal, ctl, 2 * DAY)                                # 1 mL gone: under the 2 mL threshold
    assert "low_reservoir" in ctl.alarms.active
    raised = ctl.alarms.active["low_reservoir"]
    ctl2 = Controller(SimHal(start_t_s=ctl.t_s + 60, flash=hal.flash))
    ctl2.boot()
    assert ctl2.alarms.active == {"low_reservoir": raised}
    assert ctl2.fsm.state == "infusing"                     # non-critical
    hal.inject("motor_stall", 1)
    warp(hal, ctl, 3600)
    assert "motor_stall" in ctl.alarms.active
    ctl3 = Controller(SimHal(start_t_s=ctl.t_s + 60, flash=hal.flash))
    ctl3.boot()
    assert sorted(ctl3.alarms.active) == ["low_reservoir", "motor_stall"]
    assert ctl3.fsm.state == "alarm_stopped"
    assert cmd(ctl3, "alarms_list")["alarms"][1]["name"] == "motor_stall"


def _flip_digit(blob):
    """The same record with one digit of a JSON number changed: still valid JSON, same length."""
    payload = blob[HEADER_LEN:]
    i = payload.index(b'"n":') + 4
    d = payload[i:i + 1]
    assert d in b"0123456789"
    new = payload[:i] + (b"7" if d != b"7" else b"3") + payload[i + 1:]
    json.loads(new)
    assert len(new) == len(payload)
    return blob[:HEADER_LEN] + new


def test_store_corruption_that_keeps_valid_json_and_length_is_caught_by_the_crc():
    """Kills: removing the CRC comparison from store.parse (a torn or bit-flipped record
    that still parses as JSON of the right length would be loaded)."""
    flash = MemoryFlash()
    st = StateStore(flash)
    st.save({"n": 1, "who": "older"})
    st.save({"n": 2, "who": "newer"})
    newest = "state.b"
    assert json.loads(flash.read(newest)[HEADER_LEN:])["n"] == 2
    flash.write(newest, _flip_digit(flash.read(newest)))
    got = StateStore(flash).load()
    assert got == {"n": 1, "who": "older"}                  # the CRC rejected the newer slot
    # Both slots corrupted the same way: nothing valid, nothing loaded.
    flash.write("state.a", _flip_digit(flash.read("state.a")))
    assert StateStore(flash).load() is None
    # And the pump treats that as a critical memory fault, not as a fresh pump.
    hal, ctl = ready_pump(CONT)
    for name in ("state.a", "state.b"):
        blob = hal.flash.read(name)
        payload = blob[HEADER_LEN:]
        i = payload.index(b'"t_s":') + 6
        d = payload[i:i + 1]
        hal.flash.write(name, blob[:HEADER_LEN] + payload[:i] + (b"8" if d != b"8" else b"1") + payload[i + 1:])
    ctl2 = Controller(SimHal(start_t_s=ctl.t_s + 60, flash=hal.flash))
    ctl2.boot()
    assert "memory_critical" in ctl2.alarms.active and ctl2.fsm.state == "alarm_stopped"
