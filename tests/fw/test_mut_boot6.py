"""Issue 8, round 6: restore at boot, end of service and FSM refusals the session-5 mutation run
found unchecked (docs/mutation/round6_core.md).

Oracles: the controller's boot promises (an unclean reset assumes a whole checkpoint interval,
900 s, was delivered when there is no trusted RTC, capped at what the fill holds, and logs it as
reset_unclean (checkpoint_t_s, assumed_nl): eventlog.ARGS), a corrupt state slot fails the self
test (memory_critical), end of service is final (issue 2), test builds keep the development
service key (protocol.md, "Authentication"), the LED shows "alarm" while an alarm is active, and
the label's unit arithmetic done here (100 000 ng/day at 2000 mcg/mL = 50 000 nL/day).
"""
from pumpkit import T0, DAY, make_pump, ready_pump, cmd, warp, log_since, raises, cont, run_to_end_of_service
from hal_sim import SimHal
from flash import MemoryFlash
from controller import Controller
import auth

REQS = {
    "test_an_fsm_refusal_names_the_trigger_and_the_state": ["SAFE-MUTANTS"],
    "test_end_of_service_is_logged_once_and_survives_a_reboot": ["SAFE-MUTANTS"],
    "test_a_corrupt_slot_fails_the_self_test": ["SAFE-MUTANTS"],
    "test_a_reboot_keeps_the_development_key_and_shows_the_led": ["SAFE-MUTANTS"],
    "test_an_unclean_reset_without_rtc_assumes_900_s_of_delivery": ["SAFE-MUTANTS"],
    "test_the_assumed_strokes_stop_at_what_the_fill_holds": ["SAFE-MUTANTS"],
    "test_a_stopped_pump_rebooted_then_refilled_reads_the_new_fill": ["SAFE-MUTANTS"],
    "test_a_state_store_that_cannot_be_read_fails_the_self_test": ["SAFE-MUTANTS"],
}

CONT = cont(100000)   # 50 000 nL/day at 2000 mcg/mL


def _reboot(hal, ctl, t_s=None, rtc=True):
    return make_pump(ctl.t_s if t_s is None else t_s, flash=hal.flash, rtc=rtc)


def test_an_fsm_refusal_names_the_trigger_and_the_state():
    """A resume while infusing is not a transition of the FSM (fsm_spec): E_STATE, saying which
    trigger in which state."""
    hal, ctl = ready_pump(CONT)
    e = raises("E_STATE", cmd, ctl, "resume")
    assert e.detail == "'resume' not allowed in state infusing"


def test_end_of_service_is_logged_once_and_survives_a_reboot():
    """End of service is final: logged once however long the pump stays on, and a reboot comes
    back in end_of_life (with its alarm, LED on alarm)."""
    hal, ctl = ready_pump(CONT)
    seq = ctl.log.last_seq
    run_to_end_of_service(hal, ctl)
    for _ in range(3):
        warp(hal, ctl, 30 * DAY)
    cmd(ctl, "sim_fault", fault="battery_drain", nah=1)     # forecasts recomputed
    warp(hal, ctl, 30 * DAY)
    assert [e[2] for e in log_since(ctl, seq)].count("eos") == 1
    hal2, ctl2 = _reboot(hal, ctl)
    assert ctl2.fsm.state == "end_of_life" and "eos" in ctl2.alarms.active
    assert ctl2.pushed[-1] == ("boot", {"state": "end_of_life", "unclean": True}, ctl2.t_s)
    assert hal2.led_state == "alarm"


def test_a_corrupt_slot_fails_the_self_test():
    """A state slot that holds something but no valid record (either slot, a or b) is a memory
    failure: the self test fails, memory_critical, delivery stopped. No slot at all is a new pump."""
    for name in ("state.a", "state.b"):
        flash = MemoryFlash()
        flash.write(name, b"not a record")
        hal = SimHal(start_t_s=T0, flash=flash)
        ctl = Controller(hal)
        ctl.boot()
        assert ctl.fsm.state == "alarm_stopped", name
        assert "memory_critical" in ctl.alarms.active, name
    hal, ctl = make_pump()
    assert ctl.fsm.state == "stopped" and not ctl.alarms.active
    assert hal.led_state == "ok"


