"""Use cases that change an account: place, cancel, modify, close, flatten, leverage, margin,
transfers, dead man's switch, agents. Each returns typed results; none prints.

Every keyed action goes through `prepare_*` (build + sign) and then either `send` or, for
--dry-run, nothing: the caller prints `Prepared.body`, the exact request that would be posted.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpcli.app import display as shown
from perpcli.app import order_plan
from perpcli.app.order_plan import MarketContext, OrderPlan, OrderRequest
from perpcli.app.risk import OrderCheck, RiskLimits, check_leverage, check_order
from perpcli.domain.errors import ErrorKind, ExitCode, OutcomeUnknown, UsageError, ValidationError
from perpcli.domain.orders import OrderIntent, OrderType, Side, TimeInForce
from perpcli.venues.base import Ack, AckStatus, CancelTarget, Trading

if TYPE_CHECKING:
    from perpcli.domain.events import PositionSnapshot
    from perpcli.domain.instrument import Instrument
    from perpcli.domain.orders import Order

ZERO = Decimal(0)


@dataclass
class OrderResult:
    """One order's outcome, in the documented JSON shape (docs/json.md)."""

    venue: str
    market: str
    side: str
    size: Decimal
    price: Decimal | None  # the limit price; a market or trigger-market order's worst price
    type: str
    status: str  # resting | filled | partially_filled | canceled | rejected | accepted | unknown | dry_run
    trigger_price: Decimal | None = None  # what the mark must reach (stops, take-profits)
    oid: str | None = None
    cloid: str | None = None
    filled: Decimal = ZERO
    avg_price: Decimal | None = None
    error: str | None = None
    note: str | None = None
    error_kind: ErrorKind | None = None  # the venue-neutral class of `error` (docs/json.md)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def result_of(intent: OrderIntent, label: str, ack: Ack | None, *, venue: str,
              inst: Instrument | None = None) -> OrderResult:
    status = ack.status.value if ack is not None else "dry_run"
    # An answer about an order the venue already held (a retry with the same cloid) reports
    # that order's price and size, not what this command asked for.
    size = ack.size if ack is not None and ack.size is not None else intent.size
    price = ack.price if ack is not None and ack.price is not None else intent.price
    return OrderResult(
        venue=venue, market=intent.symbol, side=intent.side.value, size=size, price=price,
        type=label, status=status, trigger_price=intent.trigger_price, oid=ack.oid if ack else None,
        cloid=(ack.cloid if ack and ack.cloid else intent.cloid), filled=ack.filled if ack else ZERO,
        avg_price=shown.price(inst, ack.avg_price) if ack else None, error=ack.error if ack else None,
        note=ack.note if ack else None,
        error_kind=ack.error_kind if ack else None,
    )


def exit_code_for(results: Sequence[OrderResult]) -> ExitCode:
    """6 if any outcome is still unknown, else 3 if the venue rejected any, else 0."""
    if any(r.status == AckStatus.UNKNOWN.value for r in results):
        return ExitCode.UNKNOWN_OUTCOME
    if any(r.status == AckStatus.REJECTED.value for r in results):
        return ExitCode.REJECTED
    return ExitCode.OK


# ----- reading what a plan needs -----------------------------------------------------------


def market_context(session: Any, market: str, *, need_account: bool, trading: Any = None) -> MarketContext:
    """The market's reference prices and, with `trading`, the account as the preview reads it:
    the leverage the order will use (the max_leverage guard checks it), the position it acts on
    (a reduce-only order's sense) and, when sizing needs them (`need_account`: % of free
    collateral, --risk), free collateral, equity and the top of the book."""
    md = session.market
    inst = md.instrument(market)
    mid, mark = md.reference_prices(inst.symbol)
    if trading is not None and need_account:
        from perpcli.app import preview as pv

        ctx = pv.sizing_context(pv.rest_inputs(md, trading, inst.symbol, mark=mark), mid)
    elif trading is not None:
        from perpcli.app import preview as pv

        lev, held = pv.order_facts(md, trading, inst)
        ctx = MarketContext(instrument=inst, mid=mid, mark=mark, current_leverage=lev, position_size=held)
    else:
        ctx = MarketContext(instrument=inst, mid=mid, mark=mark)
    ctx.now_ms = int(time.time() * 1000) if inst.trading_hours is not None else None
    return ctx


def plan(session: Any, trading: Trading, req: OrderRequest) -> OrderPlan:
    need_account = req.size.kind in ("pct", "risk")
    ctx = market_context(session, req.market, need_account=need_account, trading=trading)
    return order_plan.plan_order(session.venue, req, ctx, new_cloid=session.market.new_client_id)


