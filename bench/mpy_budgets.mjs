#!/usr/bin/env node
// Budget bench (issue 9, "Budgets"): image size, RAM and per-stroke allocation of the
// clinical image (`make firmware KIND=clinical`, build-clinical/*.mpy; the test build in build/ is
// reported beside it), on the 32-bit MicroPython WebAssembly
// port. Prints each figure against its goal and exits 1 when a goal is missed (a bench, not
// a test: `make bench` runs it; nothing in `make test` does).
//
//   image:  .mpy total (build-clinical/*.mpy + boards/*.mpy)       goal <= 64 KiB
//   RAM:    heap in use after boot, free heap and largest free block of a Pico-sized
//           heap (190 KiB) after boot, peak over a simulated week    goal peak <= 96 KiB
//   alloc:  bytes allocated per stroke tick (GC off around the tick) goal <= 512 B (every
//           tick; the 15-min checkpoint ticks that save state are reported apart)
//
// Method. The interpreter starts with a 190 KiB heap (the Pico's is about that size); only
// build/ is on sys.path, so the firmware runs from its .mpy files. The pump boots with its
// flash on files (MEMFS, outside the Python heap, as the Pico's littlefs is outside its RAM),
// is filled (20 mL) and programmed (night ramp, examples/night_ramp.toml), then the week is
// driven one stroke per top-level call: gc.collect(), live = gc.mem_alloc(), then the tick
// with the GC disabled; live + bytes allocated in the tick bounds the heap in use at any
// instant of that tick, and the peak is the largest bound over the week (plus one status
// command a day). The WebAssembly port only frees garbage between top-level calls, hence one
// call per stroke.
//
// usage: node bench/mpy_budgets.mjs [--days N] [--json]
import fs from "node:fs";
import path from "node:path";
import { createMicroPython, loadFirmware, REPO_ROOT } from "../tools/mpy/loader.mjs";

const KIB = 1024;
const GOALS = { mpy_total_bytes: 64 * KIB, peak_heap_bytes: 96 * KIB, stroke_tick_bytes: 512 };
const PICO_HEAP = 190 * KIB;

function imageSize(buildDir) {
  let mpy = 0;
  let all = 0;
  const walk = (d) => {
    for (const n of fs.readdirSync(d)) {
      const p = path.join(d, n);
      if (fs.statSync(p).isDirectory()) walk(p);
      else {
        const s = fs.statSync(p).size;
        all += s;
        if (n.endsWith(".mpy")) mpy += s;
      }
    }
  };
  walk(buildDir);
  return { mpy, all };
}

function pct(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] : 0;
}

