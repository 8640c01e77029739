# The two commands: `make run` and `make test`. Both create .venv and install from pyproject.toml when it is
# missing or older than pyproject.toml.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test lint format venv migrate benchmark clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

## Web (127.0.0.1:$(PORT)) + Celery worker + beat on the embedded defaults; Ctrl-C stops all three.
run: $(STAMP)
	PORT=$(PORT) bin/run-dev

## The whole test suite (PostgreSQL when reachable, else SQLite; the first line says which).
test: $(STAMP)
	bin/run-tests $(ARGS)

## `manage.py bench` on its own database: first, no-change and 1 % delta syncs (make benchmark ARGS="--invoices 100000").
benchmark: $(STAMP)
	bin/benchmark $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: $(STAMP)
	$(BIN)/python manage.py migrate

clean:
	rm -rf var/db.sqlite3* var/broker var/screenshots
