"""Command name -> handler registry for Controller.command (kept apart so the controller
module stays small and the command modules can import controller helpers).

Controller.command, the one caller, runs argspec.check_args before every handler: a request
whose arguments do not fit the schema (unknown, wrong type, bool for int, out of range) is
refused with E_BAD_ARGS naming the field before any handler code sees it (issue 8, defect 5).
The registry holds the handlers themselves: a checking closure per command cost ~2.3 KB of
heap for the pump's lifetime (issue 9, "Budgets")."""

from argspec import check_args  # noqa: F401  (Controller.command calls dispatch.check_args)

READ_ONLY = ("hello", "status", "programme_get", "alarms_list", "log_read", "time_get", "settings_get",
             "profile_get")
_HANDLERS = {}


def handlers():
    """name -> handler(ctl, args, t_s), built on first use (imports the command modules).
    Call argspec.check_args(name, args) before a handler (Controller.command does)."""
    if not _HANDLERS:
        import commands
        import commands_admin
        from protocol import COMMANDS, LINK_COMMANDS
        mods = [commands, commands_admin]
        try:
            import commands_sim     # test builds only: a clinical image leaves it out
            mods.append(commands_sim)
        except ImportError:
            pass
        for name in COMMANDS:   # the protocol's command table is the one list of commands
            if name in LINK_COMMANDS:
                continue
            for mod in mods:
                if hasattr(mod, name):
                    _HANDLERS[name] = getattr(mod, name)
    return _HANDLERS
