"""`perp buy --json` through a running `perp session`, beside the same command without a session
and beside a Python script placing the same order with the official SDK (import, set-up, order).

All against one local devnet (started here, no synthetic flow). The key is a keystore key at the
standard scrypt work factor, as the recommended set-up has it: without a session every order
process decrypts it; with one, the agent decrypted it once. The SDK script signs with the raw key
(it has no keystore path of its own), which flatters it. Also `perp positions --json` both ways,
and N orders (default 100) placed one after another through the session, checked for nonce
clashes. The agent keeps one Hyperliquid REST weight budget (1200/min per IP, as the venue counts it)
for all its commands, where separate processes each start with a full one: past the first burst,
each order waits for its weight (the userRole check alone weighs 60), so the loop shows the steady
rate the venue would allow.

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

    handle = start_in_thread(port=0, market_interval=0)
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
        first = subprocess.run(buy, capture_output=True, text=True, env=locked)
        if first.returncode != 0 or json.loads(first.stdout)["status"] != "resting":
            raise SystemExit(f"perp buy failed: {first.stderr or first.stdout}")
        sdk = [py, "-c", SDK_ORDER, url, key, str(int(float(json.loads(first.stdout)["price"])))]

        plain_buy, sdk_a = interleaved_medians(buy, sdk, runs, locked)
        plain_pos, _ = interleaved_medians(positions, [py, "-c", "pass"], runs, locked)
        subprocess.run([*perp_cmd, "session", "start", "--for", "1h"], env=locked, check=True, capture_output=True)
        try:
            session_buy, sdk_b = interleaved_medians(buy, sdk, runs, base)
            session_pos, _ = interleaved_medians(positions, [py, "-c", "pass"], runs, base)
            status = json.loads(subprocess.run([*perp_cmd, "--json", "session", "status"], env=base,
                                               capture_output=True, text=True, check=True).stdout)
            loop, loop_ms = [], []
            for _ in range(count):
                t = time.perf_counter()
                loop.append(subprocess.run(buy, capture_output=True, text=True, env=base))
                loop_ms.append((time.perf_counter() - t) * 1000)
        finally:
            subprocess.run([*perp_cmd, "session", "stop"], env=base, capture_output=True)
    finally:
        handle.stop()
    accepted = [json.loads(p.stdout) for p in loop if p.returncode == 0]
    if status["commands_served"] < 2 * (runs + 1):
        raise SystemExit(f"the session served only {status['commands_served']} commands: not measured through it")
    if len(accepted) != count or len({d["oid"] for d in accepted}) != count:
        raise SystemExit(f"{count} orders through the session: {len(accepted)} accepted")
    sdk_t = (sdk_a + sdk_b) / 2
    metrics = [
        metric("perp buy --json through a session (keystore key)", "ms", session_buy, sdk_t,
               "SDK script: import + Exchange() + order() (raw key)"),
        metric("perp buy --json through a session vs without one", "ms", session_buy, plain_buy,
               "perp buy --json without a session (keystore decrypted per process)"),
        metric("perp positions --json through a session", "ms", session_pos, plain_pos,
               "perp positions --json without a session"),
        metric(f"{count} sequential perp buy through a session (all accepted, no nonce clash), median", "ms",
               statistics.median(loop_ms), plain_buy, "perp buy --json without a session"),
        metric(f"  the same {count}, total", "s", sum(loop_ms) / 1000, plain_buy * count / 1000,
               f"{count} x perp buy --json without a session"),
    ]
    report(f"perp session on a loopback devnet, median of {runs} runs (ratio = baseline / ours)", metrics, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
