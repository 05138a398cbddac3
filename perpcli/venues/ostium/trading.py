"""The Ostium adapter's account side: what an address holds, read from the chain alone.

USDC in the wallet is the free collateral (Ostium has no cross margin: each trade carries its
own); open trades are positions (positions.py) and open limit/stop orders are orders. Reads
need only an address (`--address`), so nothing here asks for a key.

Orders go through the seam's CollateralTrading form: quoting.py checks and prices an open,
ordering.py builds, signs, sends and follows every call (approve, open, close, TP/SL, margin,
modify, cancel), recovery.py settles what an earlier command left. The OrderIntent form of
book venues, and what Ostium does not have, say so in one line.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpcli.domain.errors import NetworkError, UsageError
from perpcli.domain.events import AccountSnapshot, Balance
from perpcli.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from perpcli.venues.base import (
    Ack,
    AckStatus,
    ActionResult,
    CancelResult,
    CancelTarget,
    CollateralOrder,
    KeyRole,
    LeverageSetting,
    MarginAccount,
    OpenQuote,
    Positions,
    Prepared,
)
from perpcli.venues.ostium import instruments as pairs
from perpcli.venues.ostium import ordering, quoting, recovery
from perpcli.venues.ostium.calls import address
from perpcli.venues.ostium.positions import OpenTrade
from perpcli.venues.ostium.scaling import leverage_from_wire, price_from_wire, usdc_from_wire

if TYPE_CHECKING:
    from perpcli.venues.capabilities import Capabilities
    from perpcli.venues.ostium.adapter import OstiumMarketData
    from perpcli.venues.ostium.journal import TxJournal
    from perpcli.venues.ostium.nonces import EvmNonceAllocator


def _not_yet(what: str) -> Any:
    def refuse(self: OstiumTrading, *args: Any, **kwargs: Any) -> Any:
        raise UsageError(f"{self.venue}: {what} is not supported by this perpcli version")

    return refuse


_SIZE_ONLY = "size-only orders (a trade is collateral x leverage: `perp buy MARKET --collateral N --leverage L`)"

# Ostium's limit-order types (getOpenLimitOrder.orderType): LIMIT opens when the price comes to
# it, STOP when the price goes through it.
_LIMIT, _STOP = 1, 2


class OstiumTrading:
    def __init__(self, market: OstiumMarketData, who: Any) -> None:
        self.market = market
        self.venue = market.venue
        self._address = address(str(who.address), "account")
        self.signer = who  # signs only when it can (a reader built from --address refuses)
        self._nonces: EvmNonceAllocator | None = None
        self._journal: TxJournal | None = None

    @property
    def capabilities(self) -> Capabilities:
        return self.market.capabilities

    @property
    def account_address(self) -> str:
        return self._address

    @property
    def signer_address(self) -> str:
        return self._address

    def resolve_account(self) -> KeyRole:
        """An Ostium account is any address: the key's own (delegates act with delegatedAction)."""
        return KeyRole(signer=self._address, role="user", account=self._address)

    def require_registered(self) -> KeyRole:
        return self.resolve_account()

    # ----- reads -------------------------------------------------------------------------

    def _listed(self) -> list[pairs.PairSpec]:
        count = self.market.reads.pairs_count()
        return [s for s in pairs.catalogue() if s.pair_index < count]

    def open_trades(self) -> list[OpenTrade]:
        self.market.chain.check_chain_id()
        return self.market.reads.open_trades(self._address, [s.pair_index for s in self._listed()])

    def positions(self) -> Positions:
        trades = self.open_trades()
        marks = self._marks({pairs.spec_for_index(t.trade.pair_index).symbol for t in trades})  # type: ignore[union-attr]
        snaps = []
        for t in trades:
            symbol = pairs.spec_for_index(t.trade.pair_index).symbol  # type: ignore[union-attr]
            snaps.append(t.to_snapshot(symbol, marks.get(symbol)))
        return Positions(snaps, marks)

    def _marks(self, symbols: set[str]) -> dict[str, Decimal]:
        """Oracle mids for these pairs, or none when no price feed answers (positions still show)."""
        if not symbols:
            return {}
        try:
            quotes = self.market.quotes()
        except (UsageError, NetworkError):
            return {}
        return {s: quotes[s].mid for s in symbols if s in quotes}

    def open_orders(self) -> list[Order]:
        """Resting limit and stop orders, then market orders the keeper has not settled (pending)
        and transactions not yet mined (unknown)."""
        return self._orders_and_collateral()[0]

    def _orders_and_collateral(self) -> tuple[list[Order], Decimal]:
        """The orders, and the USDC they hold: the contract pulls a limit or market open's
        collateral from the wallet when it takes the order, long before any trade exists."""
        self.market.chain.check_chain_id()
        reads = self.market.reads
        storage = self.market.ostium_network.trading_storage
        chain = self.market.chain
        out: list[Order] = []
        held = Decimal(0)
        for spec in self._listed():
            (count,) = chain.call_function("trading_storage", "openLimitOrdersCount", storage, self._address,
                                           spec.pair_index)
            found = 0
            for index in range(reads.max_trades_per_pair):
                if found >= int(count):
                    break
                (has,) = chain.call_function("trading_storage", "hasOpenLimitOrder", storage, self._address,
                                             spec.pair_index, index)
                if not has:
                    continue
                found += 1
                (raw,) = chain.call_function("trading_storage", "getOpenLimitOrder", storage, self._address,
                                             spec.pair_index, index)
                out.append(self._order(spec.symbol, raw))
                held += usdc_from_wire(int(raw[0]))
        pending, in_flight = recovery.pending_orders(self)
        return out + pending, held + in_flight

    def _order(self, symbol: str, raw: tuple) -> Order:
        collateral, target, _tp, _sl, _trader, leverage, created_at, _updated, pair, order_type, index, buy, _day = raw
        price = price_from_wire(int(target))
        notional = usdc_from_wire(int(collateral)) * leverage_from_wire(int(leverage))
        size = notional / price if price else Decimal(0)
        stop = int(order_type) == _STOP
        return Order(venue=self.venue, symbol=symbol, side=Side.BUY if buy else Side.SELL, price=price, size=size,
                     orig_size=size, status=OrderStatus.OPEN, oid=f"{int(pair)}:{int(index)}",
                     order_type=OrderType.STOP_MARKET if stop else OrderType.LIMIT, tif=TimeInForce.GTC,
                     trigger_price=price if stop else None, time_ms=int(created_at) * 1000)

    def margin_accounts(self) -> list[MarginAccount]:
        return [MarginAccount("", self.account())]  # per-trade isolated: one wallet holds them all

    def account(self, market: str | None = None) -> AccountSnapshot:
        """Free USDC is the wallet; margin used is every trade's collateral plus what resting and
        pending orders hold; equity adds the trades' PnL net of accrued fees (None unpriced)."""
        wallet = self.market.reads.usdc_balance(self._address)
        held = self.positions()
        orders, in_orders = self._orders_and_collateral()
        used = sum((p.isolated_margin or Decimal(0) for p in held.positions), Decimal(0)) + in_orders
        priced = all(p.unrealized_pnl is not None for p in held.positions)
        equity = None
        if priced:
            equity = wallet + in_orders + sum(
                (p.isolated_margin + p.unrealized_pnl - (p.funding_since_open or 0)  # type: ignore[operator]
                 for p in held.positions), Decimal(0))
        return AccountSnapshot(venue=self.venue, account=self._address, time_ms=time.time_ns() // 1_000_000,
                               balances=(Balance("USDC", wallet),), positions=tuple(held.positions),
                               open_orders=tuple(orders), account_value=equity, withdrawable=wallet, margin_used=used)

    def leverage_setting(self, market: str) -> LeverageSetting:
        """Ostium has no account-level leverage: each trade picks its own."""
        return LeverageSetting(leverage=None, cross=False)

    # ----- orders: the CollateralTrading form (ordering.py) -------------------------------

    def nonces(self) -> EvmNonceAllocator:
        if self._nonces is None:
            from perpcli.venues.ostium.nonces import EvmNonceAllocator

            self._nonces = EvmNonceAllocator(self.market.ostium_network.chain_id, self._address)
        return self._nonces

    def journal(self) -> TxJournal:
        if self._journal is None:
            from perpcli.venues.ostium.journal import TxJournal

            self._journal = TxJournal(self.market.ostium_network.chain_id, self._address)
        return self._journal

    def quote_open(self, order: CollateralOrder) -> OpenQuote:
        return quoting.quote_open(self, order)

    def prepare_open(self, quote: OpenQuote) -> list[Prepared]:
        return ordering.prepare_open(self, quote)

    def prepare_close_trade(self, market: str, *, percent: Decimal, slippage_pct: Decimal,
                            trade_id: str | None = None) -> Prepared:
        return ordering.prepare_close(self, market, percent=percent, slippage_pct=slippage_pct, trade_id=trade_id)

    def prepare_tpsl(self, market: str, *, tp: Decimal | None, sl: Decimal | None, clear_tp: bool = False,
                     clear_sl: bool = False, trade_id: str | None = None) -> list[Prepared]:
        return ordering.prepare_tpsl(self, market, tp=tp, sl=sl, clear_tp=clear_tp, clear_sl=clear_sl,
                                     trade_id=trade_id)

    def send_order(self, prepared: Any) -> Ack:
        return ordering.send_order(self, list(prepared))

    def await_settlement(self, ack: Ack, timeout_s: float | None = None) -> Ack:
        return ordering.await_settlement(self, ack, timeout_s)

    def settle_earlier(self) -> list[Ack]:
        return recovery.settle_earlier(self)

    def open_trade_ids(self) -> list[tuple[str, str]]:
        return [(pairs.spec_for_index(t.trade.pair_index).symbol, t.order_id)  # type: ignore[union-attr]
                for t in self.open_trades()]

    def prepare_margin(self, market: str, amount: Decimal) -> Prepared:
        return ordering.prepare_margin(self, market, amount)

    def prepare_modify(self, oid: str, intent: Any) -> Prepared:
        """A resting limit order's new price (`perp modify OID --price`); the size stays."""
        return ordering.prepare_modify(self, oid, intent.price, intent.size)

    def send_orders(self, prepared: Prepared) -> list[Ack]:
        """Only a modify arrives here (new orders go through `send_order`)."""
        if prepared.kind != "modify":
            raise UsageError(f"{self.venue}: {_SIZE_ONLY} is not supported by this perpcli version")
        ack = self.send_order([prepared])
        if ack.status is AckStatus.FILLED:  # mined: the order rests at its new price
            ack = Ack(AckStatus.RESTING, oid=str(prepared.body["oid"]), price=prepared.body["price"],  # type: ignore[arg-type]
                      detail=ack.detail)
        return [ack]

    def modify(self, oid: str, intent: Any) -> Ack:
        return self.send_orders(self.prepare_modify(oid, intent))[0]

    def prepare_cancel(self, targets: Any) -> Prepared:
        return ordering.prepare_cancel(self, [t.oid or "" for t in targets])

    def send_cancel(self, prepared: Prepared, targets: Any) -> list[CancelResult]:
        """Each cancel in its own transaction, in order; one that fails does not stop the others."""
        from perpcli.domain.errors import VenueRejected

        out = []
        for step, target in zip(prepared.extra["steps"], targets, strict=True):  # type: ignore[call-overload]
            if step.kind == "replace":
                try:
                    ordering.send_replacement(self, step)
                    res = ActionResult(True)
                except VenueRejected as e:
                    res = ActionResult(False, error=e.message, error_kind=e.error_kind)
            else:
                res = self.send(step)
            out.append(CancelResult(ok=res.ok, oid=target.oid, error=res.error, error_kind=res.error_kind))
        return out

    def cancel(self, target: CancelTarget) -> CancelResult:
        return self.send_cancel(self.prepare_cancel([target]), [target])[0]

    def send(self, prepared: Prepared) -> ActionResult:
        """One immediate action (TP/SL update, top-up, cancel, a remove-collateral request)."""
        from perpcli.domain.errors import OutcomeUnknown, VenueRejected

        try:
            settled = ordering.send_signed(self, prepared)
        except VenueRejected as e:
            return ActionResult(False, error=e.message, error_kind=e.error_kind)
        except OutcomeUnknown:
            raise
        ack = ordering.ack_of_receipt(self, prepared.kind, settled, {})
        detail = dict(ack.detail)
        if ack.status.value == "accepted":
            detail["note"] = "accepted: the keeper confirms it in its own transaction"
        return ActionResult(True, detail=detail)

    # ----- not in this version: one clear line each, nothing sent --------------------------

    fills = _not_yet("fills")
    funding_history = _not_yet("funding-history")
    order_status = _not_yet("order status")
    order_updates_since = _not_yet("order updates")
    fee_rates = _not_yet("fee rates")
    agents = _not_yet("agent keys (delegates)")
    stream_account = _not_yet("account stream")
    prepare_orders = _not_yet(_SIZE_ONLY)
    submit = _not_yet(_SIZE_ONLY)
    prepare_leverage = _not_yet("leverage (Ostium sets it per trade)")
    set_leverage = _not_yet("leverage (Ostium sets it per trade)")
    prepare_schedule_cancel = _not_yet("a dead man's switch")
    prepare_twap = _not_yet("TWAP")
    prepare_twap_cancel = _not_yet("TWAP")
    twaps = _not_yet("TWAP")
    prepare_transfer = _not_yet("transfers")
    transfer = _not_yet("transfers")
    prepare_approve_agent = _not_yet("agent keys (setDelegate)")
