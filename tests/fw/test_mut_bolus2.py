"""Issue 8: bolus behaviours of commands.py / clinical.py the mutation run found unchecked
(survivors of bolus, _start_bolus, _plan_peak_ng_day, check_bolus, programmed_day_max_ng;
docs/mutation/commands.md).

Oracles, all outside the code under test:
- the label: "Range: 22-1400mcg/day" (cerebral) and "12-2003mcg/day" are amounts per day, so the
  programmed day plus every bolus of the last 24 h may reach the maximum and not pass it;
- docs/protocol.md: `bolus` (kind single or prime, volume_nl 1..1200000, "absent: catheter_nl +
  the pump's pathway", refused with E_STATE while a refill bridge runs), `settings_set`
  (pb_dose_ng 0..500750), the error table (E_STATE "command not allowed in the pump's current
  state", E_BOLUS_RANGE "bolus dose or rate outside the model's limits", E_VOLUME), and
  `patient_bolus` ("refusals are logged");
- the model data sheet figures (pumpmodel: 24 mL/day maximum flow, 0.2 mL pathway, catheter
  default 0.15 mL) and the label's unit arithmetic done here in integers (exact; MicroPython has no fractions): nL = ng * 1000 / (mcg/mL),
  ng/day of a bolus = dose * 1440 / duration_min, a prime's drug = floor(nL * mcg/mL / 1000);
- the log's declared fields (eventlog.ARGS: bolus_refused = dose, reason 1 state / 2 rate /
  3 bridge; patient_bolus_refused reason 4 = pump not infusing).
Refusal texts nobody documents are asserted whole: each names the figures the test set up.
"""
from pumpkit import DAY, ready_pump, make_pump, cmd, raises, log_since, warp, refill, cont, commit

REQS = {
    "test_a_patient_bolus_refused_because_the_pump_is_not_infusing_changes_nothing": ["CORE-BOLUS-LIMIT"],
    "test_boluses_of_the_last_24_h_count_against_the_daily_maximum_to_the_second": ["BOLUS-PROFILE-MAX"],
    "test_a_patient_bolus_allowance_may_fill_a_day_with_no_programme": ["BOLUS-PROFILE-MAX"],
    "test_bolus_rate_limit_counts_every_periodic_bolus_on_top_of_the_peak_step": ["CORE-BOLUS-LIMIT"],
    "test_a_prime_replaces_the_basal_at_the_maximum_flow_for_the_documented_volume": ["CORE-BOLUS-LIMIT"],
}
ORACLES = {
    "test_a_patient_bolus_refused_because_the_pump_is_not_infusing_changes_nothing": "spec",
    "test_a_bolus_needs_the_pump_infusing_and_says_which_state_it_is_in": "spec",
    "test_boluses_of_the_last_24_h_count_against_the_daily_maximum_to_the_second": "label",
    "test_a_patient_bolus_allowance_may_fill_a_day_with_no_programme": "label",
    "test_bolus_rate_limit_counts_every_periodic_bolus_on_top_of_the_peak_step": "arithmetic",
    "test_a_prime_replaces_the_basal_at_the_maximum_flow_for_the_documented_volume": "arithmetic",
    "test_a_bolus_during_the_refill_bridge_names_the_bridge_end": "arithmetic",
    "test_a_bolus_larger_than_the_reservoir_names_both_volumes": "arithmetic",
}
FLOW_MAX_NL_DAY = 24000000      # model 20: 24 mL/day
PATHWAY_NL = 200000             # model 20: 0.2 mL
CATHETER_DEFAULT_NL = 150000    # settings default: 0.15 mL
CEREBRAL = {"indication": "cerebral", "age_group": "adult"}


def _log(ctl, seq):
    return [e[2:] for e in log_since(ctl, seq)]


def _therapy(ctl):
    """The persisted state minus what a logged refusal may move (log position, command count)."""
    snap = ctl.snapshot()
    for k in ("clock_offset_s", "comms", "log_seq"):
        snap.pop(k)
    return snap


def _pb_settings(ctl, dose_ng, max_24h=4, duration_min=10):
    cmd(ctl, "settings_set", pb_dose_ng=dose_ng, pb_max_24h=max_24h, pb_lockout_min=60,
        pb_duration_min=duration_min)


