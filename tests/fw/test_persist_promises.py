"""Issue 8, defects 1 and 3: what the pump promises is on flash before the tick or reply that
announces it returns, and after any power cut the event log agrees with the state.

The power cut is the flash fault injection of firmware/flash.py: a write stores only its first
k bytes, then PowerLoss; the test drops the controller (RAM is gone) and boots a new one on the
same flash. Oracles: the test's own record of what each command changes (the programme it
committed, the volume it added, ...) and the physical stroke counter of the simulated motor;
nothing is read back through the code under test except the rebooted pump's public state.
"""
from flash import MemoryFlash, PowerLoss
from hal_sim import SimHal
from controller import Controller
from eventlog import EventLog, NAMES
from pumpkit import ready_pump, cmd, refill, programme, T0

REQS = {
    "test_stall_alarm_survives_a_power_cut_and_the_pump_stays_stopped": ["SAFE-PERSIST-ALARM"],
    "test_stall_alarm_tick_is_persisted_before_it_returns": ["SAFE-PERSIST-ALARM"],
    "test_noncritical_alarm_raised_by_a_tick_survives_a_power_cut": ["SAFE-PERSIST-ALARM"],
    "test_stop_survives_a_power_cut": ["SAFE-PERSIST-ALARM"],
    "test_cut_at_every_write_of_programme_commit_log_agrees": ["SAFE-LOG-AGREES"],
    "test_cut_at_every_write_of_refill_commit_log_agrees": ["SAFE-LOG-AGREES"],
    "test_cut_at_every_write_of_each_logging_command_log_agrees": ["SAFE-LOG-AGREES"],
    "test_cut_while_a_stall_tick_persists_log_agrees": ["SAFE-LOG-AGREES", "SAFE-PERSIST-ALARM"],
    "test_discard_after_invalidates_newer_entries_and_resumes": ["SAFE-LOG-AGREES"],
    "test_a_failed_discard_at_boot_raises_the_memory_alarm": ["SAFE-LOG-AGREES"],
}

CONT = {"mode": "continuous", "dose_ng_day": 1000000}    # 500 uL/day at 2000 mcg/mL: 2000 strokes/day
OFFSETS = (0, 1, 13, 17, 21, 200)   # bytes of the cut write that reach flash (header, body, CRC)
try:   # `make mutation` (CPython) runs this once per surviving mutant: two offsets per write there
    import os

    if os.environ.get("HYPOTHESIS_STATEFUL") == "mutation":
        OFFSETS = (0, 17)
except (ImportError, AttributeError):   # MicroPython: no os.environ
    pass


class CutFlash(MemoryFlash):
    """MemoryFlash that tears the k-th write from now (counting write and write_at) after
    `off` bytes: the supply dies in the middle of exactly that write."""

    def __init__(self):
        MemoryFlash.__init__(self)
        self.countdown = None
        self.off = 0
        self.count = 0

    def arm(self, k, off):
        self.countdown = k
        self.off = off
        self.count = 0

    def _pre_write(self, data):
        self.count += 1
        if self.countdown is not None:
            if self.countdown == 0:
                self.countdown = None
                self.tear_next_write_after = self.off
            else:
                self.countdown -= 1
        return MemoryFlash._pre_write(self, data)


def reboot(flash, t_s):
    hal = SimHal(start_t_s=t_s, flash=flash)
    ctl = Controller(hal)
    ctl.boot()
    return hal, ctl


def tick(hal, ctl, seconds):
    """What PumpRuntime.tick does, every `seconds` of monotonic time."""
    hal.advance_s(seconds)
    ctl.advance(ctl.now_s())


def raw_log(flash):
    """(seq, t_s, name, a, b) of every valid record, read from the flash bytes."""
    log = EventLog(flash)
    return [(s, t, NAMES.get(c, str(c)), a, b) for s, t, c, a, b in log.read(0, 100000)]


def before_boot(entries, since_seq):
    """Entries newer than since_seq written before the reboot's own reset_unclean entry."""
    out = []
    for e in entries:
        if e[0] <= since_seq:
            continue
        if e[2] == "reset_unclean":
            break
        out.append(e)
    return out


