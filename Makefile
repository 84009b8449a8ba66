# The two commands a newcomer runs: `make demo` and `make test`.
# Each creates .venv, installs swefarm into it, and sets up the Docker engine
# and base image (`swefarm setup`); a second run reuses all of that.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test setup lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)
	$(BIN)/swefarm setup

demo: setup
	$(BIN)/swefarm demo

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest

bench: setup
	$(BIN)/pip install -q mini-swe-agent  # for the side-by-side env benchmark only
	$(BIN)/swefarm bench sandbox --json
	$(BIN)/swefarm bench env --json

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	-$(BIN)/swefarm gc --all
	rm -rf $(VENV)
