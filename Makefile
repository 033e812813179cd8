# Two entry points for a fresh machine (see README.md):
#   make demo  -- set up and run the main job on the bundled EAEU data
#   make test  -- set up and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test setup setup-test browser bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

setup: $(BIN)/python
	$(BIN)/pip install --quiet -e .

setup-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,docs]'

# Debian's chromium for the browser tests (Playwright drives $(CHROMIUM); no browser download).
# Fails (non-zero) when chromium is missing and cannot be installed: `make test` runs the browser tests.
CHROMIUM ?= /usr/bin/chromium
APT_GET  ?= apt-get
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "ERROR: $(CHROMIUM) not found; the browser tests need it: sudo apt-get install chromium" >&2; exit 1; fi; \
	  { $(APT_GET) update -qq && DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq chromium >/dev/null; } \
	    || { echo "ERROR: could not install chromium ($(APT_GET) install chromium failed)" >&2; exit 1; }; \
	fi
	@"$(CHROMIUM)" --version >/dev/null 2>&1 \
	  || { echo "ERROR: $(CHROMIUM) is missing or does not start; the browser tests need it" >&2; exit 1; }

demo: setup
	$(BIN)/blocsim scenarios run kazakhstan-leaves --out runs/kazakhstan-leaves --report

test: setup-test browser
	$(BIN)/python -m pytest -n 2 -q

bench: setup-test
	$(BIN)/python bench/ge_speed.py