def test_a_patient_bolus_refused_because_the_pump_is_not_infusing_changes_nothing():
    """DEFECT (found by this review): patient_bolus had no state check. During a clinician bolus
    (state bolus) or while stopped it ran every check, added its override to the delivery ledger,
    set the bolus kind and counted the dose, and only then had the FSM refuse `bolus_start`:
    the reply said E_STATE, yet the pump delivered the patient bolus on top of the running one
    (100 + 2 400 + 14 400 mcg/day) - or after `resume` - and, never entered in the patient's
    count, it was not limited by the lockout or the 24-h maximum. A refusal changes nothing
    (protocol.md: refused commands; PumpError: "nothing changed on the pump") and is logged."""
    hal, ctl = ready_pump(cont(100000), conc=2000)
    _pb_settings(ctl, 100000)
    cmd(ctl, "bolus", dose_ng=100000, duration_min=60)          # 100 mcg over 1 h: 2 400 mcg/day
    assert cmd(ctl, "status")["rate_ng_day"] == 100000 + 100000 * 1440 // 60
    before = _therapy(ctl)
    seq = ctl.log.last_seq
    e = raises("E_STATE", cmd, ctl, "patient_bolus")
    assert e.detail == "a patient bolus needs the pump infusing (state bolus)", e.detail
    assert _log(ctl, seq) == [["patient_bolus_refused", 4, 0]]
    assert _therapy(ctl) == before
    st = cmd(ctl, "status")
    assert st["rate_ng_day"] == 100000 + 2400000 and st["bolus"] == "single", st
    cmd(ctl, "bolus_cancel")
    cmd(ctl, "stop")
    before = _therapy(ctl)
    e = raises("E_STATE", cmd, ctl, "patient_bolus")
    assert e.detail == "a patient bolus needs the pump infusing (state stopped)", e.detail
    assert _therapy(ctl) == before
    cmd(ctl, "resume")
    st = cmd(ctl, "status")
    assert st["rate_ng_day"] == 100000 and st["bolus"] is None, st     # nothing left to deliver
    res = cmd(ctl, "patient_bolus")                               # infusing: allowed, as before
    assert res["kind"] == "patient" and res["rate_ng_day"] == 100000 * 1440 // 10


def test_a_bolus_needs_the_pump_infusing_and_says_which_state_it_is_in():
    """E_STATE while stopped; the text names the state; bolus_refused logged as (0 ng, reason 1)."""
    hal, ctl = ready_pump(cont(100000), conc=2000)
    cmd(ctl, "stop")
    seq = ctl.log.last_seq
    e = raises("E_STATE", cmd, ctl, "bolus", dose_ng=1000, duration_min=10)
    assert e.detail == "a bolus needs the pump infusing (state stopped)", e.detail
    assert _log(ctl, seq) == [["bolus_refused", 0, 1]]


def test_boluses_of_the_last_24_h_count_against_the_daily_maximum_to_the_second():
    """Cerebral, 100 mcg/day programmed: 1 300 mcg of boluses fit in any 24 h. A clinician bolus
    of 500 mcg at t0 and a patient bolus of 300 mcg at t0 + 2 h both count at t0 + 4 h (500 mcg
    fits exactly, 500.001 mcg does not); at t0 + 24 h the t0 bolus is a day old and no longer
    counts (the last 24 h are (t - 24 h, t]), so 500 mcg fits again while 800 mcg still count."""
    hal, ctl = make_pump()
    refill(ctl, 20000000, 2000)
    cmd(ctl, "profile_set", profile=CEREBRAL)
    commit(ctl, cont(100000))
    _pb_settings(ctl, 300000)
    t0 = ctl.now_s()
    cmd(ctl, "bolus", dose_ng=500000, duration_min=60)
    warp(hal, ctl, 7200)
    assert cmd(ctl, "patient_bolus")["kind"] == "patient"
    warp(hal, ctl, 7200)
    e = raises("E_CLINICAL_LIMIT", cmd, ctl, "bolus", dose_ng=500001, duration_min=60)
    assert e.detail == ("bolus 500001 ng + 800000 ng of boluses in the last 24 h + programmed day 100000 ng "
                        "exceeds the 1400000 ng/day maximum"), e.detail
    assert 100000 + 500000 + 300000 + 500000 == 1400000
    cmd(ctl, "bolus", dose_ng=500000, duration_min=60)           # fills the day exactly
    warp(hal, ctl, t0 + DAY - ctl.now_s())
    assert ctl.now_s() == t0 + DAY and ctl.fsm.state == "infusing"
    e = raises("E_CLINICAL_LIMIT", cmd, ctl, "bolus", dose_ng=500001, duration_min=60)
    assert "+ 800000 ng of boluses in the last 24 h" in e.detail, e.detail
    assert cmd(ctl, "bolus", dose_ng=500000, duration_min=60)["dose_ng"] == 500000


def test_a_patient_bolus_allowance_may_fill_a_day_with_no_programme():
    """No programme yet, no profile (test build): the day is the pump-wide 2 003 mcg, and the
    documented largest allowance, 4 x 500.75 mcg, is exactly that: accepted."""
    hal, ctl = make_pump()
    assert 4 * 500750 == 2003000
    res = cmd(ctl, "settings_set", pb_dose_ng=500750, pb_max_24h=4)
    assert res["pb_dose_ng"] == 500750 and res["pb_max_24h"] == 4, res


