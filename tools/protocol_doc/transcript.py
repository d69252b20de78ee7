"""Regenerates docs/protocol.md examples by driving the real firmware runtime (make docs)."""

import sys
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "firmware"))
import protocol
import auth
from compat import hexlify
from hal_sim import SimHal
from runtime import PumpRuntime
from flash import PowerLoss



class RtcSimHal(SimHal):
    """SimHal with an RTC the firmware can set (time_set, sim_reset), as the board's PicoHal."""

    def set_rtc_s(self, t_s):
        self.rtc_base_s = t_s - self.mono_s


hal = RtcSimHal(start_t_s=0)
rt = PumpRuntime(hal, model_id=20, serial="ITB-000042", build="test")
boot = rt.boot()
out = []


def show(label, tx, rx):
    out.append((label, tx, rx))


print("BOOT", boot)
state = {"id": 0, "skey": None, "sq": 0}


def req(cmd, args=None, label=None, sign=True):
    state["id"] += 1
    f = {"id": state["id"], "cmd": cmd, "args": args or {}}
    if sign and state["skey"] and cmd not in ("auth_begin", "auth"):
        state["sq"] += 1
        f["sq"] = state["sq"]
        f = auth.sign(state["skey"], f)
    tx = protocol.encode(f)
    rx = rt.feed(tx)
    show(label or cmd, tx, rx)
    return protocol.Decoder().feed(rx)


def login(role, key):
    r = req("auth_begin", {"role": role}, sign=False)[0]
    nonce = r["res"]["nonce"]
    req("auth", {"role": role, "mac": hexlify(auth.login_mac(key, nonce, role))}, sign=False)
    state["skey"] = auth.session_key(key, nonce)
    state["sq"] = 0


req("hello")
req("status", label="status (before provisioning)")
req(
    "programme_stage",
    {"programme": {"mode": "continuous", "dose_ng_day": 500000}},
    label="programme_stage without a session",
)
login("service", auth.dev_service_key("ITB-000042"))
KC = b"C" * 32
KP = b"P" * 32
req("provision", {"keys": {"clinician": hexlify(KC), "patient": hexlify(KP)}})
req("time_set", {"t_s": 86400 * 700 + 8 * 3600})
req("sim_warp", {"seconds": 3600})
req("sim_fault", {"fault": "battery_drain", "nah": 1000})
req("logout")
state["skey"] = None
login("clinician", KC)
req("time_get")
req("settings_get")
req("settings_set", {"low_res_nl": 2000000, "utc_offset_s": 3600, "catheter_nl": 150000})
req("profile_get")
req("refill_stage", {"withdrawn_nl": 0, "added_nl": 20000000, "conc_ug_ml": 2000})
r = protocol.Decoder().feed(out[-1][2])[0]
req("refill_commit", {"hash": r["res"]["hash"]})
prog = {
    "mode": "flex",
    "lead_min": 120,
    "steps": [
        {"effect_min": 7 * 60, "dose_ng_day": 500000, "shape": "ramp"},
        {"effect_min": 22 * 60, "dose_ng_day": 600000, "shape": "ramp"},
    ],
    "boluses": [],
}
r = req("programme_stage", {"programme": prog})[0]
req("programme_commit", {"hash": "0" * 16}, label="programme_commit with a wrong hash")
req("programme_commit", {"hash": r["res"]["hash"]})
req("programme_get")
req("status")
req("bolus", {"dose_ng": 50000, "duration_min": 60})
req("bolus_cancel")
req("stop")
req("resume")
req("alarms_list")
req("alarms_test")
req("alarms_silence", {"duration_min": 30})
req("alarms_clear", {})
req("log_read", {"first_seq": 0, "max_n": 3})
req("profile_set", {"profile": {"indication": "spinal", "age_group": "adult"}})
req("sim_warp", {"seconds": 3600}, label="sim_warp as clinician")
req("patient_bolus", label="patient_bolus as clinician")
# replay the last frame
tx = out[-1][1]
show("replayed frame", tx, rt.feed(tx))
state["skey"] = None
req("logout")
login("patient", KP)
req("patient_bolus")
req("alarms_silence", {"duration_min": 10})
# bad frames
for label, raw in [
    ("bad CRC", b'{"args":{},"cmd":"status","id":90}*00000000\n'),
    ("no CRC", b'{"args":{},"cmd":"status","id":91}\n'),
    ("bad JSON", b'{"id":92,*' + protocol.crc_hex(b'{"id":92,').encode() + b"\n"),
    ("oversize", b'{"x":"' + b"a" * (protocol.MAX_LINE + 100) + b'"}\n'),
    ("missing id", protocol.encode({"cmd": "status"})),
    ("unknown command", protocol.encode({"id": 93, "cmd": "reboot"})),
]:
    show(label, raw if len(raw) < 200 else raw[:60] + b"...(%d bytes)...\n" % len(raw), rt.feed(raw))
ev = rt.link.event("alarm_raised", {"name": "low_reservoir", "class": "noncritical"}, 86400 * 720)
show("event", b"", ev)
# sim_reset (test builds): the pump answers, then its next tick reboots it through the
# power-loss path; the next frames on the line are the fresh boot's events.
state["skey"] = None
login("service", auth.dev_service_key("ITB-000042"))
state["id"] += 1
state["sq"] += 1
tx = protocol.encode(auth.sign(state["skey"], {"id": state["id"], "cmd": "sim_reset", "args": {}, "sq": state["sq"]}))
reply = rt.feed(tx)
try:
    rt.tick()
    raise SystemExit("sim_reset did not reboot the firmware")
except PowerLoss:
    pass
hal.advance_s(2)
rt = PumpRuntime(hal, model_id=20, serial="ITB-000042", build="test")
show("sim_reset", tx, reply + rt.boot())
json.dump([(label_, t.decode(), r.decode()) for label_, t, r in out], open(os.path.join(HERE, "transcript.json"), "w"), indent=1)
for label_, t, r in out:
    print("##", label_)
    print(">", t.decode().rstrip())
    print("<", r.decode().rstrip())
