"""A reset during a bolus or a refill's bridge (issue 8: "make every safety promise hold under any
sequence of events"). Found from the surviving mutant delivery.next_override_end__mutmut_2: after
a reset mid-bolus the pump came back `infusing` with the bolus still running, so the rules that
hold "not during a bolus" did not: a second bolus was accepted on top of the first (1 450 000 nL/day
for a 250 000 nL/day basal), a refill was accepted with a bridge sized from the bolus's flow and
cut short when the bolus ended, and bolus_cancel was refused. A bridge that ended while the pump
was down left `bolus: "bridge"` behind, and every later bolus failed with an internal error.

Oracles: the state machine spec (tests/fw/fsm_spec.py: refill and a second bolus are refused
during a bolus; bolus_cancel ends it), docs/protocol.md (status `bolus`: the running bolus kind
or null; E_STATE for a command the state refuses), and the label's unit arithmetic done here:
500 mcg/day at 2000 mcg/mL is 250 000 nL/day; a 100 mcg bolus over 120 min is 1 200 000 ng/day
on top, i.e. 600 000 nL/day more; its drug, rate * duration / 86400, is 100 000 ng.
"""
from protocol import PumpError
from pumpkit import ready_pump, make_pump, cmd, warp, log_since, DAY

REQS = {
    "test_a_bolus_running_at_a_reset_resumes_as_a_bolus": ["SAFE-BOLUS-RESET"],
    "test_a_resumed_bolus_ends_on_time_and_logs_its_whole_dose": ["SAFE-BOLUS-RESET"],
    "test_a_bolus_or_bridge_that_ended_while_the_pump_was_down_is_over": ["SAFE-BOLUS-RESET"],
    "test_a_bridge_running_at_a_reset_goes_on_while_infusing": ["SAFE-BOLUS-RESET", "BRIDGE"],
}
ORACLES = {
    "test_a_bolus_running_at_a_reset_resumes_as_a_bolus": "spec",
    "test_a_resumed_bolus_ends_on_time_and_logs_its_whole_dose": "label",
    "test_a_bolus_or_bridge_that_ended_while_the_pump_was_down_is_over": "spec",
    "test_a_bridge_running_at_a_reset_goes_on_while_infusing": "label",
}

CONT = {"mode": "continuous", "dose_ng_day": 500000}
BASAL_NL_DAY = 250000            # 500 000 ng/day / 2000 mcg/mL
BOLUS_NL_DAY = 600000            # 100 000 ng over 7200 s = 1 200 000 ng/day / 2000 mcg/mL


def _reset(hal, off_s=0):
    """Power cut now, `off_s` seconds without power (the RTC runs on), then a boot on the same flash."""
    hal.advance_s(off_s)
    return make_pump(t0=hal.rtc_s(), flash=hal.flash)


def _bolus_then_reset(off_s=600):
    hal, ctl = ready_pump(CONT, conc=2000)
    warp(hal, ctl, DAY)
    t_bolus = ctl.t_s
    r = cmd(ctl, "bolus", dose_ng=100000, duration_min=120)
    assert r["end_t_s"] == t_bolus + 7200
    hal2, ctl2 = _reset(hal, off_s)
    return hal2, ctl2, t_bolus


def _refused(ctl, name, **args):
    try:
        cmd(ctl, name, **args)
    except PumpError as e:
        return e.code
    return None


def test_a_bolus_running_at_a_reset_resumes_as_a_bolus():
    hal, ctl, t_bolus = _bolus_then_reset()
    st = cmd(ctl, "status")
    assert (st["state"], st["bolus"], st["flow_nl_day"]) == ("bolus", "single", BASAL_NL_DAY + BOLUS_NL_DAY)
    # one bolus at a time, and no refill during one (fsm_spec)
    assert _refused(ctl, "bolus", dose_ng=100000, duration_min=120) == "E_STATE"
    assert _refused(ctl, "refill_stage", withdrawn_nl=ctl.reservoir_nl(), added_nl=20000000,
                    conc_ug_ml=1000) == "E_STATE"
    assert cmd(ctl, "status")["flow_nl_day"] == BASAL_NL_DAY + BOLUS_NL_DAY
    # the clinician can still cancel it
    assert cmd(ctl, "bolus_cancel") == {"state": "infusing"}
    st = cmd(ctl, "status")
    assert (st["state"], st["bolus"], st["flow_nl_day"]) == ("infusing", None, BASAL_NL_DAY)


