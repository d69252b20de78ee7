"""Power-loss enumeration (issue 8, "The machinery"): for programme commit, refill commit, bolus,
alarm raise, checkpoint and log append, cut the supply at every flash write of the operation and at
every byte of it (CUTS_FULL=1, `make cuts`) or at a dense sample of byte offsets (make test), plus
right after the operation returned; reboot on the same flash and check against the reference
(tests/host/pumpref.py), not against the firmware's own functions:
- it boots and answers;
- the therapy (daily dose, concentration) is the one before or the one after the operation;
- the state is reachable by a reset from the state before or after (tests/host/fsm_relation.py);
- the event log (decoded from the flash bytes) agrees with the state;
- the reservoir estimate is never above the truth (fills minus strokes counted at the HAL);
- latched alarms are kept; an operation that returned is on flash (persist before acknowledge).
`make cuts` prints the counts (cut points tried, divergences).
"""
import os

import pytest

import fsm_relation  # noqa: E402
import pumpref  # noqa: E402
from flash import PowerLoss  # noqa: E402
from pumpharness import KEYS, Host, Plant  # noqa: E402
from runprofile import MUTATION  # noqa: E402

FULL = bool(os.environ.get("CUTS_FULL"))
FIGURES = {}


def _login(host, role):
    if role == "service":
        from auth import dev_service_key
        key = dev_service_key("SIM00001").hex()
    else:
        key = KEYS[role]
    nonce, r, _ = host.login(role, key)
    assert r != "CUT" and r["ok"], r


def _ok(host, cmd, args=None):
    r, _ = host.send(cmd, args)
    assert r != "CUT" and r["ok"], (cmd, r)
    return r["res"]


class Rig:
    """A filled, infusing pump one hour into the night programme."""

    def __init__(self):
        self.tx = []
        self.plant = Plant()
        self.host = Host(self.plant, self.tx)
        self.plant.boot()
        _login(self.host, "service")
        _ok(self.host, "provision", {"keys": KEYS})
        _login(self.host, "clinician")
        st = _ok(self.host, "refill_stage", {"added_nl": 20000000, "withdrawn_nl": 0, "conc_ug_ml": 2000})
        _ok(self.host, "refill_commit", {"hash": st["hash"]})
        self.truth_fill = 20000000
        self.strokes_at_fill = 0
        st = _ok(self.host, "programme_stage", {"programme": {
            "mode": "flex", "lead_min": 120, "steps": [
                {"effect_min": 420, "dose_ng_day": 500000, "shape": "ramp"},
                {"effect_min": 1320, "dose_ng_day": 600000, "shape": "ramp"}]}})
        _ok(self.host, "programme_commit", {"hash": st["hash"]})
        self.tick(3600)
        _login(self.host, "clinician")     # the session idled out during the hour

    def tick(self, dt):
        self.plant.hal.advance_s(dt)
        self.plant.rt.tick()

    def observe(self):
        saved = self.plant.flash.cut_in
        self.plant.flash.cut_in = None
        s = self.host.send("status", signed=False, quiet=True)[0]
        p = self.host.send("programme_get", signed=False, quiet=True)[0]
        self.plant.flash.cut_in = saved
        assert s != "CUT" and s["ok"] and p["ok"], (s, p)
        s = s["res"]
        return {"state": s["state"], "daily_ng": s["daily_ng"], "conc": s["conc_ug_ml"],
                "reservoir_nl": s["reservoir_nl"], "alarms": set(s["alarms"]), "programme": p["res"]["programme"]}

    def truth_nl(self):
        return self.truth_fill - (self.plant.strokes - self.strokes_at_fill) * pumpref.STROKE_NL


# --- the operations: prepare (no cut) and act (the cut lands in act) ----------------------------
def _programme_prep(rig):
    rig.staged = _ok(rig.host, "programme_stage", {"programme": {"mode": "continuous", "dose_ng_day": 450000}})


def _programme_act(rig):
    return rig.host.send("programme_commit", {"hash": rig.staged["hash"]})[0]


def _refill_prep(rig):
    est = rig.observe()["reservoir_nl"]
    rig.staged = _ok(rig.host, "refill_stage", {"added_nl": 15000000, "withdrawn_nl": est, "conc_ug_ml": 500})


def _refill_act(rig):
    # The reservoir truth follows the refill only if the pump kept it (its concentration changed):
    # a refill the cut rolled back was never acknowledged, so the clinician repeats the procedure.
    rig.refill_pending = (15000000, rig.plant.strokes)
    return rig.host.send("refill_commit", {"hash": rig.staged["hash"]})[0]


def _bolus_act(rig):
    return rig.host.send("bolus", {"dose_ng": 50000, "duration_min": 30})[0]


def _stall_prep(rig):
    _login(rig.host, "service")
    _ok(rig.host, "sim_fault", {"fault": "motor_stall", "count": 5})
    _login(rig.host, "clinician")


def _tick_act(dt):
    def act(rig):
        rig.tick(dt)
        return None
    return act


def _log_act(rig):
    return rig.host.send("alarms_test", {})[0]


