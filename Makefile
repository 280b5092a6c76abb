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

.PHONY: venv mock test lint bundle contract clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

mock: venv ## Start the three mock APIs on one port
	$(BIN)/python -m mocks --host $(HOST) --port $(PORT) --seed $(SEED)

test: venv ## Unit, behaviour and in-process contract tests
	$(BIN)/python -m pytest

lint: venv ## ruff format check + lint, mypy, spec validation
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m specs --validate

bundle: venv ## Resolve each spec with prance into build/<api>.json
	$(BIN)/python -m specs --bundle

contract: venv ## Check a server (URL=...) or a fresh mock against the specs: API=... PROFILE=quick|deep
	API=$(API) URL=$(URL) PROFILE=$(PROFILE) READ_ONLY=$(READ_ONLY) RATE=$(RATE) MAX_TIME=$(MAX_TIME) \
		$(BIN)/python -m contracts

clean:
	rm -rf build reports .pytest_cache .ruff_cache .mypy_cache
