"""Replies and side effects the mutation run found unchecked (issue 8, docs/mutation/): the
documented default of alarms_silence, the buzzer going quiet on a silence, the `state` key of
stop/resume replies, a clock step moving a running bolus with the clock, and the bridge's end
announced as `bolus_finished` of kind `bridge`. Oracles: docs/protocol.md's argument table
(duration_min default 60 min) and reply examples, and the bridge arithmetic of test_bolus_bridge
(120960 s)."""
from pumpkit import ready_pump, cmd, warp, DAY

REQS = {
    "test_silence_defaults_to_60_minutes_and_turns_the_buzzer_off": ["ALM-LATCH-SILENCE"],
    "test_stop_and_resume_reply_the_new_state": ["SAFE-MUTANTS"],
    "test_a_clock_step_moves_a_running_bolus_with_the_clock": ["SAFE-MUTANTS"],
    "test_the_bridge_end_is_announced_as_a_finished_bridge": ["BRIDGE"],
    "test_dose_range_refusal_names_the_daily_total_in_one_sentence": ["CORE-DOSE-RANGE"],
    "test_time_get_replies_the_documented_fields": ["SAFE-MUTANTS"],
    "test_a_flash_fault_fails_one_write_by_default": ["SAFE-MUTANTS"],
    "test_clock_steps_backwards_obey_the_same_bounds": ["SAFE-MUTANTS"],
    "test_a_keyring_refuses_short_odd_and_non_hex_keys": ["SAFE-MUTANTS"],
}
CONT = {"mode": "continuous", "dose_ng_day": 500000}


def test_silence_defaults_to_60_minutes_and_turns_the_buzzer_off():
    hal, ctl = ready_pump(CONT)
    hal.inject("motor_stall", 1)
    warp(hal, ctl, 60)
    t = ctl.t_s
    assert cmd(ctl, "alarms_silence")["silenced_until_t_s"] == t + 60 * 60
    assert hal.tones[-1][1] == "off"


def test_stop_and_resume_reply_the_new_state():
    hal, ctl = ready_pump(CONT)
    assert cmd(ctl, "stop") == {"state": "stopped"}
    assert cmd(ctl, "resume") == {"state": "infusing"}


def test_a_clock_step_moves_a_running_bolus_with_the_clock():
    """A bolus is a stretch of real time: a host clock correction of +600 s moves its end by
    +600 s on the pump clock, so it still lasts the 30 minutes asked for."""
    hal, ctl = ready_pump(CONT)
    end = cmd(ctl, "bolus", dose_ng=20000, duration_min=30)["end_t_s"]
    cmd(ctl, "time_set", t_s=ctl.t_s + 600)
    warp(hal, ctl, 30 * 60 - 1)
    assert cmd(ctl, "status")["bolus"] == "single"
    assert ctl.t_s == end + 600 - 1
    warp(hal, ctl, 2)
    assert cmd(ctl, "status")["bolus"] is None


def test_the_bridge_end_is_announced_as_a_finished_bridge():
    hal, ctl = ready_pump(CONT, conc=2000)
    warp(hal, ctl, DAY)
    st = cmd(ctl, "refill_stage", withdrawn_nl=ctl.reservoir_nl(), added_nl=20000000, conc_ug_ml=1000)
    cmd(ctl, "refill_commit", hash=st["hash"])
    t_refill = ctl.t_s
    warp(hal, ctl, 120960 - 1)
    assert cmd(ctl, "status")["bolus"] == "bridge"
    ctl.pushed = []
    warp(hal, ctl, t_refill + 120960 + 1 - ctl.t_s)
    assert ("bolus_finished", {"kind": "bridge"}) in [p[:2] for p in ctl.pushed]
    assert cmd(ctl, "status")["bolus"] is None


