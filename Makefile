# cartwise — the two commands are `make demo` and `make test`; both set themselves up.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export SPARK_LOCAL_IP := 127.0.0.1

.PHONY: help install system-deps demo test test-fast lint format typecheck bench clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel setuptools
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) system-deps ## Create .venv with everything (quick when nothing changed)

system-deps: ## Install the OS tools tests need (promtool/prometheus, wrk) if missing
	@bash scripts/system-deps.sh

demo: install ## Simulate a marketplace and run the whole platform on embedded defaults
	$(BIN)/cartwise demo

test: install ## Run the whole test suite against real DuckDB, Postgres, Redis, Spark, Prometheus
	$(BIN)/pytest -q -p no:cacheprovider

test-fast: install ## Unit tests only
	$(BIN)/pytest -q tests/unit

lint: install ## ruff lint + format check, mypy strict on src
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: install ## Apply ruff formatting and fixes
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: install ## Run every benchmark; each appends to benchmarks/RESULTS.md
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## Remove generated data (keeps .venv)
	rm -rf cartwise-data
