"""Alarm tones, silence and listing pinned to the requirements (the mutation run of alarms.py
showed these branches unpinned: docs/verification.md). Expected values come from issue 2
("critical alarms (two-tone) ... non-critical alarms (single tone, repeated hourly)"), the
documented repeat of critical tones (10 min, alarms.py), the silence range (docs/protocol.md:
duration 1..1440 min) and the stable alarm ids of docs/protocol.md, not from running the code."""
from alarms import Alarms

# docs/protocol.md alarm catalogue: stable ids and classes
IDS = {"reservoir_empty": (1, "critical"), "motor_stall": (3, "critical"), "low_reservoir": (5, "noncritical")}
REQS = {
    "test_tone_repeats_hourly_for_noncritical_and_every_ten_minutes_for_critical": ["ALM-LATCH-SILENCE"],
    "test_silence_range_boundaries_and_tone_resumes_after_it": ["ALM-LATCH-SILENCE"],
    "test_listing_names_id_class_and_time": ["ALM-LATCH-SILENCE"],
    "test_latch_is_idempotent_and_clear_says_what_it_did": ["ALM-LATCH-SILENCE"],
}
ORACLES = {
    "test_tone_repeats_hourly_for_noncritical_and_every_ten_minutes_for_critical": "spec",
    "test_silence_range_boundaries_and_tone_resumes_after_it": "spec",
    "test_listing_names_id_class_and_time": "spec",
    "test_latch_is_idempotent_and_clear_says_what_it_did": "spec",
}


def test_tone_repeats_hourly_for_noncritical_and_every_ten_minutes_for_critical():
    a = Alarms()
    assert a.tone_due(100) is None and a.next_due_s() is None and a.pattern() == "off"
    a.raise_("low_reservoir", 100)
    assert a.next_due_s() == 100
    assert a.tone_due(100) == "noncritical"
    assert a.tone_due(101) is None
    assert a.next_due_s() == 100 + 3600
    assert a.tone_due(100 + 3599) is None
    assert a.tone_due(100 + 3600) == "noncritical"
    a.raise_("motor_stall", 5000)          # a critical one: two-tone, every 10 min
    assert a.tone_due(5000) == "critical"
    assert a.next_due_s() == 5600
    assert a.tone_due(5599) is None and a.tone_due(5600) == "critical"


def test_silence_range_boundaries_and_tone_resumes_after_it():
    a = Alarms()
    a.raise_("motor_stall", 0)
    assert a.silence(10, 0) is False and a.silenced_until == 0      # below 1 s: refused
    assert a.silence(10, 86401) is False and a.silenced_until == 0  # above 24 h: refused
    assert a.silence(10, 1) is True and a.silenced_until == 11      # boundaries accepted
    assert a.silence(10, 86400) is True and a.silenced_until == 86410
    assert a.next_due_s() == 86410
    assert a.tone_due(86409) is None
    assert a.tone_due(86410) == "critical"
    # silence survives a reset (persisted), and a restored pump sounds once it ends
    b = Alarms()
    b.load(a.to_dict())
    assert b.silenced_until == 86410 and b.active == {"motor_stall": 0}
    assert b.tone_due(86409) is None and b.tone_due(86410) == "critical"
    c = Alarms()
    c.load({"active": {"low_reservoir": 7}})                        # older record without the field
    assert c.silenced_until == 0 and c.tone_due(0) == "noncritical"


def test_listing_names_id_class_and_time():
    a = Alarms()
    a.raise_("reservoir_empty", 42)
    a.raise_("low_reservoir", 41)
    got = a.listing()
    assert got == [{"name": "low_reservoir", "id": IDS["low_reservoir"][0], "class": IDS["low_reservoir"][1],
                    "raised_t_s": 41},
                   {"name": "reservoir_empty", "id": IDS["reservoir_empty"][0], "class": IDS["reservoir_empty"][1],
                    "raised_t_s": 42}]


def test_latch_is_idempotent_and_clear_says_what_it_did():
    a = Alarms()
    assert a.raise_("motor_stall", 1) is True
    assert a.raise_("motor_stall", 2) is False and a.active["motor_stall"] == 1   # first raise time kept
    assert a.clear("low_reservoir") is False
    assert a.clear("motor_stall") is True and a.clear("motor_stall") is False
    try:
        a.raise_("no_such_alarm", 3)
    except ValueError as e:
        assert "no_such_alarm" in str(e)
    else:
        raise AssertionError("unknown alarm accepted")
