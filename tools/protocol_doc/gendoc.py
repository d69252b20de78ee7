"""Regenerates docs/protocol.md examples by driving the real firmware runtime (make docs)."""

import json
import sys
import os

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "firmware"))
import protocol
import auth
import argspec
sys.path.insert(0, os.path.join(REPO, "host"))
from pumpctl import argmeaning  # noqa: E402  (the arguments' meanings live host-side, issue 9)

T = json.load(open(os.path.join(HERE, "transcript.json")))
ex = {}
for label, tx, rx in T:
    ex.setdefault(label, (tx, rx))


def block(label, note=""):
    tx, rx = ex[label]
    lines = []
    if tx:
        lines.append("> " + tx.rstrip("\n"))
    for line in rx.rstrip("\n").split("\n"):
        lines.append("< " + line)
    return ("```\n" + "\n".join(lines) + "\n```\n") + (note + "\n" if note else "")


def ROLE_TXT(r):
    return "open" if not r else ", ".join(r)


cmd_rows = "\n".join(
    "| `%s` | %d | %s | %s |"
    % (
        n,
        v[0],
        ROLE_TXT(v[1]),
        "test builds only"
        if n in protocol.TEST_BUILD_ONLY
        else ("answered by the link" if n in protocol.LINK_COMMANDS else ""),
    )
    for n, v in sorted(protocol.COMMANDS.items(), key=lambda kv: kv[1][0])
)
err_rows = "\n".join(
    "| %d | `%s` | %s |" % (v[0], n, v[1]) for n, v in sorted(protocol.ERRORS.items(), key=lambda kv: kv[1][0])
)

