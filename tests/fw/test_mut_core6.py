"""Issue 8, round 6: controller and delivery behaviours the session-5 mutation run found
unchecked (docs/mutation/round6_core.md).

Oracles: docs/protocol.md (the error codes and the `unknown command` example, whose `msg` is the
command's name; sim_fault `count`: "strokes that stall"; sim_reset "refuses every other
command"; "a refused frame changes nothing"), the eventlog's documented argument names
(eventlog.ARGS: `stall` = strokes_requested, strokes_done), the controller's promises (time
only moves forward; a logged refusal is on flash before the reply; the ERI comes 90 days
before end of service), docs/design.md (the ledger's share of a stroke tick's allocation is
0 B), the label's unit arithmetic (ng/day * s / 86400 = ng; ng * 1000 / (mcg/mL) = nL) done
here, and the published development-key formula HMAC(DEV_SECRET, "service|" + serial).
"""
from pumpkit import BOLUSY, T0, DAY, make_pump, ready_pump, cmd, warp, log_since, refill, programme, raises, cont
from hal_sim import SimHal
from flash import MemoryFlash
from controller import Controller
from delivery import Ledger
import auth
import schedule
import pumpmodel as pm
from compat import hmac_sha256

REQS = {
    "test_an_unknown_command_is_refused_by_name": ["SAFE-MUTANTS"],
    "test_after_a_factory_reset_every_command_is_refused_until_the_reboot": ["SAFE-MUTANTS"],
    "test_a_refusal_writes_flash_only_when_it_logged_something": ["SAFE-MUTANTS"],
    "test_a_controller_made_with_defaults_is_the_test_builds_development_pump": ["SAFE-MUTANTS"],
    "test_a_fresh_pump_has_charged_only_the_commands_it_answered": ["SAFE-MUTANTS"],
    "test_pump_time_never_goes_back": ["SAFE-MUTANTS"],
    "test_an_end_of_service_overtaken_by_a_clock_step_happens_at_once": ["SAFE-MUTANTS"],
    "test_an_emptied_reservoir_reads_zero_and_no_partial_stroke_is_made": ["SAFE-MUTANTS"],
    "test_strokes_are_made_during_a_clinician_bolus": ["SAFE-MUTANTS"],
    "test_an_injected_stall_waits_for_a_real_stroke": ["SAFE-MUTANTS"],
    "test_a_partial_stall_logs_the_strokes_done": ["SAFE-MUTANTS"],
    "test_the_reference_search_answers_at_once_or_never": ["SAFE-MUTANTS"],
    "test_crossing_a_piece_keeps_the_ledgers_cache_in_place": ["SAFE-MUTANTS"],
    "test_a_periodic_bolus_runs_from_its_first_second_to_before_its_last": ["SAFE-MUTANTS"],
    "test_the_cache_follows_the_strokes_across_every_edge": ["SAFE-MUTANTS"],
}

CONT = cont(100000)   # 100 000 ng/day: at 2000 mcg/mL 50 000 nL/day


def test_an_unknown_command_is_refused_by_name():
    """protocol.md: E_UNKNOWN_CMD (n 6) "no such command"; its example answers `reboot` with
    msg "reboot". The controller's own entry point says the same (the link checks first)."""
    hal, ctl = make_pump()
    e = raises("E_UNKNOWN_CMD", ctl.command, "no_such", {}, "clinician")
    assert e.detail == "no_such" and e.num == 6


def test_after_a_factory_reset_every_command_is_refused_until_the_reboot():
    """protocol.md, sim_reset: answers {"rebooting": true}, "refuses every other command"
    (E_STATE, n 41), saying why; an unknown command is still refused as unknown."""
    hal, ctl = make_pump()
    assert ctl.command("sim_reset", {}, "service") == {"rebooting": True}
    e = raises("E_STATE", cmd, ctl, "status")
    assert e.detail == "rebooting after a factory reset" and e.num == 41
    assert raises("E_UNKNOWN_CMD", cmd, ctl, "no_such").detail == "no_such"


def _power_cut(hal, ctl, rtc_s=None):
    return make_pump(ctl.t_s if rtc_s is None else rtc_s, flash=hal.flash)


