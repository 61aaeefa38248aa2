# The README's two commands: `make play` and `make test`. Both work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: play test install install-test lint

play: install
	$(BIN)/engine play stories/tomb

test: install-test lint
	$(BIN)/pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/mypy engine plugins tests

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
