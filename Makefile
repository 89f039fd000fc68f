# ccsim: the two commands are `make demo` and `make test`; each sets up what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench faults lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,ray]'
	touch $(STAMP)

demo: install
	$(BIN)/ccsim --config-name demo -m
	$(BIN)/ccsim-report results/demo

test: install
	$(BIN)/python -m pytest -q -n auto

bench: install
	$(BIN)/python tests/bench_engine.py
	$(BIN)/python tests/bench_staffing.py
	$(BIN)/python tests/bench_sweep.py

faults: install
	$(BIN)/python tests/fault_catalogue.py

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) results/runs results/sweeps results/demo results/sweep_* .pytest_cache .hypothesis
