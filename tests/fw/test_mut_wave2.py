"""Mutation survivors of the 2026-11-29 timed run (issue 8): bolus arguments and rate rounding,
provision without keys, the schema's defaults, the checkpoint and idle wake-ups.

Oracles: docs/protocol.md (`bolus`: kind defaults to single, a single bolus needs dose and
duration; `provision`: replies the roles with keys; the settings log entry is (setting id, value)
with ids in docs/design.md's order), exact integer arithmetic here (rounding of ng/day), and
controller.CHECKPOINT_S's documented 15 min (docs/design.md, "checkpoint ... every 15 min of
delivery"). Exact integer arithmetic (MicroPython has no fractions module)."""
from pumpkit import cmd, log_since, make_pump, raises, ready_pump


def _round_half_up(num, den):
    """num/den to the nearest integer, halves up (num, den > 0): floor((2 num + den) / (2 den))."""
    return (2 * num + den) // (2 * den)


def test_a_single_bolus_rate_is_its_dose_per_day_rounded_half_up():
    """rate_ng_day = dose over the duration scaled to a day, to the nearest ng/day (half up):
    5 ng in 7 min = 1028.57 -> 1029; 1 ng in 64 min = 22.5 -> 23; 50 000 ng in 30 min exact."""
    for dose, dur in ((5, 7), (1, 64), (50000, 30)):
        hal, ctl = ready_pump({"mode": "continuous", "dose_ng_day": 100000})
        res = cmd(ctl, "bolus", dose_ng=dose, duration_min=dur)   # kind omitted: single
        want = _round_half_up(dose * 1440, dur)
        assert (res["kind"], res["rate_ng_day"]) == ("single", want), (dose, dur, res)


def test_a_single_bolus_without_dose_or_duration_is_refused_and_changes_nothing():
    hal, ctl = ready_pump({"mode": "continuous", "dose_ng_day": 100000})
    seq = ctl.log.last_seq
    for args in ({"dose_ng": 5000}, {"duration_min": 30}, {"kind": "single"}):
        e = raises("E_BAD_ARGS", ctl.command, "bolus", args, "clinician")
        assert e.detail == "a single bolus needs dose_ng and duration_min", e.detail
    assert ctl.fsm.state == "infusing" and ctl.bolus_kind is None and ctl.ledger.overrides == []
    assert log_since(ctl, seq) == []


def test_provision_without_keys_changes_no_key_and_replies_the_roles():
    hal, ctl = make_pump()
    before = ctl.keyring.roles()
    assert ctl.command("provision", {}, "service") == {"roles": before}
    res = ctl.command("provision", {"keys": {"patient": "ab" * 16}}, "service")
    assert res == {"roles": sorted(set(before) | {"patient"})}, res


def test_given_names_the_undeclared_field():
    from argspec import given
    try:
        given("log_read", {}, "max")
    except KeyError as e:
        assert e.args == ("max",), e.args
    else:
        raise AssertionError("an undeclared field must be a KeyError")


def test_battery_drain_without_nah_says_what_is_missing():
    hal, ctl = make_pump()
    e = raises("E_BAD_ARGS", cmd, ctl, "sim_fault", fault="battery_drain")
    assert e.detail == "nah: missing; battery_drain needs the charge to drain (nAh)", e.detail


def test_a_utc_offset_setting_is_logged_as_setting_7_with_its_value():
    """docs/design.md: settings entries carry (setting id, value); ids follow the settings'
    order low_res_nl=1 ... pb_max_24h=6, utc_offset_s=7."""
    hal, ctl = make_pump()
    seq = ctl.log.last_seq
    cmd(ctl, "settings_set", utc_offset_s=3600)
    assert [e[2:] for e in log_since(ctl, seq)] == [["settings", 7, 3600]]
    seq = ctl.log.last_seq
    cmd(ctl, "settings_set", low_res_nl=3000000)
    assert [e[2:] for e in log_since(ctl, seq)] == [["settings", 1, 3000000]]


def test_the_pump_saves_at_least_every_15_minutes_of_delivery_between_strokes():
    """The pump's minimum flow, 48 000 nL/day (96 mcg/day at 2000 mcg/mL), strokes 250 nL every
    450 s. Programmed 100 s after a stroke, the runtime woken only when it says it is due must
    still save every 900 s (docs/design.md: checkpoint every 15 min of delivery), at the
    checkpoint time itself, between two strokes, not at the stroke after it."""
    from hal_sim import SimHal
    from pumpkit import T0, programme, refill
    from runtime import PumpRuntime

    hal = SimHal(start_t_s=T0)
    rt = PumpRuntime(hal, serial="SIM00001", build="test")
    rt.boot()
    refill(rt.ctl, 20000000, 2000)
    programme(rt.ctl, {"mode": "continuous", "dose_ng_day": 96000})
    hal.advance_s(100)
    rt.ctl.command("alarms_test", {}, "clinician")   # logs, so saves: 100 s off the stroke grid
    rt.refresh()
    saves = [rt.ctl.t_s]
    writes = hal.flash.writes
    for _ in range(40):
        now = hal.monotonic_s() + rt.ctl.clock_offset_s
        hal.advance_s(rt.next_due_s() - now)
        rt.tick()
        if hal.flash.writes != writes:
            writes = hal.flash.writes
            saves.append(rt.ctl.t_s)
    gaps = [b - a for a, b in zip(saves, saves[1:])]
    assert len(gaps) >= 5 and max(gaps) <= 900, gaps


def test_a_pump_that_delivers_nothing_is_never_due_in_the_past():
    """Stopped, no programme: no stroke and no checkpoint to wake for (docs/design.md: the
    checkpoint is per 15 min of delivery), so an hour later the next due time is still ahead."""
    hal, ctl = make_pump()
    cmd(ctl, "alarms_test")       # a save at the start
    hal.advance_s(3600)
    cmd(ctl, "status")
    due = ctl.next_due_s()
    assert due is None or due > ctl.t_s, (due, ctl.t_s)
