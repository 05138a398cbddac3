"""Use cases for venues that margin every trade on its own collateral and settle through a
keeper (Capabilities.order_form == "collateral"; Ostium): open, close a share, TP/SL, and what
an earlier command left unsettled. Each returns typed results; none prints.

The honest-state rule shapes every result: a market order is `accepted` (with the venue's order
id) once its transaction is mined, and only the keeper's event makes it `filled` (a position,
`trade_id`) or `canceled` (refunded, with the reason). By default the caller waits for that
event up to a timeout; without waiting the answer is `accepted`, which is the truth then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpcli.app import display as shown
from perpcli.domain.errors import ErrorKind, ExitCode, UsageError
from perpcli.domain.orders import Side
from perpcli.venues.base import Ack, AckStatus, CollateralOrder, CollateralTrading, OpenQuote

if TYPE_CHECKING:
    from perpcli.domain.events import AccountSnapshot
    from perpcli.domain.instrument import Instrument

ZERO = Decimal(0)


def uses_collateral_orders(capabilities: Any) -> bool:
    return getattr(capabilities, "order_form", "size") == "collateral"


def collateral_side(trading: Any) -> CollateralTrading:
    if not isinstance(trading, CollateralTrading):
        raise UsageError(f"{trading.venue} does not take collateral x leverage orders")
    return trading


@dataclass
class TradeResult:
    """One collateral-venue order or action outcome, in the documented JSON shape (docs/json.md)."""

    venue: str
    market: str
    side: str | None
    type: str  # market | limit | stop | close | tp | sl | ...
    status: str  # accepted | filled | resting | canceled | rejected | unknown | ok | dry_run
    collateral: Decimal | None = None
    leverage: Decimal | None = None
    size: Decimal | None = None
    price: Decimal | None = None  # a limit/stop trigger; a market order's reference (oracle ask/bid)
    order_id: str | None = None  # the keeper's order id (market) or the resting order's pair:index
    trade_id: str | None = None  # the position the keeper opened (pair:index)
    avg_price: Decimal | None = None
    liquidation_price: Decimal | None = None
    tp: Decimal | None = None
    sl: Decimal | None = None
    tx_hash: str | None = None
    nonce: int | None = None
    approved: Decimal | None = None  # a USDC approval sent first, for this amount
    usdc_to_trader: Decimal | None = None  # a close's payout
    reason: str | None = None  # why the keeper cancelled it
    error: str | None = None
    error_kind: ErrorKind | None = None
    note: str | None = None
    label: str | None = None  # an earlier command's transaction: what it was

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def result_of(ack: Ack | None, *, venue: str, market: str, side: str | None, kind: str,
              quote: OpenQuote | None = None, instrument: Instrument | None = None) -> TradeResult:
    """The result in the trader's units: prices on the market's grid, sizes on its lot."""
    d = ack.detail if ack is not None else {}
    inst = quote.instrument if quote is not None else instrument
    res = TradeResult(
        venue=venue, market=market, side=side, type=kind, status=ack.status.value if ack is not None else "dry_run",
        collateral=_dec(d.get("collateral")) or (quote.collateral if quote else None),
        leverage=_dec(d.get("leverage")) or (quote.leverage if quote else None),
        size=shown.size(inst, ack.size if ack is not None and ack.size is not None else
                        quote.size if quote is not None else None),
        price=quote.order.price if quote is not None and quote.order.price is not None else
        (quote.reference_price if quote is not None else None),
        order_id=ack.oid if ack is not None else None, trade_id=_str(d.get("trade_id")),
        avg_price=shown.price(inst, ack.avg_price) if ack is not None else None,
        liquidation_price=shown.price(inst, _dec(d.get("liquidation_price"))),
        tp=_dec(d.get("tp")) if "tp" in d else (quote.order.tp if quote else None),
        sl=_dec(d.get("sl")) if "sl" in d else (quote.order.sl if quote else None),
        tx_hash=_str(d.get("tx_hash")), nonce=int(d["nonce"]) if isinstance(d.get("nonce"), int) else None,
        approved=_dec(d.get("approved")), usdc_to_trader=_dec(d.get("usdc_to_trader")),
        reason=_str(d.get("reason")), error=ack.error if ack else None, error_kind=ack.error_kind if ack else None,
        note=ack.note if ack else None, label=_str(d.get("label")),
    )
    return res


def _dec(v: object) -> Decimal | None:
    return v if isinstance(v, Decimal) else (Decimal(v) if isinstance(v, int) else None)


def _str(v: object) -> str | None:
    return v if isinstance(v, str) and v else None


def exit_code_for(results: list[TradeResult], *, waited: bool) -> ExitCode:
    """6: sent but the outcome is unknown (no receipt; or waited and the keeper never answered);
    3: refused, reverted or cancelled by the keeper; 0 otherwise."""
    if any(r.status == AckStatus.UNKNOWN.value or (waited and r.status == AckStatus.ACCEPTED.value)
           for r in results):
        return ExitCode.UNKNOWN_OUTCOME
    if any(r.status in (AckStatus.REJECTED.value, AckStatus.CANCELED.value) for r in results):
        return ExitCode.REJECTED
    return ExitCode.OK


# ----- the use cases ---------------------------------------------------------------------------


def earlier(trading: CollateralTrading, venue: str) -> list[TradeResult]:
    """What transactions of an earlier, interrupted command became (settled by hash and nonce)."""
    out = []
    for ack in trading.settle_earlier():
        d = ack.detail
        out.append(result_of(ack, venue=venue, market=_str(d.get("market")) or "", side=_str(d.get("side")),
                             kind=_str(d.get("type")) or "transaction"))
    return out


def quote(trading: CollateralTrading, order: CollateralOrder) -> OpenQuote:
    return trading.quote_open(order)


def check_risk(limits: Any, q: OpenQuote) -> None:
    """The pre-trade guards (app/risk.py) on a quoted open: its notional, its leverage (set by
    the order itself: every trade carries its own) and its price against the oracle's mid (a
    stop triggers at market, so only a market or limit price is banded). RiskRefused when one
    breaks; `perp buy` and the watch's ticket both call this, so they refuse the same orders."""
    from perpcli.app.risk import OrderCheck, check_order

    check_order(limits, OrderCheck(market=q.instrument.symbol, notional=q.notional,
                                   price=q.reference_price if q.order.kind != "stop" else None, mark=q.oracle_price,
                                   leverage=int(q.leverage.to_integral_value(rounding="ROUND_CEILING")),
                                   side=q.order.side, leverage_set=True))


