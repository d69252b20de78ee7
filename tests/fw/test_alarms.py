"""Alarms, forecasts and the battery model (issue 2: alarms and battery)."""
import battery as bat
from pumpkit import ready_pump, make_pump, warp, cmd, refill, programme, DAY, raises

CONT = {"mode": "continuous", "dose_ng_day": 1000000}   # 0.5 mL/day at 2000 mcg/mL


def test_low_reservoir_fires_at_the_forecast_alarm_date_exactly():
    hal, ctl = ready_pump(CONT, fill_nl=5000000)
    st = cmd(ctl, "status")
    alarm_t = st["alarm_t_s"]
    # 3 mL above threshold at 0.5 mL/day = 6 days
    assert alarm_t - ctl.t_s == 6 * DAY
    warp(hal, ctl, alarm_t - 1 - ctl.t_s)
    assert "low_reservoir" not in ctl.alarms.active
    warp(hal, ctl, 1)
    assert ctl.alarms.active["low_reservoir"] == alarm_t
    assert ctl.fsm.state == "infusing"        # non-critical: therapy continues


def test_empty_alarm_stops_delivery_at_the_empty_date():
    hal, ctl = ready_pump(CONT, fill_nl=3000000)
    empty_t = cmd(ctl, "status")["empty_t_s"]
    assert empty_t - ctl.t_s == 6 * DAY
    warp(hal, ctl, 30 * DAY)                 # one big step still stops at the exact time
    assert ctl.alarms.active["reservoir_empty"] == empty_t
    assert ctl.fsm.state == "alarm_stopped"
    assert ctl.strokes_fill * 250 == 3000000  # never more than was in the reservoir
    n = hal.strokes
    warp(hal, ctl, DAY)
    assert hal.strokes == n


def test_forecast_uses_the_exact_schedule_not_a_daily_average():
    from pumpkit import NIGHT
    hal, ctl = ready_pump(NIGHT, fill_nl=2000000 + 268750 * 3 + 100000)
    alarm_t = cmd(ctl, "status")["alarm_t_s"]
    warp(hal, ctl, alarm_t - ctl.t_s - 1)
    assert "low_reservoir" not in ctl.alarms.active
    assert ctl.reservoir_nl() > 2000000
    warp(hal, ctl, 1)
    assert "low_reservoir" in ctl.alarms.active and ctl.reservoir_nl() <= 2000000


def test_empty_alarm_clears_only_after_refill_and_then_therapy_resumes():
    hal, ctl = ready_pump(CONT, fill_nl=1000000)
    warp(hal, ctl, 3 * DAY)
    assert ctl.fsm.state == "alarm_stopped"
    r = cmd(ctl, "alarms_clear")
    assert r["kept"] == ["low_reservoir", "reservoir_empty"] and ctl.fsm.state == "alarm_stopped"
    refill(ctl, 20000000)
    r = cmd(ctl, "alarms_clear")
    assert r["cleared"] == ["low_reservoir", "reservoir_empty"]
    assert ctl.fsm.state == "infusing"


def test_motor_stall_is_critical_and_clearing_resumes():
    hal, ctl = ready_pump(CONT)
    hal.inject("motor_stall", 1)
    warp(hal, ctl, 3600)
    assert "motor_stall" in ctl.alarms.active and ctl.fsm.state == "alarm_stopped"
    assert hal.tones[-1][1] == "critical"
    cmd(ctl, "alarms_clear")
    assert ctl.fsm.state == "infusing"
    n = hal.strokes
    warp(hal, ctl, 3600)
    assert hal.strokes > n


def test_alarms_latch_silence_is_temporary_and_tones_repeat_hourly():
    hal, ctl = ready_pump(CONT, fill_nl=2500000)
    warp(hal, ctl, 2 * DAY)
    assert "low_reservoir" in ctl.alarms.active
    tones = len(hal.tones)
    warp(hal, ctl, 3600)
    assert hal.tones[-1][1] == "noncritical" and len(hal.tones) == tones + 1
    cmd(ctl, "alarms_silence", duration_min=120)
    tones = len(hal.tones)
    warp(hal, ctl, 3600)
    assert len(hal.tones) == tones          # silenced
    warp(hal, ctl, 3601)
    assert len(hal.tones) == tones + 1      # silence over, still latched
    assert "low_reservoir" in ctl.alarms.active


def test_alarm_test_sounds_both_tones():
    hal, ctl = make_pump()
    assert cmd(ctl, "alarms_test")["tones"] == ["critical", "noncritical"]
    assert hal.tones[-1][1] == "test"


