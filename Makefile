# The two commands a newcomer needs are `make devnet` and `make test`; both install what
# is missing first. Everything lands inside the repository (.venv/, node_modules/), so a
# fresh clone on a machine that reaches only the package registries works unattended.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
# Ape's vyper plugin compiles with the `vyper` on PATH, and ape-foundry starts the
# `anvil` on PATH: both live in the venv's bin/.
export PATH := $(BIN):$(PATH)
export HYPOTHESIS_PROFILE ?= ci

ANVIL_NPM := node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
PIP_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
ARGS ?=

.PHONY: setup chromium lock test devnet devnet-stop bench soak lint format abis clean help

help:
	@echo "make devnet   start a local Arbitrum-like chain with the suite deployed (ARGS=...)"
	@echo "make devnet-stop  stop a devnet running in the background"
	@echo "make test     run the whole test suite on both cores (HYPOTHESIS_PROFILE=ci|audit, TEST_WORKERS=2)"
	@echo "make bench    run the gas and speed benchmarks, writing bench/results/"
	@echo "make soak     minutes of load, kills and a swarm change on 11 bridges (ARGS=--duration 600)"
	@echo "make lint     ruff check + format check"
	@echo "make setup    install what is missing (.venv, anvil, solc, chromium)"

setup: $(PIP_STAMP) $(NPM_STAMP) $(BIN)/anvil chromium

# The web page's tests (tests/web/) drive a headless Chromium over the DevTools protocol:
# Debian's package, installed once with apt-get (as root, or through sudo).
CHROMIUM_NAMES := chromium chromium-browser google-chrome google-chrome-stable
chromium:
	@for name in $(CHROMIUM_NAMES); do command -v $$name >/dev/null && exit 0; done; \
	command -v apt-get >/dev/null || { echo "setup: no chromium, and no apt-get to install it: install Chromium yourself; until then tests/web/ are skipped" >&2; exit 0; }; \
	sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	echo "setup: installing chromium with apt-get (for the web page's browser tests)"; \
	$$sudo apt-get update -q && $$sudo apt-get install -y -q chromium

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null || { echo "setup: $(PYTHON) not found; install Python 3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(PIP_STAMP): pyproject.toml constraints.txt $(VENV)/bin/python
	@echo "setup: installing the Python package and its dev tools into .venv"
	$(BIN)/python -m pip install --quiet --progress-bar off -c constraints.txt -e '.[dev]'
	@touch $@

# After changing dependencies in pyproject.toml: install, then record the exact set.
lock: $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --progress-bar off -e '.[dev]'
	@{ echo "# Exact versions the project is tested with (pip freeze of \`make setup\`); pip installs"; \
	   echo "# with \`-c constraints.txt\` so every machine and CI resolve the same set."; \
	   $(BIN)/python -m pip freeze --exclude-editable | grep -v '^sesh=='; } > constraints.txt

# --ignore-scripts: anvil's postinstall downloads nothing we need (the binary ships in its
# platform package) and may be blocked on locked-down machines.
$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "setup: npm not found; install Node.js 20+" >&2; exit 1; }
	@echo "setup: installing anvil, solc and the Solidity references from npm"
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

$(BIN)/anvil: $(NPM_STAMP) $(VENV)/bin/python
	@test -x $(ANVIL_NPM) || { echo "setup: $(ANVIL_NPM) missing (npm platform package for $$(uname -m)?)" >&2; exit 1; }
	@ln -sf $(CURDIR)/$(ANVIL_NPM) $@

# Both cores: xdist workers take the groups of tests/conftest.py, longest first. Contracts
# are compiled once before the workers start (each would otherwise compile on its own).
TEST_WORKERS ?= 2
test: setup lint
	@ape compile > /dev/null
	ape test -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder --durations=15

devnet: setup
	ape run devnet $(ARGS)

# A devnet started in the background (`make devnet &`): make ignores SIGINT there and
# does not pass signals on, so stop the devnet itself (its pid file).
devnet-stop:
	@test -f .cache/devnet.pid || { echo "devnet-stop: no .cache/devnet.pid (no devnet running here)" >&2; exit 1; }
	kill -TERM $$(cat .cache/devnet.pid)

bench: setup
	python bench/gas.py
	python bench/bls.py
	python bench/products.py
	python bench/staking.py
	python bench/staking_scale.py
	python bench/staking_stateful.py
	python bench/bridge.py
	python bench/onion.py
	python bench/fileserver.py
	python bench/cli.py

# Minutes: bridges under load, killed and restarted, a swarm change; bench/results/soak.json.
soak: setup
	python -m tests.node.soak $(ARGS)

lint: setup
	ruff check .
	ruff format --check .

# After changing a contract's interface: the ABIs the SDK ships (sesh/contracts/abi/).
abis: setup
	python -c "from sesh.contracts.abis import write; write()"

format: setup
	ruff check --fix .
	ruff format .

clean:
	rm -rf .build .cache .pytest_cache .hypothesis
