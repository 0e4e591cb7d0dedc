# Two commands: `make run` (Baton for real with ./config.toml, or the sandbox demo without it) and `make test`.
# The first interpreter that actually runs and is 3.11+ (version managers may offer shims that do not run).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3 python; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The suite again on PostgreSQL (each test in its own database); skipped, saying why, if none answers.
BATON_TEST_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: run test test-postgres demo lint check-config bench bench-agent screenshots

run: $(STAMP)
	$(BIN)/baton run $(if $(wildcard config.toml),--config config.toml,)

demo: $(STAMP)
	$(BIN)/baton demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q

# The README's pictures of the playground, taken from the running sandboxes (needs Chromium).
screenshots: $(STAMP)
	$(BIN)/python -m sandbox.screenshots docs/screenshots

bench: $(STAMP)
	$(BIN)/python -m bench.run

# The FAQ agent: model load, memory, decision latency; with a labelled set, its accuracy too.
AGENT_EVAL ?= $(wildcard ../shared/agent-eval)
bench-agent: $(STAMP)
	$(BIN)/python -m bench.agent $(AGENT_EVAL)

test-postgres: $(STAMP)
	BATON_TEST_DATABASE_URL=$(BATON_TEST_DATABASE_URL) $(BIN)/pytest -q -rs

lint: $(STAMP)
	$(BIN)/ruff check .

check-config: $(STAMP)
	$(BIN)/baton check-config --config config.toml

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Baton needs Python 3.11 or newer on PATH (python3.11, python3.12, ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)