def test_a_refusal_writes_flash_only_when_it_logged_something():
    """protocol.md: "a refused frame changes nothing": a refusal that logs nothing writes no
    state record. A refusal that is logged (bolus while stopped: bolus_refused, reason 1 state)
    is on flash before the reply: a power cut right after it keeps the entry."""
    hal, ctl = make_pump()
    refill(ctl, 20000000, 2000)
    seq = ctl.store.seq
    raises("E_BAD_ARGS", cmd, ctl, "alarms_clear", names="nope")
    raises("E_THRESHOLD_RANGE", cmd, ctl, "settings_set", low_res_nl=1)
    assert ctl.store.seq == seq
    last = ctl.log.last_seq
    raises("E_STATE", cmd, ctl, "bolus", dose_ng=10000, duration_min=10)
    assert ctl.store.seq > seq
    hal2, ctl2 = _power_cut(hal, ctl)
    got = [e[2:] for e in log_since(ctl2, last) if e[2] == "bolus_refused"]
    assert got == [["bolus_refused", 0, 1]], log_since(ctl2, last)


def test_a_controller_made_with_defaults_is_the_test_builds_development_pump():
    """Controller(hal) is the development pump PumpRuntime(hal) is (tools/fuzz/fuzzrig.py drives
    that one, logging in with dev_service_key("SIM00001")): a test build, serial SIM00001, whose service key is
    HMAC(DEV_SECRET, "service|SIM00001") (protocol.md, "Authentication"). A given serial is
    the one hello reports (protocol.md's example: ITB-000042)."""
    hal = SimHal(start_t_s=T0, flash=MemoryFlash())
    ctl = Controller(hal)
    ctl.boot()
    h = cmd(ctl, "hello")
    assert h["build"] == "test" and h["serial"] == "SIM00001"
    assert ctl.keyring.get("service") == hmac_sha256(auth.DEV_SECRET, b"service|SIM00001")
    hal = SimHal(start_t_s=T0, flash=MemoryFlash())
    ctl = Controller(hal, 20, "ITB-000042", "clinical")
    ctl.boot()
    h = cmd(ctl, "hello")
    assert h["build"] == "clinical" and h["serial"] == "ITB-000042"
    assert ctl.keyring.get("service") is None      # clinical builds: no development key


def test_a_fresh_pump_has_charged_only_the_commands_it_answered():
    """Battery model (battery.py): a 600 mAh cell, a charge per telemetry command. A pump just
    out of its first boot, asked twice in the same second: the first answer has paid for one
    command (itself), so the cell lost exactly as much before it as between the two."""
    hal, ctl = make_pump()
    b1 = cmd(ctl, "status")["battery_nah"]
    b2 = cmd(ctl, "status")["battery_nah"]
    assert b1 > b2
    assert 600000000 - b1 == b1 - b2


def test_pump_time_never_goes_back():
    """The controller is fed time (module docstring: "time only moves forward"): a command after
    the controller was advanced past the HAL clock is handled at the time already reached, and
    advancing to an earlier time changes nothing."""
    hal, ctl = ready_pump(CONT)
    ctl.advance(T0 + 3600)                 # the HAL clock still says T0
    assert cmd(ctl, "status")["t_s"] == T0 + 3600
    assert cmd(ctl, "time_get")["t_s"] == T0 + 3600
    strokes = hal.strokes
    ctl.advance(T0 + 60)
    assert ctl.t_s == T0 + 3600 and hal.strokes == strokes
    assert cmd(ctl, "status")["t_s"] == T0 + 3600


def test_an_end_of_service_overtaken_by_a_clock_step_happens_at_once():
    """ERI then end of service 90 days later (issue 8, defect 6). A clock set 100 days ahead
    (with a reason) jumps past that end of service: the pump ends service at the new time, at
    the next thing it handles, and logs it then."""
    hal, ctl = ready_pump(CONT)
    cmd(ctl, "time_set", t_s=ctl.t_s)
    cmd(ctl, "sim_fault", fault="battery_drain", nah=cmd(ctl, "status")["battery_nah"] - 1000000)
    st = cmd(ctl, "status")
    assert st["alarms"] == ["eri"] and st["eri_t_s"] == T0
    new = T0 + 100 * DAY
    seq = ctl.log.last_seq
    cmd(ctl, "time_set", t_s=new, reason="clock was wrong")
    st = cmd(ctl, "status")
    assert st["state"] == "end_of_life" and "eos" in st["alarms"] and st["t_s"] == new
    eos = [e for e in log_since(ctl, seq) if e[2] == "eos"]
    assert len(eos) == 1 and eos[0][1] == new


