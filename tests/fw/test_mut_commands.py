"""Issue 8 (mutation survivors in commands / commands_admin): reply keys, refusal texts and log
entries of hello, patient_bolus, bolus_cancel, alarms_list, log_read, profile_get, sim_warp.

Oracles: the reply examples and argument tables of docs/protocol.md (`hello`, `patient_bolus`,
`bolus_cancel`, `alarms_list`, `log_read` defaults first_seq 0 / max_n 24, `profile_get`,
`sim_warp` 1..316224000 s), the log's documented fields (eventlog.ARGS: patient_bolus_refused =
reason 0 off / 1 lockout / 2 max / 3 daily, then wait s / count / dose), and hand arithmetic:
a bolus rate is the dose spread over its duration rounded to the nearest ng/day
(1006 ng in 7 min = 206 948.57 -> 206 949 ng/day), on top of the programmed basal rate.
"""
import commands
from pumpkit import DAY, make_pump, ready_pump, cmd, raises, log_since, warp

CONT = {"mode": "continuous", "dose_ng_day": 1000000}


def test_hello_reports_identity_with_the_documented_keys():
    hal, ctl = make_pump(model=20)
    res = ctl.command("hello", {}, None)
    assert sorted(res) == ["build", "build_hash", "capacity_nl", "fw_version", "model", "protocol", "serial",
                           "stroke_nl"], res
    assert res["protocol"] == 1 and res["build"] == "test" and res["model"] == 20
    assert res["capacity_nl"] == 20000000 and res["stroke_nl"] == 250       # model 20: 20 mL, 0.25 uL stroke
    assert res["build_hash"] == "dev" and res["serial"] == ctl.serial and type(res["fw_version"]) is str
    # a built image carries build_info.BUILD_HASH (tools/mpy/build_firmware.py): hello reports it

    class Info:
        BUILD_HASH = "1a2b3c4-dirty"
    old = commands.build_info
    commands.build_info = Info
    try:
        assert ctl.command("hello", {}, None)["build_hash"] == "1a2b3c4-dirty"
    finally:
        commands.build_info = old


def _pb_pump(dose_ng=100000, dur_min=10, lockout_min=60, max_24h=2):
    hal, ctl = ready_pump(CONT)
    cmd(ctl, "settings_set", pb_dose_ng=dose_ng, pb_duration_min=dur_min, pb_lockout_min=lockout_min,
        pb_max_24h=max_24h)
    return hal, ctl


def _pb(ctl):
    return ctl.command("patient_bolus", {}, "patient")


def _last_log(ctl, seq):
    return [e[2:] for e in log_since(ctl, seq)]


def test_patient_bolus_disabled_refusal_text_and_log():
    hal, ctl = ready_pump(CONT)
    seq = ctl.log.last_seq
    e = raises("E_STATE", _pb, ctl)
    assert e.detail == "patient bolus not enabled by the clinician", e.detail
    assert _last_log(ctl, seq) == [["patient_bolus_refused", 0, 0]]
    # 1 ng is enabled ("0 disables patient boluses"): 1 ng over 1 min = 1440 ng/day
    cmd(ctl, "settings_set", pb_dose_ng=1, pb_duration_min=1, pb_max_24h=1)
    res = _pb(ctl)
    assert res["dose_ng"] == 1 and res["rate_ng_day"] == 1440


def test_patient_bolus_rate_kind_end_and_it_adds_to_the_basal():
    hal, ctl = _pb_pump(dose_ng=1006, dur_min=7)
    t = ctl.now_s()
    res = _pb(ctl)
    assert res == {"kind": "patient", "dose_ng": 1006, "end_t_s": t + 7 * 60, "rate_ng_day": 206949}, res
    st = cmd(ctl, "status")
    assert st["bolus"] == "patient" and st["rate_ng_day"] == 1000000 + 206949, st
    warp(hal, ctl, 7 * 60 - 1)
    assert cmd(ctl, "status")["bolus"] == "patient"
    warp(hal, ctl, 1)
    st = cmd(ctl, "status")
    assert st["bolus"] is None and st["rate_ng_day"] == 1000000, st


def test_patient_bolus_lockout_and_daily_count_texts_and_log():
    hal, ctl = _pb_pump(dose_ng=100000, dur_min=10, lockout_min=60, max_24h=2)
    _pb(ctl)
    warp(hal, ctl, 600)          # the bolus ran its 10 min; 50 min of the 60 min lockout left
    seq = ctl.log.last_seq
    e = raises("E_PATIENT_BOLUS_LOCKOUT", _pb, ctl)
    assert e.detail == "next allowed in 3000 s", e.detail
    assert _last_log(ctl, seq) == [["patient_bolus_refused", 1, 3000]]
    warp(hal, ctl, 3000)
    _pb(ctl)
    warp(hal, ctl, 3600)
    seq = ctl.log.last_seq
    e = raises("E_PATIENT_BOLUS_MAX", _pb, ctl)
    assert e.detail == "2 of 2 allowed in 24 h given", e.detail
    assert _last_log(ctl, seq) == [["patient_bolus_refused", 2, 2]]


def test_patient_bolus_over_the_daily_maximum_is_refused_and_logged_with_its_dose():
    # label "Range: 12-2003mcg/day": 1 000 000 programmed + 950 000 clinician bolus + 100 000 > 2 003 000 ng
    hal, ctl = _pb_pump(dose_ng=100000, dur_min=10, lockout_min=60, max_24h=4)
    cmd(ctl, "bolus", dose_ng=950000, duration_min=60)
    warp(hal, ctl, 3600)
    seq = ctl.log.last_seq
    raises("E_CLINICAL_LIMIT", _pb, ctl)
    assert _last_log(ctl, seq) == [["patient_bolus_refused", 3, 100000]]


