"""Cold-start hygiene: cheap commands import no heavy library; headless code never imports textual."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import REPO

# The EVM libraries (web3, eth-account, eth-abi, rlp) are not on any command's path: Ostium uses perpcli's own codecs.
HEAVY = ("textual", "web3", "eth_account", "eth_abi", "rlp", "websockets", "hyperliquid")

PROBE = """
import json, sys
from perpcli.cli.main import main
sys.stdout = open("/dev/null", "w")
code = main({args!r})
sys.stdout = sys.__stdout__
print(json.dumps({{"code": code, "loaded": sorted(m for m in {heavy!r} if m in sys.modules)}}))
"""


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["keys", "list"], ["keys", "list", "--json"],
                                  ["config", "show"]])
def test_cheap_commands_import_nothing_heavy(args):
    p = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)],
                       capture_output=True, text=True, cwd=str(REPO), timeout=60)
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    assert result["loaded"] == [], f"perp {' '.join(args)} imported {result['loaded']}"


HEADLESS = """
import importlib, json, pkgutil, sys
import perpcli
bad = []
for info in pkgutil.walk_packages(perpcli.__path__, "perpcli."):
    if info.name.startswith("perpcli.tui") or info.name == "perpcli.__main__":
        continue
    importlib.import_module(info.name)
print(json.dumps({"textual": "textual" in sys.modules, "hyperliquid": "hyperliquid" in sys.modules,
                  "evm": sorted(m for m in ("web3", "eth_account", "eth_abi", "rlp") if m in sys.modules)}))
"""


def test_headless_modules_never_import_textual_or_the_sdk():
    """Importing every module (the Ostium adapter's included) loads no UI, no SDK and no EVM library:
    those load only when a command actually uses them."""
    p = subprocess.run([sys.executable, "-c", HEADLESS], capture_output=True, text=True, cwd=str(REPO), timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1]) == {"textual": False, "hyperliquid": False, "evm": []}


OSTIUM_ENCODE = """
import json, sys
from perpcli.venues.ostium import calls, transactions
calls.cancel_open_limit_order(7, 0)
transactions.decode(bytes.fromhex({raw!r}))
print(json.dumps(sorted(m for m in {evm!r} if m in sys.modules)))
"""

# perpcli encodes ABI calls and RLP transactions with its own codecs (venues/ostium/abicodec.py,
# rlp.py): these libraries cost a large share of an Ostium command's start-up and none is needed.
EVM_LIBRARIES = ("web3", "eth_account", "eth_abi", "rlp", "eth_utils")


def test_ostium_encodes_and_decodes_without_any_evm_library():
    vectors = json.loads((REPO / "tests" / "vectors" / "ostium_vectors.json").read_text())
    raw = vectors["signed_tx_vectors"][0]["raw_tx"].removeprefix("0x")
    p = subprocess.run([sys.executable, "-c", OSTIUM_ENCODE.format(raw=raw, evm=EVM_LIBRARIES)], capture_output=True,
                       text=True, cwd=str(REPO), timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1]) == []


OSTIUM_COMMAND = """
import json, sys
from types import SimpleNamespace
from perpcli.venues.ostium import quoting
quoting.time = SimpleNamespace(time_ns=lambda: {now_ms} * 1_000_000)  # a Tuesday: gold trades
from perpcli.cli.main import main
sys.stdout = open("/dev/null", "w")
code = main({args!r})
sys.stdout = sys.__stdout__
print(json.dumps({{"code": code, "loaded": sorted(m for m in {evm!r} if m in sys.modules)}}))
"""


@pytest.mark.parametrize("args", [["account"], ["positions"],
                                  ["buy", "XAU", "--collateral", "500", "--leverage", "10", "--market"]])
def test_an_ostium_command_imports_no_evm_library(args, perpcli_home, monkeypatch):
    """A whole Ostium read or trade (encode, sign, broadcast, receipt, settlement event) against a
    scripted chain, in a fresh process: no eth-abi, rlp, eth-utils, web3 or eth-account."""
    from tests.anvil_node import DEV_KEY
    from tests.ostium_node import serving
    from tests.ostium_trading_node import TradingChain
    from tests.test_ostium_trade_cli import TUESDAY_MS

    with serving(TradingChain()) as url:
        monkeypatch.setenv("PERPCLI_VENUES_OSTIUM_DEVNET_URL", url)
        monkeypatch.setenv("PERPCLI_VENUES_OSTIUM_DEVNET_PRICE_URL", url + "/prices")
        monkeypatch.setenv("PERPCLI_PRIVATE_KEY", DEV_KEY)
        argv = ["--venue", "ostium-devnet", "--yes", "--json", *args]
        p = subprocess.run([sys.executable, "-c", OSTIUM_COMMAND.format(now_ms=TUESDAY_MS, args=argv,
                                                                         evm=EVM_LIBRARIES)],
                           capture_output=True, text=True, cwd=str(REPO), timeout=60)
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "loaded": []}, p.stderr


THIN_CLIENT = """
import json, sys
sys.argv = {argv!r}
from perpcli.cli.entry import run
try:
    run()
finally:
    mods = sorted(m for m in sys.modules if m.startswith("perpcli") or m in {heavy!r})
    sys.stderr.write("MODULES=" + json.dumps(mods + [m for m in ("typer", "click", "decimal", "coincurve")
                                                       if m in sys.modules]) + "\\n")
"""


def test_the_session_thin_client_imports_almost_nothing(perpcli_home):
    """With a session running, `perp positions --json` is a thin client: no Typer, no venue, no app
    code, no signing library; only perpcli.session's client and protocol."""
    from tests import session_helpers as sh

    _, pw = sh.stored_key(perpcli_home)
    with sh.running(pw):
        # Nothing listens on port 9 here: the agent answers exit 5 (network), which it ran, not this process.
        argv = ["perp", "--url", "http://127.0.0.1:9", "--network", "testnet", "--json", "positions"]
        p = subprocess.run([sys.executable, "-c", THIN_CLIENT.format(argv=argv, heavy=HEAVY)], capture_output=True,
                           text=True, cwd=str(REPO), timeout=60)
        assert sh.status()["commands_served"] == 1
    assert p.returncode == 5, p.stderr
    loaded = json.loads(p.stderr.split("MODULES=")[1])
    assert loaded == ["perpcli", "perpcli.cli", "perpcli.cli.entry", "perpcli.session", "perpcli.session.client",
                      "perpcli.session.protocol"], loaded
