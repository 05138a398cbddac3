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
# npm test tools, installed into .tools in one `npm install` (a later --no-save install would
# remove whatever an earlier one put there): anvil (a local EVM node for the Ostium chain tests;
# a binary inside an npm package, Linux x86-64 only) and the npm Hyperliquid client with viem,
# the wallet it signs with (driven against a devnet by tests/test_devnet_nktkas_client.py).
# Optional: without node/npm those tests skip with one line saying so.
ANVIL_PKG := @foundry-rs/anvil-linux-amd64@1.7.1
NKTKAS_PKGS := @nktkas/hyperliquid@0.33.3 viem@2.57.20
TOOLS := .tools
NPM_STAMP := $(TOOLS)/.npm-$(subst /,_,$(ANVIL_PKG))-nktkas-0.33.3-viem-2.57.20

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

$(NPM_STAMP):
	@echo "==> installing npm test tools into $(TOOLS): anvil (Ostium chain tests), @nktkas/hyperliquid and viem (devnet client test)"
	@mkdir -p $(TOOLS)
	@if ! command -v npm >/dev/null 2>&1; then echo "note: node/npm not found; the Ostium chain tests and the npm client's devnet test will skip (install node to run them)"; \
	else pkgs="$(NKTKAS_PKGS)"; \
	  if [ "$$(uname -sm)" = "Linux x86_64" ]; then pkgs="$(ANVIL_PKG) $$pkgs"; else echo "note: no anvil package for $$(uname -sm); Ostium chain tests will skip"; fi; \
	  if timeout 300 npm install --no-save --silent --prefix $(TOOLS) $$pkgs >/dev/null 2>&1; then echo "installed $$pkgs into $(TOOLS)"; \
	  else echo "note: could not install $$pkgs with npm; the tests that need them will skip"; fi; \
	fi
	@touch $@

install: $(TESTS) $(NPM_STAMP)

demo: $(BASE)
	$(BIN)/perp demo

lint: $(TESTS)
	$(BIN)/ruff check perpcli tests bench

test: lint $(NPM_STAMP)
	$(BIN)/python -m pytest

bench: $(TESTS)
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(TOOLS)
