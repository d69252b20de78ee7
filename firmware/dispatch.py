"""Command name -> handler registry for Controller.command (kept apart so the controller
module stays small and the command modules can import controller helpers).

Every handler is wrapped so that argspec.check_args runs first: a request whose arguments
do not fit the schema (unknown, wrong type, bool for int, out of range) is refused with
E_BAD_ARGS naming the field before any handler code sees it (issue 8, defect 5)."""

READ_ONLY = ("hello", "status", "programme_get", "alarms_list", "log_read", "time_get", "settings_get",
             "profile_get")
_HANDLERS = {}


def _checked(name, fn):
    from argspec import check_args

    def handler(ctl, args, t):
        check_args(name, args)
        return fn(ctl, args, t)
    return handler


def handlers():
    """name -> handler(ctl, args, t_s), built on first use (imports the command modules)."""
    if not _HANDLERS:
        import commands
        import commands_admin
        from protocol import COMMANDS, LINK_COMMANDS
        for name in COMMANDS:   # the protocol's command table is the one list of commands
            if name in LINK_COMMANDS:
                continue
            for mod in (commands, commands_admin):
                if hasattr(mod, name):
                    _HANDLERS[name] = _checked(name, getattr(mod, name))
    return _HANDLERS
