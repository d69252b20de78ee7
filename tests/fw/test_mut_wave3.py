"""Mutation survivors of the 2026-11-29 timed run that the host-only tests (calendar oracle, wire
fuzz) used to kill: the calendar, the strict JSON number grammar, the link's batched replies.

Oracles: day counts from CPython's datetime ((date(y, m, d) - date(2024, 1, 1)).days, the pump
epoch of docs/design.md), copied here because MicroPython has no datetime; JSON's number grammar
(RFC 8259 section 6: a minus sign must be followed by a digit); docs/protocol.md "Framing" (one
reply frame per request, each a line of its own)."""
from jsonstrict import scan
from protocol import Decoder, encode
from test_link import make


def test_days_from_civil_counts_days_from_the_pump_epoch():
    from battery import days_from_civil
    for ymd, days in (((2024, 1, 1), 0), ((2024, 3, 1), 60), ((2023, 12, 31), -1),
                      ((2026, 11, 29), 1063), ((2100, 3, 1), 27818), ((1970, 1, 1), -19723),
                      ((2000, 2, 29), -8707)):
        assert days_from_civil(*ymd) == days, (ymd, days_from_civil(*ymd))


def test_a_minus_sign_needs_a_digit_after_it():
    for doc in (b"-", b"[-]", b"-:", b'{"id":-}', b"[1,-a]"):
        assert scan(doc, 8) == "bad number", (doc, scan(doc, 8))
    assert not isinstance(scan(b"[-0,-9,0,9]", 8), str)


def test_two_requests_in_one_chunk_get_two_reply_lines_back_to_back():
    link, disp, _ = make()
    a = encode({"id": 1, "cmd": "status", "args": {}})
    b = encode({"id": 2, "cmd": "status", "args": {}})
    out = link.feed(a + b)
    lines = out.split(b"\n")
    assert len(lines) == 3 and lines[2] == b"", out           # two lines, each ends in \n
    assert [r["id"] for r in Decoder().feed(out)] == [1, 2]


def test_an_alarm_raised_when_the_log_write_fails_is_on_flash_before_the_tick_returns():
    """Persist before you acknowledge (docs/design.md): 3 mL at 2000 mcg/mL, 2000 mcg/day = 1 mL a
    day, low-reservoir threshold 2 mL: low at exactly 1 day. The log write of that alarm fails
    (one flash write error), which raises the `memory` alarm without a log entry. Both are on
    flash when the tick returns: a power cut right after it keeps `memory` (the reservoir level
    would raise `low_reservoir` again at boot anyway)."""
    from controller import Controller
    from hal_sim import SimHal
    from pumpkit import make_pump, programme, refill

    hal, ctl = make_pump()
    refill(ctl, 3000000, 2000)
    programme(ctl, {"mode": "continuous", "dose_ng_day": 2000000})
    hal.advance_s(86399)
    ctl.advance(ctl.now_s())
    assert "low_reservoir" not in ctl.alarms.active
    hal.flash.fail_writes = 1          # the next write, the alarm's log entry, fails
    hal.advance_s(1)
    ctl.advance(ctl.now_s())
    assert {"low_reservoir", "memory"} <= set(ctl.alarms.active), ctl.alarms.active
    hal2 = SimHal(start_t_s=ctl.t_s, flash=hal.flash)          # power cut: boot on the same flash
    ctl2 = Controller(hal2)
    ctl2.boot()
    assert "memory" in ctl2.alarms.active, ctl2.alarms.active


