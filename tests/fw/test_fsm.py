"""Firmware state machine: table sanity and engine behaviour (issue 2, "State machine")."""

import fsm


class Model:
    def __init__(self, programme=True, deliverable=True, critical=False, bolus=False):
        self.bolus = bolus
        self.programme = programme
        self.deliverable = deliverable
        self.critical = critical
        self.calls = []

    def bolus_running(self):
        self.calls.append("?bolus_running")
        return self.bolus

    def has_programme(self):
        self.calls.append("?has_programme")
        return self.programme

    def can_deliver(self):
        self.calls.append("?can_deliver")
        return self.deliverable

    def no_critical_alarm(self):
        self.calls.append("?no_critical_alarm")
        return not self.critical

    def _act(self, name):
        self.calls.append(name)

    def start_delivery(self):
        self._act("start_delivery")

    def stop_delivery(self):
        self._act("stop_delivery")

    def restart_delivery(self):
        self._act("restart_delivery")

    def start_bolus(self):
        self._act("start_bolus")

    def end_bolus(self):
        self._act("end_bolus")

    def apply_refill(self):
        self._act("apply_refill")


def machine(model=None, initial=fsm.INITIAL):
    return fsm.Machine(fsm.ROWS, initial, model or Model())


def test_table_is_well_formed():
    fsm.check_table()
    assert fsm.INITIAL == "boot"
    assert fsm.STATES == ("boot", "stopped", "infusing", "bolus", "alarm_stopped", "end_of_life")
    for row in fsm.ROWS:
        assert row[0] == "*" or row[0] in fsm.STATES


def test_check_table_rejects_bad_rows():
    bad = (("boot", "nope", None, "stopped", None),)
    try:
        fsm.check_table(bad)
        raised = False
    except ValueError:
        raised = True
    assert raised


def test_boot_with_programme_resumes_infusion():
    m = machine(Model(programme=True))
    assert m.fire("self_test_pass")
    assert m.state == "infusing"
    assert m.model.calls == ["?bolus_running", "?has_programme", "start_delivery"]


def test_boot_without_programme_stops():
    m = machine(Model(programme=False))
    assert m.fire("self_test_pass")
    assert m.state == "stopped"
    assert m.model.calls == ["?bolus_running", "?has_programme"]


def test_boot_self_test_fail_and_eos():
    m = machine()
    assert m.fire("self_test_fail")
    assert m.state == "alarm_stopped"
    m = machine()
    assert m.fire("eos")
    assert m.state == "end_of_life"
    assert m.model.calls == ["stop_delivery"]


def test_unmatched_trigger_returns_false_and_changes_nothing():
    m = machine()
    assert not m.fire("bolus_start")
    assert m.state == "boot"
    assert m.model.calls == []
    assert not m.fire("no_such_trigger")
    assert m.state == "boot"


def test_stopped_resume_guarded():
    model = Model(deliverable=False)
    m = machine(model, "stopped")
    assert not m.can_fire("resume")
    assert not m.fire("resume")
    assert m.state == "stopped"
    model.deliverable = True
    assert m.can_fire("resume")
    assert m.fire("resume")
    assert m.state == "infusing"


def test_programme_commit_from_stopped():
    model = Model(deliverable=False)
    m = machine(model, "stopped")
    assert m.fire("programme_commit")
    assert m.state == "stopped"
    model.deliverable = True
    assert m.fire("programme_commit")
    assert m.state == "infusing"
    assert model.calls[-1] == "start_delivery"


def test_bolus_cycle():
    m = machine(initial="infusing")
    assert m.fire("bolus_start")
    assert m.state == "bolus"
    assert m.fire("programme_commit")
    assert m.state == "bolus"
    assert m.fire("bolus_end")
    assert m.state == "infusing"
    assert m.fire("bolus_start") and m.fire("bolus_cancel")
    assert m.state == "infusing"
    assert m.fire("bolus_start") and m.fire("stop")
    assert m.state == "stopped"
    assert m.model.calls == [
        "start_bolus",
        "restart_delivery",
        "end_bolus",
        "start_bolus",
        "end_bolus",
        "start_bolus",
        "stop_delivery",
    ]


def test_critical_alarm_stops_and_clear_paths():
    for start in ("infusing", "bolus", "stopped"):
        m = machine(initial=start)
        assert m.fire("critical_alarm")
        assert m.state == "alarm_stopped"
        assert m.model.calls == ["stop_delivery"]
    model = Model(deliverable=False, critical=True)
    m = machine(model, "alarm_stopped")
    assert not m.fire("alarms_cleared")
    assert m.state == "alarm_stopped"
    model.critical = False
    assert m.fire("alarms_cleared")
    assert m.state == "stopped"
    m = machine(Model(deliverable=True), "alarm_stopped")
    assert m.fire("alarms_cleared")
    assert m.state == "infusing"
    m = machine(initial="alarm_stopped")
    assert m.fire("programme_commit")
    assert m.state == "alarm_stopped"
    assert m.model.calls == []


def test_refill_allowed_states_only():
    for s in ("stopped", "infusing", "alarm_stopped"):
        m = machine(initial=s)
        assert m.fire("refill_commit")
        assert m.state == s
        assert m.model.calls == ["apply_refill"]
    for s in ("bolus", "end_of_life", "boot"):
        m = machine(initial=s)
        assert not m.can_fire("refill_commit")
        assert not m.fire("refill_commit")
        assert m.state == s
        assert m.model.calls == []


def test_eos_from_every_live_state_and_end_of_life_is_final():
    for s in fsm.STATES:
        m = machine(initial=s)
        if s == "end_of_life":
            for t in fsm.TRIGGERS:
                assert not m.fire(t)
            assert m.state == "end_of_life"
            assert m.triggers() == ()
        else:
            assert m.fire("eos")
            assert m.state == "end_of_life"
            assert m.model.calls[-1] == "stop_delivery"


def test_action_runs_after_state_is_set():
    seen = []

    class M(Model):
        def start_delivery(self):
            seen.append(mach.state)

    mach = fsm.Machine(fsm.ROWS, "stopped", M())
    mach.fire("resume")
    assert seen == ["infusing"]


def test_triggers_lists_rows_from_state():
    m = machine(initial="infusing")
    t = m.triggers()
    assert "bolus_start" in t and "eos" in t and "refill_commit" in t
    assert "resume" not in t
    assert "bolus_end" in m.triggers("bolus")


def test_guard_order_first_true_wins():
    model = Model(programme=True)
    m = machine(model)
    m.fire("self_test_pass")
    # the unguarded fallback row is not consulted once the guarded row matched
    assert model.calls == ["?bolus_running", "?has_programme", "start_delivery"]


def test_boot_with_a_bolus_running_resumes_the_bolus():
    model = Model(programme=True, bolus=True)
    m = machine(model)
    assert m.fire("self_test_pass")
    assert m.state == "bolus"
    assert model.calls == ["?bolus_running", "start_delivery"]
