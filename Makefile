# socklab: 'make tour' and 'make test' work on a fresh clone with Python 3.11+, make
# and the package registries. Everything is installed into ./.venv.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: tour test lint typecheck compile sysdeps bench clean

# socklab alone (it has no runtime dependency): what 'make tour' needs.
$(BIN)/.socklab: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("socklab needs Python >= 3.11") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

# and the test tools (pytest, hypothesis, ruff, mypy ...): what 'make test' needs.
$(BIN)/.installed: $(BIN)/.socklab pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# Byte-compile the sources: with PYTHONDONTWRITEBYTECODE set (as on these machines)
# Python never writes .pyc files itself, and compiling ~40 modules at every start
# costs tens of milliseconds. Run after any change; 'make tour/test/bench' do it.
# -f: compileall skips a module whose .pyc has the source's mtime in seconds, even
# when the source changed within that second (git checkout, stash): the stale .pyc
# is then refused at import and the module compiled at every start (0.1 s for all).
compile: $(BIN)/.socklab
	@$(BIN)/python -m compileall -q -f src

tour: $(BIN)/.socklab compile
	$(BIN)/socklab tour

# System tools the tests use as real peers and oracles (ss, ip, socat, nc, ncat, nmap,
# iperf3, ping, nft): installed with apt when missing and allowed; otherwise the
# tests that need them skip with the reason (a failure under CI as root).
sysdeps:
	@sh scripts/sysdeps.sh

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests bench

typecheck: $(BIN)/.installed
	$(BIN)/mypy

test: $(BIN)/.installed sysdeps lint typecheck
	$(BIN)/python -m pytest

bench: $(BIN)/.installed sysdeps compile
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/sockets.py
	$(BIN)/python bench/stack.py
	$(BIN)/python bench/change.py
	$(BIN)/python bench/talk.py
	$(BIN)/python bench/echo.py
	$(BIN)/python bench/probe.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
