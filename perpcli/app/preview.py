"""One pre-trade preview: `perp buy --preview`, the TUI's order ticket and risk-based sizing all
come through here, so what they show agrees to the cent for the same account, book and order.

The callers only gather inputs — the CLI over REST, the TUI from its live store — into a
`PreviewInputs`; every decision is made once, here:
- cash: the balance in the instrument's quote (collateral) asset, else account value − uPnL;
- the positions, each under its venue's margin rules (`MarketData.margin_rules`), marked at
  the freshest mark the caller has;
- leverage and margin mode: what the order sets (`--leverage`, `--isolated`), else the held
  position's, else the account's setting for the market, else the venue's default for a new
  position (`MarginRules.default_leverage/default_mode`; Hyperliquid: cross at min(20, max));
- fee: the account's own rates (`Trading.fee_rates`), or the public schedule marked as such;
  maker for an order that rests, taker for one that takes (ledger/fees.py decides which);
- the numbers themselves: ledger/margin.preview_order under the market's rules.

Pure: no I/O. Reading the inputs is the callers' job (`rest_inputs` for the CLI).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpcli.app import display as shown
from perpcli.domain.instrument import Instrument, MarginMode
from perpcli.domain.orders import OrderType, Side, TimeInForce
from perpcli.ledger import margin
from perpcli.ledger.fees import FeeRates, takes_liquidity

if TYPE_CHECKING:
    from perpcli.app.order_plan import MarketContext, OrderPlan
    from perpcli.domain.events import AccountSnapshot, PositionSnapshot
    from perpcli.ledger.book import OrderBook
    from perpcli.ledger.margin_rules import MarginRules
    from perpcli.venues.base import OpenQuote

ZERO = Decimal(0)


@dataclass(frozen=True)
class PreviewInputs:
    """Everything a preview reads, gathered by the caller (the CLI over REST, the TUI from its
    store). `leverage_setting` is the account's (leverage or None, is_cross) for the market."""

    instrument: Instrument
    mark: Decimal
    account: AccountSnapshot | None
    instrument_of: Callable[[str], Instrument | None]
    mark_of: Callable[[str], Decimal | None]
    rules_of: Callable[[Instrument], MarginRules]
    fees: FeeRates
    book: OrderBook | None = None
    leverage_setting: tuple[int | None, bool] = (None, True)

    @property
    def rules(self) -> MarginRules:
        return self.rules_of(self.instrument)

    def best_opposite(self, side: Side) -> Decimal | None:
        """The best price an order on `side` would take (None: no usable book)."""
        if self.book is None or not self.book.is_usable:
            return None
        best = self.book.best_ask() if side is Side.BUY else self.book.best_bid()
        return None if best is None else best[0]


# ----- the account under the venue's rules ---------------------------------------------------


def cash_of(snapshot: AccountSnapshot, quote: str) -> Decimal:
    """Collateral excluding unrealised PnL: the balance in the quote asset, else derived."""
    for b in snapshot.balances:
        if b.asset == quote:
            return b.total
    upnl = sum((p.unrealized_pnl or ZERO for p in snapshot.positions), ZERO)
    return (snapshot.account_value or ZERO) - upnl


def position_risks(
    snapshot: AccountSnapshot,
    instrument_of: Callable[[str], Instrument | None],
    mark_of: Callable[[str], Decimal | None],
    rules_of: Callable[[Instrument], MarginRules],
) -> list[margin.PositionRisk]:
    """Open positions as the margin model takes them, each under its market's rules; a
    position without a leverage is at the venue's default; one without a mark at its entry."""
    out = []
    for p in snapshot.positions:
        if not p.size:
            continue
        inst = instrument_of(p.symbol)
        if inst is None:
            continue
        rules = rules_of(inst)
        mark = mark_of(p.symbol) or p.entry_price
        isolated = isolated_allocation(p) if p.margin_mode is MarginMode.ISOLATED else ZERO
        out.append(margin.PositionRisk(
            p.symbol, p.size, p.entry_price, mark, p.leverage or rules.default_leverage(), inst.margin_tiers,
            p.margin_mode, isolated, rules,
        ))
    return out