def test_eri_then_eos_ninety_days_later_stops_delivery():
    hal, ctl = ready_pump(CONT)
    cur = bat.current_na(ctl.strokes_per_day())
    # Drain until the remaining life is 100 days at the current consumption.
    target = 100 * 24 * cur
    cmd(ctl, "sim_fault", fault="battery_drain", nah=ctl.battery_remaining_nah(ctl.t_s) - target)
    eri_due = cmd(ctl, "status")["eri_due_t_s"]
    assert 9 * DAY < eri_due - ctl.t_s <= 11 * DAY
    for _ in range(12):
        warp(hal, ctl, DAY)
        if ctl.eri_t_s:
            refill(ctl, 20000000)   # keep the reservoir out of the way
            cmd(ctl, "alarms_clear")
    assert ctl.eri_t_s == eri_due and "eri" in ctl.alarms.active
    assert ctl.fsm.state == "infusing"
    assert cmd(ctl, "status")["eos_t_s"] == eri_due + 90 * DAY
    while ctl.t_s < eri_due + 90 * DAY - DAY:
        warp(hal, ctl, 20 * DAY if ctl.t_s + 21 * DAY < eri_due + 90 * DAY else DAY)
        refill(ctl, 20000000)
        cmd(ctl, "alarms_clear")
    assert ctl.fsm.state == "infusing"
    warp(hal, ctl, 2 * DAY)
    assert ctl.fsm.state == "end_of_life" and "eos" in ctl.alarms.active
    n = hal.strokes
    warp(hal, ctl, DAY)
    assert hal.strokes == n
    raises("E_STATE", cmd, ctl, "resume")
    assert cmd(ctl, "alarms_clear")["kept"] == ["eos", "eri"]


def test_hard_end_of_service_84_months_after_implant():
    hal, ctl = make_pump()
    st = cmd(ctl, "status")
    eos = st["eos_t_s"]
    # The battery outlasts 84 months, so the service limit ends therapy: announced by an ERI
    # 90 days before (issue 8, defect 6; this line asserted None before).
    assert st["eri_due_t_s"] == eos - 90 * DAY
    assert eos == bat.add_months(ctl.implant_t_s, 84)
    assert bat.iso(ctl.implant_t_s)[:10] == "2026-11-07" and bat.iso(eos)[:10] == "2033-11-07"
    warp(hal, ctl, eos - ctl.t_s - 1)
    assert ctl.fsm.state == "stopped" and "eri" in ctl.alarms.active
    warp(hal, ctl, 1)
    assert ctl.fsm.state == "end_of_life"


def test_battery_voltage_maps_to_charge_both_ways():
    for rem in (0, bat.CAPACITY_NAH // 3, bat.CAPACITY_NAH):
        mv = bat.voltage_mv(rem)
        assert abs(bat.remaining_from_mv(mv) - rem) <= bat.CAPACITY_NAH // 600
    assert bat.voltage_mv(bat.CAPACITY_NAH) == bat.CELL_FULL_MV and bat.remaining_from_mv(2000) == 0


def test_reprogramming_recomputes_forecasts():
    hal, ctl = ready_pump(CONT, fill_nl=10000000)
    a = cmd(ctl, "status")["alarm_t_s"]
    programme(ctl, {"mode": "continuous", "dose_ng_day": 2000000})
    b = cmd(ctl, "status")["alarm_t_s"]
    assert b - ctl.t_s == (a - ctl.t_s) // 2


def test_stalled_strokes_are_never_reissued_after_the_stop():
    hal, ctl = ready_pump(CONT)
    warp(hal, ctl, 600)
    hal.inject("motor_stall", 1)
    warp(hal, ctl, 60)
    assert ctl.fsm.state == "alarm_stopped"
    n = hal.strokes
    warp(hal, ctl, 3600)
    assert hal.strokes == n
    cmd(ctl, "alarms_clear")
    warp(hal, ctl, 60)
    assert hal.strokes - n <= 60 * 2000 // 86400 + 1     # resumes at the programmed rate, no burst


# Requirement ids proven by each test (requirements/requirements.toml; read by tools/trace.py).
REQS = {
    "test_low_reservoir_fires_at_the_forecast_alarm_date_exactly": ["ALM-LOW-RES", "ALM-FORECAST"],
    "test_empty_alarm_stops_delivery_at_the_empty_date": ["ALM-EMPTY"],
    "test_forecast_uses_the_exact_schedule_not_a_daily_average": ["ALM-FORECAST"],
    "test_motor_stall_is_critical_and_clearing_resumes": ["ALM-STALL"],
    "test_alarms_latch_silence_is_temporary_and_tones_repeat_hourly": ["ALM-LATCH-SILENCE"],
    "test_alarm_test_sounds_both_tones": ["ALM-TEST-TONES"],
    "test_eri_then_eos_ninety_days_later_stops_delivery": ["ALM-ERI-EOS"],
    "test_hard_end_of_service_84_months_after_implant": ["ALM-84-MONTHS"],
    "test_reprogramming_recomputes_forecasts": ["ALM-FORECAST"],
}


def test_next_alarm_date_is_forecast_while_the_alarm_is_still_latched():
    hal, ctl = ready_pump(CONT, fill_nl=2500000)
    warp(hal, ctl, 2 * DAY)
    assert "low_reservoir" in ctl.alarms.active
    refill(ctl, 20000000)
    st = cmd(ctl, "status")
    assert "low_reservoir" in st["alarms"]                  # latched until a clinician clears it
    assert st["alarm_t_s"] == ctl.t_s + 36 * DAY            # 18 mL above the 2 mL threshold at 0.5 mL/day
