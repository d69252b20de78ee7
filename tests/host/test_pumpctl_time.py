"""`pumpctl time sync` once the pump clock is more than 900 s off (the firmware's bound, argspec
MAX_CLOCK_STEP_S; issue 8 defect 5): the tool refuses before sending, names the drift and `--reason`;
with a reason the pump takes the correction and logs it. Expected values come from the warp this test
applies (1 h), not from the code under test; the accepted side of the bound is the first sync."""
import json

import pytest

from cli_helpers import Pump


@pytest.fixture
def pump(tmp_path):
    p = Pump(tmp_path, via="tcp", no_pty=True)
    p.ok("provision")
    p.ok("time", "sync")          # first setting of a never-set clock: no reason needed
    yield p
    p.stop()


@pytest.mark.req("PUMPCTL-TIME-REASON")
def test_small_drift_syncs_without_a_reason(pump):
    r = pump.ok("time", "sync", "--json")
    assert abs(json.loads(r.out)["drift_s"]) <= 5


@pytest.mark.req("PUMPCTL-TIME-REASON")
def test_large_drift_needs_a_reason_and_is_logged(pump):
    pump.ok("sim", "warp", "1h")                      # pump now ~3600 s ahead of this computer
    r = pump.run("time", "sync")
    assert r.rc == 7, r
    assert "--reason" in r.err and "+36" in r.err and "Traceback" not in r.err
    r = pump.ok("time", "sync", "--reason", "clock drifted after service warp", "--json")
    assert 3590 <= json.loads(r.out)["drift_s"] <= 3610
    log = pump.ok("log", "--last", "5").out
    assert "time_set" in log
