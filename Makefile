# Two commands a newcomer needs: `make demo` and `make test`. Both create .venv and install first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# First Python >= 3.12 found: the pyenv/.python-version one, then python3.12/3.13/python3 on PATH.
PYTHON ?= $(shell for c in python3.12 python3.13 python3.14 python3; do \
	  p=$$(command -v $$c 2>/dev/null) || continue; \
	  $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null && { echo $$p; break; }; \
	done)
OUT ?= runs/demo
PYTEST_ARGS ?=
# make test runs on pytest-xdist workers, each test file on one (--dist loadfile). Not loadgroup: with pytest 9.2
# and xdist 3.8.0 its xdist_group marks are ignored (the group suffix never reaches the node ids).
TEST_WORKERS ?= 2

.PHONY: demo test test-heavy venv install install-test lint bench clean

demo: install
	$(VENV)/bin/ctfp demo --out $(OUT)

# make test: every test but the `heavy` ones (statistical evidence over many fits, compiles from empty caches);
# make test-heavy: those, minutes each. CI (.ci/run) runs both.
test: install-test
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not heavy" --durations=25 $(PYTEST_ARGS)

test-heavy: install-test
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m heavy --durations=25 $(PYTEST_ARGS)

lint: install-test
	$(VENV)/bin/ruff check .

bench: install-test
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

$(PY):
	@if [ -z "$(PYTHON)" ]; then \
	  echo "ctfp needs Python >= 3.12 (PyMC 6, nutpie and ArviZ 1.x do); none found on PATH." >&2; \
	  echo "Install Python 3.12 (e.g. 'pyenv install 3.12' or your package manager) and rerun, or pass PYTHON=/path/to/python3.12." >&2; \
	  exit 1; fi
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Dependencies are installed once per change of pyproject.toml; the package itself is reinstalled every
# time in strict editable mode so newly added modules appear in the link tree.
$(VENV)/.deps: pyproject.toml | $(PY)
	$(PIP) install -q -e . --config-settings editable_mode=strict
	touch $@

$(VENV)/.deps-test: pyproject.toml | $(PY)
	$(PIP) install -q -e '.[test]' --config-settings editable_mode=strict
	touch $@ $(VENV)/.deps

install: $(VENV)/.deps
	@$(PIP) install -q --no-deps -e . --config-settings editable_mode=strict

install-test: $(VENV)/.deps-test
	@$(PIP) install -q --no-deps -e . --config-settings editable_mode=strict

clean:
	rm -rf $(VENV) build *.egg-info runs .pytest_cache