def check_risk(limits: RiskLimits, p: OrderPlan) -> None:
    """The [risk] guards on a plan: its notional, the leverage it will actually be margined at
    (what it sets, else the account's setting or the venue's default), and its price when it
    would execute against the book."""
    main = p.main
    price = main.price if main.order_type in (OrderType.LIMIT, OrderType.MARKET) else None
    check_order(limits, OrderCheck(market=p.market, notional=p.notional, price=price, mark=p.mark,
                                   leverage=p.leverage_used if p.leverage_used is not None else p.leverage,
                                   reduce_only=main.reduce_only, side=main.side, leverage_set=p.leverage is not None))


# ----- preview -----------------------------------------------------------------------------


def preview(session: Any, trading: Any, p: OrderPlan) -> dict[str, Any]:
    """What the order would do (app/preview.py, the TUI ticket's own function): expected fill
    from the live book, maker or taker fee at the account's rates, margin, resulting position,
    account leverage and liquidation price. Reads only; nothing is signed or sent."""
    from perpcli.app import preview as pv

    inputs = pv.rest_inputs(session.market, trading, p.market, mark=p.mark)
    return pv.preview(p, inputs).to_json(limit_price=p.main.price)


# ----- placing -----------------------------------------------------------------------------


@dataclass
class PlaceOutcome:
    results: list[OrderResult]
    requests: list[dict]  # the exact /exchange bodies (for --dry-run)
    unknown_step: str | None = None  # a step before the orders whose outcome is unknown (orders not sent)
    warnings: list[str] = field(default_factory=list)  # what a person must see (an unprotected position)


def prepare_place(trading: Any, p: OrderPlan) -> list[Any]:
    """Signed requests for a plan: an updateLeverage first when asked, then the orders."""
    prepared = []
    if p.leverage is not None:
        prepared.append(trading.prepare_leverage(p.market, p.leverage, cross=not p.isolated))
    prepared.append(trading.prepare_orders(p.intents, grouping=p.grouping))
    return prepared


def place(session: Any, trading: Any, p: OrderPlan, *, dry_run: bool, bracket_policy: str = "retry") -> PlaceOutcome:
    prepared = prepare_place(trading, p)
    if dry_run:
        return PlaceOutcome([result_of(i, lbl, None, venue=session.venue, inst=p.instrument)
                             for i, lbl in zip(p.intents, p.labels, strict=True)],
                            [x.body for x in prepared])
    acks: list[Ack] = []
    unknown_step = None
    for prep in prepared:
        if prep.kind == "leverage":
            try:
                res = trading.send(prep)
            except OutcomeUnknown as e:  # the orders wait on it: they are not sent
                unknown_step = f"the leverage update's outcome is unknown ({e.message}); the order was not sent"
                acks = [Ack(AckStatus.REJECTED, cloid=i.cloid, error=f"not sent: {unknown_step}") for i in p.intents]
                break
            if not res.ok:
                acks = [Ack(AckStatus.REJECTED, cloid=i.cloid, error_kind=res.error_kind,
                            error=f"not sent: the leverage update was refused: {res.error}") for i in p.intents]
                break
            continue
        acks = trading.send_orders(prep)
    outcome = PlaceOutcome([result_of(i, lbl, a, venue=session.venue, inst=p.instrument)
                            for i, lbl, a in zip(p.intents, p.labels, acks, strict=True)], [],
                           unknown_step=unknown_step)
    if p.grouping != "na" and acks:
        _protect_unprotected(session, trading, p, acks, outcome, bracket_policy)
    return outcome


