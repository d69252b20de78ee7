"""Link refusals say exactly what was wrong (issue 8, mutation survivors: the `msg` texts).

Oracle: docs/protocol.md, "Errors": "`msg` says what exactly was wrong", and its captured
examples, copied here: missing id -> "id must be an int 0..1073741823"; unknown command ->
the command's name ("reboot"); no session -> "programme_stage needs role clinician"; wrong role ->
"sim_warp needs role service, session is clinician" (roles joined by "/" as in the role table,
log_read: clinician, service). The other texts name the one field that is
wrong (docs/protocol.md "Messages": id 0..2^30-1, sq with mac, mac 64 hex digits, args an object).
"""
from test_link import make, one, Host, KEY_C


def _msg(link, frame):
    r = one(link, frame)
    assert r["ok"] is False, r
    return r["err"]["code"], r["err"]["msg"]


def test_frame_field_refusals_name_the_field():
    link, disp, _ = make()
    mac = "00" * 32
    cases = [
        ({"cmd": "status"}, "E_FRAME_FIELDS", "id must be an int 0..1073741823"),
        ({"id": 7, "cmd": "status", "extra": 1}, "E_FRAME_FIELDS", "unexpected field extra"),
        ({"id": 7, "cmd": 3}, "E_FRAME_FIELDS", "cmd must be a string"),
        ({"id": 7, "cmd": "status", "args": [1]}, "E_FRAME_FIELDS", "args must be an object"),
        ({"id": 7, "cmd": "status", "sq": 1}, "E_FRAME_FIELDS", "sq and mac go together"),
        ({"id": 7, "cmd": "status", "mac": mac}, "E_FRAME_FIELDS", "sq and mac go together"),
        ({"id": 7, "cmd": "status", "sq": -1, "mac": mac}, "E_FRAME_FIELDS", "sq must be an int 0..1073741823"),
        ({"id": 7, "cmd": "status", "sq": 1, "mac": "zz" * 32}, "E_FRAME_FIELDS", "mac must be 64 hex digits"),
        ({"id": 93, "cmd": "reboot"}, "E_UNKNOWN_CMD", "reboot"),
        ({"id": 93, "cmd": "x" * 40}, "E_UNKNOWN_CMD", "x" * 32),
        ({"id": 3, "cmd": "programme_stage", "args": {}}, "E_AUTH_REQUIRED", "programme_stage needs role clinician"),
        ({"id": 3, "cmd": "log_read", "args": {}}, "E_AUTH_REQUIRED", "log_read needs role clinician/service"),
    ]
    for frame, code, msg in cases:
        assert _msg(link, frame) == (code, msg), frame
    assert disp.calls == []


def test_role_and_login_argument_refusals_name_the_fault():
    link, disp, _ = make()
    h = Host(link)
    assert h.login("clinician", KEY_C)["ok"]
    r = h.req("sim_warp", {"seconds": 3600})
    assert r["err"] == {"code": "E_ROLE", "n": 7, "msg": "sim_warp needs role service, session is clinician"}, r
    link2, _, _ = make(build="clinical")
    r = one(link2, {"id": 4, "cmd": "sim_warp", "args": {"seconds": 1}})
    assert r["err"]["code"] == "E_TEST_BUILD_ONLY" and r["err"]["msg"] == "sim_warp", r
    assert disp.calls == []


def test_id_zero_is_a_valid_request_id_and_a_login_reply_names_the_idle_timeout():
    """docs/protocol.md "Messages": `id` is an int 0..2^30-1, echoed in the reply; `auth` answers
    {"idle_timeout_s": 600, "role": ...} (its captured example: a session ends after 600 s idle)."""
    link, disp, _ = make()
    r = one(link, {"id": 0, "cmd": "status", "args": {}})
    assert r["id"] == 0 and r["ok"] is True, r
    r = one(link, {"id": (1 << 30) - 1, "cmd": "status", "args": {}})
    assert r["id"] == (1 << 30) - 1 and r["ok"] is True, r
    h = Host(link)
    r = h.login("clinician", KEY_C)
    assert r["res"] == {"role": "clinician", "idle_timeout_s": 600}, r


def test_wrong_role_names_every_permitted_role():
    """docs/protocol.md role table: log_read is for clinician, service; a patient session is told so."""
    from test_link import KEY_P
    link, disp, _ = make()
    h = Host(link)
    assert h.login("patient", KEY_P)["ok"]
    r = h.req("log_read", {})
    assert r["err"]["msg"] == "log_read needs role clinician/service, session is patient", r
    assert disp.calls == []


def test_a_handler_fault_is_e_internal_naming_the_exception_type():
    """docs/protocol.md: E_INTERNAL (9) is "unexpected firmware fault ... (a bug; report it)"; the
    msg names the exception's type for that report (test_link's dispatch raises KeyError on
    alarms_test), and the link answers on."""
    link, disp, _ = make()
    h = Host(link)
    assert h.login("clinician", KEY_C)["ok"]
    r = h.req("alarms_test", {})
    assert r["err"] == {"code": "E_INTERNAL", "n": 9, "msg": "KeyError"}, r
    assert h.req("status", {})["ok"]


def test_sq_0_and_2_to_the_30_minus_1_are_well_formed_and_one_beyond_is_not():
    """docs/protocol.md "Messages": `sq` is an int 0..2^30-1 like `id`; a well-formed sq goes on
    to the session check (there is no session here, so that refuses it), one outside the range is
    a framing error naming the range."""
    link, disp, _ = make()
    mac = "00" * 32
    for sq in (0, (1 << 30) - 1):
        code, msg = _msg(link, {"id": 7, "cmd": "status", "sq": sq, "mac": mac})
        assert code != "E_FRAME_FIELDS", (sq, code, msg)
    for sq in (-1, 1 << 30):
        assert _msg(link, {"id": 7, "cmd": "status", "sq": sq, "mac": mac}) == (
            "E_FRAME_FIELDS", "sq must be an int 0..1073741823"), sq
    assert disp.calls == []
