"""Shared helpers for the portable firmware tests (no pytest, no fixtures: MicroPython runs these too)."""
from hal_sim import SimHal
from controller import Controller
from flash import MemoryFlash

T0 = 90000000      # 2026-11-07T16:00:00Z, pump-epoch seconds
DAY = 86400
NIGHT = {"mode": "flex", "lead_min": 120, "steps": [
    {"effect_min": 7 * 60, "dose_ng_day": 500000, "shape": "ramp"},
    {"effect_min": 22 * 60, "dose_ng_day": 600000, "shape": "ramp"}]}
# Ramps, a step, two periodic boluses (one across midnight), a 90-min lead.
BOLUSY = {"mode": "flex", "lead_min": 90, "steps": [
    {"effect_min": 7 * 60, "dose_ng_day": 500000, "shape": "ramp"},
    {"effect_min": 12 * 60, "dose_ng_day": 450000, "shape": "step"},
    {"effect_min": 22 * 60, "dose_ng_day": 600000, "shape": "ramp"}],
    "boluses": [{"at_min": 8 * 60, "dose_ng": 60000, "duration_min": 30},
                {"at_min": 23 * 60 + 50, "dose_ng": 25000, "duration_min": 20}]}


def make_pump(t0=T0, flash=None, model=20, build="test", rtc=True):
    hal = SimHal(start_t_s=t0, flash=flash if flash is not None else MemoryFlash(), rtc=rtc)
    ctl = Controller(hal, model_id=model, build=build)
    ctl.boot()
    return hal, ctl


def cmd(ctl, name, **args):
    return ctl.command(name, args, "clinician")



def log_since(ctl, seq):
    """Every log entry after `seq`, read through the protocol's paged log_read: [seq, t_s, name, a, b]."""
    out = []
    s = seq + 1
    while s <= ctl.log.last_seq:
        page = cmd(ctl, "log_read", first_seq=s, max_n=24)["entries"]
        if not page:
            break
        out += page
        s = page[-1][0] + 1
    return out

def cont(ng):
    """A continuous programme of ng per day."""
    return {"mode": "continuous", "dose_ng_day": ng}


def stage(ctl, prog, **extra):
    return cmd(ctl, "programme_stage", programme=prog, **extra)


def commit(ctl, prog, **extra):
    """Stage then commit with the staged hash (extra: confirm_ratio, override_reason)."""
    st = stage(ctl, prog, **extra)
    return cmd(ctl, "programme_commit", hash=st["hash"])


class CountingRandom:
    """Deterministic stand-in for hal.random_bytes: call n gives bytes (n * mult + i) & 0xFF."""

    def __init__(self, mult=37):
        self.n = 0
        self.mult = mult

    def __call__(self, n):
        self.n += 1
        return bytes(((self.n * self.mult + i) & 0xFF) for i in range(n))


def programme(ctl, prog):
    st = cmd(ctl, "programme_stage", programme=prog)
    return cmd(ctl, "programme_commit", hash=st["hash"])


def refill(ctl, added_nl, conc=None, withdrawn_nl=None):
    args = {"added_nl": added_nl, "withdrawn_nl": ctl.reservoir_nl() if withdrawn_nl is None else withdrawn_nl}
    if conc is not None:
        args["conc_ug_ml"] = conc
    st = cmd(ctl, "refill_stage", **args)
    cmd(ctl, "refill_commit", hash=st["hash"])
    return st


def ready_pump(prog=None, fill_nl=20000000, conc=2000, t0=T0):
    """A pump filled with `fill_nl` at `conc` mcg/mL and infusing `prog` (default: the night plan)."""
    hal, ctl = make_pump(t0)
    refill(ctl, fill_nl, conc)
    programme(ctl, prog or NIGHT)
    return hal, ctl


def warp(hal, ctl, seconds):
    hal.advance_s(seconds)
    ctl.advance(ctl.now_s())


def profiled_pump(profile, first_ng, conc=500):
    """A filled pump with a patient profile and its first continuous programme committed (a
    reason given, in case the dose is above the first-programme maximum)."""
    hal, ctl = make_pump()
    refill(ctl, 20000000, conc)
    cmd(ctl, "profile_set", profile=profile)
    commit(ctl, cont(first_ng), override_reason="replacement pump, patient on maintenance")
    return hal, ctl


def run_to_end_of_service(hal, ctl):
    """Drain the battery (sim_fault), then warp in 30-day steps until end of service: ERI at
    once, end of service 90 days later."""
    cmd(ctl, "sim_fault", fault="battery_drain", nah=cmd(ctl, "status")["battery_nah"])
    for _ in range(4):
        warp(hal, ctl, 30 * DAY)
        if ctl.fsm.state == "end_of_life":
            break
    if ctl.fsm.state != "end_of_life":
        raise AssertionError(ctl.fsm.state)


def state_digest(ctl):
    """Everything that defines the pump's therapy state, for bit-identity comparisons
    (not the clock offset, nor the count of telemetry commands the battery model charges)."""
    import hashlib
    from protocol import canonical_json
    snap = ctl.snapshot()
    snap.pop("clock_offset_s")
    snap.pop("comms")
    return hashlib.sha256(canonical_json(snap)).digest()


def refusal(fn, *a, **k):
    """(code, detail) of the PumpError fn(*a, **k) raises, or None if it returns."""
    from protocol import PumpError
    try:
        fn(*a, **k)
    except PumpError as e:
        return e.code, e.detail
    return None


def raises(code, fn, *a, **k):
    from protocol import PumpError
    try:
        fn(*a, **k)
    except PumpError as e:
        if e.code != code:
            raise AssertionError("expected %s, got %s: %s" % (code, e.code, e.detail))
        return e
    raise AssertionError("expected PumpError %s, nothing raised" % code)


_n = [0]


def tmpdir(tag):
    """A fresh directory under /tmp named from the clock and a counter (no fixtures on MicroPython)."""
    import os
    import time
    try:
        os.stat("/tmp")
    except OSError:
        os.mkdir("/tmp")
    t = time.time_ns() if hasattr(time, "time_ns") else time.ticks_us()
    _n[0] += 1
    path = "/tmp/pump_%s_%d_%d_%d" % (tag, t, id(_n) & 0xFFFF, _n[0])
    os.mkdir(path)
    return path


def rmtree(path):
    import os
    for n in os.listdir(path):
        os.remove(path + "/" + n)
    os.rmdir(path)