def test_an_emptied_reservoir_reads_zero_and_no_partial_stroke_is_made():
    """1 000 249 nL is 4000 whole 250 nL strokes and 249 nL no stroke can take. At 2000 mcg/mL
    2 000 000 ng/day is 1 000 000 nL/day: the programmed volume passes the fill within ~86 422 s,
    in a second that also passes 4001 strokes' worth. The pump makes 4000 strokes, stops on
    reservoir_empty, and reads 0 nL left (a volume is never negative)."""
    hal, ctl = make_pump()
    refill(ctl, 1000249, 2000)
    programme(ctl, cont(2000000))
    warp(hal, ctl, 2 * DAY)
    st = cmd(ctl, "status")
    assert st["state"] == "alarm_stopped" and "reservoir_empty" in st["alarms"]
    assert st["reservoir_nl"] == 0
    assert hal.strokes == 4000 and st["strokes"] == 4000
    assert isinstance(hal.strokes, int) and isinstance(st["strokes"], int)


def test_strokes_are_made_during_a_clinician_bolus():
    """100 000 ng/day at 2000 mcg/mL is 50 000 nL/day; a 60 000 ng bolus over 60 min adds
    60 000 * 1440 / 60 = 1 440 000 ng/day = 720 000 nL/day. Half-way (1800 s) the pump, still
    in its bolus, has made floor((50 000 + 720 000) * 1800 / 86400 / 250) = floor(16 041.7 / 250)
    = 64 strokes."""
    hal, ctl = ready_pump(CONT)
    cmd(ctl, "bolus", dose_ng=60000, duration_min=60)
    warp(hal, ctl, 1800)
    assert ctl.fsm.state == "bolus"
    assert hal.strokes == 64
    assert cmd(ctl, "status")["strokes"] == 64


def test_an_injected_stall_waits_for_a_real_stroke():
    """protocol.md, sim_fault motor_stall: `count` is the number of *strokes* that stall. Seconds
    with no stroke due (50 000 nL/day: one stroke every 432 s) must not use the fault up: the
    next real stroke stalls and raises motor_stall."""
    hal, ctl = ready_pump(CONT)
    warp(hal, ctl, 440)                  # one stroke made (432 s)
    assert hal.strokes == 1
    cmd(ctl, "sim_fault", fault="motor_stall")
    for _ in range(4):                   # no stroke due in these seconds
        warp(hal, ctl, 10)
    assert hal.strokes == 1 and "motor_stall" not in ctl.alarms.active
    warp(hal, ctl, 432)
    assert "motor_stall" in ctl.alarms.active
    assert hal.strokes == 1


class _HalfHal(SimHal):
    """A motor that blocks half-way through a batch of strokes (completes n // 2 of them)."""

    def motor_strokes(self, n):
        done = n // 2
        self.strokes += done
        return done


def test_a_partial_stall_logs_the_strokes_done():
    """eventlog.ARGS: `stall` is (strokes_requested, strokes_done). An hour at 50 000 nL/day in
    one step asks floor(50 000 * 3600 / 86400 / 250) = 8 strokes; the motor completes 4."""
    hal = _HalfHal(start_t_s=T0, flash=MemoryFlash())
    ctl = Controller(hal)
    ctl.boot()
    refill(ctl, 20000000, 2000)
    programme(ctl, CONT)
    seq = ctl.log.last_seq
    hal.advance_s(3600)
    ctl.advance(ctl.now_s())
    stalls = [e[2:] for e in log_since(ctl, seq) if e[2] == "stall"]
    assert stalls == [["stall", 8, 4]], log_since(ctl, seq)
    assert "motor_stall" in ctl.alarms.active


