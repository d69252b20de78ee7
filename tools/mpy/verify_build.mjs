#!/usr/bin/env node
// Check that the mpy-cross output in build/ loads in real MicroPython
// (the WebAssembly port, same .mpy format v6.3): every build/*.mpy and
// build/boards/*.mpy is imported from a MEMFS copy of build/ alone.
// Modules that need the board (`machine`, `rp2`, ... are not in the
// WebAssembly port) are reported as board-only, not failures.
// main.py/boot.py are not imported: importing them would start the pump.
//
// usage: node tools/mpy/verify_build.mjs [build-dir]   (make firmware runs it)
import path from "node:path";
import { createMicroPython, loadFirmware, REPO_ROOT } from "./loader.mjs";

async function main() {
  const buildDir = path.relative(REPO_ROOT, path.resolve(process.argv[2] || path.join(REPO_ROOT, "build")));
  const mp = await createMicroPython();
  const files = loadFirmware(mp, { dirs: [buildDir] });
  const prefix = `/repo/${buildDir}/`;
  const mods = files
    .filter((f) => f.endsWith(".mpy"))
    .map((f) => f.slice(prefix.length, -4).replace(/\//g, "."))
    .sort();

  mp.runPython(`
import sys
sys.path[:] = [${JSON.stringify(prefix.slice(0, -1))}]
BOARD_ONLY = ("machine", "rp2", "network", "bluetooth", "neopixel")
_ok, _board, _bad = [], [], []
for _m in ${JSON.stringify(mods)}:
    try:
        __import__(_m)
        _ok.append(_m)
    except ImportError as e:
        msg = str(e)
        if any(("'%s'" % b) in msg for b in BOARD_ONLY):
            _board.append(_m)
        else:
            _bad.append(_m)
            print("FAILED to load %s:" % _m)
            sys.print_exception(e)
    except Exception as e:
        _bad.append(_m)
        print("FAILED to load %s:" % _m)
        sys.print_exception(e)
import build_info
print("verify_build: %d .mpy loaded in MicroPython %s, %d board-only (%s), %d failed; BUILD_KIND=%s"
      % (len(_ok), ".".join(str(v) for v in sys.implementation.version[:3]), len(_board), " ".join(_board),
         len(_bad), build_info.BUILD_KIND))
_nbad = len(_bad)
`);
  return Number(mp.globals.get("_nbad")) === 0 ? 0 : 1;
}

main().then(
  (rc) => process.exit(rc),
  (e) => {
    process.stderr.write(`verify_build.mjs: ${e && e.message ? e.message : e}\n`);
    process.exit(2);
  },
);
