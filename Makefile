# Two commands on a fresh machine:
#   make run   set everything up and serve the portal on http://127.0.0.1:8000 (embedded:
#              SQLite, Celery eager, demo organization)
#   make test  lint and the whole test suite (SQLite; also PostgreSQL and a real Celery
#              broker when DATABASE_URL / CELERY_BROKER_URL are set, as CI does)
# Also: make worker (Celery worker + beat against CELERY_BROKER_URL), make lint,
#       make messages (refresh the zh-Hans catalogue), make clean,
#       make bench (every benchmark and drill of bench/, one after the other, about half an
#       hour: bench-compare, bench-load, bench-inbox, bench-faults, bench-outbox,
#       bench-integration; each also on its own),
#       make bench-engine (our engine only). See bench/README.md and bench/RESULTS.md.
#   make erp   a real ERP beside the portal: Tryton with the demo company's products, price
#              lists, customers, departments and employees (built once in var/tryton/,
#              about a minute), served on http://127.0.0.1:8300; prints the ERP_* settings
#              that connect the portal to it. `make run` alone needs no ERP.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# The front end (the process designer): npm packages pinned by package-lock.json, bundled by
# esbuild from frontend/ into var/frontend/ (served as /static/designer/...). Neither
# node_modules nor the bundles are committed.
NODE_STAMP     := node_modules/.installed-stamp
FRONTEND_OUT   := var/frontend/designer/designer.js var/frontend/charts/charts.js var/frontend/signature/signature.js var/frontend/kanban/kanban.js
FRONTEND_SRC   := $(shell find frontend -type f 2>/dev/null)
# Development commands run with DEBUG on unless the caller says otherwise.
DEV    := DEBUG=$${DEBUG:-1}
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Benchmarks: instances per run, runs per process and database, the PostgreSQL server on
# which they make (and drop) throwaway databases, and the databases to run on.
BENCH_N      ?= 100
BENCH_REPEAT ?= 3
BENCH_DSN    ?= postgresql://postgres@127.0.0.1:5432/postgres
BENCH_DBS    ?= sqlite postgres
BENCH_WORKERS ?= 1 2 4

.PHONY: run erp setup frontend test test-sqlite test-services lint messages compilemessages worker clean \
	bench bench-compare bench-load bench-inbox bench-faults bench-engine bench-knowledge \
	bench-outbox bench-integration bench-crm

run: setup
	$(DEV) $(PY) manage.py migrate --noinput
	$(DEV) $(PY) manage.py seed_demo
	@echo "Serving the portal on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(DEV) $(PY) manage.py runserver $(HOST):$(PORT)

# Tryton (the erp extra, installed by setup) on loopback: build the demo database once, print
# the settings for the portal, then serve until Ctrl-C (erp_bridge/tryton_demo.py).
ERP_PORT ?= 8300
erp: $(STAMP)
	$(PY) -m erp_bridge.tryton_demo --folder var/tryton --database demo --port $(ERP_PORT) --serve

setup: $(STAMP) frontend compilemessages

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

frontend: $(FRONTEND_OUT)

# --ignore-scripts: no package needs an install script (esbuild's binary comes as the
# @esbuild/<platform> package), and none runs on the machine.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js >= 18 with npm"; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $(NODE_STAMP)

$(FRONTEND_OUT): $(NODE_STAMP) $(FRONTEND_SRC)
	npm run --silent build
	@touch $(FRONTEND_OUT)

