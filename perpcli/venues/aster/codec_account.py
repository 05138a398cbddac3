"""Aster account JSON -> domain records (pure): positions, balances, orders, fills, income,
order answers and margin brackets.

Shapes are Binance USD-M's as Aster serves them under /fapi/v3: positionRisk rows (one per
symbol and position side; an empty position has positionAmt "0"), balance rows per asset,
order objects (REST answers and openOrders), userTrades, income rows, leverageBracket. The
user-data stream's ORDER_TRADE_UPDATE carries the same order in one-letter keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from perpcli.domain.events import (
    AccountSnapshot,
    Balance,
    BalanceUpdate,
    Fill,
    FundingPayment,
    OrderUpdate,
    PositionSnapshot,
)
from perpcli.domain.instrument import MarginMode
from perpcli.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from perpcli.ledger.margin_rules import Bracket, BracketRules
from perpcli.venues.aster.codec import D, D_or_none
from perpcli.venues.aster.errors import kind_of, refusal
from perpcli.venues.base import Ack, AckStatus, AgentKey

ZERO = Decimal(0)

# ----- orders --------------------------------------------------------------------------------

STATUSES: dict[str, OrderStatus] = {
    "NEW": OrderStatus.OPEN,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "EXPIRED": OrderStatus.CANCELED,  # IOC/FOK remainder, GTX that would take, triggered-and-expired
    "REJECTED": OrderStatus.REJECTED,
}

ORDER_TYPES: dict[str, OrderType] = {
    "LIMIT": OrderType.LIMIT,
    "MARKET": OrderType.MARKET,
    "STOP": OrderType.STOP_LIMIT,
    "STOP_MARKET": OrderType.STOP_MARKET,
    "TAKE_PROFIT": OrderType.TAKE_PROFIT_LIMIT,
    "TAKE_PROFIT_MARKET": OrderType.TAKE_PROFIT_MARKET,
    "TRAILING_STOP_MARKET": OrderType.STOP_MARKET,  # closest lifecycle; the trail lives at the venue
}

TIME_IN_FORCE: dict[str, TimeInForce] = {
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "FOK": TimeInForce.FOK,
    "GTX": TimeInForce.ALO,  # post-only
}


def _bool(value: object) -> bool:
    return value is True or value == "true"


def side_of(word: str) -> Side:
    return Side.BUY if word == "BUY" else Side.SELL


def order(row: Mapping[str, Any], *, venue: str) -> Order:
    """An order object (POST/GET/DELETE /order answers, openOrders rows) -> Order."""
    orig = D(row.get("origQty", "0"))
    executed = D(row.get("executedQty", "0"))
    kind = str(row.get("origType") or row.get("type") or "LIMIT")
    order_type = ORDER_TYPES.get(kind, OrderType.LIMIT)
    price = D(row.get("price", "0"))
    if price == 0 and executed > 0:
        price = D(row.get("avgPrice", "0"))
    stop = D_or_none(row.get("stopPrice"))
    return Order(
        venue=venue,
        symbol=str(row["symbol"]),
        side=side_of(str(row["side"])),
        price=price,
        size=orig - executed,
        orig_size=orig,
        status=STATUSES.get(str(row.get("status")), OrderStatus.OPEN),
        oid=str(row["orderId"]),
        cloid=str(row["clientOrderId"]) if row.get("clientOrderId") else None,
        order_type=order_type,
        tif=TIME_IN_FORCE.get(str(row.get("timeInForce")), None if order_type.is_trigger else TimeInForce.GTC),
        reduce_only=_bool(row.get("reduceOnly")) or _bool(row.get("closePosition")),
        trigger_price=stop if order_type.is_trigger and stop else None,
        time_ms=int(row.get("updateTime") or row.get("time") or 0),
    )


def open_orders(rows: Iterable[Mapping[str, Any]], *, venue: str) -> list[Order]:
    return [order(r, venue=venue) for r in rows]


def order_ack(answer: object, *, cloid: str | None) -> Ack:
    """The venue's answer to one placed order (or its error object) -> Ack."""
    refused = refusal(answer)
    if refused is not None:
        code, msg = refused
        return Ack(status=AckStatus.REJECTED, cloid=cloid, error=f"{msg} ({code})", error_kind=kind_of(code))
    if not isinstance(answer, Mapping) or "orderId" not in answer:
        return Ack(status=AckStatus.UNKNOWN, cloid=cloid, note=f"unreadable answer: {str(answer)[:200]}")
    status = str(answer.get("status"))
    filled = D(answer.get("executedQty", "0"))
    avg = D_or_none(answer.get("avgPrice"))
    ack_status = {
        "NEW": AckStatus.RESTING,
        "PARTIALLY_FILLED": AckStatus.PARTIALLY_FILLED,
        "FILLED": AckStatus.FILLED,
        "REJECTED": AckStatus.REJECTED,
    }.get(status)
    if ack_status is None:  # CANCELED / EXPIRED: an IOC remainder or a GTX that would have taken
        ack_status = AckStatus.PARTIALLY_FILLED if filled > 0 else AckStatus.CANCELED
    return Ack(
        status=ack_status,
        cloid=str(answer.get("clientOrderId") or cloid or "") or None,
        oid=str(answer["orderId"]),
        filled=filled,
        avg_price=avg if avg and filled > 0 else None,
        note=f"venue status {status}" if status in ("EXPIRED", "CANCELED") else None,
    )


