"""What `perp demo` holds on the Ostium face: one XAU trade for the demo address.

It is opened as a trader's wallet opens one (a USDC approval, then openTrade at market with
slippage), sent from the node's side by impersonating the address (the devnet never needs the
demo key), and settled by the devnet's keeper like any order, so `perp --venue ostium-devnet
positions` and the TUI's Ostium tab show a real on-chain trade with its liquidation price.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from perpcli.devnet.ostium import artifacts
from perpcli.devnet.ostium.chain import NodeClient, NodeError
from perpcli.venues.ostium import calls
from perpcli.venues.ostium.calls import OpenTrade, OrderType
from perpcli.venues.ostium.rpc import RpcError

# (market, long, collateral USDC, leverage)
DEMO_TRADE: tuple[str, bool, Decimal, Decimal] = ("XAU-USD", True, Decimal(500), Decimal(10))


def seed_trade(devnet: Any, address: str, funds: Decimal, *, trade: tuple[str, bool, Decimal, Decimal] = DEMO_TRADE,
               wait_s: float = 10.0) -> bool:
    """Fund `address` with `funds` USDC (and gas), open `trade` at market and wait (bounded)
    for the keeper to settle it. False when it did not settle in time or was refused."""
    symbol, is_long, collateral, leverage = trade
    devnet.fund(address, funds)
    pair = devnet.prices.pair_index(symbol)
    quote = devnet.prices.quote(pair)
    who = address.lower()
    node = NodeClient(devnet.node_url)
    try:
        node.call("anvil_impersonateAccount", [who])
        try:
            node.send_as(who, artifacts.USDC, calls.approve(artifacts.TRADING_STORAGE, funds))
            node.send_as(who, artifacts.TRADING, calls.open_trade(OpenTrade(
                trader=who, pair_index=pair, buy=is_long, collateral=collateral, leverage=leverage,
                order_type=OrderType.MARKET, price=quote.ask if is_long else quote.bid, slippage_pct=Decimal(1))))
        finally:
            node.call("anvil_stopImpersonatingAccount", [who])
        devnet.keeper_poke()
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            (count,) = node.view("trading_storage", "openTradesCount", who, pair)
            if int(count):
                return True
            time.sleep(0.05)
        return False
    except (NodeError, RpcError):
        return False
    finally:
        node.close()
