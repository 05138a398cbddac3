"""Ostium's Capabilities record, apart from the adapter so the registry can list it cheaply.

No order book and no REST trading: a trader's transaction is filled by an oracle keeper in a
second transaction, so settlement is "keeper" and there is no book stream. Every trade is its
own isolated position; TP and SL ride on the trade itself (bracket orders), not as separate
trigger orders, and there are no client order ids (a trade is addressed by pair and index).
"""

from __future__ import annotations

from perpcli.venues.capabilities import Capabilities


def ostium_capabilities(name: str, title: str, default_network: str) -> Capabilities:
    return Capabilities(
        name=name,
        title=title,
        kind="oracle",
        settlement="keeper",
        order_form="collateral",
        networks=("mainnet", "testnet"),
        default_network=default_network,
        collateral="USDC",
        order_types=("market", "limit", "stop"),
        time_in_force=(),
        trigger_orders=False,
        bracket_orders=True,
        reduce_only=False,
        post_only=False,
        modify=True,  # updateOpenLimitOrder, updateTp, updateSl
        cancel_by_cloid=False,
        batch_orders=False,
        client_order_ids=False,
        margin_modes=("isolated",),
        leverage_update=False,  # leverage is chosen per trade at open
        isolated_margin_transfer=True,  # topUpCollateral / removeCollateral
        transfers=(),
        agent_keys=True,  # setDelegate / delegatedAction
        dead_man_switch=False,
        twap=False,
        book_stream="none",
        account_stream=False,
        builder_markets=False,
        signing="EIP-1559 transactions to the Trading contract (Arbitrum)",
    )
