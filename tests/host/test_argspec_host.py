"""The argument schema is one table shared by firmware, host and docs (issue 8, defect 5)."""
import json
import os

import pytest

from pumpctl import fwpath

fwpath.ensure()
import argspec  # noqa: E402

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
            d = argspec.field_dict(f)
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
