"""The host programming session as a `transitions` state machine (issue 3).

    disconnected -> connected -> authenticated -> staged -> committed -> verified

* ``connect``: open the port and check ``hello`` (protocol version); records serial/build.
* ``login(role)``: challenge-response with the key from the key store (test builds derive
  the service key); every later request is MACed.
* ``stage_programme(prog)`` / ``stage_refill(args)``: the pump validates and returns the
  normalised payload and its hash; the session keeps both.
* ``commit()``: only from ``staged``, and only with the hash the pump returned for *this*
  stage: callers cannot pass a hash, so a hash mismatch cannot be produced by the tool.
  Any other state-changing request, a new login or a reconnect in between drops the stage.
* ``verify()``: read back (``programme_get`` / the event log) and compare with what was
  staged; only then is the session ``verified``.
"""
from transitions import Machine, MachineError

from pumpctl import fwpath
from pumpctl.link.client import PumpClient, PumpClientError, PumpReplyError

fwpath.ensure()
import auth  # noqa: E402  (firmware module)

STATES = ["disconnected", "connected", "authenticated", "staged", "committed", "verified"]
_LIVE = ["connected", "authenticated", "staged", "committed", "verified"]
_AUTHED = ["authenticated", "staged", "committed", "verified"]
TRANSITIONS = [
    {"trigger": "connect", "source": "disconnected", "dest": "connected", "before": "_do_connect"},
    {"trigger": "login", "source": _LIVE, "dest": "authenticated", "before": "_do_login"},
    {"trigger": "stage", "source": _AUTHED, "dest": "staged", "before": "_do_stage"},
    {"trigger": "commit", "source": "staged", "dest": "committed", "before": "_do_commit"},
    {"trigger": "verify", "source": "committed", "dest": "verified", "before": "_do_verify"},
    {"trigger": "unstage", "source": ["staged", "committed", "verified"], "dest": "authenticated",
     "before": "_drop_stage"},
    {"trigger": "disconnect", "source": "*", "dest": "disconnected", "before": "_do_disconnect"},
]
READ_ONLY = ("hello", "status", "programme_get", "alarms_list", "log_read", "time_get", "settings_get",
             "profile_get")


class SessionError(PumpClientError):
    pass


class VerifyError(PumpClientError):
    """The pump's readback differs from what was staged."""


