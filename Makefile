# Puente: two commands do all the set-up on a fresh machine.
#   make run    create .venv, install, ingest the knowledge folder, start the bot
#               (Telegram when TELEGRAM_BOT_TOKEN is set, otherwise a console chat)
#   make test   install what the tests need, lint (ruff) and run every test (what CI runs)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip install --disable-pip-version-check -c constraints.txt

.PHONY: run test install install-test ingest chat eval bench clean

run: install ingest
	$(BIN)/python -m bot run

chat: install ingest
	$(BIN)/python -m bot chat

ingest: install
	$(BIN)/python ingest.py

eval: install ingest
	$(BIN)/python -m bot eval ../shared/eval/dev.jsonl

test: install-test
	$(BIN)/ruff check
	bash scripts/ensure-postgres.sh
	sh scripts/ensure-cjk-font.sh
	cd tests/e2e/emulator && npm ci --no-audit --no-fund --silent
	$(BIN)/python -m pytest

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, pinned to the CPU build; then the package and its dependencies.
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) torch==2.13.0
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e ".[test]"
	touch $@

bench: install
	$(PIP) -e ".[bench]"
	$(BIN)/python bench/xquad_retrieval.py

clean:
	rm -rf $(VENV) data .pytest_cache
