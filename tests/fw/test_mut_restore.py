"""Mutation survivors of round 4 in clinical.check_programme, clinical.on_commit and
commands.programme_commit: the refusal texts, the DL-HARD check a stage reports, what counts as
the day's increase, the restore memory's bound, and a commit that end of service overtook.

Oracles: the label's ranges ("Range: 22-1400mcg/day" cerebral, "12-2003mcg/day" spinal), its
"increase daily dose ... only once q24h", docs/protocol.md (a refusal names cause and fix and
changes nothing), docs/protocol.md's `restore` (up to the highest dose of the last 30 days, of
its last 32 commits: a RAM bound, clinical.HISTORY_MAX, pinned here on both sides)."""
import clinical
from pumpkit import DAY, cmd, commit, cont, make_pump, profiled_pump, raises, refill, run_to_end_of_service, stage, warp

SPINAL = {"indication": "spinal", "age_group": "adult"}
CEREBRAL = {"indication": "cerebral", "age_group": "adult"}


def test_the_clinical_build_names_the_missing_profile_and_the_fix():
    hal, ctl = make_pump(build="clinical")
    refill(ctl, 20000000, 500)
    e = raises("E_CLINICAL_LIMIT", stage, ctl, cont(100000))
    assert e.detail == "no patient profile on the pump: profile_set first", e.detail


def test_a_hard_range_refusal_says_the_daily_totals_and_the_labels_range():
    hal, ctl = make_pump()
    refill(ctl, 20000000, 100)
    cmd(ctl, "profile_set", profile=CEREBRAL)
    e = raises("E_CLINICAL_LIMIT", stage, ctl, cont(21999))
    assert e.detail == "daily total 21999..21999 ng outside the cerebral range 22000..1400000 ng/day", e.detail
    e = raises("E_CLINICAL_LIMIT", stage, ctl, cont(1400001), override_reason="r")
    assert e.detail == "daily total 1400001..1400001 ng outside the cerebral range 22000..1400000 ng/day", e.detail


def test_a_stage_reports_the_hard_range_it_checked():
    for prof, lo, hi in ((SPINAL, 12000, 2003000), (CEREBRAL, 22000, 1400000)):
        hal, ctl = make_pump()
        refill(ctl, 20000000, 500)
        cmd(ctl, "profile_set", profile=prof)
        checks = stage(ctl, cont(100000))["checks"]
        assert {"rule": "DL-HARD", "min_ng_day": lo, "max_ng_day": hi} in checks, checks


def test_recommitting_the_same_daily_dose_is_not_the_days_increase():
    hal, ctl = profiled_pump(SPINAL, 100000)
    warp(hal, ctl, DAY)
    commit(ctl, cont(100000))                     # the same dose again: no increase
    commit(ctl, cont(110000))                     # so +10 % is still allowed today
    assert ctl.daily_ng() == 110000


def test_a_restore_counts_as_the_days_increase_even_below_the_current_dose():
    """A restore (after an interruption, past the titration caps) uses up the day's one increase,
    whatever its size: here it is 1.7 % below the current dose, and +3 % is refused after it."""
    hal, ctl = profiled_pump(dict(SPINAL, phase="maintenance"), 400000)
    warp(hal, ctl, 2 * DAY)
    commit(ctl, cont(300000), override_reason="catheter repair: hold low")
    warp(hal, ctl, 2 * DAY)
    commit(ctl, cont(295000), restore=True, override_reason="restore prior dose")
    assert ctl.last_increase_t_s == ctl.t_s
    raises("E_TITRATION", stage, ctl, cont(304000))
    warp(hal, ctl, DAY)
    commit(ctl, cont(304000))


def test_the_restore_memory_holds_the_last_32_commits():
    """The high dose stays the restore ceiling through 31 later commits (32 entries with it),
    and is forgotten at the 32nd: the bound is clinical.HISTORY_MAX = 32, both sides."""
    hal, ctl = profiled_pump(dict(SPINAL, phase="maintenance"), 400000)
    if clinical.HISTORY_MAX != 32:
        raise AssertionError(clinical.HISTORY_MAX)
    warp(hal, ctl, 2 * DAY)
    for i in range(1, 32):                        # 31 small cuts (0.25 % each: no override needed)
        commit(ctl, cont(400000 - 1000 * i))
    ceiling = cmd(ctl, "profile_get")["history"]["restore_ceiling_ng"]
    assert ceiling == 400000, ceiling
    commit(ctl, cont(368000))
    ceiling = cmd(ctl, "profile_get")["history"]["restore_ceiling_ng"]
    assert ceiling == 399000, ceiling


def test_a_staged_programme_cannot_be_committed_after_end_of_service():
    """End of service overtakes a staged change: the commit is refused with the state named,
    and the programme stays as it was."""
    hal, ctl = profiled_pump(SPINAL, 100000)
    st = stage(ctl, cont(90000))
    run_to_end_of_service(hal, ctl)
    e = raises("E_STATE", cmd, ctl, "programme_commit", hash=st["hash"])
    assert e.detail == "cannot programme in state end_of_life", e.detail
    assert ctl.daily_ng() == 100000


def test_a_refill_is_refused_during_a_bolus_and_after_end_of_service():
    """docs/protocol.md refill_stage: refused with E_STATE while a bolus runs and after end of
    service; the refusal names the state and stages nothing."""
    hal, ctl = profiled_pump(SPINAL, 100000)
    cmd(ctl, "bolus", dose_ng=50000, duration_min=60)
    assert ctl.fsm.state == "bolus"
    e = raises("E_STATE", cmd, ctl, "refill_stage", added_nl=1000000, withdrawn_nl=ctl.reservoir_nl())
    assert e.detail == "refill not allowed in state bolus" and ctl.staged is None, e.detail
    run_to_end_of_service(hal, ctl)
    e = raises("E_STATE", cmd, ctl, "refill_stage", added_nl=1000000, withdrawn_nl=ctl.reservoir_nl())
    assert e.detail == "refill not allowed in state end_of_life" and ctl.staged is None, e.detail
