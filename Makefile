# Kestrel — the two commands a new user runs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_CONFIG ?= configs/sma_cross_btc.toml

.PHONY: demo test install dev lint typecheck pytest bench clean chromium peers

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamp files re-run pip only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

# After the demo, compile the numba kernels every shipped config uses, once: their first
# backtest then loads them from the cache instead (issue 13; benchmarks/bench_first_run.py).
demo: install
	$(BIN)/kestrel backtest $(DEMO_CONFIG)
	$(BIN)/kestrel warmup

lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: dev
	$(BIN)/mypy

# backtesting.py in its own venv (never the project's), so that the benchmark's trade-equality
# test (tests/integration/test_bench_peers.py) runs; without the package registry it skips.
PEERS := benchmarks/.peers-venv
$(PEERS)/.installed: benchmarks/peers/requirements.txt
	@($(PYTHON) -m venv $(PEERS) && $(PEERS)/bin/python -m pip install --quiet -r $< && touch $@) \
	  || (rm -rf $(PEERS); echo "backtesting.py could not be installed: its benchmark test will skip")

peers: $(PEERS)/.installed

# Workers (pytest-xdist): the suite took ~17.5 min on CI's two cores in one
# process. Tests must not share files or databases: each uses its own tmp_path, fresh
# PostgreSQL database and local exchange port. PYTEST_WORKERS=0 runs it in one process.
# --dist worksteal: a worker that runs out of tests takes queued ones from the other. With
# xdist's default (load) one worker was handed a run of slow integration tests and worked
# 797 s while the other idled after 310 s (837 s in all); stealing: 519 s and 507 s (543 s).
# One worker per core. One more than the cores was tried (2026-12-07, two cores, coverage):
# 534 s and 714 s against 742 s, but a third run took 1,313 s with two timing-bound tests
# failing (a kill -9 test, a 240 s node timeout), so the default stays at the cores.
PYTEST_WORKERS ?= auto
pytest: dev peers
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal --cov=engine --cov-report=term --cov-fail-under=80 -q --durations=10

# The HTML report's browser test needs Debian's chromium: install it when missing (works as
# root, e.g. in CI); elsewhere say so, and the test skips with the same message.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	      >/dev/null) || echo "chromium could not be installed: the browser test will skip"; \
	  else \
	    echo "chromium is missing and this is not root: the browser test will skip"; \
	  fi; \
	fi

test: lint typecheck chromium pytest

bench: install
	$(BIN)/python benchmarks/bench_backtest.py

clean:
	rm -rf $(VENV) $(PEERS) .mypy_cache .pytest_cache .ruff_cache .coverage