def test_bolus_cancel_and_alarms_list_reply_keys():
    hal, ctl = ready_pump(CONT)
    cmd(ctl, "bolus", dose_ng=1000, duration_min=60)
    assert cmd(ctl, "bolus_cancel") == {"state": "infusing"}
    res = cmd(ctl, "alarms_list")
    assert sorted(res) == ["alarms", "silenced_until_t_s"] and res["alarms"] == [], res


def test_log_read_defaults_page_size_and_keys():
    hal, ctl = make_pump()
    for i in range(30):
        cmd(ctl, "settings_set", pb_max_24h=i % 3)
    last = ctl.log.last_seq
    assert last > 24
    res = cmd(ctl, "log_read")          # documented defaults: from seq 0 (the oldest), 24 entries
    assert sorted(res) == ["entries", "first_seq", "last_seq"], res
    assert res["first_seq"] == 1 and res["last_seq"] == last
    assert [e[0] for e in res["entries"]] == list(range(1, 25))
    assert [e[0] for e in cmd(ctl, "log_read", max_n=1)["entries"]] == [1]
    assert [e[0] for e in cmd(ctl, "log_read", first_seq=5, max_n=3)["entries"]] == [5, 6, 7]


def test_profile_get_history_keys():
    hal, ctl = make_pump()
    res = cmd(ctl, "profile_get")
    assert res == {"profile": {}, "history": {"initial_programme_t_s": None, "last_increase_t_s": None,
                                              "refill_t_s": None, "restore_ceiling_ng": 0}}, res


def test_sim_warp_moves_the_clock_and_the_rtc_and_reports_the_documented_keys():
    hal, ctl = make_pump()
    t = ctl.now_s()
    res = ctl.command("sim_warp", {"seconds": 1}, "service")
    assert res == {"t_s": t + 1, "state": ctl.fsm.state, "alarms": sorted(ctl.alarms.active),
                   "reservoir_nl": 0}, res
    ctl.command("sim_warp", {"seconds": DAY}, "service")
    assert cmd(ctl, "time_get")["t_s"] == t + 1 + DAY
    ctl.command("sim_warp", {"seconds": 3600}, "service")
    assert cmd(ctl, "time_get")["t_s"] == t + 1 + DAY + 3600
    # and the clock runs on from there (a warp moves the offset to real time, not just the last reading)
    hal.advance_s(100)
    assert cmd(ctl, "time_get")["t_s"] == t + 1 + DAY + 3600 + 100
    # the battery-backed RTC went along (issue 8, defect 10): a power cut keeps the warped time
    assert hal.rtc_s() == t + 1 + DAY + 3600 + 100


def test_sim_reset_sets_the_rtc_to_the_pump_clock_and_erases_every_other_file():
    """docs/protocol.md `sim_reset`: "The pump clock goes on from the RTC: the firmware writes the
    current pump time into it first"; the state, log and keys are erased, auth's boot counter kept
    (a file an older firmware left on flash goes too). The RTC here runs 5 s ahead of the pump's
    clock (a drifting crystal), so only the write makes the clock go on from the pump's time."""
    from test_factory_reset import in_use_pump, reset_and_reboot
    from hal_sim import SimHal
    from pumpkit import T0
    hal = SimHal(start_t_s=T0)
    rt, host = in_use_pump(hal)
    hal.flash.write("legacy.bin", b"left by an older firmware")
    auth_files = [n for n in hal.flash.names() if n[:5] == "auth."]
    assert auth_files
    hal.rtc_base_s += 5
    t_before = rt.ctl.now_s()
    rt2, evs = reset_and_reboot(hal, host, off_s=7)
    assert rt2.ctl.now_s() == t_before + 7 and evs[0]["t_s"] == t_before + 7, (rt2.ctl.now_s(), t_before)
    assert sorted(hal.flash.names()) == sorted(auth_files + ["events", "state.a"]), hal.flash.names()


def test_sim_reset_on_a_file_flash_erases_the_log_file():
    """The same reset on the file-backed flash (emulator, board littlefs): the log and the state
    slots are removed by name; nothing but the fresh boot's files and auth's counter is left."""
    from test_factory_reset import in_use_pump, reset_and_reboot
    from hal_sim import SimHal
    from flash import FileFlash
    from pumpkit import T0, tmpdir, rmtree
    d = tmpdir("mutreset")
    try:
        hal = SimHal(start_t_s=T0, flash=FileFlash(d))
        rt, host = in_use_pump(hal)
        rt2, evs = reset_and_reboot(hal, host, off_s=1)
        assert [n for n in hal.flash.names() if n[:5] != "auth."] == ["events", "state.a"], hal.flash.names()
        assert rt2.ctl.log.last_seq == 1 and rt2.ctl.programme is None
    finally:
        rmtree(d)


def test_log_read_shows_a_code_this_firmware_does_not_name_as_its_number():
    """A record whose code is not in this firmware's table (written by another firmware version on
    the same flash) is still listed, its code as the decimal number, its fields as stored."""
    hal, ctl = make_pump()
    seq = ctl.log.append(ctl.now_s(), 250, 7, 9)
    entries = cmd(ctl, "log_read", first_seq=seq)["entries"]
    assert entries == [[seq, ctl.now_s(), "250", 7, 9]], entries
