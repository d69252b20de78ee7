// MicroPython bridge for the emulator (`pumpctl emulate --runtime micropython`).
//
// Runs the SAME firmware files under real MicroPython (npm package
// @micropython/micropython-webassembly-pyscript) and speaks a line protocol with the
// Python parent (host/pumpctl/mpy_runtime.py) over stdin/stdout, so the emulator's
// pty/TCP front end is shared and host tools cannot tell the runtimes apart (issue 3).
//
// Startup: firmware dir(s) + emu_glue.py copied into MEMFS (tools/mpy/loader.mjs when the
// package resolves from the repo, else a local copy); Python builds
// Supervisor(Session(PumpRuntime(EmuHal(SimHal)))) exactly as the CPython backend does.
// Then writes: "READY <micropython version>".
//
// Requests (one line each; <mono> = emulator's pump-monotonic seconds, an int):
//   B <mono>            boot            T <mono>   tick
//   F <mono> <hex>      feed bytes      Q          quit
// Reply (one line): "R " + emu_glue.wire_step() text, or "E <error text, one line>".
//
// --state DIR: MEMFS is not host storage, so the flash goes through registerJsModule
// ("emuhost") to Node's fs on DIR, one file per name like flash.FileFlash.
// Firmware print() output goes to stderr (prefixed "mpy: "), never to the protocol.
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "..", "..", "..");
const PKG = "@micropython/micropython-webassembly-pyscript";

function parseArgs(argv) {
  const o = { fw: [], build: "test", model: 20, serial: "EMU00001", seed: 1, state: null, startTs: 0 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === "--fw") { o.fw.push(v); i++; }
    else if (k === "--build") { o.build = v; i++; }
    else if (k === "--model") { o.model = parseInt(v, 10); i++; }
    else if (k === "--serial") { o.serial = v; i++; }
    else if (k === "--seed") { o.seed = parseInt(v, 10); i++; }
    else if (k === "--state") { o.state = v; i++; }
    else if (k === "--start-t-s") { o.startTs = parseInt(v, 10); i++; }
    else throw new Error("mpy_bridge: unknown argument " + k);
  }
  if (o.fw.length === 0) o.fw.push(path.join(REPO, "firmware"));
  return o;
}

const errLine = (s) => process.stderr.write("mpy: " + s + "\n");

async function startMicroPython(fwDirs, gluePath) {
  const extra = { "/repo/emu/emu_glue.py": fs.readFileSync(gluePath) };
  const mpOpts = { heapsize: Number(process.env.MPY_HEAP || 8 * 1024 * 1024), pystack: 16384,
    stdout: errLine, stderr: errLine };
  let mp;
  try {
    const loader = await import(pathToFileURL(path.join(REPO, "tools", "mpy", "loader.mjs")).href);
    mp = await loader.createMicroPython(mpOpts);
    loader.loadFirmware(mp, { dirs: fwDirs.map((d) => path.resolve(d)), extra, root: "/" , chdir: false });
  } catch (e) {
    if (e.code !== "ERR_MODULE_NOT_FOUND") throw e;
    // The repo's node_modules is not installed (make setup does it): MPY_NODE_MODULES names one.
    const nm = process.env.MPY_NODE_MODULES;
    if (!nm) throw new Error(`${PKG} not found: run 'make setup' (npm ci) or set MPY_NODE_MODULES`);
    const pkg = await import(pathToFileURL(path.join(nm, PKG, "micropython.mjs")).href);
    mp = await pkg.loadMicroPython(mpOpts);
    const dirs = [];
    fwDirs.forEach((d, i) => {
      const dst = "/fw" + i;
      mp.FS.mkdir(dst);
      for (const name of fs.readdirSync(d)) {
        if (name.endsWith(".py")) mp.FS.writeFile(dst + "/" + name, fs.readFileSync(path.join(d, name)));
      }
      dirs.push(dst);
    });
    mp.FS.mkdir("/repo");
    mp.FS.mkdir("/repo/emu");
    mp.FS.writeFile("/repo/emu/emu_glue.py", extra["/repo/emu/emu_glue.py"]);
    mp.runPython(`import sys\nfor _d in reversed(${JSON.stringify(dirs)}):\n    sys.path.insert(0, _d)\n`);
  }
  mp.runPython("import sys\nif '/repo/emu' not in sys.path:\n    sys.path.append('/repo/emu')\n");
  return mp;
}

// Flash files on the host, same layout as flash.FileFlash (root/name).
function hostFlash(root) {
  fs.mkdirSync(root, { recursive: true });
  const p = (name) => {
    if (!name || name.includes("/") || name.startsWith(".")) throw new Error("bad flash name");
    return path.join(root, name);
  };
  return {
    read(name) {
      try { return fs.readFileSync(p(name)).toString("hex"); } catch (e) { return null; }
    },
    write(name, hex) { fs.writeFileSync(p(name), Buffer.from(hex, "hex")); },
    write_at(name, off, hex) {
      const fp = p(name);
      const data = Buffer.from(hex, "hex");
      let size = 0;
      try { size = fs.statSync(fp).size; } catch (e) { fs.writeFileSync(fp, Buffer.alloc(0)); }
      const fd = fs.openSync(fp, "r+");
      try {
        if (size < off) fs.writeSync(fd, Buffer.alloc(off - size), 0, off - size, size);
        fs.writeSync(fd, data, 0, data.length, off);
      } finally { fs.closeSync(fd); }
    },
    remove(name) { try { fs.unlinkSync(p(name)); } catch (e) { /* absent: fine */ } },
    names() { return fs.readdirSync(root).filter((n) => !n.startsWith(".")).join("/"); },
  };
}

function oneLine(e) {
  const msg = e && e.name === "PythonError" ? `${e.type}: ${e.message}` : String(e && e.message ? e.message : e);
  return msg.replace(/\s+/g, " ").slice(0, 2000);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const mp = await startMicroPython(o.fw, path.join(HERE, "glue.py"));
  if (o.state) mp.registerJsModule("emuhost", hostFlash(o.state));
  const py = (v) => (v === null ? "None" : JSON.stringify(v));
  mp.runPython(`
import sys, binascii
import emu_glue, flash, hal_sim, runtime
if ${o.state ? "True" : "False"}:
    import emuhost
    _flash = emu_glue.make_js_flash(flash, emuhost)
else:
    _flash = flash.MemoryFlash()
_sup = emu_glue.Supervisor(emu_glue.session_factory(runtime, hal_sim, _flash, ${py(o.build)}, ${o.model}, ${py(o.serial)}, ${o.seed}, ${o.startTs}))

def _emu_step(op, mono, hexdata):
    data = binascii.unhexlify(hexdata) if hexdata else b""
    return emu_glue.wire_step(_sup, op, mono, data)
`);
  const step = mp.globals.get("_emu_step");
  const out = (s) => fs.writeSync(1, s + "\n");
  mp.runPython("import sys\n_emu_v = '%s-%s' % (sys.implementation.name, '%d.%d.%d' % sys.implementation.version[:3])");
  out("READY " + mp.globals.get("_emu_v"));
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    const parts = line.split(" ");
    const op = parts[0];
    if (op === "Q") break;
    try {
      const mono = parseInt(parts[1], 10);
      out("R " + step(op, mono, parts[2] || ""));
    } catch (e) {
      out("E " + oneLine(e));
    }
  }
  process.exit(0);
}

main().catch((e) => {
  try { fs.writeSync(1, "E " + oneLine(e) + "\n"); } catch (e2) { /* parent gone */ }
  process.exit(2);
});
