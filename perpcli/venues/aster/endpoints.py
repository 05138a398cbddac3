"""Where Aster lives: REST and websocket hosts per network (constants; no I/O)."""

from __future__ import annotations

MAINNET_URL = "https://fapi.asterdex.com"
MAINNET_WS_URL = "wss://fstream.asterdex.com"
TESTNET_URL = "https://fapi.asterdex-testnet.com"
TESTNET_WS_URL = "wss://fstream.asterdex-testnet.com"

# The signed v3 endpoints all live under this prefix; `perp sign` refuses anything else.
V3_PREFIX = "/fapi/v3/"
METHODS = ("GET", "POST", "PUT", "DELETE")


def default_url(network: str) -> str:
    return MAINNET_URL if network == "mainnet" else TESTNET_URL
