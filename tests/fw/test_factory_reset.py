"""Test-build factory reset (sim_reset): state, event log and keys erased, firmware rebooted, clock kept.

Driven through the link like a host would (PumpRuntime.feed), with the reboot done the way the
emulator's supervisor and the board's main.py do it after a PowerLoss: a new runtime on the same
HAL (same flash, same RTC)."""
import auth
import protocol
from compat import hexlify
from flash import PowerLoss
from hal_sim import SimHal
from runtime import PumpRuntime
from pumpkit import T0, DAY, cmd, refill, programme

SERIAL = "SIM00001"
KC = b"C" * 32


class RtcHal(SimHal):
    """A SimHal whose RTC the firmware can set (as PicoHal.set_rtc_s on the board)."""

    def set_rtc_s(self, t_s):
        self.rtc_base_s = t_s - self.mono_s


class Host:
    """Minimal link client: frames in, decoded replies/events out; signs with the session key."""

    def __init__(self, rt):
        self.rt = rt
        self.id = 0
        self.skey = None
        self.sq = 0
        self.events = []

    def send(self, cmd_name, args=None, sign=True):
        self.id += 1
        f = {"id": self.id, "cmd": cmd_name, "args": args or {}}
        if sign and self.skey is not None and cmd_name not in ("auth_begin", "auth"):
            self.sq += 1
            f["sq"] = self.sq
            f = auth.sign(self.skey, f)
        reply = None
        for item in protocol.Decoder().feed(self.rt.feed(protocol.encode(f))):
            if "ev" in item:
                self.events.append(item)
            else:
                reply = item
        return reply

    def ok(self, cmd_name, args=None):
        r = self.send(cmd_name, args)
        if not r["ok"]:
            raise AssertionError("%s refused: %r" % (cmd_name, r["err"]))
        return r["res"]

    def login(self, role, key):
        self.skey = None
        r = self.send("auth_begin", {"role": role}, sign=False)
        if not r["ok"]:
            return r
        nonce = r["res"]["nonce"]
        r = self.send("auth", {"role": role, "mac": hexlify(auth.login_mac(key, nonce, role))}, sign=False)
        if r["ok"]:
            self.skey = auth.session_key(key, nonce)
            self.sq = 0
        return r


def boot(hal, build="test"):
    rt = PumpRuntime(hal, serial=SERIAL, build=build)
    evs = protocol.Decoder().feed(rt.boot())
    return rt, evs


def in_use_pump(hal):
    """Booted, keys provisioned, filled, programmed, an hour of delivery: far from factory state."""
    rt, _ = boot(hal)
    host = Host(rt)
    assert host.login("service", auth.dev_service_key(SERIAL))["ok"]
    host.ok("provision", {"keys": {"clinician": hexlify(KC)}})
    refill(rt.ctl, 20000000, 2000)
    programme(rt.ctl, {"mode": "continuous", "dose_ng_day": 1000000})
    cmd(rt.ctl, "settings_set", low_res_nl=3000000)
    hal.advance_s(3600)
    rt.tick()
    assert host.login("service", auth.dev_service_key(SERIAL))["ok"]   # the idle session expired
    return rt, host


def reset_and_reboot(hal, host, off_s=7):
    """sim_reset: the pump answers, refuses anything else, reboots on its next tick (PowerLoss);
    then boots again `off_s` later."""
    assert host.ok("sim_reset") == {"rebooting": True}
    assert host.send("status")["err"]["code"] == "E_STATE"
    try:
        host.rt.tick()
        raise AssertionError("the tick after sim_reset did not reboot")
    except PowerLoss:
        pass
    hal.advance_s(off_s)
    return boot(hal)


