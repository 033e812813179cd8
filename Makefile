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
	$(BIN)/pip install --quiet -e '.[test]'

# Debian's chromium for the browser tests (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "WARNING: could not install chromium: browser tests will be skipped"; \
	  else echo "chromium not found: browser tests will be skipped (sudo apt-get install chromium)"; fi; }

demo: setup
	$(BIN)/blocsim scenarios run kazakhstan-leaves --out runs/kazakhstan-leaves --report

test: setup-test browser
	$(BIN)/python -m pytest -n 2 -q

bench: setup-test
	$(BIN)/python bench/ge_speed.py
