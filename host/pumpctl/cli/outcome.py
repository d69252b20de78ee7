"""After a lost reply to a change (programme_commit, refill_commit, bolus): find out whether the pump applied it.

A timeout or a dropped connection says nothing about the pump: the request may have been acted on and only the
reply lost (issue 10, defect 2). The tool never re-sends the change; it reconnects and reads the pump's own
event log for an entry written *after* a mark taken just before sending (the pump logs a change before it
replies: design.md "persist before you acknowledge"). So the answer is "committed" or "not committed"; only when
the pump cannot be reached again is it "unknown", with how to check.
"""
import time

from pumpctl.link.client import PumpClientError, PumpPortError, PumpReplyError, PumpTimeout

LOG_HEAD = 0x3FFFFFFF  # log_read first_seq beyond any entry: the reply carries only first/last seq
LOST = (PumpTimeout, PumpPortError)


class Outcome(PumpTimeout):
    """The reply was lost; `outcome` is "not_committed" or "unknown" (exit EXIT_TIMEOUT)."""

    def __init__(self, cause, fix, outcome):
        super().__init__(cause, fix)
        self.outcome = outcome
        self.json_extra = {"outcome": outcome}


def log_mark(s):
    """Sequence number of the pump's newest log entry (the change will be logged after it)."""
    return s.request("log_read", {"first_seq": LOG_HEAD, "max_n": 1}).get("last_seq", 0)


def _entries_after(s, mark):
    out, seq = [], mark + 1
    while True:
        page = s.request("log_read", {"first_seq": seq, "max_n": 24}).get("entries", [])
        out.extend(page)
        if len(page) < 24:
            return out
        seq = page[-1][0] + 1


def resolve(ctx, what, mark, event, match, roles=("clinician", "service"), attempts=3):
    """Reconnect and look for `event` (with match(entry)) logged after `mark`.

    Returns (session, entry) when it was applied; raises Outcome "not_committed" when the log shows it was not,
    or "unknown" when the pump cannot be reached or read."""
    ctx.err.write("no reply to %s: reconnecting to find out whether the pump applied it (nothing is re-sent)...\n"
                  % what)
    ctx.close()
    last = None
    for i in range(attempts):
        try:
            s = ctx.session()
            s.ensure_role(*roles)
            hits = [e for e in _entries_after(s, mark) if e[2] == event and match(e)]
        except LOST + (PumpReplyError,) as e:
            last = e
            ctx.close()
            if i + 1 < attempts:
                time.sleep(0.5)
            continue
        if hits:
            return s, hits[0]
        raise Outcome("no reply to %s, and after reconnecting the pump's log shows it was NOT committed "
                      "(no %s entry after seq %d): nothing changed" % (what, event, mark),
                      "run the same command again", "not_committed")
    why = last.cause if isinstance(last, PumpClientError) else str(last)
    raise Outcome("no reply to %s and the pump cannot be reached again (%s): the outcome is UNKNOWN -- it may or "
                  "may not be in effect" % (what, why),
                  "do not repeat it blindly: when the pump is reachable, check 'pumpctl log --last 10' for a %s "
                  "entry after seq %d (and 'pumpctl status'); repeat only if there is none" % (event, mark),
                  "unknown")
