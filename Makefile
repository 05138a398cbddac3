# The README's two commands: `make demo` and `make test`. Each sets up .venv on first use.
# `make demo` installs only what perpcli itself needs; the test tools (pytest, ruff, the
# Hyperliquid SDK used as a test oracle) come with `make test`. Each step says what it is doing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
BASE := $(VENV)/.installed-base-$(HASH)
TESTS := $(VENV)/.installed-test-$(HASH)
PIP := $(BIN)/python -m pip install --disable-pip-version-check --progress-bar on
# anvil (a local EVM node, for the Ostium chain tests) is a binary inside an npm package; it is
# optional: without node/npm (or off Linux x86-64) those tests skip with one line saying so.
ANVIL_PKG := @foundry-rs/anvil-linux-amd64@1.7.1
TOOLS := .tools
ANVIL_STAMP := $(TOOLS)/.anvil-$(subst /,_,$(ANVIL_PKG))

.PHONY: demo test lint bench install clean

$(BASE): pyproject.toml
	@test -x $(BIN)/python || { echo "==> creating $(VENV) with $(PY)"; $(PY) -m venv $(VENV); }
	@echo "==> updating pip in $(VENV)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@echo "==> installing perpcli and its runtime dependencies (first run: about a minute)"
	$(PIP) -e .
	@rm -f $(VENV)/.installed-base-*
	@touch $@

$(TESTS): $(BASE)
	@echo "==> installing the test tools: pytest, ruff, hypothesis, hyperliquid-python-sdk, ccxt, async-hyperliquid"
	$(PIP) -e '.[test]'
	@rm -f $(VENV)/.installed-test-*
	@touch $@

$(ANVIL_STAMP):
	@echo "==> installing anvil (a local EVM node for the Ostium chain tests) from npm into $(TOOLS)"
	@mkdir -p $(TOOLS)
	@if [ "$$(uname -sm)" != "Linux x86_64" ]; then echo "note: no anvil package for $$(uname -sm); Ostium chain tests will skip"; \
	elif ! command -v npm >/dev/null 2>&1; then echo "note: node/npm not found; Ostium chain tests will skip (install node to run them)"; \
	elif timeout 300 npm install --no-save --silent --prefix $(TOOLS) $(ANVIL_PKG) >/dev/null 2>&1; then echo "installed anvil into $(TOOLS)"; \
	else echo "note: could not install $(ANVIL_PKG) with npm; Ostium chain tests will skip"; fi
	@touch $@

install: $(TESTS) $(ANVIL_STAMP)

demo: $(BASE)
	$(BIN)/perp demo

lint: $(TESTS)
	$(BIN)/ruff check perpcli tests bench

test: lint $(ANVIL_STAMP)
	$(BIN)/python -m pytest

bench: $(TESTS)
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(TOOLS)
