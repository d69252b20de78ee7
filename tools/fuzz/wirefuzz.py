"""Wire fuzz (issue 8, `make fuzz`): hostile frames to BOTH runtimes, compared frame by frame.

Frames (deterministic from --seed): random bytes, mutated valid frames, oversize lines, bad CRC,
valid CRC around bad JSON (issue 8 defect 4's vectors among them), wrong types, huge numbers, deep
nesting, bad UTF-8, and signed frames with wrong-typed arguments (signed by the rig's session so
they reach the command handlers). The CRC of generated frames is computed here with zlib, not with
the firmware. Per runtime it prints crashes, hangs, E_INTERNAL replies, therapy changes (all must
be 0) and frames per second, then the frames the two runtimes answered differently (must be 0).
Exit status 1 if any of those is non-zero.

    python tools/fuzz/wirefuzz.py --frames 1000000 [--seed 1] [--runtimes cpython,micropython]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools", "fuzz"))
sys.path.insert(0, os.path.join(REPO, "firmware"))

HANG_S = 2            # a frame answered later than this is a hang (the 2 s reply bound)
DEFECT4 = [b'{"args":{"x",1},"cmd":"hello","id":5}', b'{"cmd":"hello","id":00012}', b'{"cmd":"hello","id":840 97}',
           b'{"args":{},"cmd":"logout","id"::7}']
CMDS = ["hello", "status", "auth_begin", "auth", "logout", "programme_get", "programme_stage", "programme_commit",
        "refill_stage", "refill_commit", "bolus", "patient_bolus", "bolus_cancel", "stop", "resume", "alarms_list",
        "alarms_clear", "alarms_silence", "alarms_test", "log_read", "time_get", "time_set", "settings_get",
        "settings_set", "profile_get", "profile_set", "provision", "sim_warp", "sim_fault", "sim_reset"]
# Signed frames: commands whose refusal of a wrong-typed argument must change nothing.
SIGNED = {"programme_stage": ["programme", "confirm_ratio", "override_reason"], "programme_commit": ["hash"],
          "refill_stage": ["added_nl", "withdrawn_nl", "conc_ug_ml"], "refill_commit": ["hash"],
          "bolus": ["dose_ng", "duration_min", "kind", "volume_nl"], "alarms_clear": ["names"],
          "alarms_silence": ["duration_min"], "settings_set": ["low_res_nl", "pb_dose_ng", "pb_max_24h", "utc_offset_s"],
          "profile_set": ["profile"], "log_read": ["first_seq", "max_n"]}
WEIRD = [None, True, False, 0, -1, 1 << 31, -(1 << 31), 1 << 63, 10 ** 30, -(10 ** 30), "", "x", "\u00e9", [], {},
         [1], {"a": 1}, [[[]]], "1e400", "0x10", "NaN"]


def crc(body):
    return b"%08X" % (zlib.crc32(body) & 0xFFFFFFFF)


def framed(body):
    return body + b"*" + crc(body) + b"\n"


def cjson(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=True).encode()


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.templates = [cjson({"id": i, "cmd": c, "args": a}) for i, (c, a) in enumerate([
            ("hello", {}), ("status", {}), ("auth_begin", {"role": "clinician"}), ("logout", {}),
            ("bolus", {"dose_ng": 50000, "duration_min": 30}), ("stop", {}), ("resume", {}),
            ("programme_stage", {"programme": {"mode": "continuous", "dose_ng_day": 500000}}),
            ("settings_set", {"low_res_nl": 1000000}), ("alarms_clear", {"names": ["low_reservoir"]}),
            ("time_set", {"t_s": 90000000}), ("sim_warp", {"seconds": 3600})])]
        self.templates.append(cjson({"id": 9, "cmd": "stop", "args": {}, "sq": 5, "mac": "ab" * 32}))

    def weird(self, depth=0):
        r = self.r
        if depth < 2 and r.random() < 0.2:
            return [self.weird(depth + 1) for _ in range(r.randint(0, 3))]
        if depth < 2 and r.random() < 0.1:
            return {r.choice(["a", "dose_ng", "role", ""]): self.weird(depth + 1)}
        if r.random() < 0.3:
            return r.choice([-1, 1]) * r.randint(0, 1 << r.choice([8, 31, 32, 62, 64, 200]))
        return r.choice(WEIRD)

    def random_bytes(self):
        return bytes(self.r.getrandbits(8) for _ in range(self.r.randint(0, 120))) + b"\n"

    def mutate(self, b):
        r = self.r
        b = bytearray(b)
        for _ in range(r.randint(1, 4)):
            op = r.randint(0, 3)
            i = r.randint(0, max(0, len(b) - 1))
            if op == 0 and b:
                b[i] ^= 1 << r.randint(0, 7)
            elif op == 1:
                b.insert(i, r.choice(b'{}[]",:0123456789-tfn\\ \x00\xff'))
            elif op == 2 and b:
                del b[i]
            else:
                b[i:i] = r.choice([b'"id":', b",", b"::", b"00", b" ", b'{"', b"]]", b"\\u0000", b"\\ud800"])
        return bytes(b)

    def frame(self):
        r = self.r
        k = r.random()
        if k < 0.12:
            return self.random_bytes()
        if k < 0.30:   # mutated valid frame, CRC not fixed
            return framed(self.mutate(r.choice(self.templates)))[:-1].replace(b"\n", b"") + b"\n" \
                if r.random() < 0.5 else self.mutate(framed(r.choice(self.templates))[:-1]) + b"\n"
        if k < 0.52:   # valid CRC around mutated (mostly bad) JSON
            body = r.choice(DEFECT4) if r.random() < 0.05 else self.mutate(r.choice(self.templates))
            return framed(body.replace(b"\n", b""))
        if k < 0.57:   # bad CRC
            body = r.choice(self.templates)
            c = bytearray(crc(body))
            c[r.randint(0, 7)] = r.choice(b"0123456789ABCDEFabcdefXZ")
            return body + b"*" + bytes(c) + b"\n"
        if k < 0.70:   # wrong types, unsigned
            obj = {"id": self.weird() if r.random() < 0.3 else r.randint(0, 1000),
                   "cmd": r.choice(CMDS) if r.random() < 0.8 else self.weird(),
                   "args": {r.choice(["dose_ng", "role", "names", "t_s", "x", "keys"]): self.weird()}
                   if r.random() < 0.8 else self.weird()}
            if r.random() < 0.2:
                obj[r.choice(["sq", "mac", "extra"])] = self.weird()
            return framed(cjson(obj))
        if k < 0.86:   # signed, wrong-typed or huge argument values
            cmd = r.choice(sorted(SIGNED))
            args = {r.choice(SIGNED[cmd]): self.weird() for _ in range(r.randint(1, 2))}
            return b"SIGN " + cjson({"id": r.randint(0, 1000), "cmd": cmd, "args": args})
        if k < 0.90:   # deep nesting
            d = r.randint(5, 60)
            body = b'{"args":{"x":' + b"[" * d + b"1" + b"]" * d + b'},"cmd":"status","id":1}'
            return framed(body)
        if k < 0.96:   # bad UTF-8 / escapes inside strings, valid CRC
            bad = r.choice([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\\ud800", b"\\udfff",
                            b"\\u00", b"\x00", b"\xe9"])
            body = b'{"args":{"role":"' + bad + b'"},"cmd":"auth_begin","id":3}'
            return framed(body)
        if k < 0.995:  # huge numbers as raw JSON
            num = r.choice([b"9" * r.randint(10, 400), b"-" + b"9" * 50, b"1e400", b"1.5", b"-0", b"0e0"])
            return framed(b'{"args":{"dose_ng":' + num + b',"duration_min":30},"cmd":"bolus","id":' + num + b"}")
        n = r.randint(8100, 9000)  # oversize
        return b'{"cmd":"status","id":1,"x":"' + b"a" * n + b'"}*00000000\n'


def write_batch(frames, path):
    with open(path, "wb") as f:
        for fr in frames:
            f.write(b"%d\n" % len(fr))
            f.write(fr)


def read_results(path):
    with open(path, "rb") as f:
        data = f.read()
    out = []
    i = 0
    while i < len(data):
        j = data.index(b"\n", i)
        crash, changed, ln = (int(x) for x in data[i:j].split())
        out.append((crash, changed, data[j + 1:j + 1 + ln]))
        i = j + 1 + ln
    return out


class Stats:
    def __init__(self, name):
        self.name = name
        self.frames = self.crashes = self.hangs = self.internal = self.changes = self.authorised = 0
        self.seconds = 0.0
        self.examples = []

    def add(self, frames, results, seconds, slow=0):
        self.frames += len(results)
        self.seconds += seconds
        self.hangs += slow
        for fr, (crash, changed, reply) in zip(frames, results):
            bad = []
            if crash:
                self.crashes += 1
                bad.append("crash")
            if b'"E_INTERNAL"' in reply:
                self.internal += 1
                bad.append("E_INTERNAL")
            if changed and fr[:5] == b"SIGN " and b'"ok":true' in reply:
                self.authorised += 1      # a valid signed command did what it says: not hostile
            elif changed:
                self.changes += 1
                bad.append("therapy change")
            if bad and len(self.examples) < 8:
                self.examples.append((bad, fr[:160], reply[:160]))

    def line(self):
        fps = self.frames / self.seconds if self.seconds else 0
        return ("%-12s frames %8d  crashes %d  hangs %d  E_INTERNAL %d  therapy changes %d  %8.0f frames/s"
                "  (signed frames accepted with an effect: %d)"
                % (self.name, self.frames, self.crashes, self.hangs, self.internal, self.changes, fps, self.authorised))

    def bad(self):
        return self.crashes + self.hangs + self.internal + self.changes


def run(frames_total, seed, runtimes, batch, quiet=False):
    import fuzzrig
    gen = Gen(seed)
    stats = {n: Stats(n) for n in runtimes}
    diffs = []
    rig = None
    node = None
    tmp = tempfile.mkdtemp(prefix="wirefuzz_")
    if "micropython" in runtimes:
        node = subprocess.Popen(["node", os.path.join(REPO, "tools", "fuzz", "mpy_fuzz.mjs")], cwd=REPO,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = node.stdout.readline().strip()
        if ready != "READY":
            raise SystemExit("wirefuzz: MicroPython side did not start: %r" % ready)
    done = 0
    try:
        while done < frames_total:
            frames = [gen.frame() for _ in range(min(batch, frames_total - done))]
            src = os.path.join(tmp, "in")
            write_batch(frames, src)
            res = {}
            if "cpython" in runtimes:
                t0 = time.perf_counter()
                rig = fuzzrig.run_file(src, os.path.join(tmp, "out_cp"), rig)
                dt = time.perf_counter() - t0
                res["cpython"] = read_results(os.path.join(tmp, "out_cp"))
                stats["cpython"].add(frames, res["cpython"], dt, 1 if dt > HANG_S * len(frames) else 0)
            if node is not None:
                t0 = time.perf_counter()
                node.stdin.write("RUN %s %s\n" % (src, os.path.join(tmp, "out_mp")))
                node.stdin.flush()
                ans = node.stdout.readline().strip()
                dt = time.perf_counter() - t0
                if not ans.startswith("DONE"):
                    stats["micropython"].crashes += 1
                    stats["micropython"].examples.append((["batch failed"], ans[:300].encode(), b""))
                    break
                res["micropython"] = read_results(os.path.join(tmp, "out_mp"))
                stats["micropython"].add(frames, res["micropython"], dt, 1 if dt > HANG_S * len(frames) else 0)
            if len(res) == 2:
                for fr, a, b in zip(frames, res["cpython"], res["micropython"]):
                    if a != b:
                        diffs.append((fr[:160], a[2][:160], b[2][:160]))
                if len(res["cpython"]) != len(res["micropython"]):
                    diffs.append((b"<batch>", b"%d results" % len(res["cpython"]), b"%d" % len(res["micropython"])))
            done += len(frames)
            if not quiet and done % 100000 < batch:
                print("  ... %d frames: %s" % (done, "; ".join(s.line() for s in stats.values())), flush=True)
    finally:
        if node is not None:
            try:
                node.stdin.write("QUIT\n")
                node.stdin.flush()
            except OSError:
                pass
            node.wait(timeout=30)
    return stats, diffs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--runtimes", default="cpython,micropython")
    a = ap.parse_args(argv)
    runtimes = [x for x in a.runtimes.split(",") if x]
    stats, diffs = run(a.frames, a.seed, runtimes, a.batch)
    print("wire fuzz, seed %d" % a.seed)
    for s in stats.values():
        print(s.line())
        for ex in s.examples:
            print("   %s: %r -> %r" % ex)
    print("frames answered differently by the two runtimes: %d" % len(diffs))
    for d in diffs[:10]:
        print("   %r\n      cpython:     %r\n      micropython: %r" % d)
    bad = sum(s.bad() for s in stats.values()) + len(diffs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
