"""Alarm catalogue, latching and tones.

Two classes, as on the class of pumps this imitates: critical alarms (two-tone) stop
delivery; non-critical alarms (single tone, repeated hourly) let therapy continue.
Alarms latch until a clinician clears them; silencing only mutes the tone for a while.
The labeling's boxed warning is why this matters: "Prevention of abrupt discontinuation
requires careful attention to programming and monitoring of infusion system, refill
scheduling and procedures, and pump alarms."
"""
from compat import const

CRITICAL = "critical"
NONCRITICAL = "noncritical"

# name -> (stable id, class). Ids go in the event log's `a` field.
CATALOGUE = {
    "reservoir_empty": (1, CRITICAL),
    "eos": (2, CRITICAL),
    "motor_stall": (3, CRITICAL),
    "memory_critical": (4, CRITICAL),
    "low_reservoir": (5, NONCRITICAL),
    "eri": (6, NONCRITICAL),
    "memory": (7, NONCRITICAL),
}
NAMES_BY_ID = {}
for _n in CATALOGUE:
    NAMES_BY_ID[CATALOGUE[_n][0]] = _n

NONCRITICAL_REPEAT_S = const(3600)   # "single tone, repeated hourly" (issue 2)
CRITICAL_REPEAT_S = const(600)       # two-tone every 10 min until silenced or cleared
SILENCE_MAX_S = const(86400)


class Alarms:
    """Latched alarm set. Pure bookkeeping: the controller decides causes and effects."""

    def __init__(self):
        self.active = {}          # name -> raised t_s
        self.silenced_until = 0
        self.next_tone_s = 0

    def raise_(self, name, t_s):
        """Latch an alarm; returns True if it was newly raised."""
        if name not in CATALOGUE:
            raise ValueError(name)
        if name in self.active:
            return False
        self.active[name] = t_s
        self.silenced_until = 0
        self.next_tone_s = t_s
        return True

    def clear(self, name):
        return self.active.pop(name, None) is not None

    def has_critical(self):
        for n in self.active:
            if CATALOGUE[n][1] == CRITICAL:
                return True
        return False

    def pattern(self):
        if not self.active:
            return "off"
        return CRITICAL if self.has_critical() else NONCRITICAL

    def silence(self, t_s, duration_s):
        if duration_s < 1 or duration_s > SILENCE_MAX_S:
            return False
        self.silenced_until = t_s + duration_s
        self.next_tone_s = self.silenced_until
        return True

    def tone_due(self, t_s):
        """The pattern to sound now, or None. Called from the tick; allocation-free."""
        if not self.active or t_s < self.next_tone_s or t_s < self.silenced_until:
            return None
        p = self.pattern()
        self.next_tone_s = t_s + (CRITICAL_REPEAT_S if p == CRITICAL else NONCRITICAL_REPEAT_S)
        return p

    def next_due_s(self):
        if not self.active:
            return None
        return self.next_tone_s if self.next_tone_s > self.silenced_until else self.silenced_until

    def listing(self):
        out = []
        for n in sorted(self.active):
            out.append({"name": n, "id": CATALOGUE[n][0], "class": CATALOGUE[n][1], "raised_t_s": self.active[n]})
        return out

    def to_dict(self):
        return {"active": dict(self.active), "silenced_until": self.silenced_until}

    def load(self, d):
        self.active = dict(d.get("active", {}))
        self.silenced_until = d.get("silenced_until", 0)
        self.next_tone_s = 0
