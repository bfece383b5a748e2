# Two commands set everything up on a fresh machine (Python 3.11 + pip):
#   make demo   create .venv and run the quickstart search on this machine
#   make test   install what the tests need (Python packages, kubectl, helm, prometheus)
#               and run the whole suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# What `make demo` installs: kubenas with the built-in trainer (tests/install checks it).
DEMO_EXTRAS := trainer
SEEDS ?= 300
BENCH_OUT ?= benchmarks/results
export PATH := $(CURDIR)/.tools/bin:$(PATH)

.PHONY: demo test lint unit e2e crds bench-search bench-operator bench-trainer bench-dashboard bench-edge \
	bench-oneshot \
	bench-zero-cost \
	cluster-up cluster-down clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found; install Python 3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[$(DEMO_EXTRAS)]'
	touch $@

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[operator,trainer,dev]'
	touch $@

demo: $(STAMP)
	$(BIN)/kubenas run examples/quickstart.yaml --out runs/quickstart --fresh

test: $(DEV_STAMP)
	scripts/install-tools.sh
	$(MAKE) lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_dependencies.py

unit: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

e2e: $(DEV_STAMP)
	scripts/install-tools.sh
	$(BIN)/python -m pytest -q -m slow

crds: $(STAMP)
	$(BIN)/python -m kubenas.api.crd

bench-search: $(STAMP)
	$(BIN)/kubenas bench benchmarks/nb201 --seeds $(SEEDS) --workers 2 --out $(BENCH_OUT)

bench-operator: $(DEV_STAMP)
	scripts/install-tools.sh
	PYTHONPATH=tests/cluster $(BIN)/python benchmarks/operator_scale.py --out $(BENCH_OUT)

bench-trainer: $(STAMP)
	$(BIN)/python benchmarks/trainer_throughput.py

bench-dashboard: $(DEV_STAMP)
	scripts/install-tools.sh
	$(BIN)/python benchmarks/dashboard_load.py --out $(BENCH_OUT)

bench-edge: $(STAMP)
	$(BIN)/python benchmarks/edge.py --out $(BENCH_OUT)

bench-oneshot: $(STAMP)
	$(BIN)/python benchmarks/oneshot.py --out $(BENCH_OUT)

bench-zero-cost: $(STAMP)
	$(BIN)/python benchmarks/zero_cost.py --out $(BENCH_OUT) --cells 200

cluster-up: $(DEV_STAMP)
	scripts/install-tools.sh
	PYTHONPATH=tests/cluster $(BIN)/python -m kubesim up --dir .cluster

cluster-down:
	PYTHONPATH=tests/cluster $(BIN)/python -m kubesim down --dir .cluster

clean:
	rm -rf $(VENV) .tools .cluster runs .pytest_cache .mypy_cache .ruff_cache
