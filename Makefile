# socklab: 'make tour' and 'make test' work on a fresh clone with Python 3.11+, make
# and the package registries. Everything is installed into ./.venv.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: tour test lint typecheck unit sysdeps bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("socklab needs Python >= 3.11") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

tour: $(BIN)/.installed
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

bench: $(BIN)/.installed sysdeps
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