class Session:
    def __init__(self, url, keystore=None, timeout_s=2.0, on_traffic=None, client=None):
        self.url = url
        self.keystore = keystore
        self.timeout_s = timeout_s
        self.on_traffic = on_traffic
        self.client = client
        self.info = None
        self.role = None
        self.staged = None  # {"kind", "hash", "payload", "reply"}
        self.committed = None
        self.machine = Machine(model=self, states=STATES, transitions=TRANSITIONS, initial="disconnected",
                               auto_transitions=False, send_event=False)

    # -- lifetime
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.state != "disconnected":
            self.disconnect()
        return False

    @property
    def serial(self):
        return self.info["serial"] if self.info else None

    @property
    def build(self):
        return self.info["build"] if self.info else None

    def _do_connect(self):
        if self.client is None:
            self.client = PumpClient(self.url, timeout_s=self.timeout_s, on_traffic=self.on_traffic)
        try:
            self.info = self.client.hello()
        except BaseException:
            self.client.close()
            self.client = None
            raise

    def _do_disconnect(self):
        self.staged = None
        if self.client is not None:
            try:
                if self.role is not None:
                    self.client.logout()
            except PumpClientError:
                pass
            finally:
                self.client.close()
                self.client = None
        self.role = None

    # -- auth
    def key_for(self, role):
        key = self.keystore.get(self.serial, role) if self.keystore is not None else None
        if key is None and role == "service" and self.build == "test":
            key = auth.dev_service_key(self.serial).hex()
        if key is None:
            fix = ("pumpctl provision (test builds), or pumpctl login --role %s --key HEX with the key "
                   "the pump was provisioned with" % role)
            raise SessionError("no %s key for pump %s in %s" % (
                role, self.serial, getattr(self.keystore, "path", "the key store")), fix)
        return key

    def _do_login(self, role, key=None):
        self.staged = None
        self.role = None
        self.client.login(role, key or self.key_for(role))
        self.role = role

    def ensure_role(self, *roles):
        """Log in with the first of `roles` that has a key (no-op if already one of them)."""
        if self.state == "disconnected":
            self.connect()
        if self.role in roles:
            return self.role
        last = None
        for r in roles:
            try:
                key = self.key_for(r)
            except SessionError as e:
                last = e
                continue
            self.login(r, key)
            return r
        raise last

    # -- requests
    def request(self, cmd, args=None, timeout_s=None):
        """Any command. A state-changing one (other than commit) drops a pending stage."""
        if self.state == "disconnected":
            self.connect()
        if cmd not in READ_ONLY and self.state in ("staged", "committed", "verified"):
            self.unstage()
        try:
            return self.client.request(cmd, args, timeout_s)
        except PumpReplyError as e:
            if e.code in ("E_AUTH_EXPIRED", "E_AUTH_REQUIRED") and self.state in _AUTHED:
                self.staged = None
                self.role = None
                self.machine.set_state("connected")
            raise

    # -- two-step programming
    def _do_stage(self, kind, payload):
        cmd = {"programme": "programme_stage", "refill": "refill_stage"}.get(kind)
        if cmd is None:
            raise SessionError("unknown stage kind %r" % kind, "stage a programme or a refill")
        self.staged = None
        reply = self.client.request(cmd, payload)
        self.staged = {"kind": kind, "hash": reply["hash"], "payload": payload, "reply": reply}

    def _do_commit(self):
        st = self.staged
        cmd = st["kind"] + "_commit"
        self.committed = dict(st, commit=self.client.request(cmd, {"hash": st["hash"]}))
        self.staged = None

    def _drop_stage(self):
        self.staged = None

    def _do_verify(self):
        c = self.committed
        if c["kind"] == "programme":
            got = self.client.request("programme_get")
            if got.get("programme") != c["reply"]["programme"]:
                raise VerifyError("readback differs from the staged programme: pump has %r" % got.get("programme"),
                                  "check the pump with pumpctl status; programme again")
            c["readback"] = got
        else:
            want = c["reply"]
            hit = self._find_log("refill", want["added_nl"], want["conc_ug_ml"])
            if hit is None:
                raise VerifyError("the pump's log has no refill entry for %d nL at %d mcg/mL"
                                  % (want["added_nl"], want["conc_ug_ml"]), "check the pump with pumpctl status")
            st = self.client.request("status")
            if st.get("conc_ug_ml") != want["conc_ug_ml"]:
                raise VerifyError("pump reports %s mcg/mL after the refill, staged %d"
                                  % (st.get("conc_ug_ml"), want["conc_ug_ml"]), "check the pump")
            c["readback"] = {"log": hit, "status": st}

    def _find_log(self, name, a, b, depth=24):
        last = self.client.request("log_read", {"first_seq": 0x3FFFFFFF, "max_n": 1}).get("last_seq", 0)
        page = self.client.request("log_read", {"first_seq": max(0, last - depth + 1), "max_n": depth})
        for e in reversed(page.get("entries", [])):
            if e[2] == name and e[3] == a and e[4] == b:
                return e
        return None

    def trigger_error(self, exc):
        """Turn a `transitions` MachineError into a SessionError with a fix."""
        if isinstance(exc, MachineError):
            return SessionError("%s (session state %s)" % (exc.value, self.state),
                                "stage first (pumpctl programme / refill), then commit and read back")
        return exc


def guarded(session, trigger, *args, **kwargs):
    """Fire a trigger; an illegal one raises SessionError (not MachineError)."""
    try:
        return getattr(session, trigger)(*args, **kwargs)
    except MachineError as e:
        raise session.trigger_error(e) from e
