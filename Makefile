# Peiling: the two commands are `make run` and `make test`; both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
HOST ?= 127.0.0.1
BASE_URL ?= http://$(HOST):$(PORT)
DEMO_DIR ?= var/demo

.PHONY: run demo test lint bench translations clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## run: serve a demo library (@bieb) at $(BASE_URL), data kept in $(DEMO_DIR)
run: $(STAMP)
	$(BIN)/peiling --config $(DEMO_DIR)/peiling.toml init --demo --base-url $(BASE_URL) --exist-ok
	PEILING_BASE_URL=$(BASE_URL) $(BIN)/peiling --config $(DEMO_DIR)/peiling.toml serve --host $(HOST) --port $(PORT)

## demo: a national hub and two libraries on loopback, following each other, with a
## national poll adopted by both; data kept in var/demo-*
DEMO_PORTS ?= 8100,8101,8102
demo: $(STAMP)
	$(BIN)/peiling demo --dir var --host $(HOST) --ports $(DEMO_PORTS)

## test: lint and run the whole test suite
test: $(STAMP) lint
	$(BIN)/pytest

## bench: vote ingest and fan-out on loopback, figures against the targets (a few minutes)
bench: $(STAMP)
	$(BIN)/python -m bench

## translations: collect the strings of code and templates, merge them into each .po
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 --no-location \
	    --sort-output --omit-header -o fediverse/translations/messages.pot .
	$(BIN)/pybabel update -i fediverse/translations/messages.pot -l nl --width 100 --no-fuzzy-matching \
	    -o fediverse/translations/nl.po

lint: $(STAMP)
	$(BIN)/ruff check activitypub fediverse tests bench
	$(BIN)/mypy activitypub fediverse

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