def batch_acks(answer: object, cloids: Sequence[str | None]) -> list[Ack]:
    """POST /batchOrders answers a list, one entry (order or error object) per order sent."""
    if not isinstance(answer, list) or len(answer) != len(cloids):
        refused = refusal(answer)
        if refused is not None:  # the whole batch was refused
            return [order_ack(answer, cloid=c) for c in cloids]
        return [Ack(status=AckStatus.UNKNOWN, cloid=c, note="the batch answer does not list every order")
                for c in cloids]
    return [order_ack(a, cloid=c) for a, c in zip(answer, cloids, strict=True)]


# ----- positions and balances ----------------------------------------------------------------


def position(row: Mapping[str, Any]) -> PositionSnapshot | None:
    """A positionRisk row -> signed position (None when flat)."""
    size = D(row.get("positionAmt", "0"))
    if size == 0:
        return None
    isolated = str(row.get("marginType", "cross")).lower() == "isolated"
    liq = D_or_none(row.get("liquidationPrice"))
    return PositionSnapshot(
        symbol=str(row["symbol"]),
        size=size,
        entry_price=D(row.get("entryPrice", "0")),
        margin_mode=MarginMode.ISOLATED if isolated else MarginMode.CROSS,
        leverage=int(D(row["leverage"])) if row.get("leverage") not in (None, "") else None,
        isolated_margin=D_or_none(row.get("isolatedMargin")) if isolated else None,
        unrealized_pnl=D_or_none(row.get("unRealizedProfit")),
        liquidation_price=liq if liq else None,  # "0": no liquidation price (e.g. fully covered)
    )


def positions(rows: Iterable[Mapping[str, Any]]) -> tuple[list[PositionSnapshot], dict[str, Decimal]]:
    """Open positions and the mark the venue valued each at."""
    out: list[PositionSnapshot] = []
    marks: dict[str, Decimal] = {}
    for r in rows:
        p = position(r)
        if p is None:
            continue
        out.append(p)
        mark = D_or_none(r.get("markPrice"))
        if mark:
            marks[p.symbol] = mark
    return out, marks


def leverage_settings(rows: Iterable[Mapping[str, Any]]) -> dict[str, tuple[int | None, bool]]:
    """(leverage, cross?) per symbol from positionRisk, flat or not: Aster reports both there."""
    out: dict[str, tuple[int | None, bool]] = {}
    for r in rows:
        lev = int(D(r["leverage"])) if r.get("leverage") not in (None, "") else None
        out[str(r["symbol"])] = (lev, str(r.get("marginType", "cross")).lower() != "isolated")
    return out


def balances(rows: Iterable[Mapping[str, Any]]) -> tuple[Balance, ...]:
    """GET /fapi/v3/balance rows -> cash balances (wallet balance, unrealised PnL excluded)."""
    return tuple(Balance(asset=str(r["asset"]), total=D(r.get("balance", "0"))) for r in rows
                 if D(r.get("balance", "0")) != 0)


def account_snapshot(
    balance_rows: Sequence[Mapping[str, Any]],
    position_rows: Sequence[Mapping[str, Any]],
    *,
    venue: str,
    account: str,
    time_ms: int,
    collateral: str = "USDT",
    open_order_rows: Sequence[Mapping[str, Any]] = (),
) -> AccountSnapshot:
    """balance + positionRisk (+ openOrders) -> one snapshot with the venue's own figures.

    account value = wallet balance + cross unrealised PnL of the collateral asset;
    withdrawable = its maxWithdrawAmount (Aster's own figure).
    """
    row = next((r for r in balance_rows if r.get("asset") == collateral), None)
    pos, _ = positions(position_rows)
    value = withdrawable = None
    if row is not None:
        value = D(row.get("balance", "0")) + D(row.get("crossUnPnl", "0"))
        withdrawable = D_or_none(row.get("maxWithdrawAmount"))
    return AccountSnapshot(
        venue=venue,
        account=account,
        time_ms=time_ms,
        balances=balances(balance_rows),
        positions=tuple(pos),
        open_orders=tuple(open_orders(open_order_rows, venue=venue)),
        account_value=value,
        withdrawable=withdrawable,
    )


