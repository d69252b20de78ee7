"""The argument schema is one table shared by firmware, host and docs (issue 8, defect 5)."""
import json
import os

import pytest

from pumpctl import fwpath

fwpath.ensure()
import argspec  # noqa: E402
from pumpctl import argmeaning  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _paths(fields, prefix=""):
    for f in fields:
        path = prefix + f[argspec.NAME]
        yield path
        if f[argspec.KIND] == "obj":
            yield from _paths(f[argspec.SUB], path + ".")
        elif f[argspec.KIND] == "list" and f[argspec.SUB][argspec.KIND] == "obj":
            yield from _paths(f[argspec.SUB][argspec.SUB], path + "[].")


@pytest.mark.req("PROTO-ARGS-SCHEMA")
def test_host_imports_the_schema_as_plain_json_data():
    for cmd, fields in argspec.COMMAND_ARGS.items():
        for f in fields:
            d = argmeaning.field_dict(cmd, f)
            assert json.loads(json.dumps(d)) == d, (cmd, f)
    prog = {"mode": "flex", "steps": [{"effect_min": 1440, "dose_ng_day": 1}]}
    with pytest.raises(Exception) as e:
        argspec.check_value(argspec.PROGRAMME, prog, "programme")
    assert "programme.steps[1].effect_min" in str(e.value) and "0..1439 min" in str(e.value)


@pytest.mark.req("PROTO-ARGS-SCHEMA")
def test_docs_protocol_md_lists_every_argument_of_the_schema():
    """Change detector: docs/protocol.md must be regenerated (make docs) when the schema changes."""
    doc = open(os.path.join(ROOT, "docs", "protocol.md")).read()
    missing = [(cmd, p) for cmd, fields in argspec.COMMAND_ARGS.items() for p in _paths(fields)
               if "| `%s` |" % p not in doc]
    assert not missing, "run make docs; missing rows: %r" % missing[:10]


@pytest.mark.req("PROTO-ARGS-SCHEMA")
@pytest.mark.req("RAM-ARGSPEC-MEANING-HOST")
def test_every_schema_field_has_exactly_one_host_side_meaning():
    """The meanings moved out of the firmware (issue 9, RAM) keyed by argument path: every field of
    the firmware schema has one non-empty meaning, and no meaning names a field the schema lacks
    (the schema stays the one source of the fields; expected set = the schema's own paths)."""
    assert sorted(argmeaning.MEANINGS) == sorted(c for c, fields in argspec.COMMAND_ARGS.items() if fields)
    for cmd, fields in argspec.COMMAND_ARGS.items():
        paths = [p for p, _ in argmeaning.paths(fields)]
        assert len(paths) == len(set(paths)), cmd
        have = argmeaning.MEANINGS.get(cmd, {})
        assert sorted(have) == sorted(paths), (cmd, set(have) ^ set(paths))
        for p in paths:
            m = argmeaning.meaning(cmd, p)
            assert type(m) is str and m.strip() == m and m, (cmd, p)
    with pytest.raises(KeyError):
        argmeaning.meaning("programme_stage", "programme.colour")


@pytest.mark.req("RAM-ARGSPEC-MEANING-HOST")
def test_field_dict_meanings_follow_the_argument_path():
    """A member shared by name in different places gets the meaning of its own path (expected texts
    are the ones docs/protocol.md printed before the move, issue 8 defect 5)."""
    prog = argmeaning.field_dict("programme_stage", argspec.PROGRAMME)
    steps = [f for f in prog["fields"] if f["name"] == "steps"][0]
    assert steps["item"]["meaning"] == "one flex step"
    day = [f for f in steps["item"]["fields"] if f["name"] == "day"][0]
    assert day["meaning"] == "weekday 0=Monday..6, or -1 for every day" and day["lo"] == -1
    names = argmeaning.field_dict("alarms_clear", argspec.COMMAND_ARGS["alarms_clear"][0])
    assert names["item"]["meaning"] == "alarm name" and names["meaning"] == "alarms to clear; absent: all"
    reason = argmeaning.field_dict("time_set", argspec.COMMAND_ARGS["time_set"][1])
    assert reason["meaning"] == "why, for a step over 900 s once the clock is set"
