"""Puts perpcli's Ostium contracts on a fresh anvil at their devnet addresses and initialises
them with the devnet's own calls (a contract placed with anvil_setCode never ran a
constructor, so every setting is written by an `initialize` sent as the devnet's governance).
"""

from __future__ import annotations

from decimal import Decimal

from perpcli.devnet.ostium import artifacts
from perpcli.devnet.ostium.chain import ETH, NodeClient
from perpcli.devnet.ostium.prices import MIN_POSITION_USDC, PAIRS

LIQ_MARGIN_THRESHOLD_P = 25  # % of collateral kept at the pair's max leverage (PairInfos)
MAX_TRADES_PER_PAIR = 3
MAX_PENDING_MARKET_ORDERS = 5
MAX_ALLOWED_COLLATERAL = Decimal(1_000_000)  # USDC per trade
MARKET_ORDERS_TIMEOUT_BLOCKS = 30
VAULT_LIQUIDITY = Decimal(100_000_000)  # USDC TradingStorage holds to pay winners

REGISTRY_NAMES = {
    "callbacks": artifacts.CALLBACKS, "pairsStorage": artifacts.PAIRS_STORAGE, "pairInfos": artifacts.PAIR_INFOS,
    "tradingStorage": artifacts.TRADING_STORAGE, "trading": artifacts.TRADING, "usdc": artifacts.USDC,
}


def deploy(node: NodeClient) -> None:
    for name, where in artifacts.PLACEMENT.items():
        node.call("anvil_setCode", [where, artifacts.load(name)["runtime_bytecode"]])
    for account in (artifacts.GOV, artifacts.KEEPER):
        node.call("anvil_impersonateAccount", [account])
        node.call("anvil_setBalance", [account, hex(1_000_000 * ETH)])
    gov = artifacts.GOV
    node.send_fn(gov, "registry", "initialize", [n.encode().ljust(32, b"\0") for n in REGISTRY_NAMES],
                 list(REGISTRY_NAMES.values()))
    node.send_fn(gov, "pairs_storage", "initialize", artifacts.REGISTRY)
    node.send_fn(gov, "pairs_storage", "setPairs", [p.pair_index for p in PAIRS], [p.min_leverage * 100 for p in PAIRS],
                 [p.max_leverage * 100 for p in PAIRS], [int(MIN_POSITION_USDC * 10**6)] * len(PAIRS))
    node.send_fn(gov, "pairs_info", "initialize", artifacts.REGISTRY, LIQ_MARGIN_THRESHOLD_P)
    node.send_fn(gov, "trading_storage", "initialize", artifacts.REGISTRY, artifacts.TRADING, artifacts.CALLBACKS,
                 artifacts.USDC, artifacts.PAIRS_STORAGE, artifacts.PAIR_INFOS, MAX_TRADES_PER_PAIR,
                 MAX_PENDING_MARKET_ORDERS, int(MAX_ALLOWED_COLLATERAL * 10**6))
    node.send_fn(gov, "trading", "initialize", artifacts.REGISTRY, artifacts.TRADING_STORAGE, artifacts.KEEPER,
                 MARKET_ORDERS_TIMEOUT_BLOCKS)
    node.send_fn(gov, "callbacks", "initialize", artifacts.REGISTRY, artifacts.TRADING_STORAGE, artifacts.KEEPER)
    node.mint_usdc(artifacts.TRADING_STORAGE, VAULT_LIQUIDITY)
