# Newsroom: `make run` serves the product, `make test` runs the test suite.
# Both set everything up on a fresh machine that has Python 3.11+ and make.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

# Local development: DEBUG on, embedded SQLite in var/ unless DATABASE_URL says otherwise.
DEV_ENV := DEBUG=$${DEBUG:-1}

.PHONY: run setup install test lint bench bench-web clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

setup: install
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEV_ENV) $(BIN)/python manage.py import_stories seeds/ --verbosity 1 || test $$? -eq 1
	$(DEV_ENV) $(BIN)/python manage.py ensure_admin

run: setup
	$(DEV_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(DEV_ENV) $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

bench: install
	$(DEV_ENV) $(BIN)/python bench/run.py $(BENCH_ARGS)

# The web benchmark serves PostgreSQL under gunicorn (bench/README.md); Redis for its cache.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
bench-web: install
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} $(BIN)/python bench/web.py $(BENCH_WEB_ARGS)

clean:
	rm -rf $(VENV) var
