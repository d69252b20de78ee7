# Build and test entry points. `make help` lists them; conventions: docs/design.md.
# A fresh clone needs only python3 (3.11+), node (18+) and npm: `make test` builds
# .venv from requirements-dev.txt and node_modules from package-lock.json itself.

# ---------------------------------------------------------------------------
# `make test` runs these steps in order, then prints the summed closing line.
# To add a lane, add ONE line here (before the `test:` rule below), e.g.
#   TEST_STEPS += hil
# Lanes that write JUnit XML or *.counts.json into $(REPORTS) are summed.
TEST_STEPS := reports-reset lint pytest test-mpy firmware
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

help:
	@echo "make demo        emulator end to end (set-up included)"
	@echo "make test        everything CI runs: $(TEST_STEPS)"
	@echo "make venv        .venv from requirements-dev.txt (+ pumpctl editable)"
	@echo "make node_modules  npm ci (MicroPython WebAssembly port)"
	@echo "make lint        ruff"
	@echo "make pytest      CPython tests (tests/)"
	@echo "make test-mpy    tests/fw under MicroPython (WebAssembly)"
	@echo "make firmware [KIND=test|clinical]  mpy-cross into build/"
	@echo "make bench       bench/*.py (CPython) and bench/mpy_*.py (MicroPython)"
	@echo "make clean | distclean"

# --- environments (re-installed only when their inputs change) -------------
venv: $(VENV_STAMP)
$(VENV_STAMP): requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

node_modules: $(NODE_STAMP)
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# --- test lanes ----------------------------------------------------------------
test: $(TEST_STEPS)
	@$(PY) tools/mpy/summarize.py $(REPORTS)

reports-reset:
	rm -rf $(REPORTS) && mkdir -p $(REPORTS)

lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check .

pytest: $(VENV_STAMP) $(NODE_STAMP)
	$(PY) -m pytest tests --junitxml=$(REPORTS)/pytest.xml

test-mpy: $(NODE_STAMP)
	$(NODE) tools/mpy/runtests.mjs --counts $(REPORTS)/micropython.counts.json

firmware: $(VENV_STAMP) $(NODE_STAMP)
	$(PY) tools/mpy/build_firmware.py --kind $(KIND) --mpy-cross-flags "$(MPY_CROSS_FLAGS)"
	$(NODE) tools/mpy/verify_build.mjs build

# --- other entry points --------------------------------------------------------
docs: $(VENV_STAMP)
	$(PY) tools/protocol_doc/transcript.py > /dev/null
	$(PY) tools/protocol_doc/gendoc.py

bench: $(VENV_STAMP) $(NODE_STAMP)
	@for f in bench/*.py; do \
	  case "$$f" in bench/scenario_*|bench/mpy_*|'bench/*.py') continue;; esac; \
	  echo "== $$f (CPython)"; $(PY) "$$f" || exit 1; \
	done
	$(NODE) bench/mpy_bench.mjs

demo:
	@echo "make demo: not yet (the emulator and pumpctl land with the link issue)"

clean:
	rm -rf build $(REPORTS) .pytest_cache .ruff_cache .setuptools-build
	find . -name __pycache__ -type d -not -path './.venv/*' -not -path './node_modules/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) node_modules .hypothesis host/*.egg-info