// The image a patient's pump runs is the clinical build (build-clinical/: no simulation handlers,
// no simulated HAL, no line tables; tools/mpy/build_firmware.py); the goals are checked on it.
// It needs a HAL to run here: the test build's hal_sim.mpy, on a path of its own after it.
async function run(which, days, withRam, dir = "build-clinical") {
  const lines = [];
  const mp = await createMicroPython({
    heapsize: PICO_HEAP,
    stdout: (l) => lines.push(l),
    stderr: (l) => process.stderr.write(`  [${which}] ${l}\n`),
  });
  const extra = dir === "build" ? {} :
    { "/repo/simhal/hal_sim.mpy": fs.readFileSync(path.join(REPO_ROOT, "build", "hal_sim.mpy")) };
  loadFirmware(mp, { dirs: [dir, "bench"], extra });
  const g = (name) => mp.globals.get(name);
  mp.runPython(`
import sys, gc, micropython
sys.path[:] = ["/repo/${dir}", "/repo/bench", "/repo/simhal"]
gc.collect()
_interp = gc.mem_alloc()
`);
  // micropython.mem_info(1): "GC: total: T, used: U, ..." then the block map of each heap area
  // ("GC memory layout; from ADDR:", 64 blocks of 16 B a line, "." free, "(N lines all free)").
  // The largest free block is read from the first area only: the Pico-sized one.
  const maxFreeBytes = () => {
    lines.length = 0;
    mp.runPython("gc.collect()\nmicropython.mem_info(1)");
    const t = lines.join("\n").match(/GC: total: (\d+), used: (\d+)/);
    let areas = 0;
    let run = 0;
    let best = 0;
    for (const l of lines) {
      if (l.startsWith("GC memory layout")) {
        areas += 1;
        continue;
      }
      if (areas !== 1) continue;
      const free = l.match(/^\s+\((\d+) lines all free\)/);
      const row = l.match(/^[0-9a-f]{8}: (.*)$/);
      if (free) run += Number(free[1]) * 64;
      else if (row) {
        for (const ch of row[1]) {
          if (ch === ".") run += 1;
          else run = 0;
          if (run > best) best = run;
        }
      }
      if (run > best) best = run;
    }
    return { maxFree: best * 16, total: t ? Number(t[1]) : -1, used: t ? Number(t[2]) : -1, areas };
  };
  const first = maxFreeBytes();   // the heap as created: one Pico-sized area
  // One import per top-level call (the port frees import-time garbage only between calls),
  // including the modules a clinician session imports on demand.
  for (const m of ["compat", "protocol", "pumpmodel", "schedule", "delivery", "alarms", "battery", "fsm",
    "flash", "store", "eventlog", "auth", "clinical", "commands", "commands_admin", "dispatch", "controller",
    "link", "runtime", "hal_sim", ...(dir === "build" ? ["commands_sim"] : [])]) mp.runPython(`gc.collect()\nimport ${m}`);
  mp.runPython(`
gc.collect()
_mods = gc.mem_alloc() - _interp
from flash import FileFlash
import scenario_budget as sc
_steps = sc.setup_steps(${JSON.stringify(which)}, FileFlash("/flash"))
`);
  for (let i = 0; i < 4; i++) mp.runPython(`gc.collect()\n_steps[${i}]()`);
  const boot = maxFreeBytes();
  const res = {
    scenario: which,
    interpreter_bytes: Number(g("_interp")),
    modules_bytes: Number(g("_mods")),
    after_boot_bytes: boot.used,
    // The port adds heap areas when an allocation fails before it could collect (it cannot
    // collect inside a call): count free space against the Pico-sized first area only.
    free_after_boot_bytes: first.total - boot.used,
    largest_free_after_boot_bytes: boot.maxFree,
    heap_areas_after_boot: boot.areas,
  };
  const ticks = [];
  const saves = [];
  let peak = 0;
  let liveMax = 0;
  let day = 0;
  const t0 = Date.now();
  for (;;) {
    mp.runPython("gc.collect()\n_live = gc.mem_alloc()\n_a, _saved = sc.step_alloc()\n_day = sc.sim_days()");
    const live = Number(g("_live"));
    const a = Number(g("_a"));
    (g("_saved") ? saves : ticks).push(a);
    if (live > liveMax) liveMax = live;
    if (live + a > peak) peak = live + a;
    const d = Number(g("_day"));
    if (d >= days) break;
    if (d !== day) {
      day = d;
      mp.runPython("gc.collect()\n_live = gc.mem_alloc()\ngc.disable()\n_a0 = gc.mem_alloc()\nsc.daily_status()\n_a = gc.mem_alloc() - _a0\ngc.enable()");
      const p = Number(g("_live")) + Number(g("_a"));
      if (p > peak) peak = p;
    }
  }
  const end = maxFreeBytes();
  mp.runPython("_strokes = sc.S['hal'].strokes - sc.S['strokes']");
  const sorted = [...ticks].sort((x, y) => x - y);
  Object.assign(res, {
    days,
    strokes: Number(g("_strokes")),
    wall_ms: Date.now() - t0,
    peak_heap_bytes: peak,
    live_max_bytes: liveMax,
    largest_free_end_bytes: end.maxFree,
    heap_total_end_bytes: end.total,
    heap_areas_end: end.areas,
    stroke_tick_mean_bytes: Math.round(ticks.reduce((s, x) => s + x, 0) / Math.max(1, ticks.length)),
    stroke_tick_p50_bytes: pct(sorted, 50),
    stroke_tick_p99_bytes: pct(sorted, 99),
    stroke_tick_max_bytes: sorted.length ? sorted[sorted.length - 1] : 0,
    stroke_ticks_over_512: sorted.filter((x) => x > 512).length,
    stroke_ticks: ticks.length,
    checkpoint_ticks: saves.length,
    checkpoint_tick_mean_bytes: Math.round(saves.reduce((s, x) => s + x, 0) / Math.max(1, saves.length)),
    all_ticks_mean_bytes: Math.round([...ticks, ...saves].reduce((s, x) => s + x, 0) / Math.max(1, ticks.length + saves.length)),
  });
  if (!withRam) {
    for (const k of ["interpreter_bytes", "modules_bytes", "after_boot_bytes", "free_after_boot_bytes",
      "largest_free_after_boot_bytes", "peak_heap_bytes", "live_max_bytes", "largest_free_end_bytes", "heap_total_end_bytes", "heap_areas_after_boot", "heap_areas_end"]) delete res[k];
  }
  return res;
}

