"""`perp buy --json` through a running `perp session`, beside the same command without a session
and beside a Python script placing the same order with the official SDK (import, set-up, order).

All against one local devnet (started here, no synthetic flow). The key is a keystore key at the
standard scrypt work factor, as the recommended set-up has it: without a session every order
process decrypts it; with one, the agent decrypted it once. The SDK script signs with the raw key
(it has no keystore path of its own), which flatters it. Also `perp positions --json` both ways,
two commands the agent runs through the full Typer CLI rather than the fast path (`perp leverage
--json --yes`, signed; `perp fills --json`, a read) both ways, and N orders (default 100) from a shell loop, one after another, through the session and the
same loop without one: orders accepted, the nonces the devnet received (all distinct, or the bench
fails; the devnet also refuses a reused nonce, as the venue does, and such refusals are counted) and the REST
weight each order spent at the devnet. The agent keeps one Hyperliquid weight budget (1200/min per
IP, as the venue counts it) for all its commands, where separate processes each start with a full
one (the venue would hold them to the same per-IP budget): past the first burst, each order through
the session waits for its weight, so that loop shows the steady rate the venue would allow; the key's
role (userRole, weight 60) is asked once per session, not per order.

Run: python bench/session.py [--json] [--runs N] [--loop N]
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import metric, report  # noqa: E402
from order_latency import SDK_ORDER, _fund, interleaved_medians  # noqa: E402


def main(argv: list[str]) -> None:
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 9
    count = int(argv[argv.index("--loop") + 1]) if "--loop" in argv else 100
    from perpcli.devnet.server import start_in_thread
    from perpcli.keys.signer import Signer

    handle = start_in_thread(port=0, market_interval=0, ip_weight_limit=10**9)  # counts weight, never refuses
    spent = _count_weight(handle.devnet.weights)
    nonces = _record_nonces(handle.devnet)
    home = tempfile.mkdtemp(prefix="perpcli-bench-")
    py = sys.executable
    perp = str(Path(py).with_name("perp"))
    perp_cmd = [perp] if Path(perp).exists() else [py, "-m", "perpcli"]
    base = {k: v for k, v in os.environ.items() if k not in ("PERPCLI_PRIVATE_KEY", "PERPCLI_PASSPHRASE")}
    base.update(PERPCLI_HOME=home)
    base.pop("PYTHONDONTWRITEBYTECODE", None)  # both sides from bytecode, as installed packages run
    locked = dict(base, PERPCLI_PASSPHRASE="bench passphrase")  # without a session: decrypt per process
    try:
        url = handle.url
        key = "0x" + secrets.token_hex(32)
        address = Signer.from_hex(key).address
        _fund(url, address)
        subprocess.run([*perp_cmd, "keys", "import", "bench"], input=key + "\n", text=True, env=locked,
                       check=True, capture_output=True)
        reach = ["--url", url, "--network", "testnet", "--json"]
        buy = [*perp_cmd, *reach, "buy", "ETH", "0.01", "--limit", "-2%", "--yes"]
        positions = [*perp_cmd, *reach, "positions"]
        leverage = [*perp_cmd, *reach, "leverage", "ETH", "5", "--yes"]  # the same setting each time
        fills = [*perp_cmd, *reach, "fills"]
        for cmd in (leverage, fills):
            done = subprocess.run(cmd, capture_output=True, text=True, env=locked)
            if done.returncode != 0:
                raise SystemExit(f"{' '.join(cmd[len(perp_cmd) + len(reach):])} failed: {done.stderr}")
        first = subprocess.run(buy, capture_output=True, text=True, env=locked)
        if first.returncode != 0 or json.loads(first.stdout)["status"] != "resting":
            raise SystemExit(f"perp buy failed: {first.stderr or first.stdout}")
        sdk = [py, "-c", SDK_ORDER, url, key, str(int(float(json.loads(first.stdout)["price"])))]

        plain_buy, sdk_a = interleaved_medians(buy, sdk, runs, locked)
        plain_pos, _ = interleaved_medians(positions, [py, "-c", "pass"], runs, locked)
        plain_lev, plain_fills = interleaved_medians(leverage, fills, runs, locked)
        subprocess.run([*perp_cmd, "session", "start", "--for", "1h"], env=locked, check=True, capture_output=True)
        try:
            session_buy, sdk_b = interleaved_medians(buy, sdk, runs, base)
            session_pos, _ = interleaved_medians(positions, [py, "-c", "pass"], runs, base)
            session_lev, session_fills = interleaved_medians(leverage, fills, runs, base)
            status = json.loads(subprocess.run([*perp_cmd, "--json", "session", "status"], env=base,
                                               capture_output=True, text=True, check=True).stdout)
            served_before = status["commands_served"]
            loop = _shell_loop(buy, count, base, spent, nonces)
            served = json.loads(subprocess.run([*perp_cmd, "--json", "session", "status"], env=base,
                                               capture_output=True, text=True, check=True).stdout)["commands_served"]
        finally:
            subprocess.run([*perp_cmd, "session", "stop"], env=base, capture_output=True)
        plain_loop = _shell_loop(buy, count, locked, spent, nonces)
    finally:
        handle.stop()
    if status["commands_served"] < 4 * (runs + 1) or served - served_before != count:
        raise SystemExit(f"the session served only {served - served_before} of the loop's {count} orders: "
                         "not measured through it")
    for name, result in (("through the session", loop), ("without a session", plain_loop)):
        print(f"{count} orders from a shell loop {name}: {result['accepted']} accepted, {result['nonce_refused']} "
              f"refused for their nonce, {result['unique_oids']} distinct order ids, {result['unique_nonces']} "
              f"distinct nonces in {result['nonces']} requests; "
              f"{result['weight_per_order']:.0f} request weight per order; {result['seconds']:.1f} s",
              file=sys.stderr)
        if (result["accepted"] != count or result["unique_oids"] != count or result["nonce_refused"]
                or result["unique_nonces"] != result["nonces"]):
            raise SystemExit(f"{count} orders {name}: {result['accepted']} accepted")
    sdk_t = (sdk_a + sdk_b) / 2
    metrics = [
        metric("perp buy --json through a session (keystore key)", "ms", session_buy, sdk_t,
               "SDK script: import + Exchange() + order() (raw key)"),
        metric("perp buy --json through a session vs without one", "ms", session_buy, plain_buy,
               "perp buy --json without a session (keystore decrypted per process)"),
        metric("perp positions --json through a session", "ms", session_pos, plain_pos,
               "perp positions --json without a session"),
        metric("perp leverage ETH 5 --json --yes through a session (full CLI in the agent)", "ms", session_lev,
               plain_lev, "perp leverage --json without a session (keystore decrypted per process)"),
        metric("perp fills --json through a session (full CLI in the agent)", "ms", session_fills, plain_fills,
               "perp fills --json without a session"),
        metric(f"{count} perp buy from a shell loop through a session (all accepted, no nonce clash), median",
               "ms", loop["median_ms"], plain_loop["median_ms"], "the same loop without a session"),
        metric(f"  the same {count}, total (the session waits for the per-IP weight budget)", "s",
               loop["seconds"], plain_loop["seconds"], "the same loop without a session (a fresh budget each)"),
        metric("  request weight per order", "weight", loop["weight_per_order"], plain_loop["weight_per_order"],
               "the same loop without a session"),
    ]
    report(f"perp session on a loopback devnet, median of {runs} runs (ratio = baseline / ours)", metrics, argv)


def _count_weight(budget) -> list[int]:
    """The devnet's weight budget, wrapped to add up what every request spends (one-item list)."""
    total = [0]
    allow = budget.allow

    def counted(ip: str, weight: int, now_ms: int) -> bool:
        total[0] += weight
        return allow(ip, weight, now_ms)

    budget.allow = counted
    return total


