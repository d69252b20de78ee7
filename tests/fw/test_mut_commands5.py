"""Mutation survivors of round 5 in commands.programme_stage, commands._take_staged and
commands.refill_commit: end of service refusing a stage, what a stage and a refill commit
reply, the hash that ties a commit to what was staged, and the texts of the two commit refusals.

Oracles: docs/protocol.md (`programme_stage` returns the normalised programme, its hash, the
forecast before and after; its example stages the night plan and replies hash
3686c28f94a30796 with the normalised form copied below; `programme_commit (wrong hash)` replies
"staged programme has hash 3686c28f94a30796"; `refill_commit` replies hash, reservoir_nl,
alarm_t_s, empty_t_s; E_NO_STAGED "nothing staged to commit", E_HASH_MISMATCH "commit hash
differs from the staged one; nothing changed"; a refusal names cause and fix), the default
low-reservoir threshold `low_res_nl` 2000000 nL (docs/protocol.md, settings_get), and
arithmetic done here: 100000 ng/day at 500 mcg/mL is 200000 nL/day, so 20 mL last 100 days
and reach the 2 mL alarm threshold after 90."""
from pumpkit import DAY, NIGHT, cmd, cont, make_pump, raises, refill, run_to_end_of_service, stage, warp

# docs/protocol.md, programme_stage example: the night plan normalised, and its hash.
NIGHT_NORM = {"boluses": [], "lead_min": 120, "mode": "flex", "steps": [
    {"day": -1, "dose_ng_day": 500000, "effect_min": 420, "shape": "ramp"},
    {"day": -1, "dose_ng_day": 600000, "effect_min": 1320, "shape": "ramp"}]}
NIGHT_HASH = "3686c28f94a30796"
FILL_NL = 20000000
ALARM_NL = 2000000      # low_res_nl default (docs/protocol.md)


def _filled(conc=500):
    hal, ctl = make_pump()
    refill(ctl, FILL_NL, conc)
    return hal, ctl


def test_end_of_service_refuses_a_stage_and_says_why():
    """At end of service a stage is refused with E_STATE naming end of service; nothing is staged."""
    hal, ctl = _filled()
    run_to_end_of_service(hal, ctl)
    e = raises("E_STATE", stage, ctl, cont(100000))
    assert e.detail == "end of service: the pump cannot be programmed", e.detail
    assert ctl.staged is None


def test_a_stage_replies_the_normalised_programme_and_the_documented_hash():
    """The docs' example: the night plan stages as NIGHT_NORM with hash 3686c28f94a30796."""
    hal, ctl = _filled(2000)
    st = stage(ctl, NIGHT)
    assert st["programme"] == NIGHT_NORM, st["programme"]
    assert st["hash"] == NIGHT_HASH, st["hash"]


def test_a_hash_names_what_was_staged_so_a_stale_one_commits_nothing():
    """A hash from an earlier, different stage is refused (E_HASH_MISMATCH, naming the staged
    hash) and changes nothing; the refill commit says the same for a refill."""
    hal, ctl = _filled()
    old = stage(ctl, cont(100000))
    new = stage(ctl, NIGHT)
    assert new["hash"] == NIGHT_HASH and old["hash"] != NIGHT_HASH, (old["hash"], new["hash"])
    e = raises("E_HASH_MISMATCH", cmd, ctl, "programme_commit", hash=old["hash"])
    assert e.detail == "staged programme has hash " + NIGHT_HASH, e.detail
    assert ctl.programme is None and ctl.daily_ng() == 0
    cmd(ctl, "programme_commit", hash=NIGHT_HASH)        # still staged: the refusal changed nothing
    assert ctl.programme == NIGHT_NORM

    warp(hal, ctl, DAY)
    rs = cmd(ctl, "refill_stage", added_nl=FILL_NL, withdrawn_nl=ctl.reservoir_nl())
    e = raises("E_HASH_MISMATCH", cmd, ctl, "refill_commit", hash="0000000000000000")
    assert e.detail == "staged refill has hash " + rs["hash"], e.detail


def test_a_commit_with_nothing_of_its_kind_staged_says_what_to_stage():
    """E_NO_STAGED names the stage to do first: with nothing staged, and with the other kind staged."""
    hal, ctl = _filled()
    e = raises("E_NO_STAGED", cmd, ctl, "programme_commit", hash=NIGHT_HASH)
    assert e.detail == "stage a programme first", e.detail
    e = raises("E_NO_STAGED", cmd, ctl, "refill_commit", hash=NIGHT_HASH)
    assert e.detail == "stage a refill first", e.detail
    stage(ctl, NIGHT)
    e = raises("E_NO_STAGED", cmd, ctl, "refill_commit", hash=NIGHT_HASH)
    assert e.detail == "stage a refill first", e.detail
    rs = cmd(ctl, "refill_stage", added_nl=FILL_NL, withdrawn_nl=ctl.reservoir_nl())
    e = raises("E_NO_STAGED", cmd, ctl, "programme_commit", hash=rs["hash"])
    assert e.detail == "stage a programme first", e.detail


def test_a_stage_forecasts_from_what_this_fill_has_already_delivered():
    """100000 ng/day at 500 mcg/mL from 20 mL: alarm after 90 days, empty after 100, counted
    from the commit. Staged again 10 days on, before and after still say those dates (the
    10 days delivered count against the fill)."""
    hal, ctl = _filled()
    t0 = ctl.t_s
    cmd(ctl, "programme_commit", hash=stage(ctl, cont(100000))["hash"])
    want = {"alarm_t_s": t0 + 90 * DAY, "empty_t_s": t0 + 100 * DAY}
    warp(hal, ctl, 10 * DAY)
    assert ctl.strokes_fill > 0
    st = stage(ctl, cont(100000))
    assert st["before"] == want, st["before"]
    assert st["after"] == want, st["after"]


def test_a_refill_commit_replies_its_hash_the_new_volume_and_the_new_dates():
    """Refilled 20 mL 10 days on, the same plan: the reply echoes the staged hash, holds 20 mL,
    and the alarm/empty dates move 10 days later (the same as status)."""
    hal, ctl = _filled()
    t0 = ctl.t_s
    cmd(ctl, "programme_commit", hash=stage(ctl, cont(100000))["hash"])
    warp(hal, ctl, 10 * DAY)
    rs = cmd(ctl, "refill_stage", added_nl=FILL_NL, withdrawn_nl=ctl.reservoir_nl())
    r = cmd(ctl, "refill_commit", hash=rs["hash"])
    want = {"hash": rs["hash"], "reservoir_nl": FILL_NL,
            "alarm_t_s": t0 + 100 * DAY, "empty_t_s": t0 + 110 * DAY}
    assert r == want, r
    s = cmd(ctl, "status")
    assert (s["alarm_t_s"], s["empty_t_s"]) == (want["alarm_t_s"], want["empty_t_s"])
