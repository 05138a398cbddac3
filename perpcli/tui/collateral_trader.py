"""The TUI's Trader for a venue whose trades each carry their own collateral and settle through
a keeper (Capabilities.order_form == "collateral"; Ostium).

Closing, flattening and cancelling go through the same use cases as `perp --venue ostium
close/flatten/cancel` (app/collateral.py): each trade closed at market and awaited, each
resting order cancelled by its own transaction. The ticket cannot express an order as
collateral x leverage yet, so a new order is refused with one plain sentence naming the
command that places it (the tab says so before Enter: see `TICKET_REFUSAL`). With a `perp
session` holding the key, each close, flatten or cancel-all runs in the agent
(tui/session_trading.py SessionCollateral): no passphrase in the watch.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from perpcli.domain.errors import UsageError
from perpcli.domain.orders import Order
from perpcli.tui.live import LiveTrader
from perpcli.venues.base import CancelTarget

CLOSE_SLIPPAGE_PCT = Decimal(1)


def ticket_refusal(venue: str, symbol: str) -> str:
    underlying = symbol.split("-")[0]
    return (f"{venue} trades by collateral x leverage, which this ticket cannot express yet: orders here are "
            f"read-only. Place one with `perp --venue {venue} buy {underlying} --collateral 500 --leverage 10 "
            "--market`; close (x), flatten (F) and cancel (c, C) work here.")


class CollateralTrader(LiveTrader):
    """LiveTrader whose close/flatten/cancel-all are the collateral venue's own."""

    def _side(self) -> Any:
        from perpcli.app import collateral

        return collateral.collateral_side(self.trading)

    def place(self, plan: Any) -> list[Any]:
        raise UsageError(ticket_refusal(self.source.venue, getattr(plan, "market", "")))

    def _flatten(self, *, underlying: str | None, cancel_orders: bool, close_trades: bool) -> list[Any]:
        from perpcli.app import collateral

        try:
            with self.source.action_lock:
                flatten_there = getattr(self.trading, "collateral_flatten", None)
                if flatten_there is not None:  # the session agent holds the key: the whole use case runs there
                    return flatten_there(underlying=underlying, cancel_orders=cancel_orders,
                                         close_trades=close_trades, slippage_pct=CLOSE_SLIPPAGE_PCT)
                side = self._side()
                plan = collateral.flatten_plan(side, underlying=underlying)
                done = collateral.flatten(side, plan, venue=self.source.venue, slippage_pct=CLOSE_SLIPPAGE_PCT,
                                          dry_run=False, cancel_orders=cancel_orders, close_trades=close_trades)
                return [*done.cancels, *done.closes]
        finally:
            self.source.request_account_refresh()

    def cancel(self, orders: Sequence[Order]) -> list[Any]:
        """The chosen orders, each by its own transaction; in the session agent when it holds the key."""
        cancel_there = getattr(self.trading, "collateral_cancel", None)
        if cancel_there is None:
            return super().cancel(orders)
        try:
            with self.source.action_lock:
                return cancel_there([CancelTarget(o.symbol, oid=o.oid, cloid=o.cloid) for o in orders])
        finally:
            self.source.request_account_refresh()

    def cancel_all(self) -> list[Any]:
        """Every resting order (a market order with the keeper settles on its own)."""
        return self._flatten(underlying=None, cancel_orders=True, close_trades=False)

    def close(self, symbol: str) -> list[Any]:
        """Every trade on this market, whole, at market."""
        return self._flatten(underlying=symbol, cancel_orders=False, close_trades=True)

    def flatten(self) -> list[Any]:
        return self._flatten(underlying=None, cancel_orders=True, close_trades=True)