def _protect_unprotected(session: Any, trading: Trading, p: OrderPlan, acks: list[Ack], outcome: PlaceOutcome,
                         policy: str) -> None:
    """A bracket whose parent filled (in part) but whose TP/SL the venue refused leaves a
    position without its protection. Say so prominently, and by policy: `retry` places each
    refused child once more on its own (it is reduce-only: it can only close), `close` closes
    the new position at market, `warn` does nothing more."""
    parent = acks[0]
    if parent.status not in (AckStatus.FILLED, AckStatus.PARTIALLY_FILLED):
        return
    refused = [i for i, a in enumerate(acks) if i > 0 and a.status is AckStatus.REJECTED]
    if not refused:
        return
    what = ", ".join(f"{p.labels[i]} ({acks[i].error})" for i in refused)
    if policy == "retry":
        again = [replace(p.intents[i], cloid=session.market.new_client_id()) for i in refused]
        retried = trading.submit(again)
        for i, intent, ack in zip(refused, again, retried, strict=True):
            if ack.status is not AckStatus.REJECTED:
                res = result_of(intent, p.labels[i], ack, venue=session.venue, inst=p.instrument)
                res.note = f"placed again on its own after the venue refused it in the bracket: {acks[i].error}"
                outcome.results[i] = res
        left = [i for i, a in zip(refused, retried, strict=True) if a.status is AckStatus.REJECTED]
        if not left:
            return
        what = ", ".join(f"{p.labels[i]} ({acks[i].error})" for i in left)
    if policy == "close":
        plan = close_plan(session, trading, p.market, size=None, limit=None, slippage_pct=Decimal(1))
        closed = place(session, trading, plan, dry_run=False)
        outcome.results.extend(closed.results)
        warning = (f"{p.market}: the venue refused the bracket's {what}; the new position was closed at market"
                   " (risk.on_bracket_failure = close)")
    else:
        warning = (f"{p.market} position is OPEN WITHOUT its {what}: the venue refused it after the entry filled"
                   f" — place the protection yourself (risk.on_bracket_failure = {policy})")
    outcome.warnings.append(warning)
    outcome.results[0].note = warning  # --json readers and the TUI see it on the entry's result


def scale_plan(session: Any, req_side: Side, market: str, total: Decimal, start: Decimal, end: Decimal,
               count: int, *, reduce_only: bool = False, post_only: bool = False) -> OrderPlan:
    """`count` limit orders from `start` to `end`, the total split evenly (rounded toward zero)."""
    from perpcli.domain import order_rules as rules

    md = session.market
    inst = md.instrument(market)
    mid, mark = md.reference_prices(inst.symbol)
    prices = order_plan.scale_prices(inst, start, end, count, is_buy=req_side is Side.BUY)
    each = rules.conform_size(inst, total / count, rules.Rounding.TOWARD_ZERO, what="size per order")
    now_ms = int(time.time() * 1000) if inst.trading_hours is not None else None
    for px in prices:
        rules.check_order(inst, price=px, size=each, reduce_only=reduce_only, reference=mark, time_ms=now_ms)
    intents = [
        OrderIntent(venue=session.venue, symbol=inst.symbol, side=req_side, size=each, price=px,
                    tif=TimeInForce.ALO if post_only else TimeInForce.GTC, reduce_only=reduce_only,
                    cloid=md.new_client_id())
        for px in prices
    ]
    avg = sum(prices, ZERO) / len(prices)
    return OrderPlan(venue=session.venue, market=inst.symbol, side=req_side, intents=intents, grouping="na",
                     reference_price=avg, mark=mark, leverage=None, isolated=False,
                     labels=["limit"] * len(intents), instrument=inst)


def scale_notional(p: OrderPlan) -> Decimal:
    return sum((i.size * (i.price or ZERO) for i in p.intents), ZERO)


def close_plan(session: Any, trading: Any, market: str, *, size: Decimal | None, limit: Decimal | None,
               slippage_pct: Decimal) -> OrderPlan:
    """A reduce-only order against the open position (all of it unless --size)."""
    inst = session.market.instrument(market)
    positions = trading.positions().positions
    pos = next((x for x in positions if x.symbol == inst.symbol and x.size != 0), None)
    if pos is None:
        raise UsageError(f"no open position on {inst.symbol}")
    side = Side.SELL if pos.size > 0 else Side.BUY
    amount = abs(pos.size) if size is None else min(size, abs(pos.size))
    req = OrderRequest(
        market=inst.symbol, side=side, size=order_plan.SizeSpec("base", amount),
        price=order_plan.PriceSpec("limit", limit=limit) if limit is not None
        else order_plan.PriceSpec("market", slippage_pct=slippage_pct),
        reduce_only=True,
    )
    ctx = market_context(session, inst.symbol, need_account=False)
    return order_plan.plan_order(session.venue, req, ctx, new_cloid=session.market.new_client_id)


def check_standing_order(limits: RiskLimits, trading: Trading, market: str, side: Side, *, notional: Decimal,
                         prices: Sequence[Decimal | None], mark: Decimal, reduce_only: bool) -> None:
    """The local checks of orders placed at the account's standing leverage (a scale ladder, a
    TWAP): a reduce-only order must face a position (exit 2); the guards check the notional,
    the leverage they will be margined at, and each price that would execute (exit 7)."""
    from perpcli.app.preview import order_facts

    inst = trading.market.instrument(market)
    leverage, held = order_facts(trading.market, trading, inst)
    if reduce_only:
        order_plan.check_reduce_only(inst, side, held)
    for price in prices:
        check_order(limits, OrderCheck(inst.symbol, notional, price, mark, leverage=leverage, reduce_only=reduce_only,
                                       side=side, leverage_set=False))


