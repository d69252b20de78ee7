"""Bounded slice of `make fuzz` (tools/fuzz/wirefuzz.py): hostile frames to the CPython runtime in
process and to the MicroPython runtime (WebAssembly), compared frame by frame. Crashes, hangs,
E_INTERNAL replies, unauthorised therapy changes and frames the runtimes answer differently must
all be 0 (issue 8 defects 4 and 5 are among the vectors)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "tools", "fuzz"))
import wirefuzz  # noqa: E402

SLICE = int(os.environ.get("FUZZ_SLICE", "6000"))


@pytest.mark.req("VER-FUZZ", "PROTO-NO-INTERNAL", "PROTO-JSON-STRICT", "LINK-CRC", "CORE-REFUSAL-NO-CHANGE")
@pytest.mark.oracle("spec")
def test_wire_fuzz_slice_both_runtimes():
    """Oracle: the two runtimes must agree byte for byte, and the documented error contract (no
    E_INTERNAL, no effect of a refused frame); frames and their CRCs come from zlib, not the firmware."""
    stats, diffs = wirefuzz.run(SLICE, 1, ["cpython", "micropython"], 3000, quiet=True)
    lines = [s.line() for s in stats.values()]
    for s in stats.values():
        lines += ["   %s: %r -> %r" % ex for ex in s.examples[:3]]
    lines += ["differs: %r" % (d,) for d in diffs[:5]]
    assert all(s.frames == SLICE for s in stats.values()), lines
    assert not any(s.bad() for s in stats.values()) and not diffs, "\n".join(lines)
