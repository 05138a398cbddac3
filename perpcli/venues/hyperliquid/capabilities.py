"""Hyperliquid's Capabilities record, apart from the adapter so the registry can list it cheaply."""

from __future__ import annotations

from perpcli.venues.capabilities import Capabilities


def hyperliquid_capabilities(name: str, title: str, default_network: str) -> Capabilities:
    return Capabilities(
        name=name,
        title=title,
        kind="orderbook",
        settlement="immediate",
        networks=("mainnet", "testnet"),
        default_network=default_network,
        collateral="USDC",
        order_types=("limit", "market", "stop", "take_profit"),
        time_in_force=("gtc", "ioc", "alo"),
        trigger_orders=True,
        bracket_orders=True,
        reduce_only=True,
        post_only=True,
        modify=True,
        cancel_by_cloid=True,
        batch_orders=True,
        client_order_ids=True,
        margin_modes=("cross", "isolated"),
        leverage_update=True,
        isolated_margin_transfer=True,
        transfers=("usd_class", "usd_send", "withdraw"),
        withdraw_fee="1",  # the bridge's flat fee, taken from the amount
        agent_keys=True,
        dead_man_switch=True,
        twap=True,
        book_stream="snapshot",
        account_stream=True,
        builder_markets=True,
        signing="EIP-712: phantom agent over msgpack (L1), typed data (user-signed)",
    )