# --- defect 1: latched alarms and the stopped state --------------------------------------
def test_stall_alarm_survives_a_power_cut_and_the_pump_stays_stopped():
    # Issue 8: "Motor stall during ticks, 3 h of ticks, power cut, reboot -> state infusing,
    # alarms [], 41 strokes in the next hour."
    hal, ctl = ready_pump(CONT)
    tick(hal, ctl, 600)
    hal.inject("motor_stall", 1)
    tick(hal, ctl, 60)
    assert "motor_stall" in ctl.alarms.active and ctl.fsm.state == "alarm_stopped"
    for _ in range(180):
        tick(hal, ctl, 60)
    hal2, ctl2 = reboot(hal.flash, ctl.t_s + 30)           # RAM lost: nothing saved on the way out
    assert ctl2.fsm.state == "alarm_stopped"
    assert "motor_stall" in ctl2.alarms.active
    for _ in range(60):
        tick(hal2, ctl2, 60)
    assert hal2.strokes == 0
    # Only a clinician clears it.
    cmd(ctl2, "alarms_clear")
    assert ctl2.fsm.state == "infusing"


def test_stall_alarm_tick_is_persisted_before_it_returns():
    hal, ctl = ready_pump(CONT)
    cmd(ctl, "status")
    tick(hal, ctl, 60)                                       # well inside the 15 min checkpoint
    hal.inject("motor_stall", 1)
    tick(hal, ctl, 60)                                       # raises the alarm, then the cut
    hal2, ctl2 = reboot(hal.flash, ctl.t_s)
    assert ctl2.fsm.state == "alarm_stopped" and "motor_stall" in ctl2.alarms.active
    tick(hal2, ctl2, 3600)
    assert hal2.strokes == 0
    # Several reboots in a row: still stopped, still latched.
    hal3, ctl3 = reboot(hal2.flash, ctl2.t_s + 60)
    hal4, ctl4 = reboot(hal3.flash, ctl3.t_s + 60)
    assert ctl4.fsm.state == "alarm_stopped" and "motor_stall" in ctl4.alarms.active


def test_noncritical_alarm_raised_by_a_tick_survives_a_power_cut():
    hal, ctl = ready_pump(CONT, fill_nl=2100000)            # 0.1 mL above the 2 mL threshold
    alarm_t = ctl._events["low_reservoir"]
    hal.advance_s(alarm_t - ctl.t_s - 30)
    cmd(ctl, "status")                                       # saved by nothing (read-only) ...
    cmd(ctl, "settings_set", catheter_nl=150000)             # ... saved here, 30 s before the alarm
    tick(hal, ctl, 30)
    assert "low_reservoir" in ctl.alarms.active
    hal2, ctl2 = reboot(hal.flash, ctl.t_s)
    assert "low_reservoir" in ctl2.alarms.active
    assert ctl2.alarms.active["low_reservoir"] == alarm_t
    assert ctl2.fsm.state == "infusing"                      # non-critical: therapy goes on


def test_stop_survives_a_power_cut():
    hal, ctl = ready_pump(CONT)
    tick(hal, ctl, 600)
    cmd(ctl, "stop")
    hal2, ctl2 = reboot(hal.flash, ctl.t_s + 3600)
    assert ctl2.fsm.state == "stopped"
    tick(hal2, ctl2, 3600)
    assert hal2.strokes == 0


# --- defect 3: the log agrees with the state after any cut ---------------------------------
def _enumerate_cuts(setup, action, committed, code, check_entry=None):
    """Cut `action` at every flash write it makes and at several byte offsets of each; reboot;
    the command's log entry is present exactly when its effect is in the rebooted state.
    Returns (cuts tried, of which rolled back, of which committed)."""
    # Count the writes the action makes when nothing fails.
    flash = CutFlash()
    hal, ctl = setup(flash)
    n0 = flash.count
    action(ctl)
    n_writes = flash.count - n0
    assert n_writes >= 2, n_writes                           # at least the log entry and the state
    tried = rolled = done = 0
    for k in range(n_writes + 1):
        for off in OFFSETS:
            flash = CutFlash()
            hal, ctl = setup(flash)
            seq0 = ctl.log.last_seq
            flash.arm(k, off)
            cut = False
            try:
                action(ctl)
                if k == n_writes:
                    # Past the action's last write: the cut hits the next command's first write,
                    # after the action was acknowledged. Its change must have survived.
                    cmd(ctl, "alarms_test")
            except PowerLoss:
                cut = True
            if not cut:
                continue                                     # the offset was past the end of that write
            tried += 1
            hal2, ctl2 = reboot(flash, ctl.t_s + 5)
            entries = before_boot(raw_log(flash), seq0)
            logged = [e for e in entries if e[2] == code]
            is_committed = committed(ctl2)
            if is_committed:
                done += 1
            else:
                rolled += 1
            assert len(logged) == (1 if is_committed else 0), (k, off, is_committed, entries)
            if logged and check_entry is not None:
                check_entry(ctl2, logged[0])
            # The rebooted pump goes on appending after what it kept (a rolled-back alarm whose
            # cause is still there is raised again by the next advance, before alarms_test).
            last = ctl2.log.last_seq
            cmd(ctl2, "alarms_test")
            tail = ctl2.log.read(last + 1, 10)
            assert [r[0] for r in tail] == list(range(last + 1, ctl2.log.last_seq + 1))
            assert NAMES[tail[-1][2]] == "alarm_test"
    return tried, rolled, done


