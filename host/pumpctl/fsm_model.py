"""The firmware's state table loaded into the `transitions` library, and its Mermaid diagram.

The rows come from firmware/fsm.py unchanged; this module only translates them:
guard -> `conditions`, action -> `after`, source "*" -> every non-final state.
tests/host/test_fsm_transitions.py drives both engines with random trigger
sequences and requires the same state after every step.
"""

import os
import sys


def _load_fsm():
    try:
        import fsm  # firmware/ already on sys.path (tests, emulator)

        if hasattr(fsm, "ROWS"):
            return fsm
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    fw = os.path.normpath(os.path.join(here, "..", "..", "firmware"))
    if fw not in sys.path:
        sys.path.insert(0, fw)
    sys.modules.pop("fsm", None)
    import fsm

    return fsm


fsm = _load_fsm()
STATES = fsm.STATES
INITIAL = fsm.INITIAL
ROWS = fsm.ROWS
TRIGGERS = fsm.TRIGGERS


def transition_dicts(rows=ROWS):
    """The rows as `transitions` transition dicts, in table order ("*" expanded)."""
    out = []
    for src, trig, guard, dest, action in rows:
        for s in fsm.expand_sources(src):
            t = {"trigger": trig, "source": s, "dest": dest}
            if guard is not None:
                t["conditions"] = [guard]
            if action is not None:
                t["after"] = [action]
            out.append(t)
    return out


def build_machine(model, rows=ROWS, initial=INITIAL):
    """A `transitions.Machine` over the firmware's table, bound to `model`."""
    from transitions import Machine

    return Machine(
        model=model,
        states=list(STATES),
        transitions=transition_dicts(rows),
        initial=initial,
        auto_transitions=False,
        ignore_invalid_triggers=True,
    )


def _label(trig, guard, action):
    text = trig
    if guard is not None:
        text += " [" + guard + "]"
    if action is not None:
        text += " / " + action
    return text


def mermaid(rows=ROWS):
    """The state diagram as Mermaid `stateDiagram-v2` text (guards and actions on edges)."""
    lines = ["stateDiagram-v2", "    [*] --> " + INITIAL]
    for src, trig, guard, dest, action in rows:
        label = _label(trig, guard, action)
        if src == fsm.ANY:
            label += " (from any state)"
        for s in fsm.expand_sources(src):
            lines.append("    %s --> %s: %s" % (s, dest, label))
    for s in fsm.FINAL:
        lines.append("    %s --> [*]" % s)
    return "\n".join(lines) + "\n"
