"""Pump state machine: the transition table (data) and a tiny engine.

The table is plain data so the host can load the very same rows into the
`transitions` library (host/pumpctl/fsm_model.py) and a hypothesis test can
prove both engines agree (issue 2, "State machine").

Row = (source, trigger, guard, dest, action)
  source  a state name, or "*" = every state except those in FINAL
  guard   None or the name of a model method returning bool
  action  None or the name of a model method, called after the state is set
Rows are tried in table order; the first row whose source matches and whose
guard is true (or None) fires.

Refill is a guarded self-transition (refill_commit) allowed only in stopped,
infusing and alarm_stopped: never during a bolus or after end of life.
"""

BOOT = "boot"
STOPPED = "stopped"
INFUSING = "infusing"
BOLUS = "bolus"
ALARM_STOPPED = "alarm_stopped"
END_OF_LIFE = "end_of_life"

STATES = (BOOT, STOPPED, INFUSING, BOLUS, ALARM_STOPPED, END_OF_LIFE)
INITIAL = BOOT
FINAL = (END_OF_LIFE,)
ANY = "*"

TRIGGERS = (
    "self_test_pass",
    "self_test_fail",
    "resume",
    "programme_commit",
    "stop",
    "bolus_start",
    "bolus_end",
    "bolus_cancel",
    "critical_alarm",
    "alarms_cleared",
    "refill_commit",
    "eos",
)

# Model methods the table refers to (the controller implements them).
GUARDS = ("bolus_running", "has_programme", "can_deliver", "no_critical_alarm")
ACTIONS = (
    "start_delivery",
    "stop_delivery",
    "restart_delivery",
    "start_bolus",
    "end_bolus",
    "apply_refill",
)

ROWS = (
    # boot / self-test: resume therapy without clinician action after a reset
    # (issue 2, "Persistence and log": "therapy resumes without clinician action").
    # A bolus still running resumes as a bolus, so the rules that hold during one (no second
    # bolus, no refill, cancel ends it) hold after a reset too (issue 8).
    (BOOT, "self_test_pass", "bolus_running", BOLUS, "start_delivery"),
    (BOOT, "self_test_pass", "has_programme", INFUSING, "start_delivery"),
    (BOOT, "self_test_pass", None, STOPPED, None),
    (BOOT, "self_test_fail", None, ALARM_STOPPED, "stop_delivery"),
    (BOOT, "eos", None, END_OF_LIFE, "stop_delivery"),
    # stopped
    (STOPPED, "resume", "can_deliver", INFUSING, "start_delivery"),
    (STOPPED, "programme_commit", "can_deliver", INFUSING, "start_delivery"),
    (STOPPED, "programme_commit", None, STOPPED, None),
    # infusing (continuous / flex)
    (INFUSING, "programme_commit", None, INFUSING, "restart_delivery"),
    (INFUSING, "stop", None, STOPPED, "stop_delivery"),
    (INFUSING, "bolus_start", None, BOLUS, "start_bolus"),
    # bolus in progress
    (BOLUS, "bolus_end", None, INFUSING, "end_bolus"),
    (BOLUS, "bolus_cancel", None, INFUSING, "end_bolus"),
    (BOLUS, "stop", None, STOPPED, "stop_delivery"),
    (BOLUS, "programme_commit", None, BOLUS, "restart_delivery"),
    # critical alarms stop delivery (issue 2, "Alarms and battery")
    (INFUSING, "critical_alarm", None, ALARM_STOPPED, "stop_delivery"),
    (BOLUS, "critical_alarm", None, ALARM_STOPPED, "stop_delivery"),
    (STOPPED, "critical_alarm", None, ALARM_STOPPED, "stop_delivery"),
    # alarms latch until a clinician clears them
    (ALARM_STOPPED, "alarms_cleared", "can_deliver", INFUSING, "start_delivery"),
    (ALARM_STOPPED, "alarms_cleared", "no_critical_alarm", STOPPED, None),
    (ALARM_STOPPED, "programme_commit", None, ALARM_STOPPED, None),
    # refill: guarded self-transitions (not during a bolus, not after EOS)
    (STOPPED, "refill_commit", None, STOPPED, "apply_refill"),
    (INFUSING, "refill_commit", None, INFUSING, "apply_refill"),
    (ALARM_STOPPED, "refill_commit", None, ALARM_STOPPED, "apply_refill"),
    # end of service from anywhere (battery EOS or the 84-month limit)
    (ANY, "eos", None, END_OF_LIFE, "stop_delivery"),
)


def expand_sources(source, states=STATES, final=FINAL):
    """The concrete source states a row's source stands for."""
    if source == ANY:
        return tuple(s for s in states if s not in final)
    return (source,)


def check_table(rows=ROWS, states=STATES, triggers=TRIGGERS):
    """Raise ValueError naming the first malformed row (run by tests and Machine)."""
    for i, row in enumerate(rows):
        if len(row) != 5:
            raise ValueError("row %d: need 5 fields" % i)
        src, trig, guard, dest, action = row
        if src != ANY and src not in states:
            raise ValueError("row %d: unknown source %r" % (i, src))
        if dest not in states:
            raise ValueError("row %d: unknown dest %r" % (i, dest))
        if trig not in triggers:
            raise ValueError("row %d: unknown trigger %r" % (i, trig))
        if guard is not None and guard not in GUARDS:
            raise ValueError("row %d: unknown guard %r" % (i, guard))
        if action is not None and action not in ACTIONS:
            raise ValueError("row %d: unknown action %r" % (i, action))


class Machine:
    """Executes a table of rows against a model.

    The index (state -> trigger -> tuple of (guard, dest, action)) is built
    once, so fire() does two dict lookups and a short loop: it allocates
    nothing beyond the bound-method objects Python creates for the model's
    guard/action calls.
    """

    def __init__(self, rows, initial, model, states=STATES, final=FINAL):
        if initial not in states:
            raise ValueError("unknown initial state %r" % (initial,))
        check_table(rows, states)   # a malformed row is refused before it could ever fire
        index = {}
        for s in states:
            index[s] = {}
        for src, trig, guard, dest, action in rows:
            for s in expand_sources(src, states, final):
                per = index[s]
                per[trig] = per.get(trig, ()) + ((guard, dest, action),)
        self._index = index
        self.model = model
        self.state = initial

    def _pick(self, trigger):
        cands = self._index[self.state].get(trigger)
        if cands is None:
            return None
        model = self.model
        for cand in cands:
            guard = cand[0]
            if guard is None or getattr(model, guard)():
                return cand
        return None

    def fire(self, trigger):
        """Take the first enabled row for `trigger`; False (no change) if none."""
        cand = self._pick(trigger)
        if cand is None:
            return False
        self.state = cand[1]
        action = cand[2]
        if action is not None:
            getattr(self.model, action)()
        return True

    def can_fire(self, trigger):
        """True if fire(trigger) would take a row now (evaluates guards, no action)."""
        return self._pick(trigger) is not None

    def triggers(self, state=None):
        """Triggers that have at least one row from `state` (default: current), table order."""
        per = self._index[self.state if state is None else state]
        return tuple(t for t in TRIGGERS if t in per)
