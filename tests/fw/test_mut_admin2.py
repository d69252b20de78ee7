"""Issue 8 (mutation survivors in commands_admin, protocol.PumpError, runtime.tick): which alarms
alarms_clear clears and keeps, the LED after it, a clock step under a running bolus and under a
UTC offset, the clock refusals and the override entry, disabling patient boluses, the profile
entry, an exception's args, the factory-reset reboot reason.

Oracles: docs/protocol.md (`alarms_clear`: "Optional `names` ... default all. Alarms whose cause
persists are `kept`"; `time_set`: "Set the pump clock ... without gaining or losing programmed
volume", "Clock steps": at most 900 s without `reason`, "logged as an `override` entry with the
CRC of the text and the new time", never more than 900 s before the first boot; `settings_set`:
"`pb_dose_ng` 0 disables patient boluses", `pb_max_24h` boluses allowed in 24 h; "`msg` says
what exactly was wrong"), docs/board.md / docs/design.md (LED: "ok" | "alarm", blinking while an
alarm is latched), fsm_spec.py (alarm_stopped + alarms_cleared: infusing if it can deliver), the
CRC-32 check value 0xCBF43926 of "123456789", host/pumpctl/emulator/glue.py (reads
PowerLoss.args[0] == "factory reset" to say why the pump rebooted), MicroPython's traceback
(prints an exception subclass without __repr__ from its args), and unit arithmetic done here:
at 2000 mcg/mL one nL holds 2 ng, so 1 000 000 ng/day is 500 000 nL/day and a 60 000 ng bolus
is 30 000 nL.
"""
from protocol import PumpError
from pumpkit import T0, DAY, ready_pump, cmd, raises, log_since, warp, refill

CONT = {"mode": "continuous", "dose_ng_day": 1000000}   # 500 000 nL/day at 2000 mcg/mL
FIRST_BOOT = T0      # make_pump boots at T0: the pump's first boot


def _entries(ctl, seq, name):
    return [e[1:] for e in log_since(ctl, seq) if e[2] == name]


# --- alarms_clear -----------------------------------------------------------------------------

def test_alarms_clear_clears_only_the_names_given_and_the_led_follows_what_is_left():
    """`names` given: only those are cleared (not "all"); a name that is not active is skipped and
    the rest of the list still handled. The LED shows "alarm" while any alarm is latched, "ok" once
    none is (board.md). With the critical stall cleared last, the pump resumes (fsm_spec)."""
    hal, ctl = ready_pump(CONT)
    ctl.raise_alarm("memory", ctl.t_s)         # non-critical
    ctl.raise_alarm("motor_stall", ctl.t_s)    # critical: delivery stops
    assert ctl.fsm.state == "alarm_stopped" and hal.led_state == "alarm"
    res = cmd(ctl, "alarms_clear", names=["eri", "memory"])    # eri is not active: skipped
    assert res == {"cleared": ["memory"], "kept": [], "state": "alarm_stopped"}, res
    assert sorted(ctl.alarms.active) == ["motor_stall"]
    assert hal.led_state == "alarm", hal.led_state                # the stall is still latched
    res = cmd(ctl, "alarms_clear", names=["motor_stall"])
    assert res == {"cleared": ["motor_stall"], "kept": [], "state": "infusing"}, res
    assert hal.led_state == "ok" and not ctl.alarms.active


def test_a_reservoir_alarm_is_kept_at_its_threshold_and_cleared_past_it():
    """The cause of reservoir_empty is a reservoir of 0 nL: after a 1 nL refill it is clearable (the
    pump can deliver again), while low_reservoir stays (1 nL is under the threshold). The cause of
    low_reservoir is a reservoir at or under `low_res_nl` (the alarm is raised when the reservoir
    reaches it): at exactly the threshold it is kept, 1 nL above it is cleared."""
    hal, ctl = ready_pump(CONT, fill_nl=600000)
    warp(hal, ctl, 2 * DAY)                     # 600 000 nL last 1.2 days
    assert sorted(ctl.alarms.active) == ["low_reservoir", "reservoir_empty"] and ctl.reservoir_nl() == 0
    res = cmd(ctl, "alarms_clear")
    assert res == {"cleared": [], "kept": ["low_reservoir", "reservoir_empty"], "state": "alarm_stopped"}, res
    refill(ctl, 1, withdrawn_nl=0)
    assert ctl.reservoir_nl() == 1
    res = cmd(ctl, "alarms_clear")
    assert res == {"cleared": ["reservoir_empty"], "kept": ["low_reservoir"], "state": "infusing"}, res

    hal, ctl = ready_pump(CONT, fill_nl=3000000)
    warp(hal, ctl, 3 * DAY)
    r = 3000000 - 3 * 500000
    assert ctl.reservoir_nl() == r and "low_reservoir" in ctl.alarms.active
    cmd(ctl, "settings_set", low_res_nl=r)        # the reservoir is exactly at the threshold
    assert cmd(ctl, "alarms_clear")["kept"] == ["low_reservoir"]
    cmd(ctl, "settings_set", low_res_nl=r - 1)    # now 1 nL above it
    res = cmd(ctl, "alarms_clear")
    assert res["cleared"] == ["low_reservoir"] and res["kept"] == [], res