compilemessages: $(STAMP)
	@command -v msgfmt >/dev/null || { echo "msgfmt not found: install gettext (apt-get install gettext)"; exit 1; }
	$(DEV) $(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0

# Refresh the catalogue after adding strings; then translate the new entries.
messages: $(STAMP)
	$(DEV) $(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=node_modules \
		--ignore=tests --ignore=bench --ignore=var --no-obsolete
	@n=$$(msgattrib --untranslated --no-obsolete portal/locale/zh_Hans/LC_MESSAGES/django.po | grep -c '^msgid "..*"'); \
	 f=$$(msgattrib --only-fuzzy portal/locale/zh_Hans/LC_MESSAGES/django.po | grep -c '^msgid "..*"'); \
	 echo "zh_Hans: $$n untranslated, $$f fuzzy (translate them, then remove the fuzzy flags)"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(DEV) $(VENV)/bin/mypy portal workflow crm erp_bridge knowledge tests
	$(DEV) $(PY) manage.py makemigrations --check --dry-run

# The two runs at once, one per core (CI: about 25 minutes instead of 36 one after the other);
# each run's output is printed whole when it ends.
test: setup lint
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-services

# Every test on the embedded default: SQLite, Celery eager.
test-sqlite: setup
	env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) -m pytest

# Every test again on the production services, when they are configured (CI sets both).
test-services: setup
	@if [ -n "$$DATABASE_URL$$CELERY_BROKER_URL" ]; then \
		echo "== again on DATABASE_URL=$${DATABASE_URL:-<sqlite>} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-<eager>}"; \
		$(PY) -m pytest; \
	else \
		echo "== DATABASE_URL and CELERY_BROKER_URL not set: PostgreSQL and broker runs skipped"; \
	fi

worker: setup
	@test -n "$$CELERY_BROKER_URL" || { echo "set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0)"; exit 1; }
	$(DEV) $(VENV)/bin/celery -A portal worker --beat --loglevel=INFO --concurrency=2

# Every benchmark and drill; each prints its figures and a verdict, and fails the target on FAIL.
bench: bench-compare bench-load bench-inbox bench-faults bench-knowledge bench-outbox \
	bench-integration bench-crm

# The engine against the peer, interleaved in one run (1, 2 and 4 driver processes on
# PostgreSQL); prints the tables (medians, ratio, scaling).
bench-compare: $(STAMP)
	$(PY) bench/compare.py -n $(BENCH_N) --repeat $(BENCH_REPEAT) --dbs $(BENCH_DBS) \
		--dsn $(BENCH_DSN) --workers $(BENCH_WORKERS)

# 500 simulated employees and managers over HTTP (gunicorn, PostgreSQL, Celery on Redis).
bench-load: $(STAMP)
	$(PY) bench/load.py --dsn $(BENCH_DSN)

# The inbox and the console on 10k users, 200k instances, 1M tasks (PostgreSQL).
bench-inbox: $(STAMP)
	$(PY) bench/inbox_scale.py --dsn $(BENCH_DSN)

# The knowledge base's search at 100,000 generated articles, on PostgreSQL then SQLite.
bench-knowledge: $(STAMP)
	$(PY) bench/knowledge_search.py --db postgres --dsn $(BENCH_DSN) --repeat 30
	$(PY) bench/knowledge_search.py --db sqlite --repeat 30

# Fault drills on throwaway PostgreSQL and Redis servers of their own (the workflow's and
# the ERP bridge's: the ERP down, slow, an outbox worker killed, webhooks refused).
bench-faults: $(STAMP)
	$(PY) bench/faults.py --scenario all

# The outbox: 20,000 messages over 200 aggregates to a loopback receiver, 2 worker processes
# (PostgreSQL); messages/s, exactly once by key, in order per aggregate.
bench-outbox: $(STAMP)
	$(PY) bench/outbox.py --dsn $(BENCH_DSN)

# The integration console's statistics over 1,000,000 logged calls (PostgreSQL): p50/p95.
bench-integration: $(STAMP)
	$(PY) bench/integration_stats.py --dsn $(BENCH_DSN)

# The CRM at 100k accounts, 300k contacts, 1M activities (PostgreSQL, issue 19): the account
# list, its filters and search, the duplicate check and the kanban, p50/p95 and plans.
bench-crm: $(STAMP)
	$(PY) bench/crm_scale.py --dsn $(BENCH_DSN)

bench-engine: $(STAMP)
	@for db in $(BENCH_DBS); do \
		$(PY) bench/engine.py --db $$db --dsn $(BENCH_DSN) -n $(BENCH_N) \
			--repeat $(BENCH_REPEAT) || exit 1; \
	done

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache .ruff_cache test-artifacts
	find . -name '*.mo' -path '*/locale/*' -delete