@dataclass
class Outcome:
    results: list[TradeResult]
    requests: list[dict] = field(default_factory=list)  # --dry-run: the calls that would be signed


def open_trade(trading: CollateralTrading, q: OpenQuote, *, venue: str, dry_run: bool, wait: bool,
               timeout_s: float | None = None) -> Outcome:
    order = q.order
    prepared = trading.prepare_open(q)
    side = order.side.value
    if dry_run:
        return Outcome([result_of(None, venue=venue, market=q.instrument.symbol, side=side, kind=order.kind,
                                  quote=q)], [p.body for p in prepared])
    ack = trading.send_order(prepared)
    if wait:
        ack = trading.await_settlement(ack, timeout_s)
    return Outcome([result_of(ack, venue=venue, market=q.instrument.symbol, side=side, kind=order.kind, quote=q)])


def close_trade(trading: CollateralTrading, market: str, *, percent: Decimal, slippage_pct: Decimal,
                trade_id: str | None, venue: str, dry_run: bool, wait: bool) -> Outcome:
    prepared = trading.prepare_close_trade(market, percent=percent, slippage_pct=slippage_pct, trade_id=trade_id)
    b = prepared.body
    sym = str(b.get("market", market))
    inst = trading.market.instrument(sym)  # type: ignore[attr-defined]
    side = str(b.get("side")) if b.get("side") else None
    size = shown.size(inst, b.get("size")) if isinstance(b.get("size"), Decimal) else None  # type: ignore[arg-type]
    if dry_run:
        return Outcome([TradeResult(venue=venue, market=sym, side=side, type="close", status="dry_run", size=size,
                                    trade_id=_str(b.get("trade_id")))], [b])
    ack = trading.send_order([prepared])
    if wait:
        ack = trading.await_settlement(ack)
    res = result_of(ack, venue=venue, market=sym, side=side, kind="close", instrument=inst)
    res.trade_id = res.trade_id or _str(b.get("trade_id"))
    res.size = res.size or size
    return Outcome([res])


