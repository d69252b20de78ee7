"""The firmware engine and `transitions` run the same table and agree (issue 2, "State machine")."""

import os
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
for p in (os.path.join(ROOT, "firmware"), os.path.join(ROOT, "host")):
    if p not in sys.path:
        sys.path.insert(0, p)

import fsm  # noqa: E402
from pumpctl import fsm_model  # noqa: E402
from runprofile import examples  # noqa: E402


class Recorder:
    """Guards read the outcome drawn for this step; actions are recorded."""

    def __init__(self):
        self.outcome = {}
        self.log = []

    def bolus_running(self):
        return self.outcome["bolus_running"]

    def has_programme(self):
        return self.outcome["has_programme"]

    def can_deliver(self):
        return self.outcome["can_deliver"]

    def no_critical_alarm(self):
        return self.outcome["no_critical_alarm"]


def _make_action(name):
    def action(self):
        self.log.append((name, self.state_for_log()))

    return action


for _name in fsm.ACTIONS:
    setattr(Recorder, _name, _make_action(_name))


class FwModel(Recorder):
    def state_for_log(self):
        return self.machine.state


class TrModel(Recorder):
    def state_for_log(self):
        return self.state


def _pair():
    fw = FwModel()
    fw.machine = fsm.Machine(fsm.ROWS, fsm.INITIAL, fw)
    tr = TrModel()
    fsm_model.build_machine(tr)
    return fw, tr


step = st.tuples(
    st.sampled_from(fsm.TRIGGERS + ("not_a_trigger",)),
    st.fixed_dictionaries({g: st.booleans() for g in fsm.GUARDS}),
)


@settings(max_examples=examples(400), deadline=None)
@given(st.lists(step, max_size=60))
def test_random_sequences_same_states(steps):
    fw, tr = _pair()
    assert tr.state == fw.machine.state == fsm.INITIAL
    for trig, outcome in steps:
        fw.outcome = outcome
        tr.outcome = outcome
        can = fw.machine.can_fire(trig)
        took_fw = fw.machine.fire(trig)
        took_tr = tr.trigger(trig) if trig in fsm.TRIGGERS else False
        assert can == took_fw
        assert took_fw == bool(took_tr)
        assert fw.machine.state == tr.state
        assert fw.log == tr.log


def test_every_row_reachable_and_agrees():
    # Directed check: from every state, every trigger under every guard outcome.
    import itertools

    for state in fsm.STATES:
        for trig in fsm.TRIGGERS:
            for bits in itertools.product((False, True), repeat=len(fsm.GUARDS)):
                outcome = dict(zip(fsm.GUARDS, bits))
                fw = FwModel()
                fw.machine = fsm.Machine(fsm.ROWS, state, fw)
                tr = TrModel()
                fsm_model.build_machine(tr, initial=state)
                fw.outcome = tr.outcome = outcome
                assert fw.machine.fire(trig) == bool(tr.trigger(trig))
                assert fw.machine.state == tr.state, (state, trig, outcome)
                assert fw.log == tr.log


def test_mermaid_has_every_edge():
    text = fsm_model.mermaid()
    assert text.startswith("stateDiagram-v2")
    assert "[*] --> boot" in text
    assert "boot --> infusing: self_test_pass [has_programme] / start_delivery" in text
    assert "bolus --> end_of_life: eos / stop_delivery (from any state)" in text
    assert "end_of_life --> end_of_life" not in text
    n_edges = sum(len(fsm.expand_sources(r[0])) for r in fsm.ROWS)
    assert text.count(": ") == n_edges


def test_transitions_loads_all_rows():
    tr = TrModel()
    m = fsm_model.build_machine(tr)
    n = sum(len(t) for ev in m.events.values() for t in ev.transitions.values())
    assert n == len(fsm_model.transition_dicts())
