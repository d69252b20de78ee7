"""Firmware link layer: bytes in, reply frames out (docs/protocol.md).

Checks framing, fields, command, authentication, build kind and role before
anything reaches the controller's dispatch(cmd, args, role). Answers auth_begin,
auth and logout itself. A frame that fails any check is answered with an error
reply naming the fault and changes nothing.
"""
from argspec import check_args
from auth import Auth, SESSION_IDLE_S, valid_mac, valid_sq
from protocol import (
    COMMANDS,
    LINK_COMMANDS,
    MAX_ID,
    PROTOCOL_VERSION,
    TEST_BUILD_ONLY,
    Decoder,
    FrameError,
    PumpError,
    encode,
    event_obj,
    reply_err,
    reply_ok,
)

_REQUEST_KEYS = ("id", "cmd", "args", "sq", "mac")


def _valid_id(v):
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_ID


class Link:
    """dispatch(cmd, args, role) -> dict, raising PumpError for refusals.

    keyring: auth.Keyring; random_bytes(n) -> bytes (the HAL's source);
    now_s_fn() -> int, a clock sim_warp does not move (hal.monotonic_s);
    build: "test" or "clinical".
    """

    def __init__(self, dispatch, keyring, random_bytes, now_s_fn, build, flash=None):
        self.dispatch = dispatch
        # flash: where auth keeps the boot number and lockouts (None: volatile, unit tests)
        self.auth = Auth(keyring, random_bytes, flash, now_s_fn())
        self.now_s = now_s_fn
        self.build = build
        self.decoder = Decoder()
        self.event_seq = 0

    def feed(self, data):
        """Bytes from the serial line -> reply frames to write back (b"" if none)."""
        out = []
        for item in self.decoder.feed(data):
            out.append(encode(self.handle(item)))
        return b"".join(out)

    def event(self, ev, d, t_s):
        """A pushed event frame with the next event sequence number (starts at 1 per boot)."""
        self.event_seq += 1
        return encode(event_obj(ev, self.event_seq, t_s, d))

    def handle(self, item):
        """One decoded item (frame dict or FrameError) -> reply dict."""
        if isinstance(item, FrameError):
            return reply_err(None, item.code, item.detail)
        req_id = item.get("id")
        if not _valid_id(req_id):
            req_id = None
        try:
            return reply_ok(req_id, self._handle(item, req_id))
        except PumpError as e:
            return reply_err(req_id, e.code, e.detail)
        except Exception as e:  # a firmware bug must not kill the link
            return reply_err(req_id, "E_INTERNAL", type(e).__name__)

    def _fields(self, frame, req_id):
        if req_id is None:
            raise PumpError("E_FRAME_FIELDS", "id must be an int 0..%d" % MAX_ID)
        for k in sorted(frame):   # sorted: the reply names the same field on both runtimes (dict order differs)
            if k not in _REQUEST_KEYS:
                raise PumpError("E_FRAME_FIELDS", "unexpected field %s" % k)
        cmd = frame.get("cmd")
        if not isinstance(cmd, str):
            raise PumpError("E_FRAME_FIELDS", "cmd must be a string")
        args = frame.get("args", {})
        if not isinstance(args, dict):
            raise PumpError("E_FRAME_FIELDS", "args must be an object")
        has_sq = "sq" in frame
        has_mac = "mac" in frame
        if has_sq != has_mac:
            raise PumpError("E_FRAME_FIELDS", "sq and mac go together")
        if has_sq and not valid_sq(frame["sq"]):
            raise PumpError("E_FRAME_FIELDS", "sq must be an int 0..%d" % MAX_ID)
        if has_mac and not valid_mac(frame["mac"]):
            raise PumpError("E_FRAME_FIELDS", "mac must be 64 hex digits")
        return cmd, args

    def _handle(self, frame, req_id):
        cmd, args = self._fields(frame, req_id)
        spec = COMMANDS.get(cmd)
        if spec is None:
            raise PumpError("E_UNKNOWN_CMD", cmd[:32])
        now_s = self.now_s()
        role = self.auth.check(frame, now_s)  # raises for a bad MAC, replay, no session
        if cmd in LINK_COMMANDS:
            check_args(cmd, args)   # the controller's commands are checked by dispatch
            return self._link_cmd(cmd, args, now_s, role is not None)
        if cmd in TEST_BUILD_ONLY and self.build != "test":
            raise PumpError("E_TEST_BUILD_ONLY", cmd)
        roles = spec[1]
        if roles:
            if role is None:
                raise PumpError("E_AUTH_REQUIRED", "%s needs role %s" % (cmd, "/".join(roles)))
            if role not in roles:
                raise PumpError("E_ROLE", "%s needs role %s, session is %s" % (cmd, "/".join(roles), role))
        res = self.dispatch(cmd, args, role)
        if res is None:
            res = {}
        if cmd == "hello" and isinstance(res, dict):
            res["protocol"] = PROTOCOL_VERSION
        return res

    def _link_cmd(self, cmd, args, now_s, signed):
        if cmd == "logout":
            # Only the session holder ends its session (a signed logout; issue 8, defect 9):
            # on a shared link an unsigned logout from anyone else changes nothing.
            if signed:
                self.auth.logout()
            return {}
        role = args["role"]   # check_args ran (_handle): a known role; auth's mac is 64 hex digits
        if cmd == "auth_begin":
            return {"role": role, "nonce": self.auth.begin(role, now_s)}
        self.auth.complete(role, args["mac"], now_s)
        return {"role": role, "idle_timeout_s": SESSION_IDLE_S}
