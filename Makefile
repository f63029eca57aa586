.DEFAULT_GOAL := help
PY ?= python

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

install:  ## install sweep with its test and lint tools (editable)
	$(PY) -m pip install -e '.[dev]'

sweep:  ## run the study's 32-cell sweep (ARGS='data=fashion_mnist' to run offline)
	$(PY) -m sweep.train -m 'reg=glob(*)' 'act=glob(*)' $(ARGS)

compare:  ## print the latest sweep's table and write reports/
	$(PY) -m sweep.compare $(ARGS)

ui:  ## open the MLflow UI on the default store (http://127.0.0.1:5000)
	mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db --host 127.0.0.1 --port 5000

# Two pytest workers, each taking whole test files (their module fixtures, real sweeps, run once): 14 min instead
# of 21 on 2 cores (a third worker only adds contention: 16.6 min). WORKERS=0 runs in one process.
WORKERS ?= 2
XDIST = $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist loadfile)

test:  ## run the whole test suite (real TensorFlow, real MLflow, real Fashion-MNIST subsets); the 15 slowest last
	$(PY) -m pytest -q $(XDIST) --durations=15

test-fast:  ## before each commit (~2-3 min): every module and contract, a few tiny real jobs, no real sweep
	$(PY) -m pytest -q $(XDIST) -m "not slow" --durations=10

bench:  ## benchmark the study's loop against sweep (ARGS='--limit 10000' quick, '--sweep full' all 32 cells)
	$(PY) benchmarks/bench.py $(ARGS)

bench-search:  ## benchmark random vs TPE vs TPE+asha search (ARGS='--limit 10000' for minutes, not hours)
	$(PY) benchmarks/search.py $(ARGS)

bench-race:  ## the race's error rate on 2000 simulated races (ARGS='--study': the real 32-cell study, hours)
	$(PY) benchmarks/race.py $(or $(ARGS),--simulate 2000)

load:  ## 16 writers logging 12-epoch jobs into a fresh SQLite store, then the team server (ARGS='--writers 32')
	$(PY) benchmarks/load.py $(ARGS)

outage:  ## real sweeps through a server SIGKILL, a PostgreSQL restart, an outage past the retry budget (~10 min)
	$(PY) benchmarks/outage.py $(ARGS)

lint:  ## ruff (lint + format check) and yamllint
	ruff check src tests benchmarks && ruff format --check src tests benchmarks && yamllint -s conf docker-compose.yml

.PHONY: help install sweep compare ui test test-fast lint bench bench-search bench-race load outage
