// Load the repo's firmware (and tests) into the MicroPython WebAssembly port.
//
// The npm package @micropython/micropython-webassembly-pyscript (pinned in
// package-lock.json) has only an in-memory filesystem (MEMFS). loadFirmware()
// mirrors repo directories into it under /repo (firmware/ -> /repo/firmware,
// tests/fw -> /repo/tests/fw), puts each on sys.path and chdirs to /repo, so
// `import compat` and repo-relative paths such as "tests/fw/vectors.txt" work
// exactly as they do under pytest run from the repo root.
//
// Reuse (emulator, bench):
//   import { createMicroPython, loadFirmware } from "<repo>/tools/mpy/loader.mjs";
//   const mp = await createMicroPython();
//   loadFirmware(mp, { dirs: ["firmware"] });
//   mp.runPython("import controller");
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const MOUNT = "/repo";

// Skipped while copying: caches and anything that is not source or test data.
const SKIP_NAMES = new Set(["__pycache__", ".pytest_cache", ".hypothesis"]);
const SKIP_EXT = new Set([".pyc", ".pyo"]);

/**
 * Start a MicroPython instance. Options are passed to loadMicroPython; by
 * default stdout/stderr are written to the process line by line.
 * heapsize (bytes) defaults to env MPY_HEAP or 8 MiB; pystack (words) to 16384.
 */
export async function createMicroPython(options = {}) {
  const heap = Number(process.env.MPY_HEAP || 8 * 1024 * 1024);
  return loadMicroPython({
    heapsize: heap,
    pystack: 16384,
    stdout: (line) => process.stdout.write(line + "\n"),
    stderr: (line) => process.stderr.write(line + "\n"),
    ...options,
  });
}

function mkdirp(mp, dir) {
  let cur = "";
  for (const part of dir.split("/").filter(Boolean)) {
    cur += "/" + part;
    try {
      mp.FS.mkdir(cur);
    } catch (e) {
      // EEXIST: fine.
    }
  }
}

function copyTree(mp, hostDir, mpDir, files) {
  mkdirp(mp, mpDir);
  for (const ent of fs.readdirSync(hostDir, { withFileTypes: true })) {
    if (SKIP_NAMES.has(ent.name) || SKIP_EXT.has(path.extname(ent.name))) continue;
    const src = path.join(hostDir, ent.name);
    const dst = mpDir + "/" + ent.name;
    if (ent.isDirectory()) {
      copyTree(mp, src, dst, files);
    } else if (ent.isFile()) {
      mp.FS.writeFile(dst, fs.readFileSync(src));
      files.push(dst);
    }
  }
}

/**
 * Copy repo directories into MEMFS and make them importable.
 *   dirs:    directories relative to root (default ["firmware"]; absolute paths
 *            work too); each is copied recursively to /repo/<dir> and prepended
 *            to sys.path (the first listed ends up first on sys.path).
 *   root:    repo root on the host (default: this file's ../..).
 *   extra:   { "/repo/path/in/memfs.py": "source" or Uint8Array } written as-is
 *            (e.g. a generated build_info.py).
 *   chdir:   change MicroPython's cwd to /repo (default true).
 * Returns the list of MEMFS file paths written.
 */
export function loadFirmware(mp, { dirs = ["firmware"], root = REPO_ROOT, extra = {}, chdir = true } = {}) {
  const files = [];
  mkdirp(mp, MOUNT);
  for (const dir of dirs) {
    const hostDir = path.resolve(root, dir);
    if (!fs.existsSync(hostDir)) throw new Error(`loadFirmware: no such directory ${hostDir}`);
    copyTree(mp, hostDir, MOUNT + "/" + dir.replace(/^\.?\/+|\/+$/g, ""), files);
  }
  for (const [dst, data] of Object.entries(extra)) {
    mkdirp(mp, path.posix.dirname(dst));
    mp.FS.writeFile(dst, data);
    files.push(dst);
  }
  const mpDirs = dirs.map((d) => MOUNT + "/" + d.replace(/^\.?\/+|\/+$/g, ""));
  mp.runPython(
    "import sys, os\n_d = None\n" +
      `for _d in reversed(${JSON.stringify(mpDirs)}):\n` +
      "    if _d not in sys.path:\n" +
      "        sys.path.insert(0, _d)\n" +
      (chdir ? `os.chdir(${JSON.stringify(MOUNT)})\n` : "") +
      "del _d\n",
  );
  return files;
}
