"""Aster's Capabilities record, apart from the adapter so the registry can list it cheaply.

What the venue offers (Pro API v3), as data: Binance-style order types and time-in-force
(GTX is post-only), reduce-only and closePosition triggers, modify of LIMIT orders, cancel by
client id, batches of up to 5, per-symbol leverage and cross/isolated margin with isolated
margin transfers, countdownCancelAll as the dead-man switch, agent (API wallet) approval, a
diff book stream (U/u/pu) and a listenKey user stream. TP/SL are separate conditional orders:
no native grouping of a bracket with its entry.
"""

from __future__ import annotations

from perpcli.venues.capabilities import Capabilities


def aster_capabilities(name: str, title: str, default_network: str) -> Capabilities:
    return Capabilities(
        name=name,
        title=title,
        kind="orderbook",
        settlement="immediate",
        networks=("mainnet", "testnet"),
        default_network=default_network,
        collateral="USDT",
        order_types=("limit", "market", "stop", "stop_market", "take_profit", "take_profit_market",
                     "trailing_stop_market"),
        time_in_force=("gtc", "ioc", "fok", "gtx"),
        trigger_orders=True,
        bracket_orders=False,
        reduce_only=True,
        post_only=True,
        modify=True,
        cancel_by_cloid=True,
        batch_orders=True,
        client_order_ids=True,
        margin_modes=("cross", "isolated"),
        leverage_update=True,
        isolated_margin_transfer=True,
        transfers=(),
        agent_keys=True,
        dead_man_switch=True,
        twap=False,
        book_stream="diff",
        account_stream=True,
        signed_reads=True,  # v3 signs balance, positions, orders... (and the listenKey) with the key
        builder_markets=False,
        signing="EIP-712 Message{msg} over the exact url-encoded request (µs nonce, user, signer)",
    )
