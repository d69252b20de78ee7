"""make bench (MicroPython): cost of the strict JSON check and the argument schema per request
(issue 8: both run on every frame). Figures: decode of a 4 KB 63-step programme frame (CRC,
jsonstrict.scan, json.loads, duplicate-key count), the scan alone, and argspec.check_args on
its arguments; a small status frame for comparison. Target: well inside the 2 s reply bound."""
import mpybench
import protocol
import argspec
from jsonstrict import scan

steps = [{"day": d, "effect_min": m * 90, "dose_ng_day": 500000 + m, "shape": "ramp"}
         for d in range(7) for m in range(9)]
args = {"programme": {"mode": "flex", "steps": steps}, "override_reason": "x" * 80}
big = protocol.encode({"id": 1, "cmd": "programme_stage", "args": args})
small = protocol.encode({"id": 2, "cmd": "status", "args": {}})
N = 20

mpybench.report("frame_bytes", len(big), "B")
mpybench.report("decode_4k_frame", mpybench.time_ms(lambda: protocol.decode_line(big[:-1]), N) * 1000 // N, "us")
mpybench.report("scan_4k_frame", mpybench.time_ms(lambda: scan(big[:-10], 9), N) * 1000 // N, "us")
mpybench.report("check_args_63_steps", mpybench.time_ms(lambda: argspec.check_args("programme_stage", args), N)
                * 1000 // N, "us")
mpybench.report("decode_status_frame", mpybench.time_ms(lambda: protocol.decode_line(small[:-1]), 200) * 1000 // 200,
                "us")