def test_battery_current_rounds_up_and_life_is_charge_over_current():
    """battery.py: the mean current is 7 uA quiescent + 20 nAh per stroke spread over 24 h,
    rounded UP (the displayed life never flatters); life = charge / current, in seconds, and
    0 once the charge is gone. Expected values by exact integer arithmetic here."""
    from battery import current_na, life_s

    for spd in (0, 1, 6, 12, 23, 24, 25, 1152, 4800):
        want = 7000 + -(-(20 * spd) // 24)          # the ceiling of 20 spd / 24, exactly
        assert current_na(spd) == want, (spd, current_na(spd), want)
    assert life_s(0, 7000) == 0 and life_s(-5, 7000) == 0
    assert life_s(1, 7000) == 0 and life_s(1, 3600) == 1 and life_s(2, 3600) == 2 and life_s(7000, 7000) == 3600
    assert life_s(600000000, 7480) == 600000000 * 3600 // 7480


def test_status_carries_the_documented_fields():
    """docs/protocol.md's `status` example reply names these fields, no more, no fewer; mode is
    "none" without a programme; delivered_nl is the strokes since the fill x 250 nL; the
    indication comes from the patient profile."""
    from pumpkit import cmd, make_pump, programme, refill

    keys = sorted(["alarm_t_s", "alarms", "battery_life_s", "battery_nah", "bolus", "clock_set", "conc_ug_ml",
                   "daily_ng", "delivered_nl", "empty_t_s", "eos_t_s", "eri_due_t_s", "eri_t_s", "flow_nl_day",
                   "indication", "last_sync_t_s", "mode", "phase", "rate_ng_day", "reservoir_nl", "risk", "state",
                   "strokes", "t_s"])
    hal, ctl = make_pump()
    st = cmd(ctl, "status")
    assert sorted(st) == keys and st["mode"] == "none" and st["indication"] is None, st
    assert st["clock_set"] == ctl.clock_set and st["last_sync_t_s"] == ctl.last_sync_t_s
    refill(ctl, 20000000, 2000)
    programme(ctl, {"mode": "continuous", "dose_ng_day": 1000000})
    cmd(ctl, "profile_set", profile={"indication": "spinal", "age_group": "adult"})
    hal.advance_s(86400)
    st = cmd(ctl, "status")
    assert sorted(st) == keys and st["mode"] == "continuous" and st["indication"] == "spinal", st
    assert st["strokes"] > 0 and st["delivered_nl"] == st["strokes"] * 250, st
    assert 0 < st["battery_life_s"] <= st["battery_nah"] * 3600 // 7000   # at least the quiescent 7 uA


def test_the_failure_count_survives_a_reboot_as_it_was():
    """docs/protocol.md: three consecutive wrong answers lock the role; "a reboot neither clears
    the count nor shortens the lockout". One wrong answer, a reboot at another clock: the count
    is 1, so a second wrong answer is still only wrong; two before the reboot and the next one
    locks."""
    from auth import Auth, Keyring
    from flash import MemoryFlash
    from pumpkit import CountingRandom
    from test_mut_auth2 import KEY_C, _wrong

    for before, then in ((1, "E_AUTH_BAD_MAC"), (2, "E_AUTH_LOCKED")):
        flash = MemoryFlash()
        keys = Keyring({"clinician": KEY_C})
        a = Auth(keys, CountingRandom(), flash, 0)
        for _ in range(before):
            assert _wrong(a, "clinician", 10).code == "E_AUTH_BAD_MAC"
        b = Auth(keys, CountingRandom(), flash, 500)      # reboot: monotonic clock at 500
        assert _wrong(b, "clinician", 510).code == then, (before, then)


def test_a_critical_alarm_during_a_bolus_stops_sounds_and_is_pushed_with_its_class():
    """fsm_spec.py: bolus --critical_alarm--> alarm_stopped; docs/protocol.md: the pushed
    `alarm_raised` event carries d.name and d.class; docs/board.md: a critical alarm sounds the
    critical pattern."""
    from pumpkit import cmd, ready_pump

    hal, ctl = ready_pump({"mode": "continuous", "dose_ng_day": 1000000})
    cmd(ctl, "bolus", dose_ng=50000, duration_min=30)
    assert ctl.fsm.state == "bolus"
    ctl.pushed = []
    ctl.raise_alarm("motor_stall", ctl.now_s())
    assert ctl.fsm.state == "alarm_stopped"
    assert [(e, d) for e, d, _ in ctl.pushed if e == "alarm_raised"] == [
        ("alarm_raised", {"name": "motor_stall", "class": "critical"})], ctl.pushed
    assert hal.tones[-1][1] == "critical", hal.tones[-3:]


def test_a_restored_keyring_keeps_the_test_builds_dev_service_key():
    """docs/protocol.md: a test build derives its service key from the serial number (dev key),
    also after a reboot restores the provisioned keys from flash."""
    from auth import Keyring, dev_service_key

    ring = Keyring.from_dict({"clinician": "ab" * 16}, "SIM00001")
    assert ring.get("service") == dev_service_key("SIM00001")
    assert ring.get("clinician") is not None
    assert Keyring.from_dict(None, None).get("service") is None      # clinical build: none


def test_status_reports_the_profiles_phase_and_risks():
    """docs/protocol.md `status`: indication, phase and risk come from the patient profile
    (`profile_set`); none set: null, null, []."""
    from pumpkit import cmd, make_pump

    hal, ctl = make_pump()
    st = cmd(ctl, "status")
    assert (st["indication"], st["phase"], st["risk"]) == (None, None, [])
    cmd(ctl, "profile_set", profile={"indication": "spinal", "age_group": "adult", "phase": "maintenance",
                                     "risk": ["communication"]})
    st = cmd(ctl, "status")
    assert (st["indication"], st["phase"], st["risk"]) == ("spinal", "maintenance", ["communication"]), st
    assert st["strokes"] == ctl.strokes_total


def test_after_an_hour_switched_off_the_pump_resumes_without_a_catch_up():
    """No catch-up after a power cut (the labeling: an overdose is the other hazard). 1 000 mcg/day
    at 2000 mcg/mL is 500 000 nL/day, a 250 nL stroke every 43.2 s. Switched off for an hour, it
    boots and resumes: in the next hour 83 strokes (3600 / 43.2 = 83.3), not the 166 of two."""
    from controller import Controller
    from hal_sim import SimHal
    from pumpkit import ready_pump

    hal, ctl = ready_pump({"mode": "continuous", "dose_ng_day": 1000000})
    ctl.save()
    hal2 = SimHal(start_t_s=ctl.t_s + 3600, flash=hal.flash)     # an hour without power
    ctl2 = Controller(hal2)
    ctl2.boot()
    assert ctl2.fsm.state == "infusing"
    s0 = ctl2.strokes_total
    hal2.advance_s(3600)
    ctl2.advance(ctl2.now_s())
    assert ctl2.strokes_total - s0 in (83, 84), ctl2.strokes_total - s0


def test_a_programme_on_an_empty_reservoir_does_not_start_and_commit_replies_its_fields():
    """fsm_spec.py: stopped --programme_commit--> infusing only if the pump can deliver, and it
    cannot with an empty reservoir (nothing to stroke: the motor must never run dry); docs/protocol.md
    `programme_commit` reply: {"daily_ng", "hash", "state"}."""
    from pumpkit import cmd, make_pump, raises, refill

    hal, ctl = make_pump()
    refill(ctl, 0, 2000)
    assert ctl.reservoir_nl() == 0
    st = cmd(ctl, "programme_stage", programme={"mode": "continuous", "dose_ng_day": 1000000})
    res = cmd(ctl, "programme_commit", hash=st["hash"])
    assert res == {"daily_ng": 1000000, "hash": st["hash"], "state": "stopped"}, res
    raises("E_STATE", cmd, ctl, "resume")            # resume needs can_deliver (fsm_spec.py)
    assert ctl.fsm.state == "stopped"
