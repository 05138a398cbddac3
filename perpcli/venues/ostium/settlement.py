"""Waiting for the keeper: an accepted order's orderId until its one settlement event.

The Callbacks contract emits the settlement with the orderId as its first indexed topic, so
one eth_getLogs filter (address = Callbacks, topics = [any, orderId]) from the block that
accepted the order finds it, as Ostium's own SDK does. Not finding it by the deadline is not a
failure: the order is still `accepted`, and after the contract's marketOrdersTimeout the
trader may reclaim it (openTradeMarketTimeout / closeTradeMarketTimeout).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from perpcli.domain.errors import NetworkError
from perpcli.venues.ostium.events import OrderOutcome, decode_logs, outcome_of

if TYPE_CHECKING:
    from perpcli.venues.ostium.chain import Chain


def order_topic(order_id: int) -> str:
    return "0x" + order_id.to_bytes(32, "big").hex()


def find_outcome(chain: Chain, callbacks: str, order_id: int, from_block: int) -> OrderOutcome | None:
    logs = chain.logs(callbacks, [None, order_topic(order_id)], from_block)
    return outcome_of(order_id, decode_logs(logs))


def await_outcome(chain: Chain, callbacks: str, order_id: int, from_block: int, timeout_s: float, *,
                  poll_s: float = 0.5, clock: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep) -> OrderOutcome | None:
    """The settlement, or None if the keeper has not settled it by `timeout_s` (still accepted)."""
    deadline = clock() + timeout_s
    while True:
        try:
            found = find_outcome(chain, callbacks, order_id, from_block)
        except NetworkError:
            found = None  # a failed poll says nothing about the order
        if found is not None or clock() >= deadline:
            return found
        sleep(poll_s)
