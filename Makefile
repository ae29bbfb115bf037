# OneCity — one command to set up and run, one to test. `make help` lists the rest.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help setup system-packages venv assets services demo serve test test-fast lint fmt bench migrate clean

help: ## list the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

setup: system-packages venv assets ## install everything (Debian packages, .venv, front-end assets); idempotent

system-packages: ## Debian packages the tests need (Chromium, CJK fonts), if missing
	@bash scripts/install-system-packages.sh

venv: $(VENV)/.installed ## the Python virtual environment with OneCity and its dev tools

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

assets: onecity/web/static/vendor/echarts.min.js ## front-end assets from npm, served locally (no CDN)

node_modules/echarts/dist/echarts.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

onecity/web/static/vendor/echarts.min.js: package-lock.json node_modules/echarts/dist/echarts.min.js scripts/vendor_assets.py $(VENV)/.installed
	$(BIN)/python scripts/vendor_assets.py

services: ## start PostgreSQL, NATS and Mosquitto if installed and stopped
	@bash scripts/ensure-services.sh

demo: setup ## set up, then run the demo city (SQLite, live simulation); URL printed once pages answer; PORT=8123 for another
	ONECITY_ENV=demo $(BIN)/onecity demo --host $(HOST) --port $(PORT)

serve: venv assets ## run the server with the current ONECITY_* settings
	$(BIN)/onecity serve --upgrade --host $(HOST) --port $(PORT)

migrate: venv ## apply database migrations (ONECITY_DATABASE_URL)
	$(BIN)/onecity db upgrade

test: setup services ## the whole suite: SQLite and PostgreSQL, NATS, browser tests, lint
	$(BIN)/ruff check onecity tests scripts $(wildcard bench)
	$(BIN)/ruff format --check onecity tests scripts $(wildcard bench)
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

test-fast: venv ## the suite without the browser and NATS tests
	$(BIN)/python -m pytest -m "not browser and not nats"

lint: venv ## ruff (lint and format check), mypy (strict) and the import contracts
	$(BIN)/ruff check onecity tests scripts $(wildcard bench)
	$(BIN)/ruff format --check onecity tests scripts $(wildcard bench)
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: venv ## format the code and fix what ruff can fix
	$(BIN)/ruff format onecity tests scripts $(wildcard bench)
	$(BIN)/ruff check --fix onecity tests scripts $(wildcard bench)

bench: setup services ## run the benchmarks (long); figures as JSON
	$(BIN)/python -m bench.run

clean: ## remove the virtual environment, node modules, local data and test output
	rm -rf $(VENV) node_modules onecity/web/static/vendor var test-output .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache
