# Quorum: one command to run it, one to test it.
#
#   make run      set up .venv, migrate, seed the demo, start web + Celery worker + beat (honcho)
#                 (make run PORT=8001 HOST=0.0.0.0; Ctrl-C stops everything cleanly)
#   make test     set up .venv, run pytest            (make test PYTEST_ARGS="-k queue tests/annotation")
#   make lint     ruff check + ruff format --check
#   make check    lint + mypy + import contracts (lint-imports): what CI runs before the tests
#   make requirements   recompile requirements*.txt from requirements*.in (PIP_COMPILE_ARGS=--upgrade)
#   make bench-X  run bench/X.py                      (BENCH_ARGS=...; SERVICES=1 for PostgreSQL+Redis)
#   make services-start | services-stop              local PostgreSQL 15 + Redis (scripts/services.sh)
#
# Defaults need no server: SQLite and the filesystem Celery broker under var/. Set DATABASE_URL /
# REDIS_URL (e.g. `eval "$$(scripts/services.sh env)"`) to use PostgreSQL and Redis instead.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# Prefer the Python the project targets; fall back to whatever python3 is.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
CHROMIUM := /usr/bin/chromium
PYTEST_ARGS ?=
BENCH_ARGS ?=
# Where `make run` listens. 127.0.0.1 keeps the dev server off the network unless asked.
PORT ?= 8000
HOST ?= 127.0.0.1

export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv requirements run test lint format typecheck imports check services-start services-stop

help:
	@sed -n '3,9s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

# --- environment ------------------------------------------------------------------------------

$(PY):
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); python3 -m venv $(VENV); }

# The development venv gets the app's pinned set and the test/dev tools (the Docker image gets only
# the first). The stamp is newer than both files after a successful install, so unchanged
# requirements cost nothing; a failed install leaves no stamp and is retried next time.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install -r requirements.txt -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# Pins come from the *.in files (loose ranges, with why). pip-compile keeps a pin that still
# satisfies its range, so adding one package moves nothing else; PIP_COMPILE_ARGS=--upgrade
# moves everything to the newest allowed. The dev set is compiled against the app's pins.
PIP_COMPILE_ARGS ?=
requirements: export CUSTOM_COMPILE_COMMAND := make requirements
requirements: venv
	$(VENV)/bin/pip-compile -q --strip-extras --no-emit-find-links --no-emit-index-url \
		$(PIP_COMPILE_ARGS) -o requirements.txt requirements.in
	$(VENV)/bin/pip-compile -q --strip-extras --no-emit-find-links --no-emit-index-url \
		$(PIP_COMPILE_ARGS) -o requirements-dev.txt requirements-dev.in

var:
	mkdir -p var

# --- run --------------------------------------------------------------------------------------

# DEBUG=1 (overridable) because production settings refuse to start without real secrets.
run: export DEBUG ?= 1
run: export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
run: export PYTHONUNBUFFERED := 1
run: export PORT := $(PORT)
run: export HOST := $(HOST)
run: venv | var
	@if ! python -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], int(sys.argv[2])))' \
		"$$HOST" "$$PORT" 2>/dev/null; then \
		echo "make run: $$HOST:$$PORT is taken; try: make run PORT=$$(( PORT + 1 ))" >&2; exit 1; fi
	python manage.py migrate --noinput
	python manage.py seed_demo --url "http://$$HOST:$$PORT/"
	@# Ctrl-C reaches honcho and every process at once; each stops cleanly and honcho then
	@# exits 130 (143 on SIGTERM), which is how a dev server is meant to end:
	@# not an error for make to report.
	@rc=0; honcho start -f Procfile.dev -p "$$PORT" || rc=$$?; \
	case $$rc in 0|130|143) exit 0;; *) exit $$rc;; esac

# --- test -------------------------------------------------------------------------------------

# Settings refuse to import without SECRET_KEY when DEBUG is off, and tests run with DEBUG off
# (production-like): give them a throwaway key unless the caller set one.
# pytest exit 5 ("no tests ran") already fails the target; the message says why.
test: export SECRET_KEY ?= insecure-test-only-key
test: venv
	@test -x $(CHROMIUM) || { echo "make test: $(CHROMIUM) is missing; browser tests need it:" \
		"apt-get install chromium" >&2; exit 1; }
	@rc=0; $(PY) -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5): failing." >&2; fi; \
	exit $$rc

# --- lint -------------------------------------------------------------------------------------

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# mypy with the Django and DRF plugins; which packages and how strict: [tool.mypy] in pyproject.toml.
# Settings must import (the plugin loads them), hence the throwaway key.
typecheck: export SECRET_KEY ?= insecure-typecheck-only-key
typecheck: venv
	$(VENV)/bin/mypy

# Which package may import which: the contracts in .importlinter.
imports: venv
	$(VENV)/bin/lint-imports --no-logo

# Everything CI checks before the tests; each step fails the target on its own.
check: lint typecheck imports

# --- services and benchmarks ------------------------------------------------------------------

services-start:
	bash scripts/services.sh start

services-stop:
	bash scripts/services.sh stop

# SERVICES=1: start local PostgreSQL + Redis first and point the benchmark at them.
bench-%: venv | var
	@test -f bench/$*.py || { echo "make: no benchmark bench/$*.py" >&2; exit 1; }
	@if [ "$${SERVICES:-0}" = 1 ]; then bash scripts/services.sh start; \
		service_env="$$(bash scripts/services.sh env)"; eval "$$service_env"; fi; \
	$(PY) bench/$*.py $(BENCH_ARGS)