def _infusing(flash):
    hal = SimHal(start_t_s=T0, flash=flash)
    ctl = Controller(hal)
    ctl.boot()
    refill(ctl, 20000000, 2000)
    programme(ctl, CONT)
    tick(hal, ctl, 3600)
    return hal, ctl


NEW = {"mode": "continuous", "dose_ng_day": 990000}


def test_cut_at_every_write_of_programme_commit_log_agrees():
    # Issue 8: "a cut in between leaves e.g. programme new_ng_day=990000 while the pump runs 1000000".
    def action(ctl):
        st = cmd(ctl, "programme_stage", programme=NEW)
        cmd(ctl, "programme_commit", hash=st["hash"])

    def committed(ctl2):
        if ctl2.programme["dose_ng_day"] == 990000:
            return True
        assert ctl2.programme["dose_ng_day"] == 1000000      # the last committed one, or the one before
        return False

    def entry(ctl2, e):
        assert (e[3], e[4]) == (1000000, 990000)

    tried, rolled, done = _enumerate_cuts(_infusing, action, committed, "programme", entry)
    assert rolled > 0 and done > 0 and tried == rolled + done


def test_cut_at_every_write_of_refill_commit_log_agrees():
    def action(ctl):
        st = cmd(ctl, "refill_stage", withdrawn_nl=ctl.reservoir_nl(), added_nl=18000000, conc_ug_ml=2000)
        cmd(ctl, "refill_commit", hash=st["hash"])

    def committed(ctl2):
        if ctl2.fill_nl == 18000000:
            return True
        assert ctl2.fill_nl == 20000000
        return False

    def entry(ctl2, e):
        assert (e[3], e[4]) == (18000000, 2000)

    tried, rolled, done = _enumerate_cuts(_infusing, action, committed, "refill", entry)
    assert rolled > 0 and done > 0 and tried == rolled + done


def test_cut_at_every_write_of_each_logging_command_log_agrees():
    """Every command that logs then saves: bolus, stop, resume, settings, profile, time_set,
    alarm clear and silence."""
    def stopped(flash):
        hal, ctl = _infusing(flash)
        cmd(ctl, "stop")
        return hal, ctl

    def with_alarm(flash):
        hal, ctl = _infusing(flash)
        hal.inject("motor_stall", 1)
        tick(hal, ctl, 60)
        return hal, ctl

    cases = (
        (_infusing, lambda c: cmd(c, "bolus", dose_ng=20000, duration_min=30),
         lambda c: c.bolus_doses != [], "bolus_start"),
        (_infusing, lambda c: cmd(c, "stop"), lambda c: c.fsm.state == "stopped", "stop"),
        (stopped, lambda c: cmd(c, "resume"), lambda c: c.fsm.state == "infusing", "resume"),
        (_infusing, lambda c: cmd(c, "settings_set", low_res_nl=3000000),
         lambda c: c.settings["low_res_nl"] == 3000000, "settings"),
        (_infusing, lambda c: cmd(c, "profile_set", profile={"indication": "spinal"}),
         lambda c: c.profile.get("indication") == "spinal", "profile"),
        (_infusing, lambda c: cmd(c, "time_set", t_s=c.t_s + 600),
         lambda c: c.last_sync_t_s is not None, "time_set"),
        (with_alarm, lambda c: cmd(c, "alarms_clear"), lambda c: "motor_stall" not in c.alarms.active,
         "alarm_cleared"),
        (with_alarm, lambda c: cmd(c, "alarms_silence", duration_min=30),
         lambda c: c.alarms.silenced_until > 0, "alarm_silenced"),
    )
    total = 0
    for setup, action, committed, code in cases:
        tried, rolled, done = _enumerate_cuts(setup, action, committed, code)
        assert rolled > 0 and done > 0, code
        total += tried
    assert total > 8 * len(OFFSETS)


