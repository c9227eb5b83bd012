# Two commands on a fresh machine with Python >= 3.11 and pip: `make demo`, `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST ?= $(BIN)/pytest -q
# The database tests run on PostgreSQL too when CCERBOT_TEST_POSTGRES_URL names one, or when PostgreSQL
# answers at 127.0.0.1:5432 (TEST_POSTGRES_HOST, TEST_POSTGRES_PORT), as in CI.
TEST_ENV = CCERBOT_TEST_POSTGRES_URL="$$($(PYTHON) .ci/test-postgres-url)"

.PHONY: demo test lint typecheck pytest bench soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ccerbot demo

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check compliance storage mail bot templates tests bench
	$(BIN)/ruff format --check compliance storage mail bot templates tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(TEST_ENV) $(PYTEST)

bench: $(STAMP)
	$(BIN)/python -m bench

soak: $(STAMP)
	$(TEST_ENV) $(PYTEST) tests/soak

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