def _ledger(prog, conc=2000):
    led = Ledger()
    plan = schedule.Plan(schedule.normalise(prog, conc, pm.model(20)))
    led.rebase(T0, plan=plan, conc_ug_ml=conc)
    return led


def test_the_reference_search_answers_at_once_or_never():
    """Ledger.first_t_reaching_exact: the smallest t >= t_from with V(t) >= target. A target
    already reached at t_from is t_from itself (not the next second); a stopped ledger (no
    plan, no override) never reaches more than it holds: None, as asked from either path."""
    led = _ledger(CONT)
    t = T0 + 5000
    v = led.volume_exact_nl(t)
    assert led.first_t_reaching_exact(v, t) == t
    assert led.first_t_reaching_exact(v - 1, t) == t
    got = led.first_t_reaching_exact(v + 250, t)
    assert led.volume_exact_nl(got) >= v + 250 > led.volume_exact_nl(got - 1)
    led.rebase(t, plan=None, keep_plan=False)
    assert led.first_t_reaching_exact(v + 1, t + 10) is None
    assert led.first_t_reaching(v + 1, t + 10) is None
    assert led.first_t_reaching_exact(v, t + 10) == t + 10


def test_crossing_a_piece_keeps_the_ledgers_cache_in_place():
    """docs/design.md (issue 9 budget): of a stroke tick's allocation "the ledger's share is 0 B":
    moving on to the next piece of the schedule (here a ramp's end) reuses the cache's list.
    The volumes stay those of the full integral."""
    night = {"mode": "flex", "lead_min": 120, "steps": [
        {"effect_min": 7 * 60, "dose_ng_day": 500000, "shape": "ramp"},
        {"effect_min": 22 * 60, "dose_ng_day": 600000, "shape": "ramp"}]}
    led = _ledger(night)
    led.first_t_reaching(led.volume_exact_nl(T0) + 250, T0)   # builds the cache (a stroke search)
    c = led._pc
    assert len(c) == 20
    end = c[1]
    assert led.volume_nl(end + 1) == led.volume_exact_nl(end + 1)
    assert led._pc is c and c[0] == end


def test_a_periodic_bolus_runs_from_its_first_second_to_before_its_last():
    """BOLUSY's periodic boluses: 60 000 ng over 30 min from 08:00 (60 000 * 1440 / 30 =
    2 880 000 ng/day on top of the steps) and 25 000 ng over 20 min from 23:50 (1 800 000 ng/day,
    across midnight). A bolus of 30 min runs in [08:00:00, 08:30:00): its rate is there at 08:00:00
    and 08:29:59, gone at 08:30:00 (and at 00:10:00 for the late one). The reference is the same
    plan without boluses."""
    with_b = schedule.Plan(schedule.normalise(BOLUSY, 2000, pm.model(20)))
    plain = {"mode": "flex", "lead_min": BOLUSY["lead_min"], "steps": BOLUSY["steps"]}
    without = schedule.Plan(schedule.normalise(plain, 2000, pm.model(20)))
    h = 3600
    for local, extra in ((8 * h - 1, 0), (8 * h, 2880000), (8 * h + 1799, 2880000), (8 * h + 1800, 0),
                         (23 * h + 50 * 60 - 1, 0), (23 * h + 50 * 60, 1800000), (DAY, 1800000),
                         (DAY + 599, 1800000), (DAY + 600, 0)):
        assert with_b.rate_ng_day(local) - without.rate_ng_day(local) == extra, local


def test_the_cache_follows_the_strokes_across_every_edge():
    """docs/design.md (issue 9): the ledger answers a stroke tick from its piece cache (0 B), the
    full integral (long ints) only after a command rebased it. Ticking every minute for two days
    across ramps, two periodic boluses (one across midnight) and a one-off override (its start
    and end), every tick's volume is that of the full integral and comes from the cache: the
    piece holding the tick's time is the cached one afterwards."""
    led = _ledger(BOLUSY)
    led.add_override(T0 + 40020, T0 + 46020, 300000, False)
    t = T0
    led.first_t_reaching(led.volume_exact_nl(t) + 250, t)     # cold start: builds the cache
    while t < T0 + 2 * DAY:
        t += 60
        assert led.volume_nl(t) == led.volume_exact_nl(t), t
        assert led._piece_has(t), t
