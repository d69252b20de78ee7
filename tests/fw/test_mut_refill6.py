"""Issue 8, round-6 mutation survivor in refill_stage: the discrepancy when 1 nL was expected.

Oracle: docs/protocol.md, refill_stage: `discrepancy_ppm` is discrepancy_nl / expected_nl in
parts per million, rounded down, and null only when nothing was expected (expected_nl 0);
`discrepancy_permille` is the same ratio in per mille. The figures below are that arithmetic
done by hand: 1 nL off 1 nL expected is 1 000 000 ppm, 1000 per mille.
"""
from pumpkit import make_pump, refill, cmd


def test_one_nl_expected_none_withdrawn_is_a_whole_reservoir_off():
    hal, ctl = make_pump()
    refill(ctl, 1, 500, withdrawn_nl=0)        # stopped pump, no programme: 1 nL stays 1 nL
    st = cmd(ctl, "refill_stage", withdrawn_nl=0, added_nl=1000)
    assert st["expected_nl"] == 1 and st["discrepancy_nl"] == 1
    assert st["discrepancy_ppm"] == 1000000 and st["discrepancy_permille"] == 1000
    assert st["discrepancy_flag"] is True
    st = cmd(ctl, "refill_stage", withdrawn_nl=1, added_nl=1000)
    assert (st["discrepancy_nl"], st["discrepancy_ppm"], st["discrepancy_permille"]) == (0, 0, 0)
    assert st["discrepancy_flag"] is False
    st = cmd(ctl, "refill_stage", withdrawn_nl=3, added_nl=1000)   # 2 nL off: 200 %
    assert (st["discrepancy_nl"], st["discrepancy_ppm"], st["discrepancy_permille"]) == (2, 2000000, 2000)