CMDS = [
    (
        "hello",
        "hello",
        "Identity and versions. `protocol` is added by the link (`PROTOCOL_VERSION`); a host refuses to go on if it differs from its own. `build` is `test` or `clinical`.",
    ),
    (
        "status",
        "status",
        "Therapy state. Volumes `*_nl`, doses `*_ng`, rates `*_ng_day`, times `*_t_s` (pump epoch). `alarm_t_s`/`empty_t_s` are the forecast low-reservoir and empty times; `eri_due_t_s`/`eos_t_s` the battery forecasts. Open; the example is from a clinician session, so it carries `sq`/`mac`.",
    ),
    (
        "auth_begin",
        "auth_begin",
        "Start a login for `role`; returns a fresh 16-byte nonce (hex): boot number, challenge number, 8 random bytes. Does not end the current session.",
    ),
    ("auth", "auth", 'Answer the challenge: `mac` = HMAC-SHA256(key_role, nonce_hex + "|" + role), hex.'),
    ("logout", "logout", "End the session. Only a logout signed by the session ends it; an unsigned one answers `{}` and changes nothing."),
    (
        "programme_get",
        "programme_get",
        "The running programme in normalised form, its daily totals and the ramp windows `[start_tod_s, effect_tod_s]`: "
        "start is the time into the programme's cycle (a day, or a week from Monday 00:00 for a "
        "weekly plan) and the end is start + the ramp, so a window that crosses the cycle's end ends "
        "after it (a ramp to 01:00 with a 2-h lead: `[82800, 90000]`).",
    ),
    (
        "programme_stage",
        "programme_stage",
        "Validate and normalise a programme; nothing changes yet. Returns the normalised programme, its daily total (mcg as ng and mL as nL), the `hash` to commit, the alarm/empty forecast before and after, and clinical `checks`.",
    ),
    (
        "programme_commit with a wrong hash",
        "programme_commit (wrong hash)",
        "A commit whose hash differs from the staged one changes nothing.",
    ),
    ("programme_commit", "programme_commit", "Apply exactly what was staged."),
    (
        "refill_stage",
        "refill_stage",
        "Volume withdrawn, volume added, concentration. Returns expected vs withdrawn discrepancy: `discrepancy_nl` (exact; the ratio is `discrepancy_nl / expected_nl`), `discrepancy_ppm` (parts per million of the expected volume, rounded down; null when nothing was expected but something was withdrawn), `discrepancy_permille` (the same, per mille), and `discrepancy_flag`, true above 14.5 % compared exactly (`discrepancy_nl * 1000 > 145 * expected_nl`); the bridge bolus when the concentration changes, the new forecasts and the hash. Refused with `E_STATE` (\"refill not allowed in state bolus\") while a bolus runs and after end of service.",
    ),
    ("refill_commit", "refill_commit", "Apply the staged refill."),
    ("bolus", "bolus", 'Clinician bolus: `dose_ng`, `duration_min` (or `kind: "prime"` with optional `volume_nl`). '
     'Refused with `E_STATE` while a refill bridge runs (the catheter still holds the previous strength; '
     'a bolus sized at the new one would push the old drug), logged as `bolus_refused` reason 3; the '
     'same holds for `patient_bolus`.'),
    (
        "patient_bolus",
        "patient_bolus",
        "Patient-activated bolus within the clinician's settings (`pb_*`), only while the pump is infusing (otherwise `E_STATE`, logged as `patient_bolus_refused` reason 4); refusals are logged. Here refused because the clinician has not enabled it.",
    ),
    ("bolus_cancel", "bolus_cancel", "End a running bolus; the pushed `bolus_finished` event follows the reply."),
    ("stop", "stop", ""),
    ("resume", "resume", ""),
    ("alarms_list", "alarms_list", ""),
    (
        "alarms_clear",
        "alarms_clear",
        "Optional `names`: list of alarms; default all. Alarms whose cause persists are `kept`.",
    ),
    (
        "alarms_silence",
        "alarms_silence",
        "Temporary silence (`duration_min` 1..1440, default 60); alarms stay latched.",
    ),
    ("alarms_test", "alarms_test", "Sounds both tones."),
    (
        "log_read",
        "log_read",
        "Entries `[seq, t_s, code, a, b]` from `first_seq`, at most `max_n` (≤ 24) per reply; page with `first_seq = last entry + 1` until `last_seq`.",
    ),
    ("time_get", "time_get", ""),
    ("time_set", "time_set", "Set the pump clock (`t_s`, pump epoch) without gaining or losing programmed volume."),
    ("settings_get", "settings_get", ""),
    (
        "settings_set",
        "settings_set",
        "`low_res_nl` (500000..5000000), `catheter_nl`, `utc_offset_s`, patient-bolus `pb_dose_ng`, `pb_duration_min`, `pb_lockout_min`, `pb_max_24h`.",
    ),
    ("profile_get", "profile_get", ""),
    ("profile_set", "profile_set", "Patient profile used by the clinical rules (issue 5)."),
    (
        "provision",
        "provision",
        "Service role: set per-role keys (`keys`: role -> hex, ≥ 16 bytes). The service key itself can be replaced the same way.",
    ),
    ("sim_warp", "sim_warp", "Test builds: advance the pump clock by `seconds`, handling everything due on the way."),
    (
        "sim_fault",
        "sim_fault",
        "Test builds: `fault` one of motor_stall, battery_drain (`nah`), flash_fail (`writes`), power_loss (`after_bytes`), serial_noise (`ppm`).",
    ),
    (
        "sim_reset",
        "sim_reset",
        "Test builds, service role: factory reset. Erases the persisted state, the event log and the keys (only the dev service key of test builds is left), answers `{\"rebooting\": true}`, refuses every other command, and reboots the firmware through the power-loss path on its next tick (a board's USB port goes away and comes back: reconnect; it may drop before the reply leaves). The first frame after the reboot is the pushed `boot` event (`seq` 1, `unclean: false`, state `stopped`). The pump clock goes on from the RTC: the firmware writes the current pump time into it first (boards whose RTC does not survive the reset lose it; `hil/dut.py` `factory_reset()` sets it again).",
    ),
]

def _rows(cmd, fields, prefix, out):
    # One row per field, nested objects and list items flattened into dotted paths.
    for f in fields:
        path = prefix + f[argspec.NAME]
        kind = f[argspec.KIND]
        if kind == "int":
            what = "int %d..%d" % (f[argspec.LO], f[argspec.HI])
        elif kind == "enum":
            what = "one of " + ", ".join("`%s`" % v for v in f[argspec.SUB])
        elif kind == "list":
            what = "list of %d..%d" % (f[argspec.LO], f[argspec.HI])
        elif kind == "obj":
            what = "object"
        else:
            what = argspec.describe(f)
        unit = f[argspec.UNIT] if kind == "int" else ""
        req = "yes" if f[argspec.REQUIRED] else ""
        d = f[argspec.DEFAULT]
        dflt = "" if d is None else "`%s`" % json.dumps(d)
        code = "" if f[argspec.CODE] == "E_BAD_ARGS" else " (`%s` out of range)" % f[argspec.CODE]
        # A list of plain values is one row, keyed "names[]" (its item field is named apart).
        key = prefix if prefix.endswith("[]") else path
        meaning = argmeaning.meaning(cmd, key).replace("|", "\\|")
        out.append("| `%s` | %s | %s | %s | %s | %s%s |" % (path, what, unit, req, dflt, meaning, code))
        if kind == "obj":
            _rows(cmd, f[argspec.SUB], path + ".", out)
        elif kind == "list":
            item = f[argspec.SUB]
            if item[argspec.KIND] == "obj":
                _rows(cmd, item[argspec.SUB], path + "[].", out)
            else:
                _rows(cmd, (item,), path + "[]", out)
                out[-1] = out[-1].replace("`%s[]%s`" % (path, item[argspec.NAME]), "`%s[]`" % path, 1)


