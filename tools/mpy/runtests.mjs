#!/usr/bin/env node
// MicroPython test lane: run tests/fw/test_*.py under the MicroPython
// WebAssembly port (make test-mpy).
//
// usage: node tools/mpy/runtests.mjs [-v] [-k SUBSTRING] [--dir tests/fw]
//                                    [--load DIR]... [test_file.py ...]
//   --dir   test directory, repo-relative (default tests/fw); first on sys.path
//   --load  extra repo directory to put on sys.path (firmware/ always is)
//   --counts FILE  also write {"passed","failed","skipped"} as JSON (make test's summary)
//   --timeout S    kill the lane after S seconds (default 900; env MPY_TEST_TIMEOUT_S)
//                  The interpreter runs in a worker thread so a hung test cannot hang CI.
// The collector is tests/fw/mpy_runtests.py (copied to /runner so --dir can be
// any directory). Exit status: 0 if at least one test ran and none failed,
// 1 on failures or when no test ran, 2 if the runner itself broke.
import fs from "node:fs";
import path from "node:path";
import { Worker, isMainThread, parentPort } from "node:worker_threads";
import { createMicroPython, loadFirmware, REPO_ROOT } from "./loader.mjs";

const COLLECTOR = path.join(REPO_ROOT, "tests", "fw", "mpy_runtests.py");
const CLOSING = /^\d+ passed, \d+ failed(, \d+ skipped)?$/;

function parseArgs(argv) {
  const opts = {
    verbose: false,
    keyword: null,
    dir: "tests/fw",
    load: ["firmware"],
    files: [],
    counts: null,
    timeout_s: Number(process.env.MPY_TEST_TIMEOUT_S || 900),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-v") opts.verbose = true;
    else if (a === "-k") opts.keyword = argv[++i];
    else if (a === "--dir") opts.dir = argv[++i];
    else if (a === "--load") opts.load.push(argv[++i]);
    else if (a === "--counts") opts.counts = argv[++i];
    else if (a === "--timeout") opts.timeout_s = Number(argv[++i]);
    else if (a === "-h" || a === "--help") {
      console.log("usage: runtests.mjs [-v] [-k SUBSTRING] [--dir tests/fw] [--load DIR]... [--counts FILE] [--timeout S] [test_file.py ...]");
      process.exit(0);
    } else opts.files.push(a.split("/").pop());
  }
  opts.dir = opts.dir.replace(/^\.?\/+|\/+$/g, "");
  return opts;
}

// Python literal for a JS string / list of strings / null.
const py = (v) => (v === null ? "None" : JSON.stringify(v));

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = Date.now(); // wall time incl. WASM start-up, recorded in --counts
  let closing = null;
  const mp = await createMicroPython({
    stdout: (line) => {
      process.stdout.write(line + "\n");
      if (CLOSING.test(line)) closing = line;
    },
  });
  loadFirmware(mp, {
    dirs: [opts.dir, ...opts.load.filter((d) => d !== opts.dir)],
    extra: { "/runner/mpy_runtests.py": fs.readFileSync(COLLECTOR) },
  });
  let rc;
  try {
    mp.runPython(
      "import sys\nsys.path.append('/runner')\nimport mpy_runtests\n" +
        `_rc = mpy_runtests.main(${py(opts.dir)}, ${opts.files.length ? py(opts.files) : "None"}, ` +
        `${py(opts.keyword)}, ${opts.verbose ? "True" : "False"})\n`,
    );
    rc = Number(mp.globals.get("_rc"));
  } catch (e) {
    process.stderr.write(`runtests.mjs: the MicroPython runner itself failed:\n${e.message || e}\n`);
    rc = 2;
  }
  if (closing === null) {
    process.stderr.write("runtests.mjs: no closing line from the MicroPython runner\n");
    rc = 2;
  }
  const m = closing && closing.match(/^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/);
  writeCounts(opts, m ? { passed: +m[1], failed: +m[2], skipped: +(m[3] || 0) } : { passed: 0, failed: 1, skipped: 0 }, t0);
  return rc;
}

function writeCounts(opts, counts, t0) {
  if (!opts.counts) return;
  fs.mkdirSync(path.dirname(path.resolve(opts.counts)), { recursive: true });
  fs.writeFileSync(opts.counts, JSON.stringify({ ...counts, wall_s: (Date.now() - t0) / 1000 }) + "\n");
}

if (isMainThread) {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const worker = new Worker(new URL(import.meta.url), { argv: process.argv.slice(2) });
  const timer = setTimeout(() => {
    process.stderr.write(`runtests.mjs: MicroPython lane timed out after ${opts.timeout_s} s (a test hangs?)\n`);
    process.stdout.write("0 passed, 1 failed\n");
    writeCounts(opts, { passed: 0, failed: 1, skipped: 0 }, t0);
    worker.terminate();
    process.exitCode = 2;
  }, opts.timeout_s * 1000);
  worker.on("message", (rc) => {
    process.exitCode = rc;
  });
  worker.on("error", (e) => {
    process.stderr.write(`runtests.mjs: ${e && e.message ? e.message : e}\n`);
    process.exitCode = 2;
  });
  worker.on("exit", () => {
    clearTimeout(timer);
    if (process.exitCode === undefined) process.exitCode = 2;
  });
} else {
  parentPort.postMessage(await main());
}
