"""Where Ostium lives on each network: chain id, contract addresses, a public RPC.

Only Trading, TradingStorage (the USDC spender) and USDC are fixed here; Callbacks,
PairsStorage and PairsInfo are resolved through `trading.registry()` on the chain itself, as
Ostium's own SDK does, so an upgrade there cannot leave a stale address in perpcli.

The devnet is a local EVM node on its own chain id (anvil's 31337), never 42161: a transaction
signed for a local chain with a real key must not be valid on Arbitrum One.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OstiumNetwork:
    name: str  # "mainnet" | "testnet" | "devnet"
    chain_id: int
    rpc_url: str
    trading: str
    trading_storage: str
    usdc: str
    faucet: str = ""
    explorer: str = ""


MAINNET = OstiumNetwork(
    name="mainnet",
    chain_id=42161,
    rpc_url="https://arb1.arbitrum.io/rpc",
    trading="0x6D0bA1f9996DBD8885827e1b2e8f6593e7702411",
    trading_storage="0xcCd5891083A8acD2074690F65d3024E7D13d66E7",
    usdc="0xaf88d065e77c8cC2239327C5EDb3A432268e5831",
    explorer="https://arbiscan.io/tx/",
)

TESTNET = OstiumNetwork(
    name="testnet",
    chain_id=421614,
    rpc_url="https://sepolia-rollup.arbitrum.io/rpc",
    trading="0x2A9B9c988393f46a2537B0ff11E98c2C15a95afe",
    trading_storage="0x0b9F5243B29938668c9Cfbd7557A389EC7Ef88b8",
    usdc="0xe73B11Fb1e3eeEe8AF2a23079A4410Fe1B370548",
    faucet="0x6830C550814105d8B27bDAEC0DB391cAa7B967c8",
    explorer="https://sepolia.arbiscan.io/tx/",
)

DEVNET_RPC_URL = "http://127.0.0.1:8545"

# The local devnet deploys its contracts at the mainnet addresses (so the published raw
# transactions replay there) but runs on a local chain id.
DEVNET = OstiumNetwork(
    name="devnet",
    chain_id=31337,
    rpc_url=DEVNET_RPC_URL,
    trading=MAINNET.trading,
    trading_storage=MAINNET.trading_storage,
    usdc=MAINNET.usdc,
)

NETWORKS = {n.name: n for n in (MAINNET, TESTNET, DEVNET)}
REAL_CHAIN_IDS = frozenset({MAINNET.chain_id, TESTNET.chain_id})
