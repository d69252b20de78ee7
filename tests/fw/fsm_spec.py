"""The pump's state transitions as the requirements state them, written independently of
firmware/fsm.py (issue 8: "every transition taken is allowed by a spec table written from the
requirements, separately from fsm.ROWS (loading the same table into `transitions` cannot catch
a wrong row)").

Plain data (tests/fw/test_fsm_spec.py and the stateful model test import it). Nothing here is
derived from fsm.ROWS: states and triggers are spelled out again, and a row missing from this
table means the trigger is REFUSED in that state.

SPEC[(state, trigger)] = tuple of (condition, dest, effect), first match wins:
  condition  None (always), or (guard_name, required bool), or a tuple of such pairs (all hold)
  dest       the state after the transition
  effect     what delivery does: "start", "stop", "restart" (new programme while delivering),
             "bolus", "end_bolus", "refill", or None (nothing)
Guards (facts about the pump at the moment of the trigger):
  bolus_running      delivery was running when the pump went down and a bolus (not a refill's
                     bridge) is still due to run (it implies has_programme)
  has_programme      a programme is stored and delivery was running when the pump went down
  can_deliver        a programme is stored, no critical alarm is latched, the reservoir is not
                     empty, service has not ended
  no_critical_alarm  no critical alarm is latched

Sources, per row group:
- boot: issue 2 "Persistence and log": "therapy resumes without clinician action" after a reset
  (when it was running), a bolus still running as a bolus (issue 8: a reset must not open the
  way to a second bolus or a refill during one, tests/fw/test_bolus_reset.py); a failed self-test (e.g. both state slots corrupt) or a latched critical
  alarm keeps the pump stopped in alarm (issue 8: "after any reset the pump stays stopped until a
  clinician clears it").
- critical alarms stop delivery; alarms latch until a clinician clears them (issue 2, "Alarms
  and battery"); clearing resumes only if delivery is possible, never on `resume` alone
  (issue 8, defect 12: "alarm_stopped + resume -> infusing went unnoticed").
- refill: not during a bolus, not after end of service (fsm.py design note, issue 2).
- end of service (battery EOS or the 84-month limit) from every live state; final.
"""

STATES = ("boot", "stopped", "infusing", "bolus", "alarm_stopped", "end_of_life")
TRIGGERS = ("self_test_pass", "self_test_fail", "resume", "programme_commit", "stop", "bolus_start",
            "bolus_end", "bolus_cancel", "critical_alarm", "alarms_cleared", "refill_commit", "eos")
GUARDS = ("bolus_running", "has_programme", "can_deliver", "no_critical_alarm")
FINAL = ("end_of_life",)

SPEC = {
    # boot
    ("boot", "self_test_pass"): ((("bolus_running", True), "bolus", "start"),
                                 (("has_programme", True), "infusing", "start"), (None, "stopped", None)),
    ("boot", "self_test_fail"): ((None, "alarm_stopped", "stop"),),
    ("boot", "eos"): ((None, "end_of_life", "stop"),),
    # stopped: resume or a new programme starts delivery only if it can deliver
    ("stopped", "resume"): ((("can_deliver", True), "infusing", "start"),),
    ("stopped", "programme_commit"): ((("can_deliver", True), "infusing", "start"), (None, "stopped", None)),
    ("stopped", "critical_alarm"): ((None, "alarm_stopped", "stop"),),
    ("stopped", "refill_commit"): ((None, "stopped", "refill"),),
    ("stopped", "eos"): ((None, "end_of_life", "stop"),),
    # infusing
    ("infusing", "programme_commit"): ((None, "infusing", "restart"),),
    ("infusing", "stop"): ((None, "stopped", "stop"),),
    ("infusing", "bolus_start"): ((None, "bolus", "bolus"),),
    ("infusing", "critical_alarm"): ((None, "alarm_stopped", "stop"),),
    ("infusing", "refill_commit"): ((None, "infusing", "refill"),),
    ("infusing", "eos"): ((None, "end_of_life", "stop"),),
    # bolus
    ("bolus", "bolus_end"): ((None, "infusing", "end_bolus"),),
    ("bolus", "bolus_cancel"): ((None, "infusing", "end_bolus"),),
    ("bolus", "stop"): ((None, "stopped", "stop"),),
    ("bolus", "programme_commit"): ((None, "bolus", "restart"),),
    ("bolus", "critical_alarm"): ((None, "alarm_stopped", "stop"),),
    ("bolus", "eos"): ((None, "end_of_life", "stop"),),
    # alarm_stopped: only a clinician's clear leaves it; a programme or refill is stored
    ("alarm_stopped", "alarms_cleared"): ((("can_deliver", True), "infusing", "start"),
                                          (("no_critical_alarm", True), "stopped", None)),
    ("alarm_stopped", "programme_commit"): ((None, "alarm_stopped", None),),
    ("alarm_stopped", "refill_commit"): ((None, "alarm_stopped", "refill"),),
    ("alarm_stopped", "eos"): ((None, "end_of_life", "stop"),),
    # end_of_life: final, nothing leaves it
}


def condition_holds(cond, guards):
    """True if `cond` (None, a (name, bool) pair, or a tuple of pairs) holds for `guards`,
    a dict guard name -> bool."""
    if cond is None:
        return True
    if type(cond[0]) is str:
        return guards[cond[0]] == cond[1]
    for c in cond:
        if guards[c[0]] != c[1]:
            return False
    return True


def expected(state, trigger, guards):
    """(dest, effect) the requirements give `trigger` from `state` with `guards`, or None
    (refused: the state does not change, nothing happens)."""
    for cond, dest, effect in SPEC.get((state, trigger), ()):
        if condition_holds(cond, guards):
            return dest, effect
    return None
