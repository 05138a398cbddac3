"""One order, start to finish, as a user pays for it: a whole `perp buy ... --json` process
beside a Python script doing the same with the official SDK (import, client set-up, one order).
Also a cold `perp positions --json` beside the SDK reading the same account.

Both talk to the same devnet on loopback (started here, no synthetic flow, so both sides wait
for the same server). Medians of one run, ours and the SDK's runs interleaved; ratio = baseline / ours (target >= 3).

Run: python bench/order_latency.py [--json] [--runs N]
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import median_wall_ms, metric, report  # noqa: E402


def interleaved_medians(a: list[str], b: list[str], runs: int, env: dict) -> tuple[float, float]:
    """Median wall ms of two commands run alternately (a, b, a, b, ...) after one warm-up each,
    so both see the same machine load (this box is shared and its load moves)."""
    import statistics
    import time

    for cmd in (a, b):
        subprocess.run(cmd, capture_output=True, env=env, check=False)
    ta, tb = [], []
    for _ in range(runs):
        for cmd, out in ((a, ta), (b, tb)):
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True, env=env, check=False)
            out.append((time.perf_counter() - t) * 1000)
    return statistics.median(ta), statistics.median(tb)

SDK_ORDER = """
import sys
from eth_account import Account
from hyperliquid.exchange import Exchange
url, key, px = sys.argv[1], sys.argv[2], float(sys.argv[3])
ex = Exchange(Account.from_key(key), base_url=url)
r = ex.order("ETH", True, 0.01, px, {"limit": {"tif": "Gtc"}})
assert r["status"] == "ok" and "resting" in r["response"]["data"]["statuses"][0], r
"""

SDK_POSITIONS = """
import sys
from hyperliquid.info import Info
url, address = sys.argv[1], sys.argv[2]
state = Info(url, skip_ws=True).user_state(address)
print(len(state["assetPositions"]))
"""


def _fund(url: str, address: str) -> None:
    import urllib.request

    body = json.dumps({"user": address, "amount": "1000000"}).encode()
    req = urllib.request.Request(f"{url}/devnet/fund", data=body, headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()


def main(argv: list[str]) -> None:
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 9
    from perpcli.devnet.server import start_in_thread
    from perpcli.keys.signer import Signer

    handle = start_in_thread(port=0, market_interval=0)
    try:
        url = handle.url
        key = "0x" + secrets.token_hex(32)
        address = Signer.from_hex(key).address
        _fund(url, address)
        py = sys.executable
        perp = str(Path(py).with_name("perp"))
        perp_cmd = [perp] if Path(perp).exists() else [py, "-m", "perpcli"]
        env = dict(os.environ, PERPCLI_HOME=tempfile.mkdtemp(prefix="perpcli-bench-"), PERPCLI_PRIVATE_KEY=key)
        # Both sides run from compiled bytecode, as installed packages do (the SDK's .pyc files
        # exist from pip; ours are written by the warm-up run).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        reach = ["--url", url, "--network", "testnet", "--json"]
        # One checked run each first: both must really place an order.
        ours = subprocess.run([*perp_cmd, *reach, "buy", "ETH", "0.01", "--limit", "-2%", "--yes"],
                              capture_output=True, text=True, env=env)
        if ours.returncode != 0 or json.loads(ours.stdout)["status"] != "resting":
            raise SystemExit(f"perp buy failed: {ours.stderr or ours.stdout}")
        px = Decimal(json.loads(ours.stdout)["price"])
        sdk_px = str(int(px))
        sdk = subprocess.run([py, "-c", SDK_ORDER, url, key, sdk_px], capture_output=True, text=True, env=env)
        if sdk.returncode != 0:
            raise SystemExit(f"SDK order failed: {sdk.stderr[-500:]}")

        t_ours, t_sdk = interleaved_medians([*perp_cmd, *reach, "buy", "ETH", "0.01", "--limit", "-2%", "--yes"],
                                            [py, "-c", SDK_ORDER, url, key, sdk_px], runs, env)
        p_ours, p_sdk = interleaved_medians([*perp_cmd, *reach, "positions"],
                                            [py, "-c", SDK_POSITIONS, url, address], runs, env)
        floor = median_wall_ms([py, "-c", "pass"], runs, env)
    finally:
        handle.stop()
    metrics = [
        metric("perp buy --json (one limit order, whole process)", "ms", t_ours, t_sdk,
               "SDK script: import + Exchange() + order()"),
        metric("perp positions --json (cold)", "ms", p_ours, p_sdk, "SDK script: import + Info().user_state()"),
        metric("python -c pass (floor, for reference)", "ms", floor, floor, "itself"),
    ]
    report(f"order latency on a loopback devnet, median of {runs} runs (ratio = baseline / ours)", metrics, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
