# Every target works on a fresh machine by itself: it creates or reuses .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo
DEMO_N ?= 50000

.PHONY: install demo test test-all bench lint clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# torch first: 2.13.0 resolves to the local CPU wheel where one is provided, else PyPI's build.
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "torch==2.13.0" || $(PY) -m pip install -q torch
	$(PY) -m pip install -q -e ".[dev,all]"
	@touch $(STAMP)

install: $(STAMP)

demo: install
	@mkdir -p $(DEMO_DIR)
	$(VENV)/bin/causalgen pendulum --n $(DEMO_N) --out $(DEMO_DIR)/pendulum.h5 --overwrite
	$(VENV)/bin/causalgen show $(DEMO_DIR)/pendulum.h5 --out $(DEMO_DIR)/pendulum.png
	@echo "dataset: $(DEMO_DIR)/pendulum.h5   preview: $(DEMO_DIR)/pendulum.png"

test: install
	$(PY) -m pytest -q -m "not slow"

test-all: install
	$(PY) -m pytest -q

bench: install
	$(PY) -m pip install -q -e ".[dev,bench]"
	$(PY) bench/bench_generate.py
	$(PY) bench/bench_custom.py
	$(PY) bench/bench_train.py

lint: install
	$(VENV)/bin/ruff check causalgen causalvae cli tests bench

clean:
	rm -rf $(DEMO_DIR) .pytest_cache .ruff_cache