def test_a_reboot_keeps_the_development_key_and_shows_the_led():
    """After a restore, a test build still derives the service key from its serial
    (HMAC(DEV_SECRET, "service|SIM00001")); no alarm: the LED is "ok"."""
    hal, ctl = ready_pump(CONT)
    warp(hal, ctl, 600)
    hal2, ctl2 = _reboot(hal, ctl)
    assert ctl2.keyring.get("service") == auth.dev_service_key("SIM00001")
    assert ctl2.fsm.state == "infusing" and hal2.led_state == "ok"


def test_an_unclean_reset_without_rtc_assumes_900_s_of_delivery():
    """50 000 nL/day: an hour is floor(50 000 * 3600 / 86400) = 2083 nL, 8 strokes; the state was
    saved at T0 + 3600. Rebooting without an RTC the pump assumes 900 s more were delivered:
    floor(50 000 * 4500 / 86400) = 2604 nL, 10 strokes, 2 more (500 nL), logged as reset_unclean
    (T0 + 3600, 500). With a trusted RTC at the saved time nothing is assumed (0 nL)."""
    hal, ctl = ready_pump(CONT)
    warp(hal, ctl, 3600)
    assert hal.strokes == 8 and cmd(ctl, "status")["strokes"] == 8
    seq = ctl.log.last_seq
    hal2, ctl2 = _reboot(hal, ctl, t_s=0, rtc=False)
    assert ctl2.t_s == T0 + 4500
    assert [e[2:] for e in log_since(ctl2, seq) if e[2] == "reset_unclean"] == [["reset_unclean", T0 + 3600, 500]]
    assert ctl2.strokes_fill == 10 and cmd(ctl2, "status")["strokes"] == 10
    seq = ctl2.log.last_seq
    hal3, ctl3 = _reboot(hal2, ctl2)
    assert [e[2:] for e in log_since(ctl3, seq) if e[2] == "reset_unclean"] == [["reset_unclean", ctl2.t_s, 0]]
    assert ctl3.strokes_fill == 10 and cmd(ctl3, "status")["strokes"] == 10


def test_the_assumed_strokes_stop_at_what_the_fill_holds():
    """1 000 249 nL hold 4000 whole strokes. At 1 000 000 nL/day (2 000 000 ng/day, 2000 mcg/mL)
    86 000 s deliver 995 370 nL; 900 s more would pass the fill (1 005 787 nL): the pump rebooted
    without an RTC assumes no more than the 4000 strokes the fill holds."""
    hal, ctl = make_pump()
    from pumpkit import refill, programme
    refill(ctl, 1000249, 2000)
    programme(ctl, cont(2000000))
    warp(hal, ctl, 86000)
    hal2, ctl2 = _reboot(hal, ctl, t_s=0, rtc=False)
    st = cmd(ctl2, "status")
    assert st["strokes"] == 4000 and isinstance(st["strokes"], int)


def test_a_stopped_pump_rebooted_then_refilled_reads_the_new_fill():
    """An hour at 50 000 nL/day is 2083 nL: 8 strokes (2000 nL) and 83 nL not yet a stroke. Stopped,
    rebooted, refilled with 20 mL: the reservoir reads 20 000 000 - 83 nL (only the part-stroke
    carries over into the new fill)."""
    hal, ctl = ready_pump(CONT)
    warp(hal, ctl, 3600)
    cmd(ctl, "stop")
    hal2, ctl2 = _reboot(hal, ctl)
    assert ctl2.fsm.state == "stopped"
    from pumpkit import refill
    refill(ctl2, 20000000, 2000)
    assert cmd(ctl2, "status")["reservoir_nl"] == 20000000 - 83


class _FlakyFlash:
    """The pump's flash, whose first read of a state slot fails with an I/O error."""

    def __init__(self, flash):
        self.flash = flash
        self.failed = False

    def read(self, name):
        if name[:6] == "state." and not self.failed:
            self.failed = True
            raise OSError(5)
        return self.flash.read(name)

    def __getattr__(self, name):
        return getattr(self.flash, name)


def test_a_state_store_that_cannot_be_read_fails_the_self_test():
    """A store read that fails (I/O error) while a slot holds a record is a memory failure: the
    self test fails (memory_critical, delivery stopped), never a restore from nothing."""
    hal, ctl = ready_pump(CONT)
    warp(hal, ctl, 600)
    hal2 = SimHal(start_t_s=ctl.t_s, flash=_FlakyFlash(hal.flash))
    ctl2 = Controller(hal2)
    ctl2.boot()
    assert ctl2.fsm.state == "alarm_stopped" and "memory_critical" in ctl2.alarms.active
