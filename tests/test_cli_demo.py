"""`perp demo`: an in-process devnet with a funded demo key, and a tour that works as printed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time


def test_demo_runs_a_devnet_with_a_funded_key(perpcli_home):
    env = dict(os.environ, PERPCLI_HOME=str(perpcli_home))
    env.pop("PERPCLI_PRIVATE_KEY", None)
    proc = subprocess.Popen([sys.executable, "-m", "perpcli", "demo", "--port", "0", "--seconds", "60"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        text = "".join(lines)
        url = re.search(r"devnet\s+(http://127\.0\.0\.1:\d+)", text).group(1)
        key_path = re.search(r"stored at (\S+)\)", text).group(1)
        address = re.search(r"demo key\s+(0x[0-9a-f]{40})", text).group(1)
        assert f"--url {url} --network testnet" in text
        assert oct(os.stat(key_path).st_mode & 0o777) == "0o600"
        key = [ln for ln in open(key_path).read().splitlines() if not ln.startswith("#")][0]
        assert key not in text  # the tour never prints the key itself
        run_env = dict(env, PERPCLI_PRIVATE_KEY=key)
        acct = subprocess.run([sys.executable, "-m", "perpcli", "--url", url, "--network", "testnet", "--json",
                               "account"], capture_output=True, text=True, env=run_env, timeout=60)
        assert acct.returncode == 0, acct.stderr
        doc = json.loads(acct.stdout)
        assert doc["account"] == address
        # A modest balance holding leveraged positions: liquidation prices are in view.
        assert 9000 < float(doc["equity"]) <= 10000 and float(doc["leverage"]) > 3
        pos = subprocess.run([sys.executable, "-m", "perpcli", "--url", url, "--network", "testnet", "--json",
                              "positions"], capture_output=True, text=True, env=run_env, timeout=60)
        assert pos.returncode == 0, pos.stderr
        rows = {p["market"]: p for p in json.loads(pos.stdout)}
        assert set(rows) == {"BTC", "ETH"}  # the Aster face's SOL position is on the key's Aster account only
        assert float(rows["BTC"]["size"]) > 0 and float(rows["ETH"]["size"]) < 0
        assert all(p["liquidation_price"] is not None and p["leverage"] in (10, 5)
                   for p in rows.values() if p["market"] in ("BTC", "ETH"))
        assert "holding     BTC long 10x" in text
        # The same devnet's Aster face: the key's own Aster account, with the demo's Aster position
        # and resting order (and none of the Hyperliquid face's positions).
        assert f"perp --venue aster-devnet --url {url} --network testnet orders" in text
        aster = ["--venue", "aster-devnet", "--url", url, "--network", "testnet", "--json"]
        orders = subprocess.run([sys.executable, "-m", "perpcli", *aster, "orders"], capture_output=True, text=True,
                                env=run_env, timeout=60)
        assert orders.returncode == 0, orders.stderr
        assert [(o["market"], o["cloid"]) for o in json.loads(orders.stdout)] == [("ETHUSDT", "demo-aster-bid")]
        held = subprocess.run([sys.executable, "-m", "perpcli", *aster, "positions"], capture_output=True, text=True,
                              env=run_env, timeout=60)
        assert held.returncode == 0, held.stderr
        assert {p["market"] for p in json.loads(held.stdout)} == {"SOLUSDT"}
        _check_ostium(text, run_env)
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        assert proc.returncode == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _check_ostium(text: str, env: dict) -> None:
    """With anvil installed the demo also runs the Ostium chain and holds one XAU trade there
    (with its liquidation price); without it, one line says Ostium is skipped and what to install."""
    from perpcli.devnet.ostium.anvil import anvil_binary

    if anvil_binary() is None:
        assert "perp demo: Ostium skipped: anvil not found" in text and "make install" in text
        return
    found = re.search(r"chain\s+(http://127\.0\.0\.1:\d+) \(prices (\S+)\)", text)
    assert found, text
    assert "holding     XAU-USD long 500 USDC x 10" in text
    ostium_env = dict(env, PERPCLI_VENUES_OSTIUM_DEVNET_URL=found.group(1),
                      PERPCLI_VENUES_OSTIUM_DEVNET_PRICE_URL=found.group(2))
    pos = subprocess.run([sys.executable, "-m", "perpcli", "--venue", "ostium-devnet", "--json", "positions"],
                         capture_output=True, text=True, env=ostium_env, timeout=60)
    assert pos.returncode == 0, pos.stderr
    [xau] = json.loads(pos.stdout)
    assert xau["market"] == "XAU-USD" and float(xau["size"]) > 0 and xau["liquidation_price"] is not None


def test_without_anvil_the_demo_skips_ostium_in_one_line_naming_what_to_install(monkeypatch, perpcli_home):
    from perpcli.cli import demo_setup
    from perpcli.devnet.ostium import anvil, node  # noqa: F401 - node binds the real probe before the patch

    monkeypatch.setattr(anvil, "anvil_binary", lambda: None)
    face, line = demo_setup.start_ostium("0x" + "11" * 20, "10000")
    assert face is None and "\n" not in line
    assert line.startswith("perp demo: Ostium skipped: anvil not found: run `make install`")
    assert "Ostium" not in demo_setup.tour("http://127.0.0.1:8787", perpcli_home / "k", "0x" + "11" * 20)