def update_tpsl(trading: CollateralTrading, market: str, *, tp: Decimal | None, sl: Decimal | None,
                clear_tp: bool, clear_sl: bool, trade_id: str | None, venue: str, dry_run: bool) -> Outcome:
    prepared = trading.prepare_tpsl(market, tp=tp, sl=sl, clear_tp=clear_tp, clear_sl=clear_sl, trade_id=trade_id)
    if dry_run:
        return Outcome([TradeResult(venue=venue, market=str(p.body.get("market", market)), side=None, type=p.kind,
                                    status="dry_run", trade_id=_str(p.body.get("trade_id")),
                                    tp=p.body.get("tp") if p.kind == "tp" else None,  # type: ignore[arg-type]
                                    sl=p.body.get("sl") if p.kind == "sl" else None)  # type: ignore[arg-type]
                        for p in prepared], [p.body for p in prepared])
    out = []
    for p in prepared:
        res = trading.send(p)  # type: ignore[attr-defined]
        r = TradeResult(venue=venue, market=str(p.body.get("market", market)), side=None, type=p.kind,
                        status="ok" if res.ok else "rejected", trade_id=_str(p.body.get("trade_id")),
                        tp=p.body.get("tp") if p.kind == "tp" else None,  # type: ignore[arg-type]
                        sl=p.body.get("sl") if p.kind == "sl" else None,  # type: ignore[arg-type]
                        tx_hash=_str(res.detail.get("tx_hash")), error=res.error, error_kind=res.error_kind)
        out.append(r)
        if not res.ok:
            break
    return Outcome(out)


def order_of(*, market: str, side: Side, kind: str, leverage: Decimal | None, collateral: Decimal | None,
             usd: Decimal | None, size: Decimal | None, price: Decimal | None, tp: Decimal | None,
             sl: Decimal | None, slippage_pct: Decimal | None) -> CollateralOrder:
    given = [x for x in (collateral, usd, size) if x is not None]
    if len(given) != 1:
        raise UsageError("give exactly one size: --collateral USDC (with --leverage), --usd NOTIONAL, or SIZE in "
                         "base units")
    return CollateralOrder(symbol=market, side=side, leverage=leverage, kind=kind, collateral=collateral,
                           notional=usd, size=size, price=price, tp=tp, sl=sl,
                           slippage_pct=slippage_pct if slippage_pct is not None else Decimal(1))


@dataclass
class FlattenPlan:
    """What flattening one collateral venue will do: cancel every resting limit/stop order (one
    transaction each) and close every trade at market. Market orders still with the keeper are
    counted so the confirmation can say they settle on their own."""

    resting: list[Any] = field(default_factory=list)  # domain Orders
    trades: list[tuple[str, str]] = field(default_factory=list)  # (market, trade id)
    pending: int = 0

    def describe(self) -> str:
        parts = []
        if self.resting:
            parts.append(f"cancel {len(self.resting)} order(s)")
        if self.trades:
            parts.append(f"close {len(self.trades)} trade(s) at market "
                         f"({', '.join(f'{m} {t}' for m, t in self.trades)})")
        if self.pending:
            parts.append(f"{self.pending} market order(s) still with the keeper")
        return "; ".join(parts) if parts else "nothing to do"


@dataclass
class FlattenOutcome:
    cancels: list[Any] = field(default_factory=list)  # actions.CancelOutcome
    closes: list[TradeResult] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        code = exit_code_for(self.closes, waited=True)
        if not code and any(c.status not in ("canceled", "dry_run") for c in self.cancels):
            return ExitCode.REJECTED
        return code


def belongs_to(underlying: str | None, market: Any, symbol: str) -> bool:
    """A market belongs to the underlying asked for (None: every market): its own name, or its
    instrument's underlying; a market the venue cannot describe matches nothing."""
    from perpcli.domain.errors import PerpError

    if underlying is None:
        return True
    want = underlying.upper()
    if symbol.upper() == want:
        return True
    try:
        return market.instrument(symbol).underlying.upper() == want
    except PerpError:
        return False


def flatten_plan(trading: CollateralTrading, *, underlying: str | None = None) -> FlattenPlan:
    """Read what is resting and open (only `underlying`'s markets when given)."""
    from perpcli.domain.orders import OrderStatus

    def wanted(symbol: str) -> bool:
        return belongs_to(underlying, trading.market, symbol)  # type: ignore[attr-defined]

    orders = trading.open_orders()  # type: ignore[attr-defined]
    resting = [o for o in orders if o.status is OrderStatus.OPEN and wanted(o.symbol)]
    pending = sum(1 for o in orders if o.status is not OrderStatus.OPEN and wanted(o.symbol))
    trades = [(m, t) for m, t in trading.open_trade_ids() if wanted(m)]
    return FlattenPlan(resting=resting, trades=trades, pending=pending)


