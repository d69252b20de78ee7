"""pumpctl on user mistakes (issue 10, defects 3, 5, 10): an error naming cause and fix, the documented
exit code, never a traceback. Expected codes come from docs/pumpctl.md's exit-code table."""
import json
import socket

import pytest

from cli_helpers import Pump, run
from pumpctl.cli import main as cli


@pytest.fixture
def pump(tmp_path):
    p = Pump(tmp_path, via="tcp", no_pty=True)
    yield p
    p.stop()


def _no_traceback(r):
    assert "Traceback" not in r.out + r.err, r


@pytest.mark.req("PUMPCTL-NO-TRACEBACK")
def test_plot_into_missing_directory_is_a_usage_error(pump, tmp_path):
    pump.ok("provision")
    pump.ok("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--yes")
    from cli_helpers import NIGHT_RAMP

    pump.ok("programme", NIGHT_RAMP, "--yes")
    r = pump.run("plot", "-o", str(tmp_path / "nonexistent" / "x.png"))
    _no_traceback(r)
    assert r.rc == cli.EXIT_USAGE and "nonexistent" in r.err and "fix:" in r.err


@pytest.mark.req("PUMPCTL-NO-TRACEBACK")
def test_emulate_on_a_port_in_use_says_so():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        r = run(["emulate", "--no-pty", "--port", str(s.getsockname()[1])])
    finally:
        s.close()
    _no_traceback(r)
    assert r.rc == cli.EXIT_PORT and "in use" in r.err and "--port 0" in r.err


@pytest.mark.req("PUMPCTL-NO-TRACEBACK")
def test_emulate_serving_nothing_is_refused():
    r = run(["emulate", "--no-pty", "--no-tcp"])
    assert r.rc == cli.EXIT_USAGE and "nothing" in r.err


@pytest.mark.req("PUMPCTL-NO-TRACEBACK")
@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "soon"])
def test_timeout_must_be_a_positive_number(value):
    r = run(["--port", "loop://", "--timeout", value, "status"])
    _no_traceback(r)
    assert r.rc == cli.EXIT_USAGE and "--timeout" in r.err


def test_timeout_positive_boundary_accepted(pump):
    """0.5 s is accepted (the refused side is the test above)."""
    pump.ok("--timeout", "0.5", "info")


@pytest.mark.req("PUMPCTL-NO-TRACEBACK")
def test_unresolvable_host_is_not_blamed_on_the_cable():
    r = run(["--port", "socket://nohost.invalid:7700", "--timeout", "1", "status"])
    _no_traceback(r)
    assert r.rc == cli.EXIT_PORT and "cable" not in r.err and "nohost.invalid" in r.err
    assert "host name" in r.err


@pytest.mark.req("PUMPCTL-NO-TRACEBACK")
def test_unknown_url_scheme_is_a_usage_error():
    r = run(["--port", "bogus://x", "status"])
    _no_traceback(r)
    assert r.rc == cli.EXIT_USAGE and "bogus" in r.err and "socket://" in r.err


@pytest.mark.req("PUMPCTL-NO-TRACEBACK")
@pytest.mark.parametrize("argv", [["log", "--last", "-3"], ["log", "--last", "0"], ["log", "--first", "-1"]])
def test_log_counts_must_be_positive(argv):
    r = run(["--port", "loop://"] + argv)
    assert r.rc == cli.EXIT_USAGE and argv[1] in r.err


def test_log_last_one_accepted(pump):
    pump.ok("provision")
    out = json.loads(pump.ok("log", "--last", "1", "--json").out)
    assert len(out["entries"]) == 1


@pytest.mark.req("PUMPCTL-NO-TRACEBACK")
def test_alarms_clear_unknown_name_refused(pump):
    pump.ok("provision")
    r = pump.run("alarms", "clear", "bogus_alarm")
    assert r.rc == cli.EXIT_USAGE and "bogus_alarm" in r.err and "low_reservoir" in r.err


def test_alarms_clear_known_name_accepted(pump):
    pump.ok("provision")
    pump.ok("alarms", "clear", "low_reservoir")


@pytest.mark.req("PUMPCTL-NO-TRACEBACK")
@pytest.mark.parametrize("flags", [["--prime", "--patient"], ["--patient", "--cancel"], ["--prime", "--cancel"],
                                   ["--dose-mcg", "5", "--cancel"], ["--dose-mcg", "5", "--prime"]])