def isolated_allocation(p: PositionSnapshot) -> Decimal:
    """The margin allocated to an isolated position, excluding its uPnL (what the model takes).

    Venues report the margin an isolated position uses, allocation + uPnL (Hyperliquid's
    marginUsed), beside its uPnL; the store's view (ledger Account) already holds the
    allocation and reports no uPnL. Taking the uPnL back out when it is given reads both right,
    as ledger.account's reconcile does.
    """
    return (p.isolated_margin or ZERO) - (p.unrealized_pnl or ZERO)


@dataclass(frozen=True)
class MarginState:
    cash: Decimal
    positions: list[margin.PositionRisk]
    summary: margin.MarginSummary


def margin_state(inputs: PreviewInputs) -> MarginState:
    if inputs.account is None:
        return MarginState(ZERO, [], margin.summarize(ZERO, []))
    cash = cash_of(inputs.account, inputs.instrument.quote)
    positions = position_risks(inputs.account, inputs.instrument_of, inputs.mark_of, inputs.rules_of)
    return MarginState(cash, positions, margin.summarize(cash, positions, inputs.account.reserved))


def order_leverage(
    inputs: PreviewInputs, positions: list[margin.PositionRisk], *, leverage: int | None = None,
    isolated: bool = False,
) -> tuple[int, MarginMode]:
    """(leverage, mode) an order on this market is margined at.

    An order that sets leverage (`--leverage`) sets the mode with it (`--isolated`, else cross).
    Otherwise: the held position's, else the account's setting, else the venue's default.
    """
    rules = inputs.rules
    if leverage is not None:
        return leverage, MarginMode.ISOLATED if (isolated or rules.only_isolated) else MarginMode.CROSS
    symbol = inputs.instrument.symbol
    held = next((p for p in positions if p.symbol == symbol), None)
    return standing_leverage(rules, (held.leverage, held.mode) if held is not None else None,
                             inputs.leverage_setting)


def standing_leverage(rules: MarginRules, held: tuple[int, MarginMode] | None,
                      setting: tuple[int | None, bool]) -> tuple[int, MarginMode]:
    """(leverage, mode) of an order that sets none: the held position's (on a venue that nets
    positions), else the account's setting for the market, else the venue's default."""
    if held is not None and rules.nets_positions:
        return held
    set_leverage, is_cross = setting
    if set_leverage is not None:
        mode = MarginMode.CROSS if is_cross and not rules.only_isolated else MarginMode.ISOLATED
        return set_leverage, mode
    return rules.default_leverage(), rules.default_mode()


def order_facts(market_data: Any, trading: Any, inst: Instrument) -> tuple[int, Decimal]:
    """What the guards need of the account for an order that does not size from it, in two
    reads (positions, the leverage setting): the leverage it would use if it sets none, and
    the signed size held on the market (a reduce-only order's sense)."""
    rules = market_data.margin_rules(inst)
    held = next((p for p in trading.positions().positions if p.symbol == inst.symbol and p.size), None)
    setting = trading.leverage_setting(inst.symbol)
    standing = None if held is None else (held.leverage or rules.default_leverage(), held.margin_mode)
    lev, _ = standing_leverage(rules, standing, (setting.leverage, setting.cross))
    return lev, held.size if held is not None else ZERO


# ----- sizing context (for `% of free collateral` and `--risk`) -------------------------------


def sizing_context(inputs: PreviewInputs, mid: Decimal) -> MarketContext:
    """What plan_order sizes and checks from: free collateral, equity and the leverage the
    order would use, from the same margin state the preview uses; the fees, the top of the
    book, and the position held on the market (the sense of a reduce-only order)."""
    from perpcli.app.order_plan import MarketContext

    state = margin_state(inputs)
    lev, _ = order_leverage(inputs, state.positions)
    held = None
    if inputs.account is not None:
        held = sum((p.size for p in inputs.account.positions if p.symbol == inputs.instrument.symbol), ZERO)
    return MarketContext(
        instrument=inputs.instrument, mid=mid, mark=inputs.mark, free_collateral=state.summary.withdrawable,
        equity=state.summary.account_value, current_leverage=lev, fees=inputs.fees,
        best_bid=inputs.best_opposite(Side.SELL), best_ask=inputs.best_opposite(Side.BUY), position_size=held,
    )