async function main() {
  const args = process.argv.slice(2);
  const asJson = args.includes("--json");
  const di = args.indexOf("--days");
  const days = di >= 0 ? Number(args[di + 1]) : 7;
  for (const [d, kind] of [["build", "test"], ["build-clinical", "clinical"]]) {
    if (!fs.existsSync(path.join(REPO_ROOT, d, "controller.mpy"))) {
      process.stderr.write(`mpy_budgets: no ${d}/*.mpy: run \`make firmware KIND=${kind}\` (or make bench) first\n`);
      return 2;
    }
  }
  const img = imageSize(path.join(REPO_ROOT, "build-clinical"));
  const imgTest = imageSize(path.join(REPO_ROOT, "build"));
  const night = await run("night_ramp", days, true);
  const nightTest = await run("night_ramp", days, true, "build");
  const low = await run("min_flow", Math.min(days, 2), false);
  const checks = [
    [".mpy total (clinical image)", img.mpy, GOALS.mpy_total_bytes],
    ["peak heap over the week (night ramp, clinical image)", night.peak_heap_bytes, GOALS.peak_heap_bytes],
    ["stroke tick, max (night ramp, every tick without a state save)", night.stroke_tick_max_bytes, GOALS.stroke_tick_bytes],
    ["stroke tick, max (min flow, every tick without a state save)", low.stroke_tick_max_bytes, GOALS.stroke_tick_bytes],
  ];
  const ok = checks.every(([, v, goal]) => v <= goal);
  if (asJson) {
    console.log(JSON.stringify({ image: img, image_test_build: imgTest, night_ramp: night,
      night_ramp_test_build: nightTest, min_flow: low, goals: GOALS, ok }, null, 2));
  } else {
    const kb = (b) => `${(b / KIB).toFixed(1)} KiB`;
    console.log("Budgets (MicroPython 1.27 WebAssembly, 32-bit, the clinical image from build-clinical/*.mpy):");
    console.log(`  image: .mpy ${img.mpy} B (${kb(img.mpy)}), whole build-clinical/ ${img.all} B (${kb(img.all)}); ` +
      `test build (build/, with simulation code and line tables): .mpy ${imgTest.mpy} B`);
    console.log(`  RAM (heap ${kb(PICO_HEAP)} like a Pico; flash on files, outside the heap):`);
    console.log(`    interpreter alone ${night.interpreter_bytes} B; firmware modules loaded ${night.modules_bytes} B`);
    console.log(`    after boot + fill + night-ramp programme: ${night.after_boot_bytes} B in use, ` +
      `${night.free_after_boot_bytes} B free, largest free block ${night.largest_free_after_boot_bytes} B`);
    if (night.heap_areas_end > 1) {
      console.log(`    (the port added ${night.heap_areas_end - 1} heap area(s): it cannot collect inside one call, so a ` +
        "long command's garbage outgrows the first area; free and largest-block figures are for the first area)");
    }
    console.log(`    ${night.days} simulated days, ${night.strokes} strokes one per call (${night.wall_ms} ms wall): ` +
      `peak ${night.peak_heap_bytes} B (${kb(night.peak_heap_bytes)}), live max ${night.live_max_bytes} B, ` +
      `largest free block at the end ${night.largest_free_end_bytes} B`);
    console.log(`    test build, the same week: modules ${nightTest.modules_bytes} B, peak ${nightTest.peak_heap_bytes} B, ` +
      `live max ${nightTest.live_max_bytes} B`);
    for (const r of [night, low]) {
      console.log(`  stroke tick allocation, ${r.scenario} (${r.days} d, ${r.stroke_ticks} ticks): mean ${r.stroke_tick_mean_bytes} B, ` +
        `p50 ${r.stroke_tick_p50_bytes} B, p99 ${r.stroke_tick_p99_bytes} B, max ${r.stroke_tick_max_bytes} B ` +
        `(${r.stroke_ticks_over_512} over 512 B); ` +
        `${r.checkpoint_ticks} checkpoint ticks (15-min state save) mean ${r.checkpoint_tick_mean_bytes} B; ` +
        `all ticks mean ${r.all_ticks_mean_bytes} B`);
    }
    for (const [name, v, goal] of checks) {
      console.log(`  ${v <= goal ? "ok  " : "MISS"} ${name}: ${v} B (goal <= ${goal} B)`);
    }
  }
  if (!ok) process.stderr.write("mpy_budgets: a budget goal is missed (see MISS above)\n");
  return ok ? 0 : 1;
}

main().then(
  (rc) => process.exit(rc),
  (e) => {
    process.stderr.write(`mpy_budgets.mjs: ${e && e.message ? e.message : e}\n`);
    process.exit(2);
  },
);