# --- time_set ---------------------------------------------------------------------------------

def test_a_clock_step_during_a_bolus_moves_the_bolus_with_the_clock():
    """A +600 s step halfway through a 30-min 60 000 ng bolus: the bolus still lasts 30 min of
    running (it ends 1800 + 600 s of pump time after it started), gives its whole dose (bolus_end
    logs 30 000 nL), and the jump itself delivers nothing: over the 1800 s actually run the pump
    gave 30 000 nL of bolus + 500 000 * 1800 / 86 400 = 10 416.67 nL of basal."""
    hal, ctl = ready_pump(CONT)
    t0 = ctl.t_s
    v0 = ctl.ledger.volume_nl(t0)
    seq = ctl.log.last_seq
    assert cmd(ctl, "bolus", dose_ng=60000, duration_min=30)["end_t_s"] == t0 + 1800
    warp(hal, ctl, 900)
    cmd(ctl, "time_set", t_s=t0 + 900 + 600)
    warp(hal, ctl, 899)
    assert ctl.bolus_kind is not None                              # 1 s of bolus left
    warp(hal, ctl, 1)
    assert ctl.bolus_kind is None and ctl.t_s == t0 + 1800 + 600
    assert ctl.ledger.volume_nl(ctl.t_s) - v0 == 30000 + 500000 * 1800 // 86400
    assert _entries(ctl, seq, "bolus_end") == [[t0 + 2400, "bolus_end", 30000, 0]]


def test_a_clock_step_under_a_utc_offset_neither_gains_nor_loses_volume():
    """time_set moves the clock "without gaining or losing programmed volume", whatever the local
    time offset: the volume delivered is the same just before and just after the step, and the
    next hour delivers an hour's worth (500 000 / 24 = 20 833.33 nL)."""
    hal, ctl = ready_pump(CONT)
    cmd(ctl, "settings_set", utc_offset_s=3600)
    warp(hal, ctl, 1000)
    v = ctl.ledger.volume_nl(ctl.t_s)
    cmd(ctl, "time_set", t_s=ctl.t_s + 700)
    assert ctl.ledger.volume_nl(ctl.t_s) == v
    warp(hal, ctl, 3600)
    assert ctl.ledger.volume_nl(ctl.t_s) - v in (20833, 20834)


def test_clock_refusals_name_the_step_or_the_first_boot_and_a_reasoned_step_logs_its_crc():
    """Once set: a step over 900 s without a reason is E_CLOCK naming the step and the limit; a
    time more than 900 s before the first boot is E_CLOCK naming both times, even with a reason. A
    step with a reason is logged as `override` (CRC of the text, new time): reason_id is the CRC-32
    masked to 30 bits (0xCBF43926 & 0x3FFFFFFF for "123456789")."""
    hal, ctl = ready_pump(CONT)
    cmd(ctl, "time_set", t_s=T0)
    assert ctl.clock_set and ctl.implant_t_s == FIRST_BOOT
    e = raises("E_CLOCK", cmd, ctl, "time_set", t_s=ctl.t_s + 901)
    assert e.detail == "a 901 s step exceeds 900 s (drift correction): resend with reason", e.detail
    e = raises("E_CLOCK", cmd, ctl, "time_set", t_s=FIRST_BOOT - 901, reason="x")
    assert e.detail == "t_s=%d is before the pump's first boot (%d)" % (FIRST_BOOT - 901, FIRST_BOOT), e.detail
    seq = ctl.log.last_seq
    new = ctl.t_s + 2 * 3600
    res = cmd(ctl, "time_set", t_s=new, reason="123456789")
    assert res["t_s"] == new and res["last_sync_t_s"] == new and res["clock_set"] is True
    assert _entries(ctl, seq, "override") == [[ctl.t_s - 2 * 3600, "override", 0xCBF43926 & 0x3FFFFFFF, new]]


# --- settings_set -----------------------------------------------------------------------------

