# The README's two commands: `make demo` and `make test`. Each sets up .venv on first use.
# `make demo` installs only what perpcli itself needs; the test tools (pytest, ruff, the
# Hyperliquid SDK used as a test oracle) come with `make test`. Each step says what it is doing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
BASE := $(VENV)/.installed-base-$(HASH)-compat
TESTS := $(VENV)/.installed-test-$(HASH)-compat
PIP := $(BIN)/python -m pip install --disable-pip-version-check --progress-bar on
# The editable install puts the checkout on sys.path (a plain .pth line) instead of setuptools'
# import-hook finder, which every `perp` process would load at start-up and consult on each
# import (bench/cold_start.py and bench/session.py measure what a command costs).
EDITABLE := --config-settings editable_mode=compat
# npm tools, each group installed by one `npm install` into its own folder (a later --no-save
# install into the same folder would remove whatever an earlier one put there):
# - anvil (a local EVM node: the Ostium face of `perp devnet` and the Ostium chain tests; a
#   binary inside an npm package, Linux x86-64 only) into .tools/anvil, for `make demo` too;
# - the test tools into .tools: the npm Hyperliquid client with viem, the wallet it signs with
#   (driven against a devnet by tests/test_devnet_nktkas_client.py), and solc-js, the Solidity
#   compiler that `make ostium-contracts` runs (the compiled contracts are committed).
# Optional: without node/npm the Ostium devnet and those tests skip with one line saying so.
ANVIL_PKG := @foundry-rs/anvil-linux-amd64@1.7.1
NKTKAS_PKGS := @nktkas/hyperliquid@0.33.3 viem@2.57.20
SOLC_PKG := solc@0.8.28
TOOLS := .tools
ANVIL_STAMP := $(TOOLS)/anvil/.npm-$(subst /,_,$(ANVIL_PKG))
NPM_STAMP := $(TOOLS)/.npm-nktkas-0.33.3-viem-2.57.20-$(SOLC_PKG)

.PHONY: demo test lint bench install clean ostium-contracts

$(BASE): pyproject.toml
	@test -x $(BIN)/python || { echo "==> creating $(VENV) with $(PY)"; $(PY) -m venv $(VENV); }
	@echo "==> updating pip in $(VENV)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@echo "==> installing perpcli and its runtime dependencies (first run: about a minute)"
	$(PIP) $(EDITABLE) -e .
	@rm -f $(VENV)/.installed-base-*
	@touch $@

$(TESTS): $(BASE)
	@echo "==> installing the test tools: pytest, ruff, hypothesis, hyperliquid-python-sdk, ccxt, async-hyperliquid"
	$(PIP) $(EDITABLE) -e '.[test]'
	@rm -f $(VENV)/.installed-test-*
	@touch $@

$(ANVIL_STAMP):
	@mkdir -p $(TOOLS)/anvil
	@if ! command -v npm >/dev/null 2>&1; then echo "note: node/npm not found; the devnet's Ostium face and the Ostium chain tests will skip (install node to run them)"; \
	elif [ "$$(uname -sm)" != "Linux x86_64" ]; then echo "note: no anvil package for $$(uname -sm); the devnet's Ostium face and chain tests will skip (put anvil on PATH)"; \
	else echo "==> installing anvil (a local EVM node for the devnet's Ostium face) into $(TOOLS)/anvil"; \
	  if timeout 300 npm install --no-save --silent --prefix $(TOOLS)/anvil $(ANVIL_PKG) >/dev/null 2>&1; then echo "installed $(ANVIL_PKG) into $(TOOLS)/anvil"; \
	  else echo "note: could not install $(ANVIL_PKG) with npm; the devnet's Ostium face and chain tests will skip"; fi; \
	fi
	@touch $@

$(NPM_STAMP):
	@echo "==> installing npm test tools into $(TOOLS): @nktkas/hyperliquid and viem (devnet client test), solc (make ostium-contracts)"
	@mkdir -p $(TOOLS)
	@if ! command -v npm >/dev/null 2>&1; then echo "note: node/npm not found; the npm client's devnet test will skip (install node to run it)"; \
	else pkgs="$(NKTKAS_PKGS) $(SOLC_PKG)"; \
	  if timeout 300 npm install --no-save --silent --prefix $(TOOLS) $$pkgs >/dev/null 2>&1; then echo "installed $$pkgs into $(TOOLS)"; \
	  else echo "note: could not install $$pkgs with npm; the tests that need them will skip"; fi; \
	fi
	@touch $@

install: $(TESTS) $(ANVIL_STAMP) $(NPM_STAMP)

demo: $(BASE) $(ANVIL_STAMP)
	$(BIN)/perp demo

lint: $(TESTS)
	$(BIN)/ruff check perpcli tests bench

# The CLI modules below run a second time with every command a session would take going through
# a session agent (tests/via_session.py): the same checks, so the same output and exit codes.
# Not in this pass:
# - tests/test_cli_precision.py passes this way but takes ~90 s instead of ~3 s: its walk reads
#   more in a minute than the venue's weight budget (1,200 a minute) allows, and the agent, one
#   long-lived client, paces its reads as the venue counts them (each process without a session
#   starts with a full budget of its own);
# - tests/test_http_hostile.py passes this way but adds ~18 s; the agent reaches a venue with
#   the same HTTP client, and the error-kind module above covers its exit codes through it;
# - modules that run `perp` as processes (test_cli_basics, numbers, fast, concurrency,
#   stream_lifecycle, demo, sign): the variable only reaches in-process runs; the session's own
#   process path is tests/test_session*.py; devnet-protocol modules run few CLI commands.
VIA_SESSION_TESTS = tests/test_cli_trading.py tests/test_cli_read_only.py tests/test_cli_markets.py \
	tests/test_cli_guards.py tests/test_cli_triggers.py tests/test_cli_error_kinds.py tests/test_cli_scripting.py \
	tests/test_cli_market_names.py tests/test_cli_twap_list.py tests/test_preview_devnet.py \
	tests/test_devnet_face_accounts.py tests/test_aster_cli_account.py tests/test_order_grammar_fuzz.py \
	tests/test_zz_secret_leak.py

test: lint $(ANVIL_STAMP) $(NPM_STAMP)
	$(BIN)/python -m pytest
	PERPCLI_TEST_VIA_SESSION=1 $(BIN)/python -m pytest -q $(VIA_SESSION_TESTS)

# The Ostium devnet's contracts: Solidity in perpcli/devnet/ostium/contracts, compiled by
# solc-js into perpcli/devnet/ostium/artifacts (committed: tests and users need no compiler).
ostium-contracts: $(NPM_STAMP)
	node perpcli/devnet/ostium/contracts/build.mjs $(TOOLS)/node_modules/solc

bench: $(TESTS)
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(TOOLS)