def test_dose_range_refusal_names_the_daily_total_in_one_sentence():
    """5000 mcg/day is above the label's 2003 mcg/day maximum: the refusal reads "daily total is
    5000000 ng" (new-user trial: a double space where no weekday is named)."""
    from pumpkit import make_pump, raises
    hal, ctl = make_pump()
    e = raises("E_DOSE_RANGE", cmd, ctl, "programme_stage", programme={"mode": "continuous", "dose_ng_day": 5000000})
    assert e.detail.startswith("daily total is 5000000 ng; "), e.detail


def test_time_get_replies_the_documented_fields():
    """docs/protocol.md's time_get example has exactly clock_set, iso, last_sync_t_s, t_s and
    utc_offset_s; iso is the pump time as UTC (pump epoch 2024-01-01: T0 = 90000000 s later is
    2026-11-07T16:00:00Z, pumpkit's own note)."""
    from pumpkit import make_pump, T0
    hal, ctl = make_pump()
    r = cmd(ctl, "time_get")
    assert sorted(r) == ["clock_set", "iso", "last_sync_t_s", "t_s", "utc_offset_s"]
    assert (r["t_s"], r["iso"]) == (T0, "2026-11-07T16:00:00Z")


def test_a_flash_fault_fails_one_write_by_default():
    """sim_fault flash_fail arms `writes` failing writes (default 1, docs/protocol.md); the command's
    own persisting uses some of them, the same number whatever `writes` is: 5 leaves two more
    armed than 3. With the default the fault is used up at once and raises the memory alarm."""
    from pumpkit import make_pump
    left = []
    for n in (3, 5):
        hal, ctl = make_pump()
        cmd(ctl, "sim_fault", fault="flash_fail", writes=n)
        left.append(ctl.hal.flash.fail_writes)
    assert left[1] - left[0] == 2
    hal, ctl = make_pump()
    cmd(ctl, "sim_fault", fault="flash_fail")
    assert ctl.hal.flash.fail_writes == 0 and "memory" in ctl.alarms.active


def test_clock_steps_backwards_obey_the_same_bounds():
    """time_set (docs/protocol.md, argspec.MAX_CLOCK_STEP_S = 900 s): a step of more than 900 s
    either way needs a reason, and the clock never goes before the pump's first boot by more than
    that bound; 900 s back is a drift correction. Oracle: the documented 900 s bound and the
    boot time T0 the test chose."""
    from pumpkit import make_pump, raises, T0
    hal, ctl = make_pump()
    cmd(ctl, "time_set", t_s=T0)          # the first setting is free; from now on the bounds hold
    warp(hal, ctl, 5000)
    raises("E_CLOCK", cmd, ctl, "time_set", t_s=ctl.t_s - 901)
    assert cmd(ctl, "time_set", t_s=ctl.t_s - 900)["t_s"] == T0 + 4100
    e = raises("E_CLOCK", cmd, ctl, "time_set", t_s=T0 - 901, reason="RTC battery swap")
    assert "first boot" in e.detail
    assert cmd(ctl, "time_set", t_s=T0 - 900, reason="RTC battery swap")["t_s"] == T0 - 900
    assert ctl.implant_t_s == T0 - 900


def test_a_keyring_refuses_short_odd_and_non_hex_keys():
    """Keys reach the keyring from the provision command (argspec checks hex and length first)
    and from the saved state at boot, where only the keyring checks: a key is >= 16 bytes
    (auth.MIN_KEY_BYTES, NIST SP 800-107) given as an even number of hex digits."""
    from auth import Keyring
    from protocol import PumpError
    ok = "00" * 16
    assert Keyring({"clinician": ok}).get("clinician") == bytes(16)
    for bad, why in (("00" * 15, "key must be >= 16 bytes as hex"), ("0" * 33, "key must be >= 16 bytes as hex"),
                     ("zz" * 16, "key is not hex"), (12345, "key must be >= 16 bytes")):
        try:
            Keyring({"clinician": bad})
            raise AssertionError("accepted %r" % (bad,))
        except PumpError as e:
            assert (e.code, e.detail) == ("E_BAD_ARGS", why), (bad, e.code, e.detail)