def _record_nonces(devnet) -> list[int]:
    """Every nonce the devnet's /exchange receives, in arrival order."""
    seen: list[int] = []
    answer = devnet.exchange_answer

    def recorded(body: bytes) -> dict:
        try:
            seen.append(int(json.loads(body)["nonce"]))
        except (ValueError, KeyError, TypeError):
            pass
        return answer(body)

    devnet.exchange_answer = recorded
    return seen


def _shell_loop(buy: list[str], count: int, env: dict, spent: list[int], nonces: list[int]) -> dict:
    """`for i in $(seq N); do perp buy ...; done`: one process after another."""
    weight0 = spent[0]
    first_nonce = len(nonces)
    docs, times, nonce_refused = [], [], 0
    t0 = time.perf_counter()
    for _ in range(count):
        t = time.perf_counter()
        p = subprocess.run(buy, capture_output=True, text=True, env=env)
        times.append((time.perf_counter() - t) * 1000)
        doc = json.loads(p.stdout) if p.stdout.strip().startswith("{") else {}
        if p.returncode == 0:
            docs.append(doc)
        elif doc.get("error_kind") == "nonce":
            nonce_refused += 1
    return {"accepted": len(docs), "unique_oids": len({d.get("oid") for d in docs}), "nonce_refused": nonce_refused,
            "median_ms": statistics.median(times), "seconds": time.perf_counter() - t0,
            "weight_per_order": (spent[0] - weight0) / count,
            "nonces": len(nonces) - first_nonce, "unique_nonces": len(set(nonces[first_nonce:]))}


if __name__ == "__main__":
    main(sys.argv[1:])
