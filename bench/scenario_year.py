"""Shared bench scenario: one year of a 13-step flex plan with 90-min ramps, two periodic
boluses and a refill every 90 days. Importable on CPython and MicroPython."""
from hal_sim import SimHal
from controller import Controller

T0 = 90000000
DAY = 86400
PLAN = {"mode": "flex", "lead_min": 90,
        "steps": [{"effect_min": i * 110, "dose_ng_day": 300000 + (i % 4) * 40000,
                   "shape": "ramp" if i % 3 else "step"} for i in range(13)],
        "boluses": [{"at_min": 8 * 60, "dose_ng": 15000, "duration_min": 20},
                    {"at_min": 20 * 60, "dose_ng": 15000, "duration_min": 20}]}


def cmd(ctl, name, **args):
    return ctl.command(name, args, "clinician")


def refill(ctl):
    st = cmd(ctl, "refill_stage", withdrawn_nl=ctl.reservoir_nl(), added_nl=20000000, conc_ug_ml=2000)
    cmd(ctl, "refill_commit", hash=st["hash"])
    cmd(ctl, "alarms_clear")


def setup():
    hal = SimHal(start_t_s=T0)
    ctl = Controller(hal)
    ctl.boot()
    refill(ctl)
    st = cmd(ctl, "programme_stage", programme=PLAN)
    cmd(ctl, "programme_commit", hash=st["hash"])
    return hal, ctl


def setup_runtime():
    """The same pump behind PumpRuntime, as the board's main loop drives it (tick benches)."""
    from runtime import PumpRuntime
    hal = SimHal(start_t_s=T0)
    rt = PumpRuntime(hal)
    rt.boot()
    refill(rt.ctl)
    st = cmd(rt.ctl, "programme_stage", programme=PLAN)
    cmd(rt.ctl, "programme_commit", hash=st["hash"])
    rt.refresh()
    return hal, rt


def run_year(hal, ctl, step_s=3600):
    """Advance a year in `step_s` steps, refilling every 90 days. Returns strokes delivered."""
    n0 = hal.strokes
    for day in range(365):
        if day and day % 90 == 0:
            refill(ctl)
        for _ in range(DAY // step_s):
            hal.advance_s(step_s)
            ctl.advance(ctl.now_s())
    return hal.strokes - n0
