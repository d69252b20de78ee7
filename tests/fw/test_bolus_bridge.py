"""A bolus during a refill's bridge (issue 8; found through the surviving mutant
controller.end_bolus__mutmut_3, docs/mutation/core.md): ending the bolus cleared every override,
so it also ended the bridge, and a bridge ending under a running bolus ended the bolus.

Oracle: requirement BRIDGE ("a concentration change delivers the pathway volume at the old
strength's flow") with the refill reply's own bridge figures: 500 mcg/day at 2000 mcg/mL is
250000 nL/day; the new 1000 mcg/mL drug then reaches the tip after catheter 150000 + pathway
200000 nL = 350000 nL, i.e. 350000 / 250000 days = 120960 s at that flow. A bolus of 10 mcg at
1000 mcg/mL is 10000 nL (the label's ng * 1000 / (mcg/mL)); after the bridge the plan's
500 mcg/day needs 500000 nL/day at 1000 mcg/mL.
"""
from pumpkit import ready_pump, cmd, warp, log_since, DAY

REQS = {
    "test_a_bolus_ending_during_the_bridge_leaves_the_bridge_running": ["BRIDGE"],
    "test_the_bridge_ending_during_a_bolus_leaves_the_bolus_running": ["BRIDGE"],
}

CONT = {"mode": "continuous", "dose_ng_day": 500000}


def _bridged():
    hal, ctl = ready_pump(CONT, conc=2000)
    warp(hal, ctl, DAY)
    st = cmd(ctl, "refill_stage", withdrawn_nl=ctl.reservoir_nl(), added_nl=20000000, conc_ug_ml=1000)
    assert st["bridge"] == {"volume_nl": 350000, "flow_nl_day": 250000, "duration_s": 120960}
    cmd(ctl, "refill_commit", hash=st["hash"])
    return hal, ctl, ctl.t_s


def test_a_bolus_ending_during_the_bridge_leaves_the_bridge_running():
    hal, ctl, t_refill = _bridged()
    warp(hal, ctl, 600)
    seq = ctl.log.last_seq
    cmd(ctl, "bolus", dose_ng=10000, duration_min=10)
    warp(hal, ctl, 600 + 60)
    st = cmd(ctl, "status")
    assert (st["state"], st["bolus"], st["flow_nl_day"]) == ("infusing", "bridge", 250000)
    ends = [e for e in log_since(ctl, seq) if e[2] == "bolus_end"]
    assert [e[3:] for e in ends] == [[10000, 0]]                     # the bolus's volume only
    assert ctl.pushed[-1][:2] == ("bolus_finished", {"kind": "single"})
    warp(hal, ctl, t_refill + 120960 - ctl.t_s)
    assert ctl.pushed[-1][:2] == ("bolus_finished", {"kind": "bridge"})
    st = cmd(ctl, "status")
    assert (st["state"], st["bolus"], st["flow_nl_day"]) == ("infusing", None, 500000)


def test_the_bridge_ending_during_a_bolus_leaves_the_bolus_running():
    hal, ctl, t_refill = _bridged()
    warp(hal, ctl, 120960 - 600)
    seq = ctl.log.last_seq
    cmd(ctl, "bolus", dose_ng=60000, duration_min=60)                # 60000 nL over 3600 s
    warp(hal, ctl, 1200)                                              # the bridge has ended
    assert ctl.pushed[-1][:2] == ("bolus_finished", {"kind": "bridge"})
    st = cmd(ctl, "status")
    assert (st["state"], st["bolus"]) == ("bolus", "single")
    warp(hal, ctl, 2400)
    st = cmd(ctl, "status")
    assert (st["state"], st["bolus"], st["flow_nl_day"]) == ("infusing", None, 500000)
    ends = [e for e in log_since(ctl, seq) if e[2] == "bolus_end"]
    assert [e[3:] for e in ends] == [[60000, 0]]
