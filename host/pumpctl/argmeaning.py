"""What each protocol argument means, in words: the host's and the doc generator's half of the schema.

The firmware's schema (firmware/argspec.py, issue 8 defect 5) stays the one source of every
argument's type, range, unit, default and error code; this table only adds the human meaning
that docs/protocol.md shows (tools/protocol_doc/gendoc.py) and field_dict() hands to scripts.
It lives on the host because the pump never reads it: on the board every constant string of
a loaded module stays in RAM, and the meanings were a large part of argspec's heap cost
(issue 9, "Budgets": peak heap <= 96 KB on the 32-bit port; docs/design.md, RAM).

Keys are each command's argument paths as docs/protocol.md prints them: nested members
joined with ".", list items as "[]" ("programme.steps[].day"; a list of plain values:
"names[]"). tests/host/test_argspec_host.py checks that every field of the schema has
exactly one meaning here and that nothing here names a field the schema lacks.
"""
from pumpctl import fwpath

fwpath.ensure()
import argspec  # noqa: E402

_WEEKDAY = "weekday 0=Monday..6, or -1 for every day"
_HASH = "the hash the stage returned"

MEANINGS = {
    'auth_begin': {
        'role': 'role to log in as',
    },
    'auth': {
        'role': 'role of the pending challenge',
        'mac': 'HMAC-SHA256(key_role, nonce_hex + "|" + role)',
    },
    'programme_stage': {
        'programme': 'the therapy programme',
        'programme.mode': 'continuous: one rate; flex: steps by time of day',
        'programme.lead_min': 'changes start this long before their effect time (label: 2 h)',
        'programme.dose_ng_day': 'the rate; required in continuous mode',
        'programme.steps': 'flex steps; required in flex mode',
        'programme.steps[]': 'one flex step',
        'programme.steps[].day': _WEEKDAY,
        'programme.steps[].effect_min': 'local time of day the new rate takes full effect',
        'programme.steps[].dose_ng_day': 'dose rate from the effect time on',
        'programme.steps[].shape': 'ramp: linear over lead_min up to the effect time; step: at effect - lead',
        'programme.boluses': 'periodic boluses on top of the basal rate',
        'programme.boluses[]': 'one periodic bolus',
        'programme.boluses[].at_min': 'local start time of the periodic bolus',
        'programme.boluses[].day': _WEEKDAY,
        'programme.boluses[].duration_min': 'duration',
        'programme.boluses[].dose_ng': 'drug per bolus',
        'programme.boluses[].rate_ng_day': 'exact rate of an already-normalised bolus (programme_get); must match dose_ng',
        'confirm_ratio': 'echo of the percentage the pump states for a > 2x change (compared only then)',
        'override_reason': 'why the clinician overrides a soft limit (logged as its CRC)',
        'restart': "restart at the profile's initial_ng_day after a drug holiday",
        'restore': 'restore up to the highest dose committed in the last 30 days, of its last 32 commits (needs override_reason)',
    },
    'programme_commit': {
        'hash': _HASH,
    },
    'refill_stage': {
        'withdrawn_nl': 'volume withdrawn from the reservoir',
        'added_nl': 'volume filled',
        'conc_ug_ml': 'concentration filled; absent: the current one',
    },
    'refill_commit': {
        'hash': _HASH,
    },
    'bolus': {
        'kind': 'single: a dose; prime: fill catheter and pathway',
        'dose_ng': 'bolus dose; required for kind single',
        'duration_min': 'bolus duration; required for kind single',
        'volume_nl': "prime volume; absent: catheter_nl + the pump's pathway",
    },
    'alarms_clear': {
        'names': 'alarms to clear; absent: all',
        'names[]': 'alarm name',
    },
    'alarms_silence': {
        'duration_min': 'silence the tones this long',
    },
    'log_read': {
        'first_seq': 'first entry to read',
        'max_n': 'entries per reply',
    },
    'time_set': {
        't_s': 'new pump time (pump epoch 2024-01-01Z; from 2025-01-01)',
        'reason': 'why, for a step over %d s once the clock is set' % argspec.MAX_CLOCK_STEP_S,
    },
    'settings_set': {
        'low_res_nl': 'low-reservoir alarm threshold',
        'catheter_nl': 'catheter volume (prime and bridge)',
        'utc_offset_s': 'local time minus UTC (flex steps run on local time)',
        'pb_dose_ng': 'patient bolus dose; 0 disables patient boluses',
        'pb_duration_min': 'patient bolus duration',
        'pb_lockout_min': 'minimum interval between patient boluses',
        'pb_max_24h': 'patient boluses allowed in 24 h',
    },
    'profile_set': {
        'profile': 'the patient profile',
        'profile.indication': "origin of spasticity; selects the label's dose rules",
        'profile.age_group': 'age group; adult by default for spinal and cerebral',
        'profile.phase': 'titration or maintenance (refill-time caps)',
        'profile.risk': 'withdrawal-risk flags shown on every status',
        'profile.risk[]': 'withdrawal risk flag',
        'profile.implant_t_s': 'implant time (pump epoch)',
        'profile.initial_ng_day': 'initial daily dose, the ceiling of a restart after a drug holiday',
    },
    'provision': {
        'keys': 'role -> key',
        'keys.patient': 'patient key, hex (>= 16 bytes)',
        'keys.clinician': 'clinician key, hex (>= 16 bytes)',
        'keys.service': 'service key, hex (>= 16 bytes)',
    },
    'sim_warp': {
        'seconds': 'advance the pump clock by this much',
    },
    'sim_fault': {
        'fault': 'fault to inject',
        'nah': 'battery_drain: charge to drain',
        'writes': 'flash_fail: failing writes',
        'after_bytes': 'power_loss: bytes of the next state write that land',
        'ppm': 'serial_noise: bit flips per million bytes',
        'count': 'motor_stall: strokes that stall',
    },
}


def paths(fields, prefix=""):
    """(path, field) of every field under `fields`, in schema order, as keyed in MEANINGS."""
    out = []
    for f in fields:
        path = prefix + f[argspec.NAME]
        out.append((path, f))
        k = f[argspec.KIND]
        if k == "obj":
            out.extend(paths(f[argspec.SUB], path + "."))
        elif k == "list":
            item = f[argspec.SUB]
            out.append((path + "[]", item))
            if item[argspec.KIND] == "obj":
                out.extend(paths(item[argspec.SUB], path + "[]."))
    return out


def meaning(cmd, path):
    """The meaning of argument `path` of command `cmd`; KeyError names a field without one."""
    return MEANINGS[cmd][path]


def field_dict(cmd, f, path=None):
    """A field of command `cmd` as a dict (host --json, docs): name, kind, lo, hi, unit, required,
    default, meaning, code, and `values` (enum), `item` (list) or `fields` (obj)."""
    path = f[argspec.NAME] if path is None else path
    d = {"name": f[argspec.NAME], "kind": f[argspec.KIND], "lo": f[argspec.LO], "hi": f[argspec.HI],
         "unit": f[argspec.UNIT], "required": f[argspec.REQUIRED], "default": f[argspec.DEFAULT],
         "meaning": meaning(cmd, path), "code": f[argspec.CODE]}
    k = f[argspec.KIND]
    if k == "enum":
        d["values"] = list(f[argspec.SUB])
    elif k == "list":
        d["item"] = field_dict(cmd, f[argspec.SUB], path + "[]")
    elif k == "obj":
        d["fields"] = [field_dict(cmd, s, path + "." + s[argspec.NAME]) for s in f[argspec.SUB]]
    return d