def account_totals(answer: Mapping[str, Any], position_rows: Sequence[Mapping[str, Any]], *, venue: str, account: str,
                   time_ms: int, open_order_rows: Sequence[Mapping[str, Any]] = ()) -> AccountSnapshot:
    """accountWithJoinMargin + positionRisk (+ openOrders) -> one snapshot with the venue's totals.

    account value = totalMarginBalance (wallet, isolated wallets included, plus every
    position's unrealised PnL); margin used = totalInitialMargin; withdrawable =
    maxWithdrawAmount. Cash balances are each asset's walletBalance.
    """
    pos, _ = positions(position_rows)
    assets = answer.get("assets") or ()
    cash = tuple(Balance(asset=str(a["asset"]), total=D(a.get("walletBalance", "0"))) for a in assets
                 if D(a.get("walletBalance", "0")) != 0)
    return AccountSnapshot(
        venue=venue,
        account=account,
        time_ms=time_ms,
        balances=cash,
        positions=tuple(pos),
        open_orders=tuple(open_orders(open_order_rows, venue=venue)),
        account_value=D_or_none(answer.get("totalMarginBalance")),
        withdrawable=D_or_none(answer.get("maxWithdrawAmount")),
        margin_used=D_or_none(answer.get("totalInitialMargin")),
    )


# ----- fills and income ----------------------------------------------------------------------


def fill(row: Mapping[str, Any], *, venue: str, account: str) -> Fill:
    """A userTrades row -> Fill (commission is the fee paid; negative would be a rebate)."""
    maker = row.get("maker")
    return Fill(
        venue=venue,
        account=account,
        symbol=str(row["symbol"]),
        trade_id=int(row["id"]),
        oid=str(row["orderId"]) if row.get("orderId") is not None else None,
        side=side_of(str(row["side"])),
        price=D(row["price"]),
        size=D(row["qty"]),
        fee=D(row.get("commission", "0")),
        time_ms=int(row["time"]),
        closed_pnl=D_or_none(row.get("realizedPnl")),
        fee_token=str(row.get("commissionAsset") or "USDT"),
        is_taker=not _bool(maker) if maker is not None else True,
    )


def fills(rows: Iterable[Mapping[str, Any]], *, venue: str, account: str) -> list[Fill]:
    return [fill(r, venue=venue, account=account) for r in rows]


def order_updates(rows: Iterable[Mapping[str, Any]], *, venue: str, account: str, since_ms: int) -> list[OrderUpdate]:
    """allOrders rows changed at or after `since_ms` -> each order's latest state, oldest first."""
    out = []
    for r in rows:
        changed = int(r.get("updateTime") or r.get("time") or 0)
        if changed >= since_ms:
            o = order(r, venue=venue)
            out.append(OrderUpdate(venue=venue, account=account, order=o, time_ms=changed,
                                   reason=str(r.get("status") or "")))
    return sorted(out, key=lambda u: (u.time_ms, u.order.oid))


def lookup_ack(row: Mapping[str, Any]) -> Ack:
    """GET /order (a status look-up) -> Ack with the order as the venue holds it: a finished
    order keeps its final word (filled, cancelled), a live one rests."""
    ack = order_ack(row, cloid=str(row.get("clientOrderId") or "") or None)
    ack.price = D_or_none(row.get("price")) or None
    ack.size = D_or_none(row.get("origQty"))
    ack.time_ms = int(row.get("time") or 0) or None
    return ack


def agents(rows: Iterable[Mapping[str, Any]]) -> list[AgentKey]:
    """GET /fapi/v3/agent rows -> the API wallets approved for the account."""
    return [AgentKey(name=str(r.get("agentName") or ""), address=str(r.get("agentAddress") or "").lower(),
                     valid_until_ms=int(r["expired"]) if r.get("expired") not in (None, "") else None)
            for r in rows if isinstance(r, Mapping)]


def funding_payments(income_rows: Iterable[Mapping[str, Any]], rates: Mapping[tuple[str, int], Decimal],
                     prices: Mapping[tuple[str, int], Decimal], lots: Mapping[str, Decimal], *, venue: str,
                     account: str) -> list[FundingPayment]:
    """FUNDING_FEE income rows -> FundingPayments. An income row carries the amount only: the
    rate is the fundingRate row of the same symbol and time, and the position size is what that
    amount means at that rate and price (|amount| / (|rate| x price), on the symbol's lot grid;
    a long pays a positive rate). Without a rate (or a zero one) the size is unknown: 0."""
    out = []
    for r in income_rows:
        if r.get("incomeType") != "FUNDING_FEE":
            continue
        symbol, when, amount = str(r["symbol"]), int(r["time"]), D(r["income"])
        rate = rates.get((symbol, when), ZERO)
        price = prices.get((symbol, when))
        size = ZERO
        if rate and price:
            size = abs(amount) / (abs(rate) * price)
            lot = lots.get(symbol)
            if lot:
                size = (size / lot).quantize(Decimal(1)) * lot
            paid = amount < 0
            size = size if paid == (rate > 0) else -size
        out.append(FundingPayment(venue=venue, account=account, symbol=symbol, amount=amount, rate=rate,
                                  position_size=size, time_ms=when))
    return sorted(out, key=lambda p: p.time_ms)


