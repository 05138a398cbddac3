"""One worked example per command, shown at the end of its `--help`.

Kept apart from the command modules so every command gets one (tests/test_cli_scripting.py
walks the command tree and fails on a command without an example) and so the examples read
as one consistent set. Plain data: importing this costs nothing.
"""

from __future__ import annotations

EXAMPLES: dict[str, str] = {
    "demo": "perp demo",
    "watch": "perp watch BTC ETH xyz:GOLD",
    "venues": "perp venues --json",
    "markets": "perp markets --all",
    "price": "perp price BTC ETH",
    "book": "perp book BTC --depth 5",
    "trades": "perp trades ETH --limit 10",
    "candles": "perp candles BTC --interval 1h --count 24",
    "funding": "perp funding BTC",
    "account": "perp account --address 0x1111111111111111111111111111111111111111",
    "positions": "perp positions --json",
    "portfolio": "perp portfolio --venues hyperliquid,ostium",
    "orders": "perp orders --market BTC",
    "fills": "perp fills --since 1d --market ETH",
    "funding-history": "perp funding-history --since 30d",
    "buy": "perp buy BTC 0.01 --limit 65000 --tp 70000 --sl 62000",
    "sell": "perp sell ETH 25% --market --slippage 0.5%",
    "scale": "perp scale buy BTC 0.05 --from 64000 --to 62000 --count 5",
    "cancel": "perp cancel --market BTC",
    "modify": "perp modify 77738308 --price 64500",
    "close": "perp close ETH --limit 3500",
    "flatten": "perp flatten --yes",
    "tpsl": "perp tpsl XAU --tp 2900 --sl none --venue ostium",
    "leverage": "perp leverage BTC 10 --isolated",
    "margin": "perp margin BTC add 100",
    "deadman": "perp deadman 60s",
    "batch": "perp batch --yes < orders.ndjson",
    "transfer": "perp transfer 100 --to spot",
    "send": "perp send 0x1111111111111111111111111111111111111111 25",
    "withdraw": "perp withdraw 100 --to 0x1111111111111111111111111111111111111111",
    "stream": "perp stream trades BTC --seconds 30 | head -5",
    "sign": "perp sign order.json --account cold > signed.json",
    "session": "perp session start --for 8h",
    "session start": "perp session start --for 8h --venues devnet --account main",
    "session status": "perp session status --json",
    "session lock": "perp session lock",
    "session stop": "perp session stop",
    "submit": "perp submit signed.json --url https://api.hyperliquid.xyz --network mainnet",
    "completion": "perp completion bash >> ~/.bashrc",
    "devnet": "perp devnet --port 8788 --seed 7",
    "config": "perp config show",
    "keys": "perp keys list",
    "twap": "perp twap buy BTC 0.5 --minutes 30",
    "agent": "perp agent list",
    "config show": "perp config show --json",
    "config path": "perp config path",
    "config init": "perp config init",
    "keys new": "perp keys new trading",
    "keys import": "perp keys import trading < key.hex",
    "keys import-keystore": "perp keys import-keystore cold ~/.foundry/keystores/cold",
    "keys list": "perp keys list --json",
    "keys address": "perp keys address trading",
    "keys remove": "perp keys remove old",
    "keys reset-nonce": "perp keys reset-nonce trading",
    "devnet fund": "perp devnet fund 0x1111111111111111111111111111111111111111 10000",
    "twap buy": "perp twap buy BTC 0.5 --minutes 30",
    "twap sell": "perp twap sell ETH 2 --minutes 60 --randomize",
    "twap cancel": "perp twap cancel BTC 12",
    "twap list": "perp twap list --all",
    "agent approve": "perp agent approve bot --valid-days 30",
    "agent list": "perp agent list --address 0x1111111111111111111111111111111111111111",
    "agent revoke": "perp agent revoke bot",
    "chase": "perp chase buy BTC 0.5 --max-distance 0.3%",
    "trail": "perp trail sell BTC 0.5 --distance 1%",
    "algo": "perp algo list --all",
    "algo list": "perp algo list --json",
    "algo show": "perp algo show a-mxbub817-9e4d",
    "algo logs": "perp algo logs a-mxbub817-9e4d",
    "algo cancel": "perp algo cancel a-mxbub817-9e4d",
}


def epilog(path: str) -> str | None:
    """The `--help` epilog for a command path such as "keys list" (None: no example)."""
    example = EXAMPLES.get(path)
    if example is None:
        return None
    # "\b" keeps click from re-wrapping the example line.
    return f"Example:\n\n\b\n  {example}"
