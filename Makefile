# Two commands for a newcomer: `make serve` and `make test`. Both build .venv on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# What serving needs (`-e .`), and on top of it the test tools (ruff, mypy, the vendor SDKs),
# installed into the same .venv only when a target needs them.
TEST_STAMP := $(VENV)/.installed-test

.PHONY: serve test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or run: make PYTHON=python3 ...)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(TEST_STAMP)

serve: $(STAMP)
	$(BIN)/paymock serve --host 127.0.0.1 --port 8080 --data .paymock/paymock.sqlite3

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

test: $(TEST_STAMP) lint typecheck
	$(BIN)/pytest -n 2 -p no:cacheprovider

bench: $(STAMP)
	@echo "see bench/README.md: each script prints its figures"

clean:
	rm -rf $(VENV) .paymock .mypy_cache .ruff_cache
