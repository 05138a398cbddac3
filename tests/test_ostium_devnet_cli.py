"""`perp devnet` serves the Ostium face beside the others: it prints the chain's JSON-RPC and
prices URLs, `--venue ostium-devnet` reads a funded account through them, `perp devnet fund`
credits the chain too, and without anvil one line says what to install while the rest runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from decimal import Decimal

import pytest

from perpcli.devnet.ostium.anvil import INSTALL_HINT, free_port
from tests.ostium_devnet import skip_without_anvil
from tests.support import REPO, run_perp

pytestmark = pytest.mark.timeout(90)


def test_perp_devnet_serves_ostium_and_funds_it():
    skip_without_anvil()
    ostium_port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "perpcli", "--json", "devnet", "--port", "0", "--market-interval", "0",
         "--history-days", "0", "--ostium-port", str(ostium_port), "--ostium-hours", "always"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        started = json.loads(proc.stdout.readline())
        face = started["ostium"]
        assert face == {"rpc": f"http://127.0.0.1:{ostium_port}", "chain_id": 31337,
                        "prices": f"http://127.0.0.1:{ostium_port}/latest-prices"}
        env = {"PERPCLI_VENUES_OSTIUM_DEVNET_URL": face["rpc"], "PERPCLI_VENUES_OSTIUM_DEVNET_PRICE_URL": face["prices"],
               "PERPCLI_VENUES_DEVNET_URL": started["url"]}
        fresh = "0x" + "5a" * 20
        account = run_perp(["--json", "--venue", "ostium-devnet", "account", "--address", fresh], env=env)
        assert account.code == 0, account.err
        assert Decimal(str(account.json()["withdrawable"])) == 100_000  # funded on first sight
        funded = run_perp(["--json", "devnet", "fund", fresh, "250"], env=env)
        assert funded.code == 0, funded.err
        assert Decimal(funded.json()["ostium"]["usdc"]) == Decimal(100_250)
        markets = run_perp(["--json", "--venue", "ostium-devnet", "markets"], env=env)
        assert markets.code == 0, markets.err
        assert {"XAU-USD", "XAG-USD", "CL-USD", "EUR-USD", "GBP-USD", "SPX-USD", "NDX-USD", "TSLA-USD",
                "NVDA-USD"} <= {m["market"] for m in markets.json()}
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_without_anvil_one_line_says_what_to_install_and_the_rest_runs(monkeypatch, capsys):
    from decimal import Decimal as D

    from perpcli.cli.commands import devnet as devnet_cmd
    from perpcli.devnet.ostium import node

    monkeypatch.setattr(node, "anvil_binary", lambda: None)
    assert devnet_cmd._start_ostium("127.0.0.1", {"port": 0, "hours": "real"}, seed=0, balance=D(1),
                                    auto_fund=True) is None
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and INSTALL_HINT in err[0] and "make install" in err[0]
