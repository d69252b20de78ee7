"""Command name -> handler registry for Controller.command (kept apart so the controller
module stays small and the command modules can import controller helpers)."""

READ_ONLY = ("hello", "status", "programme_get", "alarms_list", "log_read", "time_get", "settings_get",
             "profile_get")
_HANDLERS = {}


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
                    _HANDLERS[name] = getattr(mod, name)
    return _HANDLERS