# ----- the preview -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """What an order would do, and the inputs that decided it (leverage, mode, fee source)."""

    venue: str
    market: str
    side: Side
    size: Decimal
    order_type: str  # the plan's label for the main order ("limit", "market", "stop_market"...)
    price: Decimal  # the limit price sent (the worst price of a market order)
    takes: bool  # takes liquidity now (taker fee) rather than resting (maker fee)
    fee_rate: Decimal
    fee_source: str  # "account" | "public schedule"
    leverage: int
    mode: MarginMode
    free_collateral: Decimal
    model: margin.OrderPreview

    # ----- the figures, named for the screens and tests
    @property
    def avg_price(self) -> Decimal:
        return self.model.average_price

    @property
    def slippage_pct(self) -> Decimal | None:
        s = self.model.slippage
        return None if s is None else (s * 100).quantize(Decimal("0.0001"))

    @property
    def fee(self) -> Decimal:
        return self.model.fee

    @property
    def margin(self) -> Decimal:
        return self.model.margin_required

    @property
    def leverage_after(self) -> Decimal:
        return self.model.account_leverage

    @property
    def liquidation_price(self) -> Decimal | None:
        return self.model.liquidation_price

    @property
    def free_collateral_after(self) -> Decimal:
        return shown.usd(self.free_collateral - max(self.model.margin_change, ZERO) - self.model.fee) or ZERO

    def to_json(self, limit_price: Decimal | None = None) -> dict[str, Any]:
        """The documented `perp buy --preview --json` shape (docs/json.md)."""
        m = self.model
        return {
            "venue": self.venue, "market": self.market, "side": self.side.value, "size": self.size,
            "type": self.order_type, "limit_price": limit_price, "expected_price": m.average_price,
            "worst_price": m.worst_price, "slippage": m.slippage, "fillable": m.fillable,
            "notional": m.notional, "liquidity": "taker" if self.takes else "maker",
            "fee_rate": self.fee_rate, "fee_source": self.fee_source, "est_fee": m.fee,
            "leverage": self.leverage, "margin_mode": self.mode.value,
            "margin_required": m.margin_required, "margin_change": m.margin_change,
            "free_collateral": self.free_collateral, "free_collateral_after": self.free_collateral_after,
            "position_after": m.resulting_size, "entry_after": m.resulting_entry,
            "account_leverage_after": m.account_leverage, "liquidation_price": m.liquidation_price,
            "max_leverage_at_size": m.max_leverage, "sufficient_margin": m.sufficient_margin,
        }


def preview(plan: OrderPlan, inputs: PreviewInputs) -> Preview:
    """The one preview. Raises PerpError (RiskRefused, ValidationError) when the order cannot
    be priced (a market order on a stale or empty book)."""
    main = plan.main
    state = margin_state(inputs)
    leverage, mode = order_leverage(inputs, state.positions, leverage=plan.leverage, isolated=plan.isolated)
    is_market = main.order_type is OrderType.MARKET
    price = main.price if main.price is not None else plan.reference_price
    takes = takes_liquidity(side=main.side, order_type=main.order_type, tif=main.tif, price=main.price,
                            best_opposite=inputs.best_opposite(main.side))
    fee_rate = inputs.fees.rate(takes)
    # An IOC limit fills what the book holds up to its price, now, and nothing else.
    ioc = main.tif is TimeInForce.IOC and not is_market and not main.order_type.is_trigger
    model = margin.preview_order(
        instrument=inputs.instrument, side=main.side, size=main.size, mark_price=inputs.mark, cash=state.cash,
        positions=state.positions, leverage=leverage, mode=mode, fee_rate=fee_rate,
        book=inputs.book if (is_market or ioc or (takes and not main.order_type.is_trigger)) else None,
        limit_price=None if is_market else (main.trigger_price if main.order_type.is_trigger else main.price),
        rules=inputs.rules, immediate_only=ioc,
    )
    return Preview(
        venue=plan.venue, market=plan.market, side=main.side, size=main.size,
        order_type=plan.labels[0] if plan.labels else main.order_type.value, price=price, takes=takes,
        fee_rate=fee_rate, fee_source=inputs.fees.source, leverage=leverage, mode=mode,
        free_collateral=shown.usd(state.summary.withdrawable) or ZERO, model=shown_figures(inputs.instrument, model),
    )


