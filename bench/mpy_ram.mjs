#!/usr/bin/env node
// RAM per firmware module (issue 9, "Budgets": peak heap <= 96 KiB on the 32-bit port, .mpy
// total <= 64 KiB): what each build/*.mpy costs in heap once imported, next to its file size.
//
// Method. One MicroPython 1.27 WebAssembly interpreter (32-bit) with only build/ on sys.path,
// so the modules load from their .mpy files as `make flash` puts them on the Pico (a module
// loaded from the filesystem lives in RAM: bytecode, constant strings, and the objects its
// top level builds). Modules are imported in dependency order, one per top-level call, with
// gc.collect() in a call of its own before each reading (the port frees garbage only between
// top-level calls): a module's figure is gc.mem_alloc() after it minus before it, i.e. what it
// adds on top of the modules it imports. The board HAL (hal_pico, boards/) and main.py need
// `machine` and are not in the WebAssembly port; they are outside these figures.
//
// usage: node bench/mpy_ram.mjs [--json]    (needs `make firmware` first; `make bench` builds)
// Exits 0 whether or not a goal is met (it reports; bench/mpy_budgets.mjs exits 1 on a miss).
import fs from "node:fs";
import path from "node:path";
import { createMicroPython, loadFirmware, REPO_ROOT } from "../tools/mpy/loader.mjs";

const KIB = 1024;
// Dependency order: every module after the modules it imports at top level.
const ORDER = ["compat", "jsonstrict", "protocol", "pumpmodel", "schedule", "delivery", "alarms", "battery",
  "endoflife", "fsm", "flash", "store", "eventlog", "auth", "clinical", "argspec", "commands",
  "commands_admin", "dispatch", "controller", "link", "runtime", "hal_sim"];
const GOALS = { mpy_total_bytes: 64 * KIB, peak_heap_bytes: 96 * KIB };

async function main() {
  const asJson = process.argv.includes("--json");
  const buildDir = path.join(REPO_ROOT, "build");
  if (!fs.existsSync(path.join(buildDir, "controller.mpy"))) {
    process.stderr.write("mpy_ram: no build/*.mpy: run `make firmware` first\n");
    return 2;
  }
  const mp = await createMicroPython({ heapsize: 1024 * KIB });
  loadFirmware(mp, { dirs: ["build"] });
  mp.runPython('import sys, gc\nsys.path[:] = ["/repo/build"]');
  const alloc = () => {
    mp.runPython("gc.collect()");
    mp.runPython("_m = gc.mem_alloc()");
    return Number(mp.globals.get("_m"));
  };
  const base = alloc();
  const rows = [];
  let mpyTotal = 0;
  for (const m of ORDER) {
    const before = alloc();
    mp.runPython(`import ${m}`);
    const ram = alloc() - before;
    const size = fs.statSync(path.join(buildDir, `${m}.mpy`)).size;
    rows.push({ module: m, ram_bytes: ram, mpy_bytes: size });
  }
  for (const n of fs.readdirSync(buildDir)) if (n.endsWith(".mpy")) mpyTotal += fs.statSync(path.join(buildDir, n)).size;
  const boards = path.join(buildDir, "boards");
  if (fs.existsSync(boards)) {
    for (const n of fs.readdirSync(boards)) if (n.endsWith(".mpy")) mpyTotal += fs.statSync(path.join(boards, n)).size;
  }
  const ramTotal = alloc() - base;
  const out = { interpreter_bytes: base, modules_ram_bytes: ramTotal, mpy_total_bytes: mpyTotal, modules: rows, goals: GOALS };
  if (asJson) {
    console.log(JSON.stringify(out, null, 2));
    return 0;
  }
  const kb = (b) => `${(b / KIB).toFixed(1)} KiB`;
  console.log("RAM per firmware module (MicroPython 1.27 WebAssembly, 32-bit, imported from build/*.mpy):");
  console.log("  module            RAM B   .mpy B");
  for (const r of [...rows].sort((a, b) => b.ram_bytes - a.ram_bytes)) {
    console.log(`  ${r.module.padEnd(16)} ${String(r.ram_bytes).padStart(6)}   ${String(r.mpy_bytes).padStart(6)}`);
  }
  console.log(`  all modules: ${ramTotal} B (${kb(ramTotal)}) of RAM; interpreter alone ${base} B`);
  console.log(`  ${mpyTotal <= GOALS.mpy_total_bytes ? "ok  " : "MISS"} .mpy total: ${mpyTotal} B (${kb(mpyTotal)}; goal <= ${kb(GOALS.mpy_total_bytes)})`);
  console.log(`  modules are ${Math.round((100 * ramTotal) / GOALS.peak_heap_bytes)} % of the ${kb(GOALS.peak_heap_bytes)} peak-heap goal ` +
    "(the peak itself: bench/mpy_budgets.mjs)");
  return 0;   // a report: bench/mpy_budgets.mjs is the pass/fail gate on the goals
}

main().then(
  (rc) => process.exit(rc),
  (e) => {
    process.stderr.write(`mpy_ram.mjs: ${e && e.message ? e.message : e}\n`);
    process.exit(2);
  },
);
