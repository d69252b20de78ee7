// MicroPython side of `make fuzz` (tools/fuzz/wirefuzz.py): the same firmware files and the same
// portable rig (tools/fuzz/fuzzrig.py) under MicroPython 1.27 (WebAssembly).
// stdin lines:  RUN <input file> <output file>   -> stdout "DONE <ms>" (or "ERR <text>")
//               QUIT
// Frames are batched per call (thousands per RUN) so the JS<->Python crossing is not the cost.
import fs from "node:fs";
import readline from "node:readline";
import { createMicroPython, loadFirmware } from "../mpy/loader.mjs";

const errs = [];
const mp = await createMicroPython({ stdout: (l) => errs.push(l), stderr: (l) => errs.push(l) });
loadFirmware(mp, { dirs: ["firmware", "tools/fuzz"] });
mp.runPython("import fuzzrig\n_rig = None\n");
process.stdout.write("READY\n");
const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  const parts = line.trim().split(" ");
  if (parts[0] === "QUIT") break;
  if (parts[0] !== "RUN") continue;
  const t0 = Date.now();
  try {
    mp.FS.writeFile("/tmp_in", fs.readFileSync(parts[1]));
    mp.runPython("_rig = fuzzrig.run_file('/tmp_in', '/tmp_out', _rig)\n");
    fs.writeFileSync(parts[2], mp.FS.readFile("/tmp_out"));
    process.stdout.write(`DONE ${Date.now() - t0}\n`);
  } catch (e) {
    process.stdout.write("ERR " + String(e).split("\n").join(" | ") + " | " + errs.slice(-5).join(" | ") + "\n");
  }
}
process.exit(0);