def test_bolus_rate_limit_counts_every_periodic_bolus_on_top_of_the_peak_step():
    """500 mcg/mL, 100 mcg/day basal plus two periodic boluses (100 mcg in 60 min = 2 400 mcg/day,
    50 mcg in 60 min = 1 200 mcg/day): a clinician bolus must fit under 24 mL/day on top of
    100 + 2 400 + 1 200 mcg/day, i.e. at most 8 300 mcg/day = 830 mcg over 144 min. One ng more
    needs 24 000 020 nL/day: E_BOLUS_RANGE naming both flows, logged as (dose, reason 2)."""
    prog = {"mode": "continuous", "dose_ng_day": 100000, "boluses": [
        {"at_min": 0, "dose_ng": 100000, "duration_min": 60},
        {"at_min": 600, "dose_ng": 50000, "duration_min": 60}]}
    hal, ctl = ready_pump(prog, conc=500)
    base = 100000 + 100000 * 1440 // 60 + 50000 * 1440 // 60
    room = FLOW_MAX_NL_DAY * 500 // 1000 - base                      # ng/day under the flow maximum
    assert room == 8300000 and room * 144 % 1440 == 0
    dose = room * 144 // 1440                                        # 830 000 ng over 144 min
    seq = ctl.log.last_seq
    e = raises("E_BOLUS_RANGE", cmd, ctl, "bolus", dose_ng=dose + 1, duration_min=144)
    assert (base + (dose + 1) * 1440 // 144) * 1000 == 24000020 * 500      # exact nL/day
    assert e.detail == "needs 24000020 nL/day, above the 24000000 nL/day maximum", e.detail
    assert _log(ctl, seq) == [["bolus_refused", dose + 1, 2]]
    res = cmd(ctl, "bolus", dose_ng=dose, duration_min=144)
    assert res["rate_ng_day"] == room, res


def test_a_prime_replaces_the_basal_at_the_maximum_flow_for_the_documented_volume():
    """Default prime: catheter 0.15 mL + pathway 0.2 mL = 350 000 nL at 24 mL/day (1 260 s), the
    drug floor(350 000 * 500 / 1000) = 175 000 ng; while it runs the pump gives only the prime
    rate (12 000 mcg/day at 500 mcg/mL), not basal + prime. volume_nl is 1..1 200 000: 1 nL and
    1 200 000 nL prime, and 1 001 nL carries floor(500.5) = 500 ng (an integer)."""
    hal, ctl = ready_pump(cont(100000), conc=500)
    t = ctl.now_s()
    seq = ctl.log.last_seq
    vol = CATHETER_DEFAULT_NL + PATHWAY_NL
    dur = -(-vol * DAY // FLOW_MAX_NL_DAY)
    assert dur == 1260
    res = cmd(ctl, "bolus", kind="prime")
    assert res == {"kind": "prime", "dose_ng": 175000, "end_t_s": t + dur, "rate_ng_day": 12000000}, res
    assert _log(ctl, seq) == [["prime_start", vol, FLOW_MAX_NL_DAY]]
    st = cmd(ctl, "status")
    assert st["bolus"] == "prime" and st["rate_ng_day"] == 12000000, st
    for vol, ng in ((1001, 500), (1, 0), (1200000, 600000)):
        assert 0 <= vol * 500 - ng * 1000 < 1000                       # ng = floor(nL * 500 / 1000)
        warp(hal, ctl, 7200)
        res = cmd(ctl, "bolus", kind="prime", volume_nl=vol)
        assert res["dose_ng"] == ng and type(res["dose_ng"]) is int and res["kind"] == "prime", (vol, res)
    warp(hal, ctl, 7200)
    for vol in (0, 1200001):
        raises("E_BAD_ARGS", cmd, ctl, "bolus", kind="prime", volume_nl=vol)


def test_a_bolus_during_the_refill_bridge_names_the_bridge_end():
    """100 mcg/day at 2000 mcg/mL = 50 000 nL/day; a refill at 500 mcg/mL starts the bridge of
    catheter + pathway = 350 000 nL at that flow: 350 000 * 86 400 / 50 000 = 604 800 s. A bolus
    in it is refused naming t_refill + 604 800 (the bridge's end), logged (dose, reason 3)."""
    hal, ctl = ready_pump(cont(100000), conc=2000)
    warp(hal, ctl, 3600)
    t = ctl.now_s()
    refill(ctl, 10000000, 500)
    assert (CATHETER_DEFAULT_NL + PATHWAY_NL) * DAY == 604800 * (100000 * 1000 // 2000)
    seq = ctl.log.last_seq
    e = raises("E_STATE", cmd, ctl, "bolus", dose_ng=1000, duration_min=10)
    assert e.detail == ("refill bridge running until t_s %d: the catheter holds the previous strength; "
                        "bolus after it" % (t + 604800)), e.detail
    assert _log(ctl, seq) == [["bolus_refused", 1000, 3]]


def test_a_bolus_larger_than_the_reservoir_names_both_volumes():
    """0.1 mL of 2000 mcg/mL; with R nL left, a bolus of (R + 1) nL worth is refused naming both."""
    hal, ctl = ready_pump(cont(100000), fill_nl=100000, conc=2000)
    r = cmd(ctl, "status")["reservoir_nl"]
    e = raises("E_VOLUME", cmd, ctl, "bolus", dose_ng=(r + 1) * 2, duration_min=60)
    assert e.detail == "bolus needs %d nL, reservoir has %d" % (r + 1, r), e.detail
