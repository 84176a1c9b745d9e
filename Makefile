# The two commands of the quick start: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
HOST   ?= 127.0.0.1
PORT   ?= 8050
SEED   ?= 0
SCALE  ?= small
DATA   ?= data/demo
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# What the browser gets from the npm registry (deck.gl; apache-arrow for bench.wire), pinned by package-lock.json
# and installed into the venv, never committed.
NPM    := $(VENV)/npm
NPM_STAMP := $(NPM)/.installed

.PHONY: demo test setup browser lint bench clean

demo: $(STAMP) $(NPM_STAMP)
	$(BIN)/twin demo build --scale $(SCALE) --seed $(SEED) --out $(DATA)
	$(BIN)/twin demo users --store $(DATA)
	$(BIN)/twin serve --data $(DATA) --host $(HOST) --port $(PORT) --guest

test: $(STAMP) $(NPM_STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

setup: $(STAMP) $(NPM_STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/pip || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "error: could not create $(VENV); install Python's venv module (Debian: apt-get install python3-venv)"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json | $(STAMP)
	@command -v npm >/dev/null || { echo "error: npm is needed to install deck.gl for the browser (Debian: apt-get install npm)"; exit 1; }
	mkdir -p $(NPM) && cp package.json package-lock.json $(NPM)/
	cd $(NPM) && npm ci --legacy-peer-deps --silent --no-audit --no-fund
	touch $(NPM_STAMP)

# Debian's Chromium (driven by Playwright from pip; never `playwright install`) and a CJK font for screenshots.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qiE 'wqy|noto sans cjk'; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else \
	    echo "error: the browser tests need Debian's chromium and fonts-wqy-zenhei; install them as root"; exit 1; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP) $(NPM_STAMP) browser
	$(BIN)/python -m bench.layers --rows 13700000
	$(BIN)/python -m bench.app
	$(BIN)/python -m bench.wire
	$(BIN)/python -m bench.bim

clean:
	rm -rf $(DATA) .pytest_cache tests/e2e/artifacts
