"""fsm.Machine driven through every (state, trigger, guard outcome) and compared with the
independent spec in tests/fw/fsm_spec.py (issue 8, defect 12: an extra row
`alarm_stopped + resume -> infusing` went unnoticed because the only oracle was fsm.ROWS itself).
"""
import fsm
import fsm_spec

REQS = {
    "test_every_state_trigger_and_guard_outcome_matches_the_spec": ["SAFE-FSM-SPEC"],
    "test_spec_and_table_name_the_same_states_and_triggers": ["SAFE-FSM-SPEC"],
    "test_extra_row_is_caught": ["SAFE-FSM-SPEC"],
}

# The firmware's action names for the spec's delivery effects (the only link to fsm.py's vocabulary).
EFFECT_ACTIONS = {None: (), "start": ("start_delivery",), "stop": ("stop_delivery",),
                  "restart": ("restart_delivery",), "bolus": ("start_bolus",), "end_bolus": ("end_bolus",),
                  "refill": ("apply_refill",)}


class Model:
    """Guard outcomes fixed by the test; actions recorded."""

    def __init__(self, guards):
        self.guards = guards
        self.actions = []

    def bolus_running(self):
        return self.guards["bolus_running"]

    def has_programme(self):
        return self.guards["has_programme"]

    def can_deliver(self):
        return self.guards["can_deliver"]

    def no_critical_alarm(self):
        return self.guards["no_critical_alarm"]

    def start_delivery(self):
        self.actions.append("start_delivery")

    def stop_delivery(self):
        self.actions.append("stop_delivery")

    def restart_delivery(self):
        self.actions.append("restart_delivery")

    def start_bolus(self):
        self.actions.append("start_bolus")

    def end_bolus(self):
        self.actions.append("end_bolus")

    def apply_refill(self):
        self.actions.append("apply_refill")


def _guard_outcomes():
    out = []
    for i in range(16):
        g = {"has_programme": bool(i & 1), "can_deliver": bool(i & 2), "no_critical_alarm": bool(i & 4),
             "bolus_running": bool(i & 8)}
        # can_deliver implies no critical alarm, bolus_running has_programme (their definitions);
        # other combinations cannot occur
        if (g["can_deliver"] and not g["no_critical_alarm"]) or (g["bolus_running"] and not g["has_programme"]):
            continue
        out.append(g)
    return out


def mismatches(rows):
    bad = []
    for state in fsm_spec.STATES:
        for trigger in fsm_spec.TRIGGERS:
            for g in _guard_outcomes():
                model = Model(g)
                m = fsm.Machine(rows, fsm.INITIAL, model)
                m.state = state
                can = m.can_fire(trigger)
                fired = m.fire(trigger)
                exp = fsm_spec.expected(state, trigger, g)
                got = (m.state, tuple(model.actions)) if fired else None
                want = None if exp is None else (exp[0], EFFECT_ACTIONS[exp[1]])
                if got != want or can != fired:
                    bad.append((state, trigger, g, got, want))
    return bad


def test_every_state_trigger_and_guard_outcome_matches_the_spec():
    bad = mismatches(fsm.ROWS)
    assert bad == [], bad[:5]


def test_spec_and_table_name_the_same_states_and_triggers():
    assert tuple(fsm.STATES) == fsm_spec.STATES and tuple(fsm.FINAL) == fsm_spec.FINAL
    assert tuple(fsm.TRIGGERS) == fsm_spec.TRIGGERS
    assert tuple(fsm.GUARDS) == fsm_spec.GUARDS
    for key in fsm_spec.SPEC:
        assert key[0] in fsm_spec.STATES and key[1] in fsm_spec.TRIGGERS, key
        assert key[0] not in fsm_spec.FINAL, key


def test_extra_row_is_caught():
    """The audit's surviving mutant, as data: the comparison above must reject it."""
    extra = (("alarm_stopped", "resume", None, "infusing", "start_delivery"),) + tuple(fsm.ROWS)
    bad = mismatches(extra)
    assert bad and all(b[0] == "alarm_stopped" and b[1] == "resume" for b in bad)
