"""Scenario 7: bad input is answered with an error and leaves therapy unchanged."""
import os

import pytest

import auth
import protocol
from dut import continuous, start_therapy

DAY_PROG = continuous(500000)
OTHER_PROG = continuous(400000)
MAX_LINE = protocol.MAX_LINE  # longest accepted line including "\n" (firmware/protocol.py)


def check_err(reply, code):
    assert reply.get("ok") is False, "accepted: %r" % (reply,)
    assert reply["err"]["code"] == code, reply
    return reply


@pytest.mark.req("issue3:framing", "issue3:auth", "issue2:refusal-changes-nothing")
def test_bad_input_is_refused_and_therapy_unchanged(dut):
    """Proves the link's defences (issue 3; docs/protocol.md "Every frame the pump receives gets
    exactly one reply; a refused frame changes nothing"): garbage, a corrupted CRC, an oversize
    frame, unauthenticated, wrong-role, forged and replayed programming are each answered with
    their error, and the running therapy is exactly what it was. Needs no sim commands, so it
    runs on clinical builds too."""
    start_therapy(dut, DAY_PROG, 20000000, 2000, midnight=False)
    c = dut.client
    # a programming exchange recorded for replay: stage + commit of another programme ...
    dut.login("clinician")
    rec_stage = c.build_frame("programme_stage", {"programme": OTHER_PROG})
    staged = c.send_frame(rec_stage)["res"]
    rec_commit = c.build_frame("programme_commit", {"hash": staged["hash"]})
    assert c.send_frame(rec_commit)["ok"]
    assert dut.status()["daily_ng"] == 400000
    # ... then the intended programme back: replaying the recording would undo it
    dut.programme(DAY_PROG)
    before = dut.therapy()
    assert before["daily_ng"] == 500000 and before["state"] == "infusing"

    # 1. line garbage: no CRC suffix, binary noise, a good CRC over something that is not JSON
    check_err(dut.raw(b"\x00\xff\xfe garbage from a noisy line\r\n"), "E_FRAME_NO_CRC")
    check_err(dut.raw(os.urandom(300).replace(b"\n", b".").replace(b"*", b".") + b"\n"), "E_FRAME_NO_CRC")
    body = b"stop the pump"
    check_err(dut.raw(body + b"*" + protocol.crc_hex(body).encode() + b"\n"), "E_FRAME_JSON")
    # 2. a corrupted CRC: a signed stop with one character changed after the CRC was computed
    line = protocol.encode(c.build_frame("stop"))
    check_err(dut.raw(line.replace(b'"stop"', b'"stoq"')), "E_FRAME_CRC")
    # 3. oversize: longer than a line may be, then the pump resynchronises on the next line
    check_err(dut.raw(b'{"id":7,"cmd":"stop","args":{"pad":"' + b"A" * MAX_LINE + b'"}}*00000000\n'),
              "E_FRAME_OVERSIZE")
    # 4. unauthenticated programming (no session)
    c.logout()
    check_err(c.send_frame(c.build_frame("stop")), "E_AUTH_REQUIRED")
    check_err(c.send_frame(c.build_frame("programme_stage", {"programme": OTHER_PROG})), "E_AUTH_REQUIRED")
    check_err(c.send_frame(rec_commit), "E_AUTH_REQUIRED")  # a recorded session frame, no session now
    # 5. the wrong role: a patient may not programme
    dut.login("patient")
    check_err(c.send_frame(c.build_frame("programme_stage", {"programme": OTHER_PROG})), "E_ROLE")
    check_err(c.send_frame(c.build_frame("stop")), "E_ROLE")
    # 6. forged: a clinician frame MACed with a key that is not the session's
    dut.login("clinician")
    forged = auth.sign(os.urandom(32), dict(c.build_frame("stop", sign=False), sq=10 ** 6))
    check_err(c.send_frame(forged), "E_AUTH_BAD_MAC")
    # 7. replayed in a later session: the session key differs, so the MAC no longer verifies
    check_err(c.send_frame(rec_stage), "E_AUTH_BAD_MAC")
    check_err(c.send_frame(rec_commit), "E_AUTH_BAD_MAC")
    # 8. replayed in the same session: sq not above the last accepted one
    mine = c.build_frame("programme_stage", {"programme": OTHER_PROG})
    st = c.send_frame(mine)
    assert st["ok"], st  # staging alone changes nothing running
    check_err(c.send_frame(mine), "E_AUTH_REPLAY")
    commit = c.build_frame("programme_commit", {"hash": "0" * 16})
    check_err(c.send_frame(commit), "E_HASH_MISMATCH")
    check_err(c.send_frame(commit), "E_AUTH_REPLAY")

    # still talking, and the therapy is exactly as before
    assert c.hello()["serial"] == dut.info["serial"]
    assert dut.therapy() == before
    assert not c.event_gaps
