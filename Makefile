# The two commands: `make run` and `make test`. Both create .venv and install from pyproject.toml when it is
# missing or older than pyproject.toml.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test lint format venv migrate benchmark clean messages

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

## Swedish catalog: collect new and changed texts into locale/sv/LC_MESSAGES/django.po and compile it (needs GNU
## gettext). Fill the empty msgstr lines, then run it again; commit the .po and the .mo.
messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l sv --ignore=.venv --ignore=sandbox --ignore=tests --ignore=var --no-obsolete
	$(BIN)/python manage.py compilemessages -l sv --ignore=.venv --ignore=var

migrate: $(STAMP)
	$(BIN)/python manage.py migrate

clean:
	rm -rf var/db.sqlite3* var/broker var/screenshots