def args_table(cmd):
    fields = argspec.COMMAND_ARGS[cmd]
    if not fields:
        return "Arguments: none (any argument is refused with `E_BAD_ARGS`).\n\n"
    out = ["| argument | type, range | unit | required | default | meaning |", "|---|---|---|---|---|---|"]
    _rows(cmd, fields, "", out)
    return "\n".join(out) + "\n\n"


cmd_sections = []
for label, title, note in CMDS:
    name = title.split(" ")[0]
    cmd_sections.append("### `%s`\n\n%s%s%s" % (title, (note + "\n\n") if note else "",
                                                 args_table(name) if name == label else "", block(label)))

errs_examples = "".join(
    "#### %s\n\n%s\n" % (name, block(name))
    for name in [
        "bad CRC",
        "no CRC",
        "bad JSON",
        "oversize",
        "missing id",
        "unknown command",
        "programme_stage without a session",
        "sim_warp as clinician",
        "replayed frame",
    ]
)

nonce = "00112233445566778899aabbccddeeff"
key = auth.dev_service_key("ITB-000042")
from compat import hexlify  # noqa: E402

lm = hexlify(auth.login_mac(key, nonce, "service"))
sk = auth.session_key(key, nonce)
fr = {"id": 7, "cmd": "sim_warp", "args": {"seconds": 3600}, "sq": 1}
fm = auth.frame_mac(sk, fr)

doc = open(os.path.join(HERE, "protocol_template.md")).read()
doc = doc.replace("@@CMD_TABLE@@", cmd_rows).replace("@@ERR_TABLE@@", err_rows)
doc = doc.replace("@@COMMANDS@@", "\n".join(cmd_sections)).replace("@@ERROR_EXAMPLES@@", errs_examples)
doc = doc.replace(
    "@@EVENT@@", "A reply followed by the event it caused (`bolus_cancel`):\n\n" + block("bolus_cancel")
).replace("@@BOLUS_CANCEL@@", block("bolus_cancel"))
doc = doc.replace("@@DEVKEY@@", hexlify(key)).replace("@@NONCE@@", nonce).replace("@@LOGINMAC@@", lm)
doc = (
    doc.replace("@@SKEY@@", hexlify(sk))
    .replace("@@FRAMEJSON@@", protocol.canonical_json(fr).decode())
    .replace("@@FRAMEMAC@@", fm)
)
doc = doc.replace("@@VERSION@@", str(protocol.PROTOCOL_VERSION))
doc = doc.replace("@@MAX_CLOCK_STEP_S@@", str(argspec.MAX_CLOCK_STEP_S))
doc = doc.replace("@@MAX_LINE@@", str(protocol.MAX_LINE))
doc = doc.replace("@@CLOCK_MIN_T_S@@", str(argspec.CLOCK_MIN_T_S)).replace("@@CLOCK_MIN_ISO@@", "2025-01-01T00:00:00Z")
for k in ("CHALLENGE_TTL_S", "SESSION_IDLE_S", "LOCK_AFTER_FAILURES", "LOCK_BASE_S", "LOCK_MAX_S"):
    doc = doc.replace("@@%s@@" % k, str(getattr(auth, k)))
doc = doc.replace("@@DEV_SECRET@@", auth.DEV_SECRET.decode())
assert "@@" not in doc, doc[doc.index("@@") :][:40]
open(os.path.join(REPO, "docs", "protocol.md"), "w").write(doc)
print(len(doc.splitlines()), "lines")
