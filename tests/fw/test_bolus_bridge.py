"""A bolus during a refill's bridge (issue 8; found through the surviving mutant
controller.end_bolus__mutmut_3, docs/mutation/core.md): ending the bolus cleared every override,
so it also ended the bridge; and a bolus sized at the new strength pushed the catheter's old
strength. A bolus is now refused while the bridge runs, so the two never overlap.

Oracle: requirement BRIDGE ("a concentration change delivers the pathway volume at the old
strength's flow") with the refill reply's own bridge figures: 500 mcg/day at 2000 mcg/mL is
250000 nL/day; the new 1000 mcg/mL drug then reaches the tip after catheter 150000 + pathway
200000 nL = 350000 nL, i.e. 350000 / 250000 days = 120960 s at that flow. A bolus of 10 mcg at
1000 mcg/mL is 10000 nL (the label's ng * 1000 / (mcg/mL)); after the bridge the plan's
500 mcg/day needs 500000 nL/day at 1000 mcg/mL.
"""
from protocol import PumpError
from pumpkit import ready_pump, cmd, warp, log_since, DAY

REQS = {
    "test_no_bolus_while_the_bridge_delivers_the_previous_strength": ["BRIDGE"],
    "test_no_new_strength_while_the_bridge_delivers_the_previous_one": ["BRIDGE"],
}

CONT = {"mode": "continuous", "dose_ng_day": 500000}


def _bridged():
    hal, ctl = ready_pump(CONT, conc=2000)
    warp(hal, ctl, DAY)
    st = cmd(ctl, "refill_stage", withdrawn_nl=ctl.reservoir_nl(), added_nl=20000000, conc_ug_ml=1000)
    assert st["bridge"] == {"volume_nl": 350000, "flow_nl_day": 250000, "duration_s": 120960}
    cmd(ctl, "refill_commit", hash=st["hash"])
    return hal, ctl, ctl.t_s


def test_no_bolus_while_the_bridge_delivers_the_previous_strength():
    """A bolus is sized at the reservoir's strength, but during a bridge the catheter still holds
    the previous one: 10 mcg at 1000 mcg/mL is 10000 nL, which would push 10000 nL of the
    2000 mcg/mL drug = 20 mcg, twice the dose (and 40x from 2000 to 50 mcg/mL). So a clinician
    or patient bolus is refused (E_STATE) until the bridge ends, and the refusal is logged
    (bolus_refused reason 3); after the bridge the same bolus is accepted. Oracle: BRIDGE and the
    label's ng * 1000 / (mcg/mL) arithmetic above; the bridge's end from the refill reply."""
    hal, ctl, t_refill = _bridged()
    cmd(ctl, "settings_set", pb_dose_ng=5000, pb_duration_min=10, pb_lockout_min=60, pb_max_24h=4)
    seq = ctl.log.last_seq
    for name, args, role in (("bolus", {"dose_ng": 10000, "duration_min": 10}, "clinician"),
                             ("patient_bolus", {}, "patient")):
        try:
            ctl.command(name, args, role)
            raise AssertionError("%s accepted during the bridge" % name)
        except PumpError as e:
            assert e.code == "E_STATE" and "bridge" in e.detail, (e.code, e.detail)
    refusals = [e[3:] for e in log_since(ctl, seq) if e[2] == "bolus_refused"]
    assert refusals == [[10000, 3], [5000, 3]]
    st = cmd(ctl, "status")
    assert (st["state"], st["bolus"], st["flow_nl_day"]) == ("infusing", "bridge", 250000)
    warp(hal, ctl, t_refill + 120960 - ctl.t_s)
    assert cmd(ctl, "bolus", dose_ng=10000, duration_min=10)["kind"] == "single"


def test_no_new_strength_while_the_bridge_delivers_the_previous_one():
    """A second refill with another strength during a bridge would start a second replacing
    override on top of the first: 2000 -> 1000 -> 500 mcg/mL gave 250 000 + 125 000 ng/day,
    i.e. 750 000 nL/day at 500 mcg/mL, three times the 250 000 nL/day the catheter's volume flow
    is (BRIDGE: the pathway is delivered at the old strength's flow), and the first bridge's end
    cleared both. So a new strength is refused (E_STATE) until the bridge ends; a refill of the
    same strength is not a change of strength and is accepted; after the bridge the new
    strength is accepted. Oracle: BRIDGE and the bridge figures of the refill reply."""
    hal, ctl, t_refill = _bridged()
    warp(hal, ctl, 3600)
    try:
        cmd(ctl, "refill_stage", withdrawn_nl=ctl.reservoir_nl(), added_nl=20000000, conc_ug_ml=500)
        raise AssertionError("a new strength was staged during the bridge")
    except PumpError as e:
        # the refusal names the cause, until when, and the fix (the text is a change detector)
        assert (e.code, e.detail) == ("E_STATE", "refill bridge running until t_s %d: the catheter holds the "
                                      "previous strength; a new strength after it" % (t_refill + 120960))
    st = cmd(ctl, "refill_stage", withdrawn_nl=ctl.reservoir_nl(), added_nl=20000000, conc_ug_ml=1000)
    assert st["bridge"] is None
    cmd(ctl, "refill_commit", hash=st["hash"])
    assert cmd(ctl, "status")["flow_nl_day"] == 250000          # the bridge goes on
    warp(hal, ctl, t_refill + 120960 - ctl.t_s)
    assert cmd(ctl, "status")["flow_nl_day"] == 500000          # 500 mcg/day at 1000 mcg/mL
    st = cmd(ctl, "refill_stage", withdrawn_nl=ctl.reservoir_nl(), added_nl=20000000, conc_ug_ml=500)
    assert st["bridge"] is not None
