"""What the fake venue supports: deliberately not what Hyperliquid supports (no modify, no
triggers or brackets, cross margin only, diff-based book feed, no transfers or agents)."""

from __future__ import annotations

from perpcli.venues.capabilities import Capabilities


def fake_capabilities() -> Capabilities:
    return Capabilities(
        name="fakex",
        title="Fake exchange (tests)",
        kind="orderbook",
        settlement="immediate",
        networks=("testnet",),
        default_network="testnet",
        collateral="USDT",
        order_types=("limit", "market"),
        time_in_force=("gtc", "ioc", "alo", "fok"),
        reduce_only=True,
        post_only=True,
        modify=False,
        cancel_by_cloid=True,
        batch_orders=True,
        client_order_ids=True,
        margin_modes=("cross",),
        leverage_update=True,
        book_stream="diff",
        account_stream=True,
        signing="secp256k1 over sha256 of the canonical request JSON",
    )
