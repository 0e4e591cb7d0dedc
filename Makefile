# Two commands: `make run` (Baton for real with ./config.toml, or the sandbox demo without it) and `make test`.
PYTHON ?= $(shell command -v python3.13 || command -v python3.12 || command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test demo lint check-config

run: $(STAMP)
	$(BIN)/baton run $(if $(wildcard config.toml),--config config.toml,)

demo: $(STAMP)
	$(BIN)/baton demo

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

check-config: $(STAMP)
	$(BIN)/baton check-config --config config.toml

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Baton needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)