def test_sim_reset_erases_state_log_and_keys_and_keeps_the_clock():
    hal = SimHal(start_t_s=T0)
    rt, host = in_use_pump(hal)
    assert rt.ctl.log.last_seq > 3 and rt.ctl.programme is not None
    t_before = rt.ctl.now_s()
    rt2, evs = reset_and_reboot(hal, host, off_s=7)
    # nothing of the old pump is left on flash but what the fresh boot wrote, and auth's boot
    # number (a monotonic counter: challenges never repeat, issue 8 defect 2)
    assert [n for n in sorted(hal.flash.names()) if n[:5] != "auth."] == ["events", "state.a"], hal.flash.names()
    # the first pushed event after the reboot is boot, as after a factory-fresh first boot
    assert evs[0]["ev"] == "boot" and evs[0]["seq"] == 1 and evs[0]["d"]["unclean"] is False, evs
    ctl = rt2.ctl
    fresh_rt, fresh_evs = boot(SimHal(start_t_s=T0))
    assert evs[0]["d"]["state"] == fresh_evs[0]["d"]["state"]
    assert ctl.fsm.state == fresh_rt.ctl.fsm.state
    assert ctl.programme is None and ctl.fill_nl == 0 and ctl.strokes_total == 0
    assert ctl.settings == fresh_rt.ctl.settings and not ctl.alarms.active
    # event log: only the new boot entry
    entries = ctl.log.read(0, 24)
    assert [e[0] for e in entries] == [1] and entries[0][2] == 4, entries   # eventlog.CODES["boot"]
    # keys: back to the test build's dev service key only
    assert ctl.keyring.roles() == ["service"]
    host2 = Host(rt2)
    r = host2.login("clinician", KC)
    assert not r["ok"] and r["err"]["code"] == "E_AUTH_NO_KEY", r
    assert host2.login("service", auth.dev_service_key(SERIAL))["ok"]
    # the clock kept running through the reset (RTC), and the battery model restarts from it
    now = host2.ok("time_get")["t_s"]
    assert now == t_before + 7, (now, t_before)
    assert ctl.implant_t_s == t_before + 7


def test_sim_reset_keeps_a_warped_or_set_clock_through_an_rtc_the_firmware_sets():
    hal = RtcHal(start_t_s=T0)
    rt, host = in_use_pump(hal)
    host.ok("sim_warp", {"seconds": 10 * DAY})
    host.ok("time_set", {"t_s": rt.ctl.now_s() + 1234})
    t_before = rt.ctl.now_s()
    rt2, evs = reset_and_reboot(hal, host, off_s=3)
    assert evs[0]["ev"] == "boot" and evs[0]["t_s"] == t_before + 3
    assert rt2.ctl.now_s() == t_before + 3
    assert rt2.ctl.programme is None and rt2.ctl.keyring.roles() == ["service"]


def test_pump_can_be_used_again_after_sim_reset():
    hal = SimHal(start_t_s=T0)
    rt, host = in_use_pump(hal)
    rt2, _ = reset_and_reboot(hal, host)
    host2 = Host(rt2)
    assert host2.login("service", auth.dev_service_key(SERIAL))["ok"]
    host2.ok("provision", {"keys": {"clinician": hexlify(KC)}})
    assert host2.login("clinician", KC)["ok"]
    refill(rt2.ctl, 20000000, 2000)
    programme(rt2.ctl, {"mode": "continuous", "dose_ng_day": 500000})
    assert rt2.ctl.fsm.state == "infusing"
    # and a second reset works the same
    assert host2.login("service", auth.dev_service_key(SERIAL))["ok"]
    rt3, evs = reset_and_reboot(hal, host2)
    assert evs[0]["ev"] == "boot" and rt3.ctl.programme is None and rt3.ctl.log.last_seq == 1


def test_sim_reset_needs_the_service_role():
    hal = SimHal(start_t_s=T0)
    rt, host = in_use_pump(hal)
    host.skey = None
    host.send("logout")
    assert host.send("sim_reset")["err"]["code"] == "E_AUTH_REQUIRED"
    assert host.login("clinician", KC)["ok"]
    assert host.send("sim_reset")["err"]["code"] == "E_ROLE"
    assert rt.ctl.programme is not None and rt.ctl.keyring.roles() == ["clinician", "service"]


def test_sim_reset_is_refused_on_clinical_builds_and_erases_nothing():
    hal = SimHal(start_t_s=T0)
    rt, _ = boot(hal, build="clinical")
    names = sorted(hal.flash.names())
    host = Host(rt)
    r = host.send("sim_reset")
    assert not r["ok"] and r["err"]["code"] == "E_TEST_BUILD_ONLY", r
    assert sorted(hal.flash.names()) == names and rt.ctl.log.last_seq == 1


REQS = {
    "test_sim_reset_erases_state_log_and_keys_and_keeps_the_clock": ["HIL-KNOWN-STATE"],
    "test_sim_reset_is_refused_on_clinical_builds_and_erases_nothing": ["HIL-KNOWN-STATE"],
}
