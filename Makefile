# Two commands on a fresh machine:
#   make demo   — create the environment, install ticketty and run the demo
#   make test   — install what the tests need (Dovecot, tmux, Chromium …) and run them
# and before a change goes in:
#   make check  — ruff, mypy and the import contracts (lint-imports), from the same venv
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# mypy runs on every package, at zero errors (keep it so)
MYPY_PACKAGES := engine tui themes ticketty
LINT_PATHS    := engine tui themes ticketty bench tests

.PHONY: demo test test-deps lint check bench clean repeat mutate

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ticketty demo

test-deps:
	bash scripts/install-test-deps.sh

test: $(STAMP) test-deps
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)

check: lint
	$(BIN)/mypy $(MYPY_PACKAGES)
	$(BIN)/lint-imports --no-logo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache

# Not in CI: a flaky test's proof of repair (issue 17). make repeat N=100 [ARGS="pytest args"]
N ?= 100
repeat: $(STAMP)
	bash scripts/repeat-test.sh $(N) $(ARGS)

# Not in CI (slow): mutation testing of the core modules, figures in build/mutate/ (issue 17)
mutate: $(STAMP)
	bash scripts/mutate.sh $(MODULES)