def shown_figures(inst: Instrument, m: margin.OrderPreview) -> margin.OrderPreview:
    """The model's figures at the precision a trader reads them (app/display.py): the one
    copy the CLI's --preview and the TUI's ticket both show."""
    return replace(
        m, average_price=shown.price(inst, m.average_price) or m.average_price,
        worst_price=shown.price(inst, m.worst_price), slippage=shown.rate(m.slippage),
        notional=shown.usd(m.notional) or ZERO, fee=shown.amount(m.fee) or ZERO,
        margin_required=shown.usd(m.margin_required) or ZERO, margin_change=shown.usd(m.margin_change) or ZERO,
        resulting_size=shown.size(inst, m.resulting_size) or ZERO, resulting_entry=shown.price(inst, m.resulting_entry),
        account_leverage=shown.ratio(m.account_leverage) or ZERO,
        liquidation_price=shown.price(inst, m.liquidation_price),
    )


# ----- the CLI's inputs, read over REST ----------------------------------------------------------


def rest_inputs(market_data: Any, trading: Any, market: str, *, mark: Decimal | None = None,
                with_book: bool = True) -> PreviewInputs:
    """A preview's inputs read from the venue: the market's margin account, marks, the
    account's leverage setting and fee rates, and (for fills and maker/taker) the book."""
    from perpcli.ledger.book import OrderBook

    inst = market_data.instrument(market)
    snap = trading.account(inst.symbol)  # the margin account this market trades in
    held = [p.symbol for p in snap.positions if p.size]
    marks = {mp.symbol: mp.mark_price for mp in market_data.mark_prices([*held, inst.symbol])}
    if mark is None:
        mark = marks.get(inst.symbol)
        if mark is None:
            mark = market_data.reference_prices(inst.symbol)[1]
    book = None
    if with_book:
        book = OrderBook(market_data.venue, inst.symbol)
        book.apply_snapshot(market_data.book(inst.symbol, 20))
    setting = trading.leverage_setting(inst.symbol)
    cache: dict[str, MarginRules] = {}

    def rules_of(i: Instrument) -> MarginRules:
        if i.symbol not in cache:
            cache[i.symbol] = market_data.margin_rules(i)
        return cache[i.symbol]

    def instrument_of(symbol: str) -> Instrument | None:
        return market_data.instrument(symbol)

    return PreviewInputs(
        instrument=inst, mark=mark, account=snap, instrument_of=instrument_of, mark_of=marks.get,
        rules_of=rules_of, fees=trading.fee_rates(), book=book,
        leverage_setting=(setting.leverage, setting.cross),
    )


# ----- venues without a book that margin each trade on its own (Ostium) -------------------------


def collateral_preview(q: OpenQuote) -> dict[str, Any]:
    """The preview of a collateral x leverage open (`--preview`, and what is confirmed before
    sending): the oracle price, the trade's own isolated liquidation price under its margin
    rules (the pair's threshold at this leverage), the fees, and the wallet after.

    The opening fee comes out of the collateral, so the liquidation price is computed on what
    the trade keeps; an unknown fee (the venue did not say) leaves the collateral whole.
    """
    from perpcli.domain.instrument import MarginTable

    inst, order = q.instrument, q.order
    sign = Decimal(1) if order.side is Side.BUY else Decimal(-1)
    kept = q.collateral - (q.opening_fee or ZERO)
    risk = margin.PositionRisk(
        inst.symbol, sign * q.size, q.reference_price, q.reference_price, max(1, int(q.leverage)),
        MarginTable.single(inst.max_leverage), MarginMode.ISOLATED, kept, q.rules,
    )
    liq = q.rules.liquidation_price(risk, kept)
    worst = None
    if order.kind == "market":
        factor = (100 + order.slippage_pct) / 100 if order.side is Side.BUY else (100 - order.slippage_pct) / 100
        worst = q.reference_price * factor
    return {
        "venue": inst.venue, "market": inst.symbol, "side": order.side.value, "type": order.kind,
        "oracle_price": q.oracle_price, "expected_price": q.reference_price,
        "worst_price": shown.price(inst, worst), "slippage_pct": order.slippage_pct if order.kind == "market" else None,
        "collateral": q.collateral, "leverage": q.leverage, "notional": shown.usd(q.notional),
        "size": shown.size(inst, q.size), "margin_mode": MarginMode.ISOLATED.value,
        "opening_fee": q.opening_fee, "oracle_fee": q.oracle_fee,
        "liquidation_price": shown.price(inst, liq),
        "loss_threshold": getattr(q.rules, "liquidation_threshold", None),  # of the collateral, at liquidation
        "tp": order.tp, "sl": order.sl, "wallet": q.wallet,
        "wallet_after": q.wallet - q.collateral - (q.oracle_fee or ZERO), "approval_needed": q.approval_needed,
    }
