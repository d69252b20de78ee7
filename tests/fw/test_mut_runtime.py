"""runtime.PumpRuntime (issue 8, mutation survivors): the build reaches the controller, nothing is
answered before boot, a tick before the due time does nothing, a tick at exactly the due time
handles what is due.

Oracles: docs/design.md "Runtime interface" (feed/tick return the bytes to write, b"" if none;
next_due_s is the pump time of the next scheduled happening; pump time = hal.monotonic_s() +
the controller's offset) and docs/protocol.md `hello` (`build` is `test` or `clinical`).
"""
import protocol
from hal_sim import SimHal
from runtime import PumpRuntime
from pumpkit import T0, refill, programme


def _hello(rt):
    out = protocol.Decoder().feed(rt.feed(protocol.encode({"id": 1, "cmd": "hello", "args": {}})))
    return [x for x in out if "ev" not in x][0]["res"]


def test_the_build_kind_reaches_the_controller():
    for build in ("clinical", "test"):
        rt = PumpRuntime(SimHal(start_t_s=T0), serial="SIM00001", build=build)
        assert rt.feed(b'{"args":{},"cmd":"hello","id":1}*54E46EE5\n') == b""   # not booted: no answer
        assert b"boot" in rt.boot()
        assert _hello(rt)["build"] == build and rt.ctl.build == build
        # nothing pushed: a reply is exactly its one frame, and there is nothing else to send
        out = rt.feed(protocol.encode({"id": 2, "cmd": "time_get", "args": {}}))
        assert out.count(b"\n") == 1 and out.endswith(b"\n") and out.startswith(b"{"), out
        assert rt.refresh() == b""


def test_tick_acts_at_exactly_the_due_time_and_not_before():
    hal = SimHal(start_t_s=T0)
    rt = PumpRuntime(hal, serial="SIM00001", build="test")
    rt.boot()
    refill(rt.ctl, 20000000, 2000)
    programme(rt.ctl, {"mode": "continuous", "dose_ng_day": 1000000})
    rt.refresh()
    due = rt.next_due_s()
    now = hal.monotonic_s() + rt.ctl.clock_offset_s
    assert due > now + 1
    strokes = rt.ctl.strokes_total
    hal.advance_s(due - now - 1)
    assert rt.tick() == b"" and rt.ctl.strokes_total == strokes and rt.ctl.t_s < due
    hal.advance_s(1)          # pump time == due
    rt.tick()
    assert rt.ctl.t_s == due and rt.ctl.strokes_total == strokes + 1, (rt.ctl.t_s, due, rt.ctl.strokes_total)


def test_a_tick_sends_every_event_pushed_on_the_way_in_order():
    """3 mL at 2000 mcg/mL, 2000 mcg/day = 1 mL/day, low-reservoir threshold 2 mL (default): low at
    exactly 1 day, empty at exactly 3 days (hand arithmetic); one tick 4 days later sends both."""
    hal = SimHal(start_t_s=T0)
    rt = PumpRuntime(hal, serial="SIM00001", build="test")
    rt.boot()
    refill(rt.ctl, 3000000, 2000)
    programme(rt.ctl, {"mode": "continuous", "dose_ng_day": 2000000})
    rt.refresh()
    t0 = rt.ctl.t_s
    hal.advance_s(4 * 86400)
    evs = protocol.Decoder().feed(rt.tick())
    got = [(e["ev"], e["d"]["name"], e["t_s"] - t0) for e in evs]
    assert got == [("alarm_raised", "low_reservoir", 86400), ("alarm_raised", "reservoir_empty", 3 * 86400)], got
    assert evs[1]["seq"] == evs[0]["seq"] + 1


def test_the_command_registry_is_built_on_first_use():
    """dispatch.handlers() fills its cache on the first call (a fresh boot); every command of the
    protocol's table but the three the link answers itself gets a handler."""
    import dispatch
    saved = dict(dispatch._HANDLERS)
    dispatch._HANDLERS.clear()
    try:
        h = dispatch.handlers()
        want = sorted(c for c in protocol.COMMANDS if c not in ("auth_begin", "auth", "logout"))
        assert sorted(h) == want and len(want) == len(protocol.COMMANDS) - 3
        import commands
        import commands_admin
        import commands_sim
        assert h["hello"] is commands.hello and h["sim_reset"] is commands_sim.sim_reset
        assert h["alarms_clear"] is commands_admin.alarms_clear
    finally:
        dispatch._HANDLERS.clear()
        dispatch._HANDLERS.update(saved)
