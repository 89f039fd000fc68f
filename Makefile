# ccsim: the two commands are `make demo` and `make test`; each sets up what it needs.
# `make demo` installs ccsim alone; `make test` adds the test tools and the Ray extra
# (a cluster user's install: pip install -e '.[ray]'), which make demo does not need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: install install-test demo test test-fast test-cluster bench faults lint clean

install: $(STAMP)

install-test: $(TEST_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,ray]'
	touch $(TEST_STAMP)

demo: install
	$(BIN)/python -c "from sim.engine.fast import warm_up; warm_up()"   # compile once, not per process
	$(BIN)/ccsim --config-name demo -m
	$(BIN)/ccsim-report results/demo

test: install-test
	$(BIN)/python -m pytest -q -n auto --dist loadfile --no-loadscope-reorder -m "not cluster"

# the sweeps on a real two-node Ray cluster (tests/test_ray_cluster.py, about two minutes of
# Ray start-ups): apart, so that make test stays well inside CI's ten minutes on two cores
test-cluster: install-test
	$(BIN)/python -m pytest -q -m cluster

# the inner loop: everything but the tests marked slow (statistical and end-to-end checks)
test-fast: install-test
	$(BIN)/python -m pytest -q -n auto --dist loadfile --no-loadscope-reorder -m "not slow and not cluster"

bench: install-test
	$(BIN)/python tests/bench_engine.py
	$(BIN)/python tests/bench_staffing.py
	$(BIN)/python tests/bench_sweep.py

faults: install-test
	$(BIN)/python tests/fault_catalogue.py

lint: install-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) results/runs results/sweeps results/demo results/sweep_* .pytest_cache .hypothesis
