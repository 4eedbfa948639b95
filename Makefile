# Xinyuan (心援) — the two commands a fresh machine needs: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PG_URL ?= postgres://postgres@127.0.0.1:5432/xinyuan
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-test assets pdf-deps chromium migrate demo lint check test-sqlite test-postgres bench clean

## make run: install everything, migrate the embedded SQLite database, load demo data once, serve.
run: install assets pdf-deps
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py collectstatic --noinput -v0
	@echo
	@$(PY) manage.py demo_logins
	@echo
	@echo "心援已启动：http://$(HOST):$(PORT)/  （Ctrl+C 停止）"
	HOST=$(HOST) PORT=$(PORT) bin/serve

## make test: install what the tests need, then lint, check and run the whole suite on SQLite and PostgreSQL.
test: install-test assets pdf-deps chromium lint check test-sqlite test-postgres

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

install: $(PY)
	$(PIP) install -q -e .

install-test: $(PY)
	$(PIP) install -q -e ".[test]"

assets: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# Pango and Noto CJK fonts: WeasyPrint prints the forms with correct Chinese glyphs.
pdf-deps:
	@(ldconfig -p | grep -q libpangoft2-1.0 && fc-list 2>/dev/null | grep -q "Noto Sans CJK" && \
	  fc-list 2>/dev/null | grep -q HanaMinB) || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk fonts-hanazono >/dev/null)

# Debian's Chromium (Playwright drives it; no browser downloads), poppler (PDF pages to text and PNG) and
# faketime (runs the suite under a moved process clock, docs/dev/clock.md).
chromium:
	@(command -v chromium >/dev/null && command -v pdftoppm >/dev/null && command -v faketime >/dev/null) || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils faketime >/dev/null)

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

check:
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run

# Two workers (pytest-xdist): the machine has two cores and browser tests wait on Chromium. Work stealing:
# a worker that runs out takes half of the other's queue, so the slow tests (run first, see conftest.py)
# end up split between both instead of one worker finishing alone.
TEST_JOBS ?= 2
XDIST = -n $(TEST_JOBS) --dist worksteal

test-sqlite:
	$(VENV)/bin/pytest $(XDIST)

# The browser tests drive the same pages on either database; they run once, on SQLite, to keep make test near
# 15 minutes. Everything else runs on PostgreSQL too.
test-postgres:
	DATABASE_URL=$(PG_URL) $(VENV)/bin/pytest $(XDIST) -m "not e2e"

## make bench: city-scale benchmarks on PostgreSQL (never part of make test).
bench: install-test assets
	DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/xinyuan_bench} $(PY) bench/run.py

clean:
	rm -rf $(VENV) node_modules staticfiles var test-artifacts
