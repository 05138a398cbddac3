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
	@echo "==> installing the test tools: pytest, ruff, hypothesis, hyperliquid-python-sdk"
	$(PIP) -e '.[test]'
	@rm -f $(VENV)/.installed-test-*
	@touch $@

install: $(TESTS)

demo: $(BASE)
	$(BIN)/perp demo

lint: $(TESTS)
	$(BIN)/ruff check perpcli tests bench

test: lint
	$(BIN)/python -m pytest

bench: $(TESTS)
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