def test_bolus_kinds_are_mutually_exclusive(flags):
    r = run(["--port", "loop://", "bolus"] + flags)
    assert r.rc == cli.EXIT_USAGE and "not allowed with" in r.err


@pytest.mark.req("PUMPCTL-GLOBAL-OPTS")
def test_global_options_after_a_nested_verb(pump):
    pump.ok("provision")
    r = run(["sim", "warp", "1h", "--port", pump.url, "--keys", pump.keys, "--timeout", "5"])
    assert r.rc == 0, r
    r = run(["sim", "fault", "motor_stall", "--port", pump.url, "--keys", pump.keys])
    assert r.rc == 0, r


@pytest.mark.req("PUMPCTL-REFILL-SAFE")
def test_refill_adding_nothing_is_refused_without_explicit_flag(pump):
    pump.ok("provision")
    r = pump.run("refill", "--withdrawn-ml", "0", "--added-ml", "0", "--yes")
    assert r.rc == cli.EXIT_USAGE and "stops" in r.err and "--empty-reservoir" in r.err
    assert json.loads(pump.ok("log", "--json").out)["entries"][-1]["event"] != "refill"


def test_refill_adding_nothing_with_explicit_flag_is_allowed(pump):
    pump.ok("provision")
    pump.ok("refill", "--withdrawn-ml", "0", "--added-ml", "0", "--empty-reservoir", "--yes")


@pytest.mark.req("PUMPCTL-REFILL-SAFE")
def test_refill_dry_run_commits_nothing(pump):
    pump.ok("provision")
    r = pump.ok("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--dry-run")
    assert "not committed" in r.out
    assert json.loads(pump.ok("status", "--json").out)["reservoir_nl"] == 0


@pytest.mark.req("PUMPCTL-REFILL-SAFE")
def test_refill_discrepancy_warning_has_one_percent_sign(pump):
    from cli_helpers import NIGHT_RAMP

    pump.ok("provision")
    pump.ok("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--yes")
    pump.ok("programme", NIGHT_RAMP, "--yes")
    pump.ok("sim", "warp", "10d")
    r = pump.ok("refill", "--withdrawn-ml", "5", "--added-ml", "10", "--yes")
    assert "14.5 %" in r.err and "%%" not in r.err + r.out


@pytest.mark.req("PUMPCTL-JSON")
def test_refill_json_without_yes_prints_no_human_table(pump):
    pump.ok("provision")
    r = pump.run("refill", "--withdrawn-ml", "0", "--added-ml", "20", "--conc", "2000", "--json")
    assert r.rc == cli.EXIT_NOT_CONFIRMED
    assert "reservoir (expected)" not in r.out + r.err
    assert json.loads(r.out)["error"]["exit_code"] == cli.EXIT_NOT_CONFIRMED


@pytest.mark.req("PUMPCTL-JSON")
def test_json_times_also_in_iso_8601(pump):
    """Expected ISO text from datetime arithmetic on the documented pump epoch 2024-01-01T00:00:00Z."""
    import datetime

    pump.ok("provision")
    st = json.loads(pump.ok("status", "--json").out)
    want = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=st["t_s"])
    assert st["iso"] == want.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "empty_iso" in st and ("eos_iso" in st) == ("eos_t_s" in st)


@pytest.mark.req("PUMPCTL-JSON")
def test_json_errors_are_json_on_stdout(pump, tmp_path):
    r = pump.run("stop", "--yes", "--json")  # no clinician key yet
    err = json.loads(r.out)["error"]
    assert r.rc == 6 and err["exit_code"] == 6 and err["code"] == "PUMPCTL_AUTH" and "provision" in err["fix"]
    pump.ok("provision")
    r = pump.run("refill", "--withdrawn-ml", "0", "--added-ml", "25", "--yes", "--json")
    err = json.loads(r.out)["error"]
    assert r.rc == 7 and err["code"] == "E_OVERFILL" and err["fix"]
    r = run(["--port", "loop://", "log", "--last", "-3", "--json"])
    err = json.loads(r.out)["error"]
    assert r.rc == 2 and err["code"] == "PUMPCTL_USAGE" and "--last" in err["message"]


@pytest.mark.req("PUMPCTL-ERROR-FIX")
def test_every_pump_error_code_has_a_fix_line():
    """The list of codes comes from the firmware's protocol.ERRORS, not from the tool."""
    import protocol
    from pumpctl.link.client import PumpReplyError

    missing = [c for c in protocol.ERRORS if not PumpReplyError(c, protocol.ERRORS[c][0], "x").fix]
    assert missing == []