def test_cut_while_a_stall_tick_persists_log_agrees():
    """A tick that raises a critical alarm writes the log and the state: cut at each write."""
    def setup(flash):
        hal, ctl = _infusing(flash)
        hal.inject("motor_stall", 1)
        return hal, ctl

    def action(ctl):
        tick(ctl.hal, ctl, 60)

    def committed(ctl2):
        return "motor_stall" in ctl2.alarms.active

    tried, rolled, done = _enumerate_cuts(setup, action, committed, "stall")
    assert rolled > 0 and done > 0

    # A tick that crosses the low-reservoir date (non-critical: therapy goes on).
    def low(flash):
        hal = SimHal(start_t_s=T0, flash=flash)
        ctl = Controller(hal)
        ctl.boot()
        refill(ctl, 2100000, 2000)
        programme(ctl, CONT)
        tick(hal, ctl, ctl._events["low_reservoir"] - ctl.t_s - 10)
        return hal, ctl

    tried, rolled, done = _enumerate_cuts(low, lambda c: tick(c.hal, c, 20),
                                          lambda c: "low_reservoir" in c.alarms.active, "alarm_raised")
    assert rolled > 0 and done > 0
    # Whatever the cut, no stroke is delivered after the reboot while the alarm is latched,
    # and a rolled-back stall is detected again by the rebooted pump's own motor.


def test_discard_after_invalidates_newer_entries_and_resumes():
    """EventLog.discard_after, the boot half of the commit protocol: the ring keeps entries up
    to the committed seq, forgets newer ones on flash (a fresh scan agrees), and appends on."""
    flash = MemoryFlash()
    log = EventLog(flash, capacity=8)
    for i in range(20):
        log.append(100 + i, 2, i, 0)
    assert log.discard_after(20) == 0 and log.last_seq == 20          # nothing newer: no-op
    assert log.discard_after(15) == 5 and log.last_seq == 15
    again = EventLog(flash, capacity=8)                                 # what the next boot sees
    assert again.last_seq == 15 and [r[0] for r in again.read(0, 99)] == [13, 14, 15]
    assert again.discard_after(15) == 0                                 # idempotent
    assert again.append(200, 2) == 16
    assert [r[0] for r in EventLog(flash, capacity=8).read(0, 99)] == [13, 14, 15, 16]
    # A cut in the middle of the discard: the next boot finishes it.
    flash.tear_next_write_after = 3
    try:
        again.discard_after(13)
        raise AssertionError("expected PowerLoss")
    except PowerLoss:
        pass
    third = EventLog(flash, capacity=8)
    third.discard_after(13)
    assert [r[0] for r in EventLog(flash, capacity=8).read(0, 99)] == [13]
    assert third.discard_after(0) == 1 and len(EventLog(flash, capacity=8)) == 0


def test_a_failed_discard_at_boot_raises_the_memory_alarm():
    """If boot cannot invalidate the rolled-back entries (flash write error), the log may
    disagree with the state: the pump says so with the memory alarm instead of hiding it."""
    flash = CutFlash()
    hal, ctl = _infusing(flash)
    st = cmd(ctl, "programme_stage", programme=NEW)
    seq = ctl.log.last_seq
    flash.arm(1, 0)                      # the programme's log entry lands, the state save is cut
    try:
        cmd(ctl, "programme_commit", hash=st["hash"])
        raise AssertionError("expected PowerLoss")
    except PowerLoss:
        pass
    assert [e[2] for e in raw_log(flash) if e[0] > seq] == ["programme"]
    img = dict(flash.files)
    flash.fail_writes = 1                # the discard's write fails
    hal2, ctl2 = reboot(flash, ctl.t_s + 5)
    assert "memory" in ctl2.alarms.active
    assert ctl2.alarms.active["memory"] == ctl2.t_s   # pump time of the boot
    assert ctl2.programme["dose_ng_day"] == 1000000
    # Without the write error the same cut is repaired silently.
    flash2 = MemoryFlash()
    for name in img:
        flash2.files[name] = bytearray(img[name])
    hal3, ctl3 = reboot(flash2, ctl.t_s + 5)
    assert "memory" not in ctl3.alarms.active
    assert "programme" not in [e[2] for e in before_boot(raw_log(flash2), seq)]
