"""Issue 8, round 8: the clock a clinician sets survives a power cut (commands_admin.time_set
74, 78, 79: skipping the RTC update survived once the stateful machine's derandomised run no
longer happened to set the clock and then cut the power).

Oracle: the command's own argument, the host's time, plus the seconds that pass here; the
RTC is battery-backed, so a power cut does not stop it (docs/design.md, issue 8 defect 10)."""
from controller import Controller
from pumpkit import T0, cmd, make_pump

REQS = {"test_a_set_clock_survives_a_power_cut": ["SAFE-EMU-CLOCK"]}
ORACLES = {"test_a_set_clock_survives_a_power_cut": "arithmetic"}


def test_a_set_clock_survives_a_power_cut():
    hal, ctl = make_pump()
    new = T0 + 600          # within the drift correction's bound: no reason needed
    cmd(ctl, "time_set", t_s=new)
    assert hal.rtc_s() == new
    hal.advance_s(5)        # powered down for 5 s; the RTC keeps counting
    ctl2 = Controller(hal)
    ctl2.boot()
    assert ctl2.now_s() == new + 5