def test_disabling_patient_boluses_is_accepted_even_over_the_daily_maximum():
    """A programme above the profile's daily maximum (1 500 000 ng/day programmed before a cerebral
    profile: label maximum 1 400 000): the clinician can still switch patient boluses off (dose 0,
    or 0 per 24 h: nothing is added to the day), but any enabled allowance (1 x 1 ng) is refused
    with E_CLINICAL_LIMIT naming the count, dose, programmed day and maximum."""
    hal, ctl = ready_pump({"mode": "continuous", "dose_ng_day": 1500000})
    cmd(ctl, "profile_set", profile={"indication": "cerebral"})
    assert cmd(ctl, "settings_set", pb_dose_ng=50000, pb_max_24h=0)["pb_max_24h"] == 0
    assert cmd(ctl, "settings_set", pb_dose_ng=0, pb_max_24h=4)["pb_dose_ng"] == 0
    e = raises("E_CLINICAL_LIMIT", cmd, ctl, "settings_set", pb_dose_ng=1, pb_max_24h=1)
    assert e.detail == ("1 patient boluses of 1 ng + programmed day 1500000 ng exceed the 1400000 ng/day "
                        "maximum"), e.detail
    assert (ctl.settings["pb_dose_ng"], ctl.settings["pb_max_24h"]) == (0, 4)   # nothing changed


# --- profile_set ------------------------------------------------------------------------------

def test_every_accepted_profile_logs_ids_that_name_it_and_a_refused_one_logs_nothing():
    """The `profile` entry (indication, age_group) must tell the profiles apart: every pairing the
    protocol accepts (adult spinal/cerebral, the default adult, 12-17 paediatric, 4-11 and under_4
    paediatric_u12) logs non-zero ids, distinct per indication and per age group; a pairing that
    does not fit is E_BAD_ARGS and logs nothing."""
    ok = [({"indication": "spinal"}, "spinal", "adult"),
          ({"indication": "cerebral", "age_group": "adult"}, "cerebral", "adult"),
          ({"indication": "paediatric", "age_group": "12-17"}, "paediatric", "12-17"),
          ({"indication": "paediatric_u12", "age_group": "4-11"}, "paediatric_u12", "4-11"),
          ({"indication": "paediatric_u12", "age_group": "under_4"}, "paediatric_u12", "under_4")]
    hal, ctl = ready_pump(CONT)
    ind_ids, age_ids = {}, {}
    for prof, ind, age in ok:
        seq = ctl.log.last_seq
        assert cmd(ctl, "profile_set", profile=prof)["profile"]["age_group"] == age
        (entry,) = _entries(ctl, seq, "profile")
        a, b = entry[2], entry[3]
        assert a > 0 and b > 0 and ind_ids.get(ind, a) == a and age_ids.get(age, b) == b, (prof, entry)
        ind_ids[ind] = a
        age_ids[age] = b
    assert len(set(ind_ids.values())) == 4 and len(set(age_ids.values())) == 4, (ind_ids, age_ids)
    for prof in ({"indication": "spinal", "age_group": "12-17"}, {"indication": "paediatric"}):
        seq = ctl.log.last_seq
        raises("E_BAD_ARGS", cmd, ctl, "profile_set", profile=prof)
        assert _entries(ctl, seq, "profile") == []


# --- PumpError, runtime -----------------------------------------------------------------------

def test_a_pump_error_carries_its_reported_code_and_text_as_exception_args():
    """What a traceback prints on the board (MicroPython prints an exception subclass without
    __repr__ from its args): the code and text the pump reports, so a crash note names them,
    E_INTERNAL with the unknown code kept in the text."""
    assert PumpError("E_STATE", "x").args == ("E_STATE", "x")
    assert PumpError("E_STATE").args == ("E_STATE", "")
    assert PumpError("E_NO_SUCH_CODE", "why").args == ("E_INTERNAL", "E_NO_SUCH_CODE: why")


def test_the_reboot_after_a_factory_reset_says_factory_reset():
    """sim_reset: the next tick raises PowerLoss("factory reset"); the emulator reads args[0] to
    tell a factory reset from a power cut in its reset note (host/pumpctl/emulator/glue.py)."""
    from hal_sim import SimHal
    from runtime import PumpRuntime
    rt = PumpRuntime(SimHal(start_t_s=T0))
    rt.boot()
    assert rt.ctl.command("sim_reset", {}, "service") == {"rebooting": True}
    rt.refresh()
    try:
        rt.tick()
    except BaseException as e:   # PowerLoss derives from BaseException on purpose
        assert type(e).__name__ == "PowerLoss" and e.args == ("factory reset",), e.args
    else:
        raise AssertionError("no reboot after a factory reset")