def open_positions(trading: Trading) -> list[PositionSnapshot]:
    return trading.positions().positions


# ----- cancel ------------------------------------------------------------------------------


@dataclass
class CancelOutcome:
    market: str
    oid: str | None
    cloid: str | None
    status: str  # canceled | rejected | dry_run
    error: str | None = None
    error_kind: ErrorKind | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class OpenOrderTarget(CancelTarget):
    """A cancel by oid of an order read from the venue, which remembers the order's client id
    so the result can show it (the venue is asked by oid alone)."""

    order_cloid: str | None = None


def cancel_targets(trading: Trading, *, oid: str | None, cloid: str | None, market: str | None,
                   everything: bool) -> list[CancelTarget]:
    """Which orders to cancel; open orders tell each oid's market.

    An OID or cloid given with its market is sent as is, unread: the venue says whether it
    exists (a script cancelling an order that may just have filled gets `order_not_found`).
    """
    chosen = [x for x in (oid is not None, cloid is not None, market is not None and oid is None
                          and cloid is None, everything) if x]
    if len(chosen) != 1:
        raise UsageError("give exactly one of OID, --cloid C, --market M or --all (OID/--cloid may add --market)")
    if market is not None and (oid is not None or cloid is not None):
        return [CancelTarget(trading.market.instrument(market).symbol, oid=oid, cloid=cloid)]
    orders = trading.open_orders()
    if oid is not None:
        match = [o for o in orders if o.oid == oid]
        if not match:
            raise ValidationError(f"no open order with oid {oid} (see `perp orders`)", rule="order-not-found")
        return [OpenOrderTarget(match[0].symbol, oid=oid, order_cloid=match[0].cloid)]
    if cloid is not None:
        match = [o for o in orders if (o.cloid or "").lower() == cloid.lower()]
        if not match:
            raise ValidationError(f"no open order with cloid {cloid} (see `perp orders`)", rule="order-not-found")
        return [CancelTarget(match[0].symbol, cloid=match[0].cloid)]
    if market is not None:
        sym = trading.market.instrument(market).symbol
        return targets_for_all([o for o in orders if o.symbol == sym])
    return targets_for_all(orders)


def targets_for_all(orders: Sequence[Order]) -> list[CancelTarget]:
    """Cancel targets for every order given, except a bracket's TP/SL children whose waiting
    parent is cancelled too: the venue cancels them with it (a second cancel would fail)."""
    cancelled = {o.oid for o in orders}
    return [OpenOrderTarget(o.symbol, oid=o.oid, order_cloid=o.cloid) for o in orders
            if o.parent_oid is None or o.parent_oid not in cancelled]


def cancel(trading: Trading, targets: list[CancelTarget], *, dry_run: bool
           ) -> tuple[list[CancelOutcome], list[dict]]:
    if not targets:
        return [], []
    prepared = trading.prepare_cancel(targets)
    def cloid_of(t: CancelTarget, given: str | None) -> str | None:
        return given or t.cloid or getattr(t, "order_cloid", None)

    if dry_run:
        return [CancelOutcome(t.market, t.oid, cloid_of(t, None), "dry_run") for t in targets], [prepared.body]
    results = trading.send_cancel(prepared, targets)
    return [CancelOutcome(t.market, r.oid, cloid_of(t, r.cloid), "canceled" if r.ok else "rejected", r.error,
                          r.error_kind)
            for t, r in zip(targets, results, strict=True)], []


# ----- other actions -----------------------------------------------------------------------


@dataclass
class ActionOutcome:
    action: str
    status: str  # ok | rejected | dry_run
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    error_kind: ErrorKind | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_prepared(trading: Any, prepared: Any, *, dry_run: bool, detail: dict[str, Any] | None = None
                 ) -> tuple[ActionOutcome, list[dict]]:
    if dry_run:
        return ActionOutcome(prepared.kind, "dry_run", detail=detail or {}), [prepared.body]
    res = trading.send(prepared)
    return ActionOutcome(prepared.kind, "ok" if res.ok else "rejected", res.error, {**(detail or {}), **res.detail},
                         res.error_kind), []


def leverage_guard(limits: RiskLimits, market: str, leverage: int) -> None:
    check_leverage(limits, market, leverage)
