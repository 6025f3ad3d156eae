# newsapp development tasks. `make` (or `make help`) lists them.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# The virtualenv; override to try a throwaway one: make VENV=/tmp/venvtest .venv
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MANAGE := $(BIN)/python manage.py
PYTEST := $(BIN)/pytest
RUFF := $(BIN)/ruff
# Python used to create the virtualenv (>= 3.12): make PYTHON=/path/to/python3.12, or the newest one
# scripts/find-python finds. Only looked at when the venv is (re)built.
PYTHON ?=
# Extra pytest arguments, e.g. make test PYTEST_ARGS="-k slug -x"
PYTEST_ARGS ?=
# Where `make run` serves, and where it serves the demo outlets' feeds for the newsdesk.
RUN_ADDR ?= 127.0.0.1:8000
DEMO_FEEDS_ADDR ?= 127.0.0.1:8001
# The fetcher refuses loopback addresses; make run's own processes may reach the demo feeds there
# (a second terminal has .env's NEWSAPP_FETCH_PRIVATE_HOSTS, written for the default address).
run: export NEWSAPP_FETCH_PRIVATE_HOSTS = $(DEMO_FEEDS_ADDR)

.PHONY: help .venv setup run test test-postgres test-tasks-rq test-api-schema browser-tools test-browser cluster cluster-stop test-cluster lint format migrations-check bench bench-scale bench-search bench-ingest bench-cookie clean clean-data

help: ## List the targets
	@echo "newsapp: make TARGET"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "Variables: PYTHON=/path/to/python3.12 (interpreter for the venv), PYTEST_ARGS=..., VENV=.venv"

.venv: $(STAMP) ## Create the virtualenv and install newsapp with its dev tools

$(STAMP): pyproject.toml
	@if ! $(BIN)/python -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; then \
		py=$$(PYTHON='$(PYTHON)' scripts/find-python) || py=; \
		[[ -n "$$py" ]] || { echo "make: cannot create $(VENV) without Python >= 3.12 (see above)" >&2; exit 1; }; \
		echo "Creating $(VENV) with $$py"; \
		"$$py" -m venv --clear $(VENV); \
	fi
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e . --group dev
	@touch $@

# The .env is written readable by its owner only (umask 077: 0600), as it holds the secret key.
.env: | $(STAMP) ## Write a development .env (DEBUG on, fresh secret key) unless one exists
	@umask 077; secret=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))'); \
	sed -e 's/^DJANGO_DEBUG=.*/DJANGO_DEBUG=true/' -e "s/^DJANGO_SECRET_KEY=.*/DJANGO_SECRET_KEY=$$secret/" \
		-e 's/^# NEWSAPP_FETCH_PRIVATE_HOSTS=.*/NEWSAPP_FETCH_PRIVATE_HOSTS=127.0.0.1:8001/' \
		.env.example > .env.tmp; \
	[[ -e .env ]] || mv .env.tmp .env; rm -f .env.tmp
	@echo "Wrote .env for development (DJANGO_DEBUG=true, new DJANGO_SECRET_KEY, NEWSAPP_FETCH_PRIVATE_HOSTS: the demo feeds on loopback)"

setup: $(STAMP) .env ## Virtualenv, .env and database migrations
	$(MANAGE) migrate --noinput

# The task worker (db_worker: feeds, pieces, summaries) runs in a session of its own beside the
# server, so Ctrl-C reaches the server alone; the trap then stops the worker's whole group (with
# its reloader) by SIGTERM, which lets it finish the task at hand, and waits for it.
run: setup ## Seed the demo if empty, serve it on http://127.0.0.1:8000 with a task worker and the demo outlets' feeds
	$(MANAGE) seed_demo --if-empty
	$(MANAGE) demo_accounts
	$(MANAGE) seed_newsdesk_demo --if-empty --feeds-at http://$(DEMO_FEEDS_ADDR)
	$(MANAGE) feeds schedule
	@echo "Open http://$(RUN_ADDR) (admin: http://$(RUN_ADDR)/admin/; the Story desk fills as the worker reads the demo feeds)"
	@setsid $(MANAGE) serve_demo_feeds $(DEMO_FEEDS_ADDR) & feeds=$$!; \
	setsid $(MANAGE) db_worker --no-reload & worker=$$!; \
	trap 'kill -TERM -- -$$worker -$$feeds 2>/dev/null || true; wait $$worker $$feeds 2>/dev/null || true; echo "Task worker and demo feeds stopped."' EXIT; \
	trap 'exit 130' INT TERM; \
	echo "Task worker started beside the server (manage.py db_worker, pid $$worker); demo feeds on http://$(DEMO_FEEDS_ADDR) (pid $$feeds); Ctrl-C stops all three."; \
	$(MANAGE) runserver $(RUN_ADDR)

test: setup ## Run the test suite (no browser tests) with the configured database (SQLite by default)
	$(PYTEST) -m "not browser and not cluster" -n auto --dist loadgroup $(PYTEST_ARGS)

test-postgres: $(STAMP) .env ## Start PostgreSQL and Redis, run the suite against them
	@settings=$$(scripts/services.sh postgres redis); \
	echo "Testing with:" $$settings; \
	env $$settings $(PYTEST) -m "not browser and not cluster" -n auto --dist loadgroup $(PYTEST_ARGS)

