# One verb per job. Every target builds its own virtual environment first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

HOST ?= 127.0.0.1
PORT ?= 8000
SEED ?= 0
API ?= all
PROFILE ?= quick
URL ?=
READ_ONLY ?=
RATE ?=
MAX_TIME ?= 900
SHARD ?=
BENCH_ARGS ?=
SOAK_ARGS ?=
PRISM_VERSION ?= 5
PRISM := .tools/prism/node_modules/.bin/prism

.PHONY: venv mock chromium test lint bundle contract contract-merge clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# make mock RELOAD=1 restarts on changes under mocks/ and specs/; LATENCY=50-300, ERROR_RATE=0.05,
# IMPILO_LATENCY=..., HEIDI_ERROR_RATE=..., ACCESS_LOG=1, JOURNAL_SIZE=... reach the mock as variables.
mock: venv ## Start the three mock APIs on one port
	$(BIN)/python -m mocks --host $(HOST) --port $(PORT) --seed $(SEED) $(if $(filter 1 true yes,$(RELOAD)),--reload)

CHROMIUM := /usr/bin/chromium

chromium: ## Debian's Chromium for the browser test: installed when missing, as root only
	@test -x $(CHROMIUM) || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else echo "warning: $(CHROMIUM) is missing and only root can install it (apt-get install -y chromium);" \
			"the browser test will fail" >&2; fi; }

# Test modules run in TEST_WORKERS processes (pytest-xdist; `logical`: one per CPU this process may use;
# 0: all in this process). Each module runs whole on one worker, in order, so module-scoped fixtures and
# servers are neither shared between workers nor split. The suite waits a lot (servers starting,
# subprocesses, webhook retries, timeouts), so on an idle 2-core machine two workers take about half the
# serial time; on a busy one the gain is smaller.
TEST_WORKERS ?= logical

test: venv chromium ## Unit, behaviour, browser and in-process contract tests (TEST_WORKERS=0: serially)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: venv ## ruff format check + lint, mypy, spec validation
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m specs --validate

bundle: venv ## Resolve each spec with prance into build/<api>.json
	$(BIN)/python -m specs --bundle

contract: venv ## Check a server (URL=...) or a fresh mock against the specs: API=... PROFILE=quick|deep SHARD=i/n
	API=$(API) URL=$(URL) PROFILE=$(PROFILE) READ_ONLY=$(READ_ONLY) RATE=$(RATE) MAX_TIME=$(MAX_TIME) SHARD=$(SHARD) \
		$(BIN)/python -m contracts

contract-merge: venv ## One report from the shards' folders: reports/shard-*/ -> reports/
	$(BIN)/python -m contracts merge $(or $(SHARDS),$(wildcard reports/shard-*/))

# The validating proxy's verdict (mocks/proxy/): with CMD, a fresh mock proxying every API given an
# UPSTREAM_<API> serves the traffic CMD sends (MOCK_URL, MOCK_<API>_URL point at it); without, the verdict of
# the mock already running at URL (default http://HOST:PORT). make turns every failure into 2: CI steps that
# need 0 no drift / 1 drift / 2 cannot check call `python -m mocks.proxy` as this recipe does.
CMD ?=
.PHONY: contract-proxy
contract-proxy: venv ## Drift of UPSTREAM_<API> seen through the proxy: CMD="npm test" or URL= of a running mock
	$(BIN)/python -m mocks.proxy $(if $(CMD),run --host $(HOST) --port $(PORT) -- $(CMD),check --url $(or $(URL),http://$(HOST):$(PORT)))

.PHONY: bench bench-scale bench-tools soak

bench: venv bench-tools $(PRISM) ## Our Impilo mock vs Prism under wrk, then the store-size curve: reports/bench.json
	$(BIN)/python -m bench --prism $(PRISM) $(BENCH_ARGS)

bench-scale: venv ## Only the store-size curve (1k/10k/100k Impilo patients, in-process)
	$(BIN)/python -m bench --only scale $(BENCH_ARGS)

soak: venv bench-tools ## Fuzzing (negative; odd formats), hostile bodies, read-back, slow clients, failing webhook receivers: reports/soak.json (SOAK_ARGS=--quick)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

bench-tools: ## wrk from Debian's packages, installed when missing (needs root)
	@command -v wrk >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk; \
		else echo "error: wrk is missing; as root: apt-get update && apt-get install -y wrk" >&2; exit 2; fi; }

$(PRISM): # Prism from the npm registry into .tools/prism (git-ignored), once
	@command -v npm >/dev/null 2>&1 || { echo "error: npm is missing; Prism needs Node.js and npm" >&2; exit 2; }
	npm install --prefix .tools/prism --no-audit --no-fund --loglevel=error @stoplight/prism-cli@$(PRISM_VERSION)

clean:
	rm -rf build reports .pytest_cache .ruff_cache .mypy_cache
