"""The state machine engine's own edges (issue 8, round 7: fsm.Machine.__init__ survivors).

Oracles: fsm.py's row format ("source ... '*' = every state except those in FINAL"), the rows,
states and final states built here, and check_table's documented refusals (the row's 0-based
index and what is wrong with it, test_mut_core.py). The refusal texts are change detectors for
the texts the engine documents.
"""
import fsm

REQS = {
    "test_a_machine_refuses_an_unknown_initial_state_or_a_malformed_row": ["SAFE-FSM-SPEC"],
    "test_any_source_rows_never_leave_the_final_states_the_machine_was_given": ["SAFE-FSM-SPEC"],
}


class Model:
    def go(self):
        return True


def _refusal(*args):
    try:
        fsm.Machine(*args)
    except ValueError as e:
        return str(e)
    return None


def test_a_machine_refuses_an_unknown_initial_state_or_a_malformed_row():
    ok = ("stopped", "resume", None, "infusing", None)
    assert _refusal(fsm.ROWS, "nowhere", Model()) == "unknown initial state 'nowhere'"
    assert _refusal((ok, ("nowhere", "resume", None, "infusing", None)), "stopped", Model()) == \
        "row 1: unknown source 'nowhere'"
    assert _refusal((ok, ok, ("stopped", "resume", None, "nowhere", None)), "stopped", Model()) == \
        "row 2: unknown dest 'nowhere'"
    assert _refusal((("stopped", "nope", None, "infusing", None),), "stopped", Model()) == \
        "row 0: unknown trigger 'nope'"
    assert _refusal((ok,), "stopped", Model()) is None


def test_any_source_rows_never_leave_the_final_states_the_machine_was_given():
    states = ("a", "b", "done")
    rows = (("*", "eos", None, "done", None), ("a", "resume", None, "b", None))
    m = fsm.Machine(rows, "a", Model(), states=states, final=("b",))
    assert m.fire("resume") and m.state == "b"
    assert not m.fire("eos") and m.state == "b"          # b is final here: '*' does not cover it
    m = fsm.Machine(rows, "a", Model(), states=states, final=())
    assert m.fire("resume") and m.fire("eos") and m.state == "done"