# The tests marked tasks_backend once more on the distributed backend (RQ on Redis) with a real
# `manage.py rqworker --with-scheduler` in a process of its own; on PostgreSQL, which that process
# can open. No Redis, no worker or no such test fails the run (pytest's exit 5 included).
test-tasks-rq: $(STAMP) .env ## Run the background-task tests on RQ (Redis) with a real rqworker (starts PostgreSQL and Redis)
	@$(BIN)/python -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("django_tasks_rq") is None)' 2>/dev/null || $(BIN)/python -m pip install -e '.[rq]' --group dev
	@settings=$$(scripts/services.sh postgres redis); \
	echo "Testing the tasks on RQ with:" $$settings; \
	env $$settings NEWSAPP_TASKS_BACKEND=rq $(PYTEST) -m tasks_backend -p no:randomly -n 0 $(PYTEST_ARGS)

# schemathesis against the API's OpenAPI schema (tests/api/test_schema.py, in process): valid and
# invalid requests to every operation; fails on any server error or answer the schema does not describe.
test-api-schema: setup ## Run schemathesis against the open data API's schema (200 cases per operation and mode), with the figures
	NEWSAPP_SCHEMATHESIS_EXAMPLES=200 $(PYTEST) -m api_schema tests/api/test_schema.py -p no:randomly -n 0 $(PYTEST_ARGS)

browser-tools: ## Install Chromium and Java (apt) when missing, and axe-core + vnu-jar (npm ci)
	scripts/browser-tools.sh

test-browser: setup browser-tools ## Run the browser tests (tests/browser) in Debian's Chromium against a live server
	@[[ -d tests/browser ]] || { echo "make test-browser: tests/browser does not exist; there are no browser tests yet" >&2; exit 1; }
	@rc=0; $(PYTEST) -m browser tests/browser $(PYTEST_ARGS) || rc=$$?; \
	if [[ $$rc -eq 5 ]]; then \
		echo "make test-browser: pytest collected no tests marked 'browser' in tests/browser (exit 5); that is an error" >&2; \
	fi; \
	exit $$rc

# The cluster on this machine (docs/scaling.md): Varnish in front of two granian app servers, the
# machine's PostgreSQL with a streaming replica, Redis and two rqworkers, from Debian's packages
# (installed when missing). CLUSTER_PGBOUNCER=1 puts PgBouncer in front of both databases.
cluster: $(STAMP) ## Start the cluster on this machine (as root): proxy :6081, apps :8101 :8102, replica :5433, workers
	scripts/cluster/start.sh

cluster-stop: ## Stop what make cluster started, by its PID files (nothing else)
	scripts/cluster/stop.sh

# The cluster is stopped whatever happens (tests failing, Ctrl-C); a failed stop fails the run too.
test-cluster: $(STAMP) .env ## Start the cluster, run tests/cluster against it (invalidation, caching, scheduling, stop), stop it
	@trap 'rc=$$?; scripts/cluster/stop.sh || [[ $$rc -ne 0 ]] || rc=1; exit $$rc' EXIT; \
	scripts/cluster/start.sh; \
	$(PYTEST) -m cluster tests/cluster -p no:randomly -n 0 $(PYTEST_ARGS)

lint: $(STAMP) ## Check code style with ruff (lint + formatting)
	$(RUFF) check .
	$(RUFF) format --check .

format: $(STAMP) ## Fix what ruff can and reformat the code
	$(RUFF) check --fix .
	$(RUFF) format .

migrations-check: $(STAMP) .env ## Fail if a model change has no migration
	$(MANAGE) makemigrations --check --dry-run

.PHONY: soak
soak: $(STAMP) ## Soak, ~3 min, not in CI: 100 saves under load while Redis and an app server are killed; into docs/performance.md
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

bench: $(STAMP) ## Benchmark on PostgreSQL + Redis with wrk, ~6 min, into docs/performance.md (BENCH_ARGS="--quick")
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench-scale: $(STAMP) ## Queries, plans and render times at 100 and 1,000,000 stories (PostgreSQL), into docs/performance.md
	$(BIN)/python bench/scale.py $(SCALE_ARGS)

bench-search: $(STAMP) ## Search at 100,000 stories (PostgreSQL): latency one at a time, req/s under wrk, into docs/performance.md
	$(BIN)/python bench/search_load.py $(SEARCH_ARGS)

bench-ingest: $(STAMP) ## Newsdesk ingestion (PostgreSQL): pieces/s with 50 loopback outlets, grouping at 10k/100k pieces, into docs/performance.md
	$(BIN)/python bench/ingest.py $(INGEST_ARGS)

bench-cookie: $(STAMP) ## Can a made-up session cookie switch the page cache off? wrk on the cached front page, < 1 min
	$(BIN)/python bench/session_cookie.py

# Both run against `make cluster` (started first when it is not up, and then stopped again).
.PHONY: bench-cluster drill
bench-cluster: $(STAMP) ## The cluster, ~6 min: proxy vs nginx from disk, purge cost, replica lag, PgBouncer; into docs/performance.md (CLUSTER_BENCH_ARGS="--quick")
	$(BIN)/python bench/cluster.py $(CLUSTER_BENCH_ARGS)

drill: $(STAMP) ## Failure drill on the cluster, < 3 min: kill an app server, restart Redis, stop the replica under load; into docs/scaling.md
	$(BIN)/python bench/drill.py $(DRILL_ARGS)

clean: ## Remove the virtualenv, node_modules, collected static files, var/ and caches (keeps db.sqlite3 and media/)
	rm -rf $(VENV) node_modules staticfiles var build *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

clean-data: ## Remove the development database and uploaded media (db.sqlite3, media/)
	rm -f db.sqlite3 db.sqlite3-journal db.sqlite3-wal db.sqlite3-shm
	rm -rf media