def test_a_resumed_bolus_ends_on_time_and_logs_its_whole_dose():
    hal, ctl, t_bolus = _bolus_then_reset()
    seq = ctl.log.last_seq
    warp(hal, ctl, t_bolus + 7200 - ctl.t_s - 1)
    assert cmd(ctl, "status")["state"] == "bolus"
    warp(hal, ctl, 1)
    st = cmd(ctl, "status")
    assert (st["state"], st["bolus"], st["flow_nl_day"]) == ("infusing", None, BASAL_NL_DAY)
    ends = [e[3:] for e in log_since(ctl, seq) if e[2] == "bolus_end"]
    assert ends == [[100000 * 1000 // 2000, 0]]     # nL of the whole 100 mcg, not cancelled


def test_a_bolus_or_bridge_that_ended_while_the_pump_was_down_is_over():
    for off_s in (DAY, 7200):        # long after, and at the very second the bolus ends
        hal, ctl, t_bolus = _bolus_then_reset(off_s=off_s)
        assert ctl.t_s >= t_bolus + 7200
        st = cmd(ctl, "status")
        assert (st["state"], st["bolus"], st["flow_nl_day"]) == ("infusing", None, BASAL_NL_DAY), off_s
    # a bridge (2000 -> 1000 mcg/mL: 120 960 s, test_bolus_bridge.py) that ended while the pump was down
    hal, ctl = ready_pump(CONT, conc=2000)
    warp(hal, ctl, DAY)
    st = cmd(ctl, "refill_stage", withdrawn_nl=ctl.reservoir_nl(), added_nl=20000000, conc_ug_ml=1000)
    cmd(ctl, "refill_commit", hash=st["hash"])
    assert cmd(ctl, "status")["bolus"] == "bridge"
    hal, ctl = _reset(hal, 2 * DAY)
    st = cmd(ctl, "status")
    assert (st["state"], st["bolus"], st["flow_nl_day"]) == ("infusing", None, 500000)   # 500 mcg/day at 1000 mcg/mL
    assert cmd(ctl, "bolus", dose_ng=10000, duration_min=10)["kind"] == "single"


def test_a_bridge_running_at_a_reset_goes_on_while_infusing():
    """A refill's bridge is not a bolus: it runs while infusing (fsm_spec: refill_commit keeps
    infusing), so after a reset it goes on, still refusing boluses, and ends on time. Figures of
    test_bolus_bridge.py: 2000 -> 1000 mcg/mL at 500 mcg/day, a 120 960 s bridge at the old
    strength's 250 000 nL/day, then 500 000 nL/day (500 mcg/day at 1000 mcg/mL)."""
    hal, ctl = ready_pump(CONT, conc=2000)
    warp(hal, ctl, DAY)
    st = cmd(ctl, "refill_stage", withdrawn_nl=ctl.reservoir_nl(), added_nl=20000000, conc_ug_ml=1000)
    cmd(ctl, "refill_commit", hash=st["hash"])
    t_refill = ctl.t_s
    hal, ctl = _reset(hal, 3600)
    st = cmd(ctl, "status")
    assert (st["state"], st["bolus"], st["flow_nl_day"]) == ("infusing", "bridge", 250000)
    assert _refused(ctl, "bolus", dose_ng=10000, duration_min=10) == "E_STATE"
    warp(hal, ctl, t_refill + 120960 - ctl.t_s)
    st = cmd(ctl, "status")
    assert (st["state"], st["bolus"], st["flow_nl_day"]) == ("infusing", None, 500000)
