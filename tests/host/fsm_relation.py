"""Which observed state changes the requirements allow per step of the stateful model test.

The transitions come from tests/fw/fsm_spec.py (the requirement-level spec table, written apart
from fsm.ROWS); this module only says which spec triggers a protocol step can fire:
- an accepted command fires its trigger (programme_commit, refill_commit, bolus/patient_bolus ->
  bolus_start, bolus_cancel, stop, resume, alarms_clear -> alarms_cleared); every other accepted
  command, and every refused one, fires none;
- time (any tick, and the clock advance at the start of every command) may fire critical_alarm,
  bolus_end and eos, any number of times;
- a reset (reboot, power cut): issue 2 "therapy resumes without clinician action"; issue 8 "after
  any reset the pump stays stopped until a clinician clears it" -> running therapy resumes, a
  bolus still running resumes as a bolus (tests/fw/fsm_spec.py), a stopped pump stays stopped, a latched alarm keeps it in alarm_stopped, end of life stays.
Guards are not modelled: any row of the spec may be taken (the guard-level check is in h1's
tests/fw/test_fsm_spec.py); a transition no row of the spec has is a failure.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fw"))
import fsm_spec  # noqa: E402

COMMAND_TRIGGERS = {"programme_commit": "programme_commit", "refill_commit": "refill_commit",
                    "bolus": "bolus_start", "patient_bolus": "bolus_start", "bolus_cancel": "bolus_cancel",
                    "stop": "stop", "resume": "resume", "alarms_clear": "alarms_cleared"}
TIME_TRIGGERS = ("critical_alarm", "bolus_end", "eos")
RESET = {"infusing": ("infusing",), "bolus": ("bolus",), "stopped": ("stopped",),
         "alarm_stopped": ("alarm_stopped",), "end_of_life": ("end_of_life",), "boot": fsm_spec.STATES}


def _dests(state, trigger):
    return {dest for _, dest, _ in fsm_spec.SPEC.get((state, trigger), ())}


def _time_closure(states):
    seen = set(states)
    todo = list(states)
    while todo:
        s = todo.pop()
        for trig in TIME_TRIGGERS:
            for d in _dests(s, trig):
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
    return seen


def reachable(src, cause):
    """States the pump may be in after `cause` from `src` (time passing before and after)."""
    before = _time_closure({src})
    if cause == "reboot":
        out = set()
        for s in before:
            out.update(RESET[s])
        return _time_closure(out)
    trig = COMMAND_TRIGGERS.get(cause)
    if trig is None:
        return before
    mid = set(before)            # the command may be refused by a guard: nothing changes
    for s in before:
        mid.update(_dests(s, trig))
    return _time_closure(mid)


def allowed(src, dst, cause):
    return dst in reachable(src, cause)
