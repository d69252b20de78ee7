"""The pump's own log carries what a session report needs (issue 11: "what changed this session
(old vs new programme, refills, boluses) from the pump's own log"; "the last refill (expected vs
withdrawn, discrepancy)").

Expected values come from the test's own inputs and the label arithmetic: the reservoir the pump
expects after 10 days at 1000 mcg/day of 2000 mcg/mL is 20 mL - 10 x 0.5 mL = 15 mL (rounded to
whole 250 nL strokes), the withdrawn volume is what the test sends; the night ramp's highest step
is 600 mcg/day (pumpkit.NIGHT), the continuous one's 1000 mcg/day.
"""
import eventlog
from pumpkit import make_pump, cmd, log_since, refill, programme, warp, NIGHT, DAY
from hal_sim import SimHal
from controller import Controller

REQS = {
    "test_refill_commit_logs_expected_and_withdrawn": ["RPTLOG-REFILL-CHECK"],
    "test_refill_check_survives_reboot_and_agrees_with_the_state": ["RPTLOG-REFILL-CHECK"],
    "test_programme_commit_logs_old_and_new_peak_step": ["RPTLOG-PROGRAMME-PEAK"],
    "test_a_cut_before_the_state_save_drops_the_check_with_the_refill": ["RPTLOG-REFILL-CHECK"],
}

CONT = {"mode": "continuous", "dose_ng_day": 1000000}


def _since(ctl, seq):
    return [(e[2], e[3], e[4]) for e in log_since(ctl, seq)]


def test_codes_are_appended_not_renumbered():
    # Released numbers never change (eventlog.CODES): the new codes come after alarm_test (28).
    assert eventlog.CODES["alarm_test"] == 28
    assert eventlog.CODES["refill_check"] == 29
    assert eventlog.CODES["programme_peak"] == 30
    assert eventlog.ARGS["refill_check"] == ("expected_nl", "withdrawn_nl")
    assert eventlog.ARGS["programme_peak"] == ("old_peak_ng_day", "new_peak_ng_day")


def test_refill_commit_logs_expected_and_withdrawn():
    hal, ctl = make_pump()
    seq = ctl.log.last_seq
    refill(ctl, 20000000, 2000, withdrawn_nl=0)          # first fill: nothing expected, nothing withdrawn
    assert _since(ctl, seq) == [("refill_check", 0, 0), ("refill", 20000000, 2000)]
    programme(ctl, CONT)
    warp(hal, ctl, 10 * DAY)
    expected = 15000000
    assert abs(ctl.reservoir_nl() - expected) < 250
    expected = ctl.reservoir_nl()
    seq = ctl.log.last_seq
    st = refill(ctl, 20000000, 2000, withdrawn_nl=13000000)
    assert st["expected_nl"] == expected
    got = _since(ctl, seq)
    assert ("refill_check", expected, 13000000) in got
    # The check is logged just before the fill it admitted.
    names = [g[0] for g in got]
    assert names.index("refill_check") + 1 == names.index("refill")
    # A refused refill (overfill) is not a check that admitted a fill.
    seq = ctl.log.last_seq
    try:
        cmd(ctl, "refill_stage", withdrawn_nl=0, added_nl=20000001)
    except Exception as e:
        if type(e).__name__ != "PumpError":
            raise
    assert [g[0] for g in _since(ctl, seq)] == ["fill_rejected"]
    # Staged but never committed: nothing logged.
    seq = ctl.log.last_seq
    cmd(ctl, "refill_stage", withdrawn_nl=100, added_nl=100)
    assert _since(ctl, seq) == []


def test_refill_check_survives_reboot_and_agrees_with_the_state():
    hal, ctl = make_pump()
    refill(ctl, 20000000, 2000, withdrawn_nl=0)
    programme(ctl, CONT)
    warp(hal, ctl, 5 * DAY)
    expected = ctl.reservoir_nl()
    refill(ctl, 18000000, 2000, withdrawn_nl=expected - 500000)
    hal2 = SimHal(start_t_s=ctl.t_s + 60, flash=hal.flash)
    ctl2 = Controller(hal2)
    ctl2.boot()
    got = _since(ctl2, 0)
    checks = [g for g in got if g[0] == "refill_check"]
    assert checks[-1] == ("refill_check", expected, expected - 500000)
    fills = [g for g in got if g[0] == "refill"]
    assert fills[-1][1] == ctl2.fill_nl == 18000000


def test_programme_commit_logs_old_and_new_peak_step():
    hal, ctl = make_pump()
    refill(ctl, 20000000, 2000)
    seq = ctl.log.last_seq
    programme(ctl, CONT)
    assert ("programme_peak", 0, 1000000) in _since(ctl, seq)      # no programme before
    seq = ctl.log.last_seq
    programme(ctl, NIGHT)
    got = _since(ctl, seq)
    assert ("programme_peak", 1000000, 600000) in got
    names = [g[0] for g in got]
    assert names.index("programme") + 1 == names.index("programme_peak")
    # Staged, not committed: nothing logged.
    seq = ctl.log.last_seq
    cmd(ctl, "programme_stage", programme=CONT)
    assert _since(ctl, seq) == []


def test_a_cut_before_the_state_save_drops_the_check_with_the_refill():
    """Power lost after the handler logged but before the state save (the commit point): the next boot
    discards refill_check together with refill, so the log never shows a check for a fill that did not
    happen (issue 8, defect 3)."""
    import commands
    hal, ctl = make_pump()
    refill(ctl, 20000000, 2000, withdrawn_nl=0)
    programme(ctl, CONT)
    warp(hal, ctl, 5 * DAY)
    seq = ctl.log.last_seq
    st = cmd(ctl, "refill_stage", withdrawn_nl=1000, added_nl=5000000)
    commands.refill_commit(ctl, {"hash": st["hash"]}, ctl.now_s())   # handler ran; the save never did
    # read the ring directly: a log_read command would advance the pump, and advancing saves
    assert [eventlog.NAMES[r[2]] for r in ctl.log.read(seq + 1, 10)] == ["refill_check", "refill"]
    hal2 = SimHal(start_t_s=ctl.t_s + 60, flash=hal.flash)
    ctl2 = Controller(hal2)
    ctl2.boot()
    names = [g[0] for g in _since(ctl2, seq)]
    assert "refill_check" not in names and "refill" not in names, names
    assert ctl2.fill_nl == 20000000
