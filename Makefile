# Eventline: `make run` to try it, `make test` to test it. Both set themselves up first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup run test test-sqlite test-postgres bench soak lint clean kafka-prereqs kafka-start kafka-stop kafka-status

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## setup: virtualenv, pinned dependencies, migrations (idempotent)
setup: $(VENV)/.installed
	$(PY) manage.py migrate --noinput --verbosity 0

## run: the app on http://127.0.0.1:8000 with demo data and live demo traffic, on SQLite
## (`make run BROKER_BACKEND=kafka`: on Kafka, the local one of scripts/kafka.sh unless
## KAFKA_BOOTSTRAP_SERVERS names a cluster)
run: setup $(if $(filter kafka,$(BROKER_BACKEND)),$(if $(KAFKA_BOOTSTRAP_SERVERS),,kafka-prereqs))
	$(PY) manage.py run_eventline

## test: the whole suite on SQLite, then again on PostgreSQL when TEST_POSTGRES_URL is set
test: setup
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$TEST_POSTGRES_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	 else echo "TEST_POSTGRES_URL is not set: skipped the PostgreSQL pass (.ci/run sets it)."; fi

test-sqlite:
	env -u DATABASE_URL $(PY) -m pytest $(PYTEST_ARGS)

# The PostgreSQL pass leaves out what touches no database: the SQLite pass has run it already.
test-postgres:
	DATABASE_URL="$$TEST_POSTGRES_URL" $(PY) -m pytest -m "not db_independent" $(PYTEST_ARGS)

## bench: every benchmark, each figure printed beside its baseline from the same run
bench: setup
	$(PY) -m bench

## soak: producers and consumer groups on loopback for SOAK_SECONDS (default 120), then every event
## consumed exactly once per group, and latency p50/p99; SOAK_DB=postgres with BENCH_POSTGRES_URL. Not in `make test`.
soak: setup
	$(PY) -m bench.soak

## kafka-start, kafka-stop, kafka-status: a local single-node Apache Kafka on 127.0.0.1:9092
## (scripts/kafka.sh: fetched from Maven Central into .cache/kafka/, data and logs in var/kafka/)
kafka-start: $(VENV)/.installed kafka-prereqs
	scripts/kafka.sh start

kafka-stop:
	scripts/kafka.sh stop

kafka-status:
	scripts/kafka.sh status

# A JDK 17+ and Maven from Debian's packages, only when missing (scripts/kafka.sh installs nothing).
kafka-prereqs:
	@missing=""; \
	 command -v java >/dev/null 2>&1 || missing="$$missing default-jdk-headless"; \
	 command -v mvn >/dev/null 2>&1 || missing="$$missing maven"; \
	 if [ -n "$$missing" ]; then \
	   sudo=""; [ "$$(id -u)" = "0" ] || sudo="sudo"; \
	   echo "Installing$$missing from Debian's packages"; \
	   $$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q $$missing; \
	 fi

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .mypy_cache .ruff_cache
