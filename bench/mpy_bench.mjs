#!/usr/bin/env node
// MicroPython bench harness (make bench): runs bench/mpy_*.py scenarios in the
// MicroPython WebAssembly port with firmware/ loaded, one fresh interpreter
// per scenario.
//
// usage: node bench/mpy_bench.mjs [--json] [bench/mpy_scenario.py ...]
//   (no files: every bench/mpy_*.py)
//
// For each scenario it reports the wall time of the whole file and the
// gc.mem_alloc() delta (bytes still allocated after the run, after a collect),
// plus every figure the scenario reports itself with tools/mpy/mpybench.py
// (`mpybench.report(name, value, unit)` prints a `BENCH {json}` line), e.g.
// bytes allocated per control tick measured with the GC disabled.
import fs from "node:fs";
import path from "node:path";
import { createMicroPython, loadFirmware, REPO_ROOT } from "../tools/mpy/loader.mjs";

const BENCH_DIR = path.join(REPO_ROOT, "bench");
const HELPER = path.join(REPO_ROOT, "tools", "mpy", "mpybench.py");

async function runScenario(file) {
  const rel = path.relative(REPO_ROOT, path.resolve(file));
  const figures = [];
  let failed = false;
  const mp = await createMicroPython({
    stdout: (line) => {
      if (line.startsWith("BENCH ")) figures.push(JSON.parse(line.slice(6)));
      else process.stdout.write(`  [${path.basename(rel)}] ${line}\n`);
    },
    stderr: (line) => process.stderr.write(`  [${path.basename(rel)}] ${line}\n`),
  });
  loadFirmware(mp, { dirs: ["firmware", "bench"], extra: { "/runner/mpybench.py": fs.readFileSync(HELPER) } });
  const t0 = process.hrtime.bigint();
  try {
    mp.runPython(`
import sys, gc, time
sys.path.append("/runner")
gc.collect()
_a0 = gc.mem_alloc()
_t0 = time.ticks_ms()
exec(open(${JSON.stringify(rel)}).read(), {"__name__": "__main__", "__file__": ${JSON.stringify(rel)}})
_ms = time.ticks_diff(time.ticks_ms(), _t0)
`);
    // The WebAssembly port only reclaims garbage when no Python frame is running, so
    // collect in a separate top-level call (inside the scenario's call nothing is freed).
    mp.runPython("gc.collect()\n_retained = gc.mem_alloc() - _a0");
  } catch (e) {
    failed = true;
    process.stderr.write(`  [${path.basename(rel)}] FAILED:\n${e.message || e}\n`);
  }
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const result = { scenario: rel, ok: !failed, wall_ms: Math.round(wallMs), figures };
  if (!failed) {
    result.py_ms = Number(mp.globals.get("_ms"));
    result.retained_bytes = Number(mp.globals.get("_retained"));
  }
  return result;
}

async function main() {
  const args = process.argv.slice(2);
  const asJson = args.includes("--json");
  let files = args.filter((a) => a !== "--json");
  if (files.length === 0) {
    files = fs.existsSync(BENCH_DIR)
      ? fs.readdirSync(BENCH_DIR).filter((n) => /^mpy_.*\.py$/.test(n)).sort().map((n) => path.join(BENCH_DIR, n))
      : [];
  }
  if (files.length === 0) {
    console.log("mpy_bench: no bench/mpy_*.py scenarios yet");
    return 0;
  }
  const results = [];
  for (const f of files) results.push(await runScenario(f));
  if (asJson) {
    console.log(JSON.stringify(results, null, 2));
  } else {
    console.log("MicroPython bench (WebAssembly port):");
    for (const r of results) {
      const status = r.ok ? `${r.wall_ms} ms wall, ${r.retained_bytes} B retained` : "FAILED";
      console.log(`  ${r.scenario}: ${status}`);
      for (const f of r.figures) console.log(`    ${f.name}: ${f.value} ${f.unit || ""}`.trimEnd());
    }
  }
  return results.every((r) => r.ok) ? 0 : 1;
}

main().then(
  (rc) => process.exit(rc),
  (e) => {
    process.stderr.write(`mpy_bench.mjs: ${e && e.message ? e.message : e}\n`);
    process.exit(2);
  },
);
