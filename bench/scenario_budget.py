"""Budget scenario (issue 9, "Budgets"): the labelling's night-ramp prescription
(examples/night_ramp.toml: 500 mcg/day, +20 % effective 22:00, back by 07:00, 2 h ramps,
2000 mcg/mL) or the pump's minimum flow (0.048 mL/day), driven stroke by stroke through
PumpRuntime.tick() as the board's main loop drives it. Importable on CPython and MicroPython;
bench/mpy_budgets.mjs calls `step()` once per stroke from the top level so the WebAssembly
port can collect between strokes and the peak heap can be measured per stroke.
"""
import gc
from hal_sim import SimHal
from runtime import PumpRuntime

T0 = 90000000
CONC = 2000
NIGHT = {"mode": "flex", "lead_min": 120, "steps": [
    {"effect_min": 7 * 60, "dose_ng_day": 500000, "shape": "ramp"},
    {"effect_min": 22 * 60, "dose_ng_day": 600000, "shape": "ramp"}]}
# 0.048 mL/day (pumpmodel flow_min_nl_day) at 500 mcg/mL = 24 mcg/day.
MIN_FLOW = {"mode": "continuous", "dose_ng_day": 24000}
PROGRAMMES = {"night_ramp": (NIGHT, CONC), "min_flow": (MIN_FLOW, 500)}

S = {}


def cmd(ctl, name, **args):
    return ctl.command(name, args, "clinician")


def setup_steps(which="night_ramp", flash=None):
    """setup() as separate steps, so a caller can collect garbage between them."""
    prog, conc = PROGRAMMES[which]

    def boot():
        hal = SimHal(start_t_s=T0, flash=flash)
        rt = PumpRuntime(hal)
        rt.boot()
        S["hal"], S["rt"] = hal, rt

    def fill():
        st = cmd(S["rt"].ctl, "refill_stage", withdrawn_nl=0, added_nl=20000000, conc_ug_ml=conc)
        cmd(S["rt"].ctl, "refill_commit", hash=st["hash"])
        cmd(S["rt"].ctl, "alarms_clear")

    def prog_stage():
        S["staged"] = cmd(S["rt"].ctl, "programme_stage", programme=prog)["hash"]

    def prog_commit():
        cmd(S["rt"].ctl, "programme_commit", hash=S.pop("staged"))
        S["rt"].refresh()
        S["t0"], S["strokes"] = S["rt"].ctl.t_s, S["hal"].strokes

    return [boot, fill, prog_stage, prog_commit]


def setup(which="night_ramp", flash=None):
    for f in setup_steps(which, flash):
        f()
    return S["hal"], S["rt"]


def sim_days():
    return (S["rt"].ctl.t_s - S["t0"]) // 86400


def step():
    """Advance the board clock to the next due time and run one main-loop tick."""
    hal, rt = S["hal"], S["rt"]
    hal.set_monotonic_s(rt.next_due_s() - rt.ctl.clock_offset_s)
    rt.tick()


def step_alloc():
    """(bytes allocated by one stroke tick with the GC off, was it a checkpoint save)."""
    rt = S["rt"]
    saved = rt.ctl._last_save_t
    gc.disable()
    a0 = gc.mem_alloc()
    step()
    a1 = gc.mem_alloc()
    gc.enable()
    return a1 - a0, rt.ctl._last_save_t != saved


def daily_status():
    """One clinician status read a day (the commands a programmer session adds)."""
    cmd(S["rt"].ctl, "status")
