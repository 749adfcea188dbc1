# Works on a fresh clone with only python3: every target installs what it needs first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_OUT ?= var/demo
DEMO_SEED ?= 7
# The small city at its full size (100 points, ~20,000 order lines a day) takes about 2 minutes on a
# 2-core machine (README); DEMO_LINES=4000 gives a quicker look.
DEMO_LINES ?=
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install bench-deps demo test ci lint clean

help:
	@echo "make install  create $(VENV) and install requirements.txt (only when it changed)"
	@echo "make demo     migrate the SQLite database, simulate the small city for 3 days; $(DEMO_OUT)/report.html and summary.json"
	@echo "make test     run the test suite (SQLite, Celery eager); extra pytest arguments in PYTEST_ARGS=..."
	@echo "make ci       what CI runs: the suite on SQLite, then on PostgreSQL with a real Celery worker (.ci/run)"
	@echo "make bench-deps  install the benchmark peers (PyVRP, VROOM, mlforecast/LightGBM) from requirements-bench.txt"
	@echo "make lint     Django system checks, missing migrations, and ruff if it is installed"

# The translations are compiled at every install (a second; .mo files are not committed, so they never go stale);
# the documents' CJK font weights are cut once (about 40 s, into var/fonts).
install: $(STAMP)
	$(PY) manage.py compile_translations -v 0
	$(PY) manage.py prepare_fonts -v 0

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

bench-deps: install
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt

demo: install
	$(PY) manage.py migrate --noinput -v 0
	# The small city for three days, reproducible: the route search runs on simulate's iteration budget.
	$(PY) manage.py simulate --city small --days 3 $(if $(DEMO_LINES),--lines-per-day $(DEMO_LINES)) --seed $(DEMO_SEED) --out $(DEMO_OUT)

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

ci:
	bash .ci/run

lint: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	@if $(PY) -m ruff --version >/dev/null 2>&1; then $(PY) -m ruff check .; else echo "ruff not installed; skipped (pip install ruff)"; fi

clean:
	rm -rf $(VENV) .pytest_cache var/demo