def flatten(trading: CollateralTrading, plan: FlattenPlan, *, venue: str, slippage_pct: Decimal,
            dry_run: bool, cancel_orders: bool = True, close_trades: bool = True) -> FlattenOutcome:
    """Cancel the plan's resting orders, then close its trades one by one, each awaited."""
    from perpcli.app import actions
    from perpcli.venues.base import CancelTarget

    out = FlattenOutcome()
    for o in plan.resting if cancel_orders else []:
        done, reqs = actions.cancel(trading, [CancelTarget(o.symbol, oid=o.oid)], dry_run=dry_run)  # type: ignore[arg-type]
        out.cancels.extend(done)
        out.requests.extend(reqs)
    for market, trade_id in plan.trades if close_trades else []:
        closed = close_trade(trading, market, percent=Decimal(100), slippage_pct=slippage_pct, trade_id=trade_id,
                             venue=venue, dry_run=dry_run, wait=True)
        out.closes.extend(closed.results)
        out.requests.extend(closed.requests)
    return out


def in_margin_model_terms(snapshot: AccountSnapshot, quote: str = "USDC") -> AccountSnapshot:
    """A collateral venue's account in the terms of the shared margin model (ledger/margin.py),
    which the TUI uses to value every account at live marks.

    The venue reports its wallet as the balance (USDC outside every trade and order) and each
    trade's collateral as its isolated margin. The model reads the balance as cash *including*
    what positions and orders hold, and an isolated margin as allocation + uPnL (Hyperliquid's
    marginUsed, which the store takes the uPnL back out of). Read as reported, the live equity
    would leave out every trade's and order's collateral; translated, cash + uPnL is the venue's
    own equity (wallet + collateral in orders + each trade's collateral + PnL - accrued fees).
    The orders' collateral is `reserved`, which the model counts as margin used, not free.
    """
    from dataclasses import replace

    from perpcli.domain.events import Balance

    held = [p for p in snapshot.positions if p.size]
    in_trades = sum((p.isolated_margin or ZERO for p in held), ZERO)
    fees = sum((p.funding_since_open or ZERO for p in held), ZERO)
    in_orders = max(ZERO, (snapshot.margin_used or ZERO) - in_trades)
    wallet = next((b.total for b in snapshot.balances if b.asset == quote), ZERO)
    cash = wallet + in_orders + in_trades - fees
    balances = tuple(Balance(b.asset, cash) if b.asset == quote else b for b in snapshot.balances) or (
        Balance(quote, cash),)
    positions = tuple(replace(p, isolated_margin=(p.isolated_margin or ZERO) + (p.unrealized_pnl or ZERO))
                      if p.isolated_margin is not None else p for p in _one_per_market(held))
    return replace(snapshot, balances=balances, positions=positions, reserved=in_orders)


def _one_per_market(trades: list[Any]) -> list[Any]:
    """Trades on one market as one position, as the store keeps positions (by market).

    Each Ostium trade is its own position; the store would keep only the last one of a market.
    Summed, the uPnL at any mark stays exact (it is linear in size: the entry is the
    size-weighted mean) and so does the collateral; the liquidation price becomes the one of
    the combined collateral, where `perp positions` lists each trade with its own."""
    from dataclasses import replace

    by_market: dict[str, list[Any]] = {}
    for p in trades:
        by_market.setdefault(p.symbol, []).append(p)
    out = []
    for group in by_market.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        size = sum((p.size for p in group), ZERO)
        if not size:  # a long and a short that cancel: nothing for the model to value
            continue
        entry = sum((p.size * p.entry_price for p in group), ZERO) / size
        leverages = {p.leverage for p in group}
        out.append(replace(
            group[0], size=size, entry_price=entry,
            leverage=leverages.pop() if len(leverages) == 1 else None,
            isolated_margin=sum((p.isolated_margin or ZERO for p in group), ZERO),
            unrealized_pnl=None if any(p.unrealized_pnl is None for p in group)
            else sum((p.unrealized_pnl for p in group), ZERO),
            liquidation_price=None, funding_since_open=sum((p.funding_since_open or ZERO for p in group), ZERO),
            position_id=None))
    return out
