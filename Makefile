# Two commands on a fresh machine:
#   make run   set everything up and serve the portal on http://127.0.0.1:8000 (embedded:
#              SQLite, Celery eager, demo organization)
#   make test  lint and the whole test suite (SQLite; also PostgreSQL and a real Celery
#              broker when DATABASE_URL / CELERY_BROKER_URL are set, as CI does)
# Also: make worker (Celery worker + beat against CELERY_BROKER_URL), make lint,
#       make messages (refresh the zh-Hans catalogue), make clean.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# Development commands run with DEBUG on unless the caller says otherwise.
DEV    := DEBUG=$${DEBUG:-1}
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run setup test test-sqlite test-services lint messages compilemessages worker clean

run: setup
	$(DEV) $(PY) manage.py migrate --noinput
	$(DEV) $(PY) manage.py seed_demo
	@echo "Serving the portal on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(DEV) $(PY) manage.py runserver $(HOST):$(PORT)

setup: $(STAMP) compilemessages

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

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
	$(DEV) $(VENV)/bin/mypy portal workflow crm erp_bridge knowledge
	$(DEV) $(PY) manage.py makemigrations --check --dry-run

test: setup lint test-sqlite test-services

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

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache test-artifacts
	find . -name '*.mo' -path '*/locale/*' -delete
