"""Pump state-machine SPECIFICATION, written from the requirements, independently of fsm.ROWS.

Loading fsm.ROWS into another engine cannot catch a wrong row (issue 8, "The machinery"), so
this table is written from the sources, not from the code:
- issue 2 "Alarms and battery": critical alarms stop delivery; alarms latch until a clinician
  clears them; end of service ends therapy for good.
- issue 2 "Persistence and log": after a reset therapy resumes without clinician action, unless
  a critical alarm is latched (issue 8 defect 1: "after any reset the pump stays stopped until a
  clinician clears it").
- issue 8 defect 12: `alarm_stopped` + `resume` -> `infusing` is NOT a transition.
Portable (tests/fw): plain data, no imports beyond the builtins, no floats.

SPEC maps a cause to the (source, destination) pairs it may produce. A cause is a command
name that the pump accepted, "time" (ticks: stroke delivery, bolus end, alarms, end of
service) or "reboot" (any reset). A refused command may change nothing itself.
"""

BOOT = "boot"
STOPPED = "stopped"
INFUSING = "infusing"
BOLUS = "bolus"
ALARM_STOPPED = "alarm_stopped"
END_OF_LIFE = "end_of_life"
STATES = (BOOT, STOPPED, INFUSING, BOLUS, ALARM_STOPPED, END_OF_LIFE)
LIVE = (STOPPED, INFUSING, BOLUS, ALARM_STOPPED)

_STAY = tuple((s, s) for s in STATES)

SPEC = {
    # Time alone: a critical alarm stops delivery from any live state; a bolus ends back into
    # infusing; end of service from anywhere.
    "time": _STAY + ((INFUSING, ALARM_STOPPED), (BOLUS, ALARM_STOPPED), (STOPPED, ALARM_STOPPED),
                     (BOLUS, INFUSING)) + tuple((s, END_OF_LIFE) for s in LIVE),
    # A committed programme starts a stopped pump (if it can deliver); otherwise the state stays.
    "programme_commit": ((STOPPED, INFUSING), (STOPPED, STOPPED), (INFUSING, INFUSING), (BOLUS, BOLUS),
                         (ALARM_STOPPED, ALARM_STOPPED)),
    # Refill: never during a bolus, never after end of service; the state is kept.
    "refill_commit": ((STOPPED, STOPPED), (INFUSING, INFUSING), (ALARM_STOPPED, ALARM_STOPPED)),
    "bolus": ((INFUSING, BOLUS),),
    "patient_bolus": ((INFUSING, BOLUS),),
    "bolus_cancel": ((BOLUS, INFUSING),),
    "stop": ((INFUSING, STOPPED), (BOLUS, STOPPED)),
    # Only a stopped pump resumes; a latched critical alarm is cleared with alarms_clear.
    "resume": ((STOPPED, INFUSING),),
    # Clearing the last critical alarm lets a pump that can deliver resume, else it stops.
    "alarms_clear": _STAY + ((ALARM_STOPPED, INFUSING), (ALARM_STOPPED, STOPPED)),
    # After any reset: resume the running therapy, keep stopped, keep latched alarms, keep EOS.
    "reboot": ((INFUSING, INFUSING), (BOLUS, INFUSING), (STOPPED, STOPPED),
               (ALARM_STOPPED, ALARM_STOPPED), (END_OF_LIFE, END_OF_LIFE), (BOOT, STOPPED),
               (BOOT, INFUSING), (BOOT, ALARM_STOPPED), (BOOT, END_OF_LIFE)),
}
# Every other accepted command keeps the state (reads, settings, time, profile, silence, tests).
KEEPS_STATE = _STAY


def pairs(cause):
    return SPEC.get(cause, KEEPS_STATE)


def reachable(src, cause):
    """States the pump may be in after `cause` from `src`, time passing before and after it
    (a command first advances the clock, and its own effects may raise alarms)."""
    def step(states, pset):
        out = set()
        for s in states:
            for a, b in pset:
                if a == s:
                    out.add(b)
        return out

    def closure(states):
        seen = set(states)
        todo = list(states)
        while todo:
            s = todo.pop()
            for a, b in SPEC["time"]:
                if a == s and b not in seen:
                    seen.add(b)
                    todo.append(b)
        return seen

    before = closure({src})
    if cause == "time":
        return before
    return closure(step(before, pairs(cause)))


def allowed(src, dst, cause):
    return dst in reachable(src, cause)
