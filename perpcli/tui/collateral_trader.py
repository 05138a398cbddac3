"""The TUI's Trader for a venue whose trades each carry their own collateral and settle through
a keeper (Capabilities.order_form == "collateral"; Ostium).

Opening, closing, flattening and cancelling go through the same use cases as `perp --venue
ostium buy/close/flatten/cancel` (app/collateral.py): an open quoted, held to the same risk
guards and awaited until the keeper settles it; each trade closed at market and awaited, each
resting order cancelled by its own transaction. The ticket's form becomes a CollateralOrder
(tui/collateral_ticket.py); an order-book plan (a quick buy at the touch) has no meaning here
and is refused with one plain sentence. With a `perp session` holding the key, each open,
close, flatten or cancel-all runs whole in the agent (tui/session_trading.py
SessionCollateral): no passphrase in the watch.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from perpcli.domain.errors import UsageError
from perpcli.domain.orders import Order
from perpcli.tui.live import LiveTrader
from perpcli.venues.base import CancelTarget, CollateralOrder, OpenQuote

CLOSE_SLIPPAGE_PCT = Decimal(1)


def touch_refusal(venue: str) -> str:
    return (f"{venue} has no order book to buy or sell at the touch: it trades by collateral x leverage at the "
            "oracle's price; open a trade from the ticket (collateral, leverage, Place)")


class CollateralTrader(LiveTrader):
    """LiveTrader whose close/flatten/cancel-all are the collateral venue's own."""

    def _side(self) -> Any:
        from perpcli.app import collateral

        return collateral.collateral_side(self.trading)

    def place(self, plan: Any) -> list[Any]:
        raise UsageError(touch_refusal(self.source.venue))

    def check_quote(self, quote: OpenQuote) -> None:
        """The guards `perp buy` applies to the same quote (RiskRefused)."""
        from perpcli.app import collateral

        collateral.check_risk(self.limits, quote)

    def open(self, order: CollateralOrder) -> list[Any]:
        """Open the ticket's trade: quoted again now (the price a market order is bounded by is
        the oracle's as it is sent), held to the guards, sent (a USDC approval first when the
        allowance is short) and awaited until the keeper settles it. In the session agent, whole,
        when it holds the key."""
        from perpcli.app import collateral

        try:
            with self.source.action_lock:
                open_there = getattr(self.trading, "collateral_open", None)
                if open_there is not None:
                    return open_there(order, self.limits)
                side = self._side()
                q = collateral.quote(side, order)
                collateral.check_risk(self.limits, q)
                return collateral.open_trade(side, q, venue=self.source.venue, dry_run=False, wait=True).results
        finally:
            self.source.request_account_refresh()

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
