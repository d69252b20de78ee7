"""Refusals the tool itself raises (before or instead of sending): their exit codes are in main."""
from pumpctl.link.client import PumpClientError


class Refused(PumpClientError):
    """The tool refuses before sending anything (exit EXIT_REFUSED)."""


class NotConfirmed(PumpClientError):
    """The user did not confirm, or there is no terminal and no --yes (exit EXIT_NOT_CONFIRMED)."""


class BuildRefused(PumpClientError):
    """The command exists only in test builds (exit EXIT_BUILD)."""