OPS = {
    "programme_commit": (_programme_prep, _programme_act),
    "refill_commit": (_refill_prep, _refill_act),
    "bolus": (None, _bolus_act),
    "alarm_raise": (_stall_prep, _tick_act(1200)),
    "checkpoint": (None, _tick_act(901)),
    "log_append": (None, _log_act),
}


def _offsets(n):
    if FULL:
        return list(range(n + 1))
    if MUTATION:   # make mutation runs this once per surviving mutant: before, inside, after
        return sorted({0, n // 2, n})
    pts = {0, 1, 3, 4, 8, 12, 15, 16, 17, 20, 23, 24, n // 3, n // 2, n - 2, n - 1, n}
    return sorted(p for p in pts if 0 <= p <= n)


def _fresh(prep):
    """The same prepared pump every time (everything is deterministic: simulated clock, seeded HAL)."""
    rig = Rig()
    if prep:
        prep(rig)
    return rig


def run_op(name):
    """Enumerate the cut points of one operation. Returns (points, divergences)."""
    prep, act = OPS[name]
    before = _fresh(prep).observe()
    dry = _fresh(prep)
    w0 = len(dry.plant.flash.write_log)
    r = act(dry)
    assert r is None or r["ok"], (name, r)
    writes = dry.plant.flash.write_log[w0:]
    after = dry.observe()
    assert writes, "%s wrote nothing to flash" % name
    points = [(i, k) for i, (_, _, n) in enumerate(writes) for k in _offsets(n)]
    points.append((len(writes), None))     # cut right after the operation returned
    divergences = []
    for i, k in points:
        rig = _fresh(prep)
        rig.observe()
        if k is not None:
            rig.plant.flash.arm(i, k)
        try:
            res = act(rig)
            cut = res == "CUT"
        except PowerLoss:
            cut = True
        rig.plant.flash.disarm()
        if k is not None and not cut:
            divergences.append((i, k, "armed cut never fired"))
            continue
        rig.host.session = None
        try:
            rig.plant.boot(0)
            new = rig.observe()
        except Exception as e:     # must boot and answer whatever the cut
            divergences.append((i, k, "boot failed: %r" % e))
            continue
        why = _check(name, before, after, new, rig, acked=k is None)
        if why:
            divergences.append((i, k, why))
    return len(points), divergences


def _check(name, before, after, new, rig, acked):
    if acked:
        ok_daily = new["daily_ng"] == after["daily_ng"]
        ok_conc = new["conc"] == after["conc"]
    else:
        ok_daily = new["daily_ng"] in (before["daily_ng"], after["daily_ng"])
        ok_conc = new["conc"] in (before["conc"], after["conc"])
    if not ok_daily:
        return "daily %d, before %d, after %d" % (new["daily_ng"], before["daily_ng"], after["daily_ng"])
    if not ok_conc:
        return "conc %d, before %d, after %d" % (new["conc"], before["conc"], after["conc"])
    srcs = (after["state"],) if acked else (before["state"], after["state"])
    if not any(fsm_relation.allowed(s, new["state"], "reboot") for s in srcs):
        return "state %s after a reset from %s" % (new["state"], "/".join(srcs))
    must_keep = after["alarms"] if acked else before["alarms"]
    lost = {a for a in must_keep if a != "low_reservoir"} - new["alarms"]
    if lost:
        return "latched alarm(s) lost: %s" % sorted(lost)
    log = pumpref.parse_log(rig.plant.flash.read("events"))
    lp = pumpref.last_entry(log, pumpref.LOG_PROGRAMME)
    if new["programme"] is not None and (lp is None or lp[4] != new["daily_ng"]):
        return "log says programme %s, pump runs %d" % (lp, new["daily_ng"])
    lr = pumpref.last_entry(log, pumpref.LOG_REFILL)
    if lr is not None and lr[4] != new["conc"]:
        return "log says refill conc %d, pump has %d" % (lr[4], new["conc"])
    pend = getattr(rig, "refill_pending", None)
    if pend and new["conc"] == after["conc"] != before["conc"]:
        rig.truth_fill, rig.strokes_at_fill = pend
    truth = rig.truth_nl()
    if new["reservoir_nl"] > truth:
        return "reservoir estimate %d nL above the truth %d nL" % (new["reservoir_nl"], truth)
    return None


@pytest.mark.req("VER-POWERLOSS", "STORE-ATOMIC", "SAFE-PERSIST-ALARM", "SAFE-LOG-AGREES", "RESET-ERR-LOW")
@pytest.mark.oracle("model")
@pytest.mark.parametrize("op", sorted(OPS))
def test_cut_at_every_write(op):
    """Independent oracle: before/after observed through the protocol, the log decoded from flash
    bytes with zlib (pumpref.parse_log), truth from HAL-counted strokes, resets from fsm_relation."""
    n, div = run_op(op)
    FIGURES[op] = (n, len(div))
    if os.environ.get("CUTS_FIGURES"):
        print("\ncuts %-16s points %5d  divergences %d" % (op, n, len(div)))
        for d in div[:5]:
            print("   write %s byte %s: %s" % d)
    assert not div, "%s: %d of %d cut points diverge, e.g. %s" % (op, len(div), n, div[:3])
