# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
WEB_PORT ?= 8000
export HOST WEB_PORT

.PHONY: run test setup lint

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tgfleet needs Python 3.11 or newer; set PYTHON=python3.11")'
	@$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian/Ubuntu run: apt-get install python3-venv"; exit 1; }
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.run-installed

setup: $(VENV)/.run-installed
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py collectstatic --noinput -v0
	@echo "database migrated, static files collected"

# Web (gunicorn), worker and beat in the foreground; Ctrl-C stops all three. Once the worker is ready, the
# first admin is made (ensure_admin) and, the first time, its password is printed last, in a box.
run: setup
	@echo "tgfleet on http://$(HOST):$(WEB_PORT)/admin/ (Ctrl-C stops web, worker and beat)"
	exec $(BIN)/python -m project.runstack

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