def income_total(rows: Iterable[Mapping[str, Any]], income_type: str) -> Decimal:
    """Sum of one income type over income rows: FUNDING_FEE (> 0 received), COMMISSION
    (negative: fees paid), REALIZED_PNL... Income rows carry no funding rate or position size;
    per-payment records need the fundingRate history beside them."""
    return sum((D(r["income"]) for r in rows if r.get("incomeType") == income_type), ZERO)


# ----- margin brackets -------------------------------------------------------------------------


def bracket_rules(entry: Mapping[str, Any], *, only_isolated: bool = False) -> BracketRules:
    """One leverageBracket entry ({symbol, brackets: [...]}) -> the Binance-style margin rules."""
    rows = sorted(entry.get("brackets") or (), key=lambda b: D(b["notionalFloor"]))
    brackets = tuple(
        Bracket(floor=D(b["notionalFloor"]), max_leverage=int(D(b["initialLeverage"])),
                mmr=D(b["maintMarginRatio"]), cum=D(b.get("cum", "0")))
        for b in rows
    )
    return BracketRules(brackets=brackets, only_isolated=only_isolated)


def leverage_brackets(answer: object) -> dict[str, BracketRules]:
    """GET /fapi/v3/leverageBracket (a list, or one object when a symbol was given)."""
    entries = answer if isinstance(answer, list) else [answer]
    out: dict[str, BracketRules] = {}
    for e in entries:
        if isinstance(e, Mapping) and e.get("brackets"):
            out[str(e["symbol"])] = bracket_rules(e)
    return out


# ----- the user-data stream --------------------------------------------------------------------


def user_events(msg: Mapping[str, Any], *, venue: str, account: str) -> list[OrderUpdate | Fill | BalanceUpdate]:
    """ORDER_TRADE_UPDATE -> OrderUpdate (+ Fill on a trade); ACCOUNT_UPDATE -> new balances.

    Positions in ACCOUNT_UPDATE are left to a positionRisk read: the stream carries no
    liquidation price, and the venue's numbers are the ones reconciled to.
    """
    kind = msg.get("e")
    out: list[OrderUpdate | Fill | BalanceUpdate] = []
    if kind == "ORDER_TRADE_UPDATE":
        o = msg["o"]
        orig = D(o["q"])
        filled = D(o.get("z", "0"))
        otype = ORDER_TYPES.get(str(o.get("ot") or o.get("o")), OrderType.LIMIT)
        stop = D_or_none(o.get("sp"))
        update = Order(
            venue=venue, symbol=str(o["s"]), side=side_of(str(o["S"])), price=D(o.get("p", "0")),
            size=orig - filled, orig_size=orig, status=STATUSES.get(str(o["X"]), OrderStatus.OPEN),
            oid=str(o["i"]), cloid=str(o["c"]) if o.get("c") else None, order_type=otype,
            tif=TIME_IN_FORCE.get(str(o.get("f")), None if otype.is_trigger else TimeInForce.GTC),
            reduce_only=_bool(o.get("R")) or _bool(o.get("cp")),
            trigger_price=stop if otype.is_trigger and stop else None, time_ms=int(o.get("T") or msg.get("E") or 0),
        )
        out.append(OrderUpdate(venue=venue, account=account, order=update, time_ms=int(msg.get("E") or 0),
                               reason=str(o.get("x") or "")))
        if o.get("x") == "TRADE" and D(o.get("l", "0")) > 0:
            out.append(Fill(
                venue=venue, account=account, symbol=update.symbol, trade_id=int(o["t"]), oid=update.oid,
                side=update.side, price=D(o["L"]), size=D(o["l"]), fee=D(o.get("n", "0")),
                time_ms=int(o.get("T") or 0), cloid=update.cloid, closed_pnl=D_or_none(o.get("rp")),
                fee_token=str(o.get("N") or "USDT"), is_taker=not _bool(o.get("m")),
                liquidation=str(o.get("c", "")).startswith("autoclose-"),
            ))
    elif kind == "ACCOUNT_UPDATE":
        a = msg.get("a") or {}
        for b in a.get("B") or ():
            out.append(BalanceUpdate(venue=venue, account=account, asset=str(b["a"]), time_ms=int(msg.get("E") or 0),
                                     total=D(b["wb"]), reason=str(a.get("m") or "")))
    return out
