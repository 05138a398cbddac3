"""The devnet's keeper: what Ostium's oracle and trigger keepers do on the real chain, from the
devnet's synthetic prices.

Each tick it reads three devnet views on TradingStorage (orders awaiting a price, open trades
with their liquidation price, resting limit/stop orders) and answers:
- a market open/close, a removeCollateral: the Callbacks entry point with the pair's price (0
  when the market is closed, which cancels the order with reason MARKET_CLOSED);
- a limit/stop order whose price came, a TP or SL hit, a trade past its liquidation price:
  Trading.executeAutomationOrder, then the Callbacks answer for the orderId it created.
A market that is closed triggers nothing. Every answer is a transaction the keeper sends as
an account the devnet impersonates; a refusal is logged and retried on a later tick.
"""

from __future__ import annotations

import logging
import threading
from decimal import Decimal

from perpcli.devnet.ostium import artifacts
from perpcli.devnet.ostium.chain import NodeClient, NodeError
from perpcli.devnet.ostium.prices import Quote, SyntheticPrices
from perpcli.venues.ostium.rpc import RpcError

log = logging.getLogger("perpcli.devnet.ostium")

PRICE_UNIT = Decimal(10**18)
TP, SL, LIQ, OPEN = 0, 1, 2, 3
LIMIT = 1
KIND_OPEN, KIND_CLOSE, KIND_AUTOMATION, KIND_REMOVE = 1, 2, 3, 4
_ANSWER = {KIND_OPEN: "openTradeMarketCallback", KIND_CLOSE: "closeTradeMarketCallback",
           KIND_REMOVE: "handleRemoveCollateral"}


def wire(price: Decimal) -> int:
    return int(price * PRICE_UNIT)


def answer_for(order_id: int, quote: Quote) -> tuple:
    """PriceUpKeepAnswer(orderId, price, bid, ask, isDayTradingClosed); price 0 = market closed."""
    if not quote.market_open:
        return (order_id, 0, 0, 0, False)
    return (order_id, wire(quote.mid), wire(quote.bid), wire(quote.ask), False)


class Keeper:
    def __init__(self, node_url: str, prices: SyntheticPrices, *, interval_s: float = 0.25) -> None:
        self.node = NodeClient(node_url)
        self.prices = prices
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self.paused = False  # a stuck keeper, on request: orders stay accepted (timeouts become callable)
        self.settled = 0

    # ----- the loop --------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ostium-keeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        self.node.close()

    def poke(self) -> None:
        """Run the next tick now (a trader's transaction just arrived)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.paused:
                    self.tick()
            except (NodeError, RpcError, OSError) as e:
                log.warning("ostium keeper: %s", e)
            except Exception as e:  # noqa: BLE001 - the keeper must outlive one bad answer
                log.exception("ostium keeper tick failed: %s", e)
            self._wake.wait(self.interval_s)
            self._wake.clear()

    def tick(self) -> int:
        """One pass; the number of transactions sent."""
        sent = self._settle_pending()
        sent += self._trigger_trades()
        sent += self._trigger_limits()
        return sent

    # ----- what needs a price ------------------------------------------------------------------

    def _settle_pending(self) -> int:
        ids, kinds, pairs = self.node.view("trading_storage", "devnetPendingOrders")
        sent = 0
        for order_id, kind, pair in zip(ids, kinds, pairs, strict=True):
            if kind == KIND_AUTOMATION:  # normally answered right after its trigger; a leftover here
                (automation,) = self.node.view("trading_storage", "automationKind", order_id)
                entry = "executeAutomationOpenOrderCallback" if automation == OPEN else \
                    "executeAutomationCloseOrderCallback"
            else:
                entry = _ANSWER[kind]
            self._answer(entry, order_id, pair)
            sent += 1
        return sent

    def _answer(self, entry: str, order_id: int, pair: int) -> None:
        try:
            self.node.send_fn(artifacts.KEEPER, "callbacks", entry, answer_for(order_id, self.prices.quote(pair)))
            self.settled += 1
        except (NodeError, RpcError) as e:
            log.warning("ostium keeper: %s for order %s failed: %s", entry, order_id, e)

    def _trigger_trades(self) -> int:
        trades, liquidation_prices = self.node.view("trading_storage", "devnetOpenTrades")
        sent = 0
        for t, liq in zip(trades, liquidation_prices, strict=True):
            _collateral, _open, tp, sl, trader, _lev, pair, index, buy, _day = t
            quote = self.prices.quote(pair)
            if not quote.market_open:
                continue
            price = wire(quote.bid if buy else quote.ask)  # what closing would get
            kind = None
            if liq and (price <= liq if buy else price >= liq):
                kind = LIQ
            elif tp and (price >= tp if buy else price <= tp):
                kind = TP
            elif sl and (price <= sl if buy else price >= sl):
                kind = SL
            if kind is not None:
                sent += self._automate(kind, trader, pair, index, quote)
        return sent

    def _trigger_limits(self) -> int:
        (orders,) = self.node.view("trading_storage", "devnetOpenLimitOrders")
        sent = 0
        for o in orders:
            _coll, target, _tp, _sl, trader, _lev, _c, _u, pair, order_type, index, buy, _day = o
            quote = self.prices.quote(pair)
            if not quote.market_open:
                continue
            price = wire(quote.ask if buy else quote.bid)
            if order_type == LIMIT:
                hit = price <= target if buy else price >= target
            else:
                hit = price >= target if buy else price <= target
            if hit:
                sent += self._automate(OPEN, trader, pair, index, quote)
        return sent

    def _automate(self, kind: int, trader: str, pair: int, index: int, quote: Quote) -> int:
        try:
            receipt = self.node.send_fn(artifacts.KEEPER, "trading", "executeAutomationOrder", kind, trader, pair,
                                        index, quote.time_s)
        except (NodeError, RpcError) as e:
            log.warning("ostium keeper: trigger %s for %s %s/%s failed: %s", kind, trader, pair, index, e)
            return 0
        order_id = _initiated_order(receipt)
        if order_id is None:
            return 1
        entry = "executeAutomationOpenOrderCallback" if kind == OPEN else "executeAutomationCloseOrderCallback"
        self._answer(entry, order_id, pair)
        return 2


def _initiated_order(receipt: dict) -> int | None:
    for entry in receipt.get("logs") or []:
        topics = entry.get("topics") or []
        if str(entry.get("address", "")).lower() == artifacts.TRADING and len(topics) >= 2:
            return int(topics[1], 16)
    return None
