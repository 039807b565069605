# `make serve` and `make test` bootstrap .venv on first use; `make check` is the full gate.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: serve test check lint format format-check typecheck bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/sightline serve

test: $(STAMP)
	$(BIN)/python -m pytest --db=all $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench

format-check: $(STAMP)
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint format-check typecheck test
	@find src -name '*.py' -not -path '*/migrations/*' -exec wc -l {} + \
	  | awk '$$2 != "total" && $$1 > 400 {print "note: " $$2 " has " $$1 " lines"}'

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/eval.py

clean:
	rm -rf $(VENV) .sightline
