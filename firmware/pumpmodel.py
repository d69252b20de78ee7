"""Pump models and the hard limits the pump itself enforces (defence in depth).

Numbers follow the class of 20/40 mL programmable implantable pumps this imitates and
the baclofen labeling in shared/seeds/ (cited per constant).
"""
from compat import const

NL_PER_ML = const(1000000)
NG_PER_UG = const(1000)
DAY_S = const(86400)
WEEK_S = const(604800)

# Labeling, maintenance range over all indications: "Range: 12-2003mcg/day" (spinal
# cord origin, the widest). The pump refuses any programme whose daily total leaves it.
DOSE_MIN_NG_DAY = const(12000)
DOSE_MAX_NG_DAY = const(2003000)

# Supplied strengths 500 and 2000 mcg/mL, screening ampule 50 mcg/mL; "For patients who
# require concentrations other than 500mcg/mL or 2000mcg/mL, baclofen inj must be
# diluted" -> any integer strength up to 2000 mcg/mL is accepted.
CONC_MIN_UG_ML = const(1)
CONC_MAX_UG_ML = const(2000)

# Labeling: "Changes in flow rate should be programmed to start 2 hrs before time of
# desired clinical effect".
LEAD_DEFAULT_MIN = const(120)
LEAD_MAX_MIN = const(240)

# Low-reservoir alarm threshold: default 2.0 mL, programmable 0.5-5.0 mL (issue 2).
LOW_RES_DEFAULT_NL = const(2000000)
LOW_RES_MIN_NL = const(500000)
LOW_RES_MAX_NL = const(5000000)

MAX_STEPS_PER_DAY = const(16)      # "at least 13 steps per day"
MAX_STEPS_TOTAL = const(64)        # a weekly plan: keeps a programme frame well inside MAX_LINE
MAX_PERIODIC_BOLUSES = const(8)
BOLUS_MAX_DURATION_MIN = const(1440)

# Stroke volume 250 nL: at the minimum flow (0.048 mL/day) a stroke every 7.5 min, at
# the maximum (24 mL/day) about one per second; fine enough that the 1-stroke bound
# (|delivered - exact| <= 250 nL = 0.5 mcg at 2000 mcg/mL) is clinically negligible,
# coarse enough for a micro-stepper piston to meter reproducibly.
STROKE_NL = const(250)

MODELS = {
    20: {
        "capacity_nl": 20000000,
        "stroke_nl": STROKE_NL,
        "flow_min_nl_day": 48000,      # 0.048 mL/day
        "flow_max_nl_day": 24000000,   # 24 mL/day
        "pathway_nl": 200000,          # pump-internal pathway to the catheter port, 0.2 mL
    },
    40: {
        "capacity_nl": 40000000,
        "stroke_nl": STROKE_NL,
        "flow_min_nl_day": 48000,
        "flow_max_nl_day": 24000000,
        "pathway_nl": 200000,
    },
}

CATHETER_DEFAULT_NL = const(150000)
CATHETER_MAX_NL = const(1000000)


def model(model_id):
    m = MODELS.get(model_id)
    if m is None:
        raise ValueError("unknown pump model %r" % (model_id,))
    return m


def flow_nl_day(dose_ng_day, conc_ug_ml):
    """Volume flow for a dose rate: nL/day = ng/day * 1000 / (mcg/mL), floored."""
    return dose_ng_day * NG_PER_UG // conc_ug_ml
