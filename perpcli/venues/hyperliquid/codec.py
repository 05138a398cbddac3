"""Hyperliquid JSON -> domain types, and domain orders -> action items. Pure: no I/O, no clock.

Venue dicts stop here. Everything the rest of perpcli sees is an Instrument, a BookSnapshot,
a Fill, an Order, an AccountSnapshot, an Ack... Times come from the venue's own fields or
are passed in by the caller.

An answer that is not in the shape the protocol promises (a missing key, a wrong type, a
number that is NaN, infinite, or negative where only a price or size can be) is
`MalformedAnswer`, never data and never a crash: for a read it is a one-line network error
(exit 5; nothing changed, safe to retry); on the /exchange path the caller treats it as an
unknown outcome and settles it by client order id.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from perpcli.domain.errors import NetworkError
from perpcli.domain.events import (
    AccountSnapshot,
    Balance,
    BookSnapshot,
    Fill,
    FundingPayment,
    MarkPrice,
    OrderUpdate,
    PositionSnapshot,
    Trade,
)
from perpcli.domain.instrument import Instrument, MarginMode, MarginTable, MarginTier, PriceBand
from perpcli.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from perpcli.venues.base import Ack, AckStatus, Candle, FundingRate, KeyRole
from perpcli.venues.hyperliquid.errors import error_kind, status_kind
from perpcli.venues.hyperliquid.underlyings import canonical_underlying

ZERO = Decimal(0)
MIN_ORDER_VALUE = Decimal(10)
PRICE_SIG_FIGS = 5
PERP_MAX_PRICE_DECIMALS = 6  # a perp price has at most 6 - szDecimals decimals (spot: 8 - szDecimals)
# A limit price more than 80% away from the reference price is refused (protocol notes §d.3).
PRICE_BAND = PriceBand(below=Decimal("0.8"), above=Decimal("0.8"))
HIP3_BASE = 100_000
HIP3_DEX_STRIDE = 10_000
SPOT_BASE = 10_000


class MalformedAnswer(NetworkError):
    """The venue's answer is not in the shape its protocol promises.

    A NetworkError (exit 5) because that is right for every read: nothing changed and a
    retry may get a good answer. The /exchange path (trading.py) must not let it escape as
    such: there the request has left, so it is settled or reported as an unknown outcome.
    """

    retryable = False
    located = False  # True once the message names the venue and the answer


_F = TypeVar("_F", bound=Callable[..., Any])


def answer_of(what: str) -> Callable[[_F], _F]:
    """Decorate a decoder of one venue answer: a missing key, a wrong type or a bad number in
    its input becomes MalformedAnswer naming the venue (the `venue` argument, when there
    is one) and what was being read."""

    def wrap(fn: _F) -> _F:
        @functools.wraps(fn)
        def decode(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except MalformedAnswer as e:
                if e.located:  # an inner decoder already said where
                    raise
                detail = e.message
            except (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError) as e:
                detail = f"missing field {e}" if isinstance(e, KeyError) else f"{type(e).__name__}: {e}"
            located = MalformedAnswer(f"{kwargs.get('venue', 'the venue')}: malformed {what}: {detail}"[:300])
            located.located = True
            raise located from None

        return decode  # type: ignore[return-value]

    return wrap


MAX_EXPONENT = 40  # no price, size or balance needs more than 1e40 nor finer than 1e-40


def D(value: Any) -> Decimal:
    """Decimal from a venue string (or int); the venue never sends floats for money, nor NaN,
    infinities or absurd exponents (MalformedAnswer: such a number must never reach a
    comparison or an arithmetic context)."""
    if isinstance(value, Decimal):
        out = value
    elif isinstance(value, float):  # pragma: no cover - defensive: json is parsed with parse_float=Decimal
        out = Decimal(str(value))
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        try:
            out = Decimal(value)
        except InvalidOperation:
            raise MalformedAnswer(f"{value!r:.40} is not a number") from None
    else:
        raise MalformedAnswer(f"{value!r:.40} is not a number")
    if not out.is_finite():
        raise MalformedAnswer(f"{value!r:.40} is not a finite number")
    if out and not -MAX_EXPONENT <= out.adjusted() <= MAX_EXPONENT:  # "1e999999999" would overflow later
        raise MalformedAnswer(f"{value!r:.40} is out of any sane range")
    return out


def P(value: Any, field: str) -> Decimal:
    """A price or size: finite and not negative, else MalformedAnswer naming the field."""
    try:
        out = D(value)
    except MalformedAnswer as e:
        raise MalformedAnswer(f"{field}: {e.message}") from None
    if out < 0:
        raise MalformedAnswer(f"{field}: {value!r:.40} is negative")
    return out


def D_or_none(value: Any) -> Decimal | None:
    return None if value is None else D(value)


def P_or_none(value: Any, field: str) -> Decimal | None:
    return None if value is None else P(value, field)


def side_of(wire_side: str) -> Side:
    return Side.BUY if wire_side == "B" else Side.SELL


# ----- instruments ---------------------------------------------------------------------------


def asset_id(dex_index: int, index_in_dex: int) -> int:
    """Default dex: the index; builder dex i (i >= 1): 100000 + i*10000 + index."""
    if dex_index == 0:
        return index_in_dex
    return HIP3_BASE + dex_index * HIP3_DEX_STRIDE + index_in_dex


@answer_of("meta")
def margin_tables(meta: dict) -> dict[int, MarginTable]:
    out: dict[int, MarginTable] = {}
    for entry in meta.get("marginTables") or []:
        table_id, body = entry[0], entry[1]
        tiers = tuple(
            MarginTier(D(t["lowerBound"]), int(t["maxLeverage"])) for t in body.get("marginTiers") or []
        )
        if tiers:
            try:
                out[int(table_id)] = MarginTable(tiers)
            except ValueError:
                continue  # a malformed table: fall back to the asset's max leverage
    return out


@answer_of("meta")
def instruments_from_meta(
    meta: dict, *, venue: str, dex_index: int = 0, token_names: Sequence[str] = ()
) -> tuple[list[Instrument], frozenset[str]]:
    """Every perp of one dex, keeping delisted ones (array index = asset id), and their names.

    `token_names` (spot tokens by index) name a builder dex's collateral when it is not USDC
    (token 0); without them such a dex's quote reads "token <index>".
    """
    tables = margin_tables(meta)
    token = int(meta.get("collateralToken") or 0)
    quote = token_names[token] if token < len(token_names) else "USDC" if token == 0 else f"token {token}"
    out: list[Instrument] = []
    delisted: set[str] = set()
    for i, a in enumerate(meta.get("universe") or []):
        name = a["name"]
        sz_dec = int(a["szDecimals"])
        max_lev = int(a["maxLeverage"])
        table_id = a.get("marginTableId")
        table = tables.get(int(table_id)) if table_id is not None else None
        underlying, multiplier, aliases = canonical_underlying(name)
        out.append(
            Instrument(
                venue=venue,
                symbol=name,
                underlying=underlying,
                asset_id=asset_id(dex_index, i),
                lot_size=Decimal(1).scaleb(-sz_dec),
                max_leverage=max_lev,
                price_sig_figs=PRICE_SIG_FIGS,
                price_max_decimals=PERP_MAX_PRICE_DECIMALS - sz_dec,
                min_notional=MIN_ORDER_VALUE,
                margin_table=table,
                only_isolated=bool(a.get("onlyIsolated")) or a.get("marginMode") in ("strictIsolated", "noCross"),
                quote=quote,
                multiplier=multiplier,
                aliases=aliases,
                price_band=PRICE_BAND,
            )
        )
        if a.get("isDelisted"):
            delisted.add(name)
    return out, frozenset(delisted)


@answer_of("metaAndAssetCtxs")
def meta_and_ctxs(data: Any, *, venue: str) -> tuple[dict, list]:
    """The [meta, asset contexts] pair, checked for shape (the decoders above read into it)."""
    meta, ctxs = data
    if not isinstance(meta, dict) or not isinstance(meta.get("universe"), list) or not isinstance(ctxs, list):
        raise MalformedAnswer(f"expected [meta, contexts], got {data!r:.80}")
    return meta, ctxs


@answer_of("perpDexs")
def perp_dex_names(perp_dexs: Sequence[Any] | None) -> list[str]:
    """Names by dex index; index 0 (the default dex, sent as null) is ""."""
    names = [""]
    for entry in list(perp_dexs or [])[1:]:
        names.append(entry["name"] if isinstance(entry, dict) else "")
    return names


def size_decimals(inst: Instrument) -> int:
    return inst.size_decimals


# ----- market data ---------------------------------------------------------------------------


def _levels(side: Iterable[dict]) -> tuple[tuple[Decimal, Decimal], ...]:
    return tuple((P(lv["px"], "px"), P(lv["sz"], "sz")) for lv in side)


@answer_of("l2Book")
def book_snapshot(data: dict, *, venue: str) -> BookSnapshot:
    levels = data.get("levels") or [[], []]
    bids = levels[0] if len(levels) > 0 else []
    asks = levels[1] if len(levels) > 1 else []
    return BookSnapshot(
        venue=venue, symbol=str(data["coin"]), bids=_levels(bids), asks=_levels(asks), time_ms=int(data.get("time", 0))
    )


def book_answer(data: dict, *, venue: str) -> BookSnapshot:
    """An /info l2Book answer, refused when crossed (best bid >= best ask): the venue's
    matching engine never leaves its book crossed, so such an answer is tampered or broken
    and must not be shown (or priced from) as a book. Streams keep `book_snapshot`: their
    books check crossing themselves and resync (ledger/book.py)."""
    snap = book_snapshot(data, venue=venue)
    if snap.bids and snap.asks and snap.bids[0][0] >= snap.asks[0][0]:
        raise MalformedAnswer(
            f"{venue}: l2Book for {snap.symbol} is crossed (best bid {snap.bids[0][0]} >= best ask"
            f" {snap.asks[0][0]}); refusing to show it as a book"
        )
    return snap


@answer_of("trades")
def trades(rows: Iterable[dict], *, venue: str) -> list[Trade]:
    return [
        Trade(
            venue=venue,
            symbol=r["coin"],
            side=side_of(r["side"]),
            price=P(r["px"], "px"),
            size=P(r["sz"], "sz"),
            time_ms=int(r["time"]),
            trade_id=int(r["tid"]),
        )
        for r in rows
    ]


@answer_of("allMids")
def mids(data: dict) -> dict[str, Decimal]:
    src = data.get("mids", data) if isinstance(data, dict) else {}
    return {k: P(v, f"mid of {k}") for k, v in src.items()}


@answer_of("metaAndAssetCtxs")
def mark_prices(meta: dict, ctxs: Sequence[dict], *, venue: str, time_ms: int) -> list[MarkPrice]:
    return [_mark_of(a["name"], c, venue, time_ms) for a, c in zip(meta.get("universe") or [], ctxs, strict=False)]


@answer_of("activeAssetCtx")
def active_asset_ctx(data: dict, *, venue: str) -> MarkPrice:
    """One perp market's context pushed on the websocket ({"coin", "ctx"}). The frame carries no
    time (time_ms 0): its freshness is the feed's, which the stream session tracks."""
    return _mark_of(str(data["coin"]), data["ctx"], venue, 0)


def _mark_of(symbol: str, c: dict, venue: str, time_ms: int) -> MarkPrice:
    return MarkPrice(
        venue=venue,
        symbol=symbol,
        mark_price=P(c["markPx"], "markPx"),
        time_ms=time_ms,
        oracle_price=P_or_none(c.get("oraclePx"), "oraclePx"),
        mid_price=P_or_none(c.get("midPx"), "midPx"),
        funding_rate=D_or_none(c.get("funding")),
        open_interest=D_or_none(c.get("openInterest")),
    )


@answer_of("funding")
def funding_rates(
    meta: dict, ctxs: Sequence[dict], predicted: Sequence[Any] | None = None
) -> list[FundingRate]:
    """Current hourly funding from asset contexts; the predicted rate from predictedFundings
    (its "HlPerp" venue entry), when the venue answered it."""
    pred: dict[str, tuple[Decimal, int | None]] = {}
    for row in predicted or []:
        try:
            coin, venues = row[0], row[1]
        except (IndexError, TypeError, KeyError):
            continue
        for venue_row in venues or []:
            if venue_row and venue_row[0] == "HlPerp" and venue_row[1]:
                info = venue_row[1]
                nxt = info.get("nextFundingTime")
                pred[coin] = (D(info["fundingRate"]), int(nxt) if nxt is not None else None)
    out = []
    for a, c in zip(meta.get("universe") or [], ctxs, strict=False):
        if a.get("isDelisted"):
            continue
        p = pred.get(a["name"])
        out.append(
            FundingRate(
                symbol=a["name"],
                rate=D(c.get("funding") or 0),
                interval_hours=1,
                predicted_rate=p[0] if p else None,
                next_time_ms=p[1] if p else None,
            )
        )
    return out


@answer_of("candleSnapshot")
def candles(rows: Iterable[dict]) -> list[Candle]:
    return [
        Candle(
            symbol=r["s"],
            interval=r["i"],
            open_ms=int(r["t"]),
            close_ms=int(r["T"]),
            open=P(r["o"], "o"),
            high=P(r["h"], "h"),
            low=P(r["l"], "l"),
            close=P(r["c"], "c"),
            volume=P(r["v"], "v"),
            trades=int(r.get("n", 0)),
        )
        for r in rows
    ]


# ----- orders, fills, account ----------------------------------------------------------------

_ORDER_TYPES = {
    "Limit": OrderType.LIMIT,
    "Market": OrderType.MARKET,
    "Stop Market": OrderType.STOP_MARKET,
    "Stop Limit": OrderType.STOP_LIMIT,
    "Take Profit Market": OrderType.TAKE_PROFIT_MARKET,
    "Take Profit Limit": OrderType.TAKE_PROFIT_LIMIT,
}
_TIFS = {"Gtc": TimeInForce.GTC, "Ioc": TimeInForce.IOC, "Alo": TimeInForce.ALO, "FrontendMarket": TimeInForce.IOC}


def order_status(word: str) -> OrderStatus:
    """The venue's status word (orderStatus, historicalOrders, orderUpdates) -> lifecycle status."""
    if word == "open":
        return OrderStatus.OPEN
    if word == "filled":
        return OrderStatus.FILLED
    if word == "triggered":
        return OrderStatus.TRIGGERED
    if word == "rejected" or word.endswith("Rejected"):
        return OrderStatus.REJECTED
    # canceled, marginCanceled, scheduledCancel, internalCancel, ... : all cancellations
    return OrderStatus.CANCELED


def order(row: dict, *, venue: str, status: OrderStatus = OrderStatus.OPEN, time_ms: int | None = None) -> Order:
    size = D(row.get("sz", "0"))
    orig = D(row.get("origSz", row.get("sz", "0")))
    if status is OrderStatus.OPEN and size < orig:
        status = OrderStatus.PARTIALLY_FILLED
    trigger = row.get("triggerPx")
    is_trigger = bool(row.get("isTrigger"))
    return Order(
        venue=venue,
        symbol=row["coin"],
        side=side_of(row["side"]),
        price=D(row["limitPx"]),
        size=size,
        orig_size=orig,
        status=status,
        oid=str(row["oid"]),
        cloid=row.get("cloid") or None,
        order_type=_ORDER_TYPES.get(row.get("orderType", "Limit"), OrderType.LIMIT),
        tif=_TIFS.get(row.get("tif") or "", None if is_trigger else TimeInForce.GTC),
        reduce_only=bool(row.get("reduceOnly")),
        trigger_price=D(trigger) if is_trigger and trigger not in (None, "0", "0.0") else None,
        time_ms=int(row.get("timestamp", 0)) if time_ms is None else time_ms,
    )


@answer_of("open orders")
def open_orders(rows: Iterable[dict], *, venue: str) -> list[Order]:
    """frontendOpenOrders rows. A bracket whose entry rests holds its TP/SL under the entry's
    `children` (they are not listed on their own until it fills): each is listed after its
    parent, naming it in `parent_oid`."""
    out = []
    for r in rows:
        parent = order(r, venue=venue)
        out.append(parent)
        out.extend(replace(order(c, venue=venue), parent_oid=parent.oid) for c in r.get("children") or ())
    return out


def fill(row: dict, *, venue: str, account: str) -> Fill:
    return Fill(
        venue=venue,
        account=account,
        symbol=row["coin"],
        trade_id=int(row["tid"]),
        oid=str(row["oid"]) if row.get("oid") is not None else None,
        side=side_of(row["side"]),
        price=D(row["px"]),
        size=D(row["sz"]),
        fee=D(row.get("fee", "0")),
        time_ms=int(row["time"]),
        cloid=row.get("cloid") or None,
        closed_pnl=D_or_none(row.get("closedPnl")),
        fee_token=row.get("feeToken", "USDC"),
        liquidation=bool(row.get("liquidation")),
        is_taker=bool(row.get("crossed", True)),
    )


@answer_of("fills")
def fills(rows: Iterable[dict], *, venue: str, account: str) -> list[Fill]:
    return [fill(r, venue=venue, account=account) for r in rows]


@answer_of("funding history")
def funding_payments(rows: Iterable[dict], *, venue: str, account: str) -> list[FundingPayment]:
    out = []
    for r in rows:
        delta = r.get("delta", r)
        if delta.get("type", "funding") != "funding":
            continue
        out.append(
            FundingPayment(
                venue=venue,
                account=account,
                symbol=delta["coin"],
                amount=D(delta["usdc"]),
                rate=D(delta["fundingRate"]),
                position_size=D(delta["szi"]),
                time_ms=int(r.get("time", delta.get("time", 0))),
            )
        )
    return out


def position(p: dict) -> PositionSnapshot:
    lev = p.get("leverage") or {}
    mode = MarginMode.ISOLATED if lev.get("type") == "isolated" else MarginMode.CROSS
    cum = p.get("cumFunding") or {}
    return PositionSnapshot(
        symbol=p["coin"],
        size=D(p["szi"]),
        entry_price=D(p.get("entryPx") or 0),
        margin_mode=mode,
        leverage=int(lev["value"]) if "value" in lev else None,
        isolated_margin=D(p["marginUsed"]) if mode is MarginMode.ISOLATED else None,
        unrealized_pnl=D_or_none(p.get("unrealizedPnl")),
        liquidation_price=D_or_none(p.get("liquidationPx")),
        funding_since_open=D_or_none(cum.get("sinceOpen")),
    )


@answer_of("clearinghouseState")
def position_marks(state: dict) -> dict[str, Decimal]:
    """Mark price per position as the venue valued it: positionValue / |szi| (exact by definition)."""
    out: dict[str, Decimal] = {}
    for ap in state.get("assetPositions") or []:
        p = ap["position"]
        size = abs(D(p["szi"]))
        if size and p.get("positionValue") is not None:
            out[p["coin"]] = D(p["positionValue"]) / size
    return out


@answer_of("spotClearinghouseState")
def spot_balances(answer: Any, *, venue: str) -> list[dict]:
    """The balance rows of a spotClearinghouseState answer (none when the venue has none)."""
    if answer is None:
        return []
    rows = answer["balances"] if isinstance(answer, dict) and "balances" in answer else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise MalformedAnswer(f"expected an object with a balances list, got {answer!r:.80}")
    return rows


@answer_of("clearinghouseState")
def account_snapshot(
    state: dict,
    *,
    venue: str,
    account: str,
    orders: Sequence[Order] = (),
    spot_balances: Sequence[dict] = (),
) -> AccountSnapshot:
    """clearinghouseState (+ open orders, spot balances) -> AccountSnapshot.

    Cash USDC in the perp account = account value - unrealised PnL of every position.
    """
    positions = tuple(position(ap["position"]) for ap in state.get("assetPositions") or [])
    summary = state.get("marginSummary") or {}
    account_value = D(summary.get("accountValue", "0"))
    upnl = sum((p.unrealized_pnl or ZERO for p in positions), ZERO)
    balances = [Balance("USDC", account_value - upnl)]
    for b in spot_balances:
        balances.append(Balance(f"spot:{b['coin']}", D(b["total"]), D(b.get("hold", "0"))))
    return AccountSnapshot(
        venue=venue,
        account=account,
        time_ms=int(state.get("time", 0)),
        balances=tuple(balances),
        positions=positions,
        open_orders=tuple(orders),
        account_value=account_value,
        withdrawable=D_or_none(state.get("withdrawable")),
        margin_used=D_or_none(summary.get("totalMarginUsed")),
    )


@answer_of("activeAssetData")
def leverage_setting(data: Any) -> tuple[int | None, bool]:
    """activeAssetData -> (leverage, is_cross); (None, True) when absent."""
    lev = (data or {}).get("leverage") if isinstance(data, dict) else None
    if not isinstance(lev, dict) or "value" not in lev:
        return None, True
    return int(lev["value"]), lev.get("type") != "isolated"


@answer_of("userRole")
def agent_master(role: dict, *, venue: str) -> str | None:
    """The master account of an agent's userRole answer ({"role": "agent", "data": {"user"}})."""
    data = role.get("data") or {}
    if not isinstance(data, dict):
        raise MalformedAnswer(f"agent role without a data object: {role!r:.80}")
    return str(data["user"]) if data.get("user") else None


@answer_of("userRole")
def key_role(signer: str, role: dict, extra_agents: Sequence[dict] | None = None) -> KeyRole:
    """userRole (+ the master's extraAgents, for names and expiry) -> KeyRole."""
    kind = role.get("role", "missing") if isinstance(role, dict) else "missing"
    data = role.get("data") or {} if isinstance(role, dict) else {}
    signer = signer.lower()
    if kind == "user":
        return KeyRole(signer=signer, role="user", account=signer)
    if kind == "agent":
        master = str(data.get("user", "")).lower() or None
        name = None
        valid = None
        for a in extra_agents or []:
            if str(a.get("address", "")).lower() == signer:
                name = a.get("name") or None
                valid = int(a["validUntil"]) if a.get("validUntil") is not None else None
        return KeyRole(signer=signer, role="agent", account=master, agent_name=name, valid_until_ms=valid)
    if kind == "subAccount":
        return KeyRole(signer=signer, role="subAccount", account=None)
    if kind == "vault":
        return KeyRole(signer=signer, role="vault", account=None)
    return KeyRole(signer=signer, role="missing", account=None)


# ----- /exchange answers ---------------------------------------------------------------------


def recovered_address(error: str) -> str | None:
    """The 0x-address in "User or API Wallet 0x… does not exist." / "… User: 0x…", lowercased."""
    i = error.find("0x")
    while i >= 0:
        cand = error[i:i + 42]
        if len(cand) == 42 and all(c in "0123456789abcdefABCDEF" for c in cand[2:]):
            return cand.lower()
        i = error.find("0x", i + 2)
    return None


def exchange_error(resp: dict) -> str | None:
    """The action-level error text, or None when the venue said ok. Anything but an
    `{"status": "ok" | "err", "response": ...}` object is MalformedAnswer: `{}` or a foreign
    object is not a refusal, and must not be reported as one when the action may have run."""
    if not isinstance(resp, dict):
        raise MalformedAnswer(f"/exchange answer is not an object: {resp!r:.80}")
    status = resp.get("status")
    if status == "ok":
        return None
    if status != "err" or "response" not in resp:
        raise MalformedAnswer(f"/exchange answer without a status ok/err and response: {resp!r:.120}")
    return str(resp["response"])


def _ok_data(resp: dict, kind: str) -> dict:
    """The `data` object of an ok answer whose response type is `kind`, else MalformedAnswer."""
    body = resp.get("response")
    if not isinstance(body, dict) or body.get("type") != kind or not isinstance(body.get("data"), dict):
        raise MalformedAnswer(f"an ok answer without a {kind!r} response and its data: {body!r:.120}")
    return body["data"]


@answer_of("/exchange order answer")
def order_acks(resp: dict, requests: Sequence[tuple[str | None, Decimal]]) -> list[Ack]:
    """Per-order acks for an order/batchModify answer. `requests` = (cloid, size) per order sent.

    One error for a whole batch (pre-validation) is applied to every order.
    """
    err = exchange_error(resp)
    if err is not None:
        return [Ack(AckStatus.REJECTED, cloid=c, error=err, error_kind=error_kind(err)) for c, _ in requests]
    statuses = _ok_data(resp, "order").get("statuses")
    if not isinstance(statuses, list):
        raise MalformedAnswer(f"order answer without a statuses list: {statuses!r:.80}")
    if len(statuses) != len(requests):
        only = statuses[0] if len(statuses) == 1 else None
        if isinstance(only, dict) and set(only) == {"error"}:  # one pre-validation error for the batch
            text = str(only["error"])
            return [Ack(AckStatus.REJECTED, cloid=c, error=text, error_kind=error_kind(text)) for c, _ in requests]
        raise MalformedAnswer(f"{len(statuses)} statuses for {len(requests)} orders")
    return [_ack(s, cloid, size) for s, (cloid, size) in zip(statuses, requests, strict=True)]


_WAITING = ("waitingForFill", "waitingForTrigger")  # grouped TP/SL children


def _ack(s: Any, cloid: str | None, size: Decimal) -> Ack:
    """One order's status. Anything unrecognised is MalformedAnswer, so the caller settles the
    order by its cloid instead of guessing."""
    if isinstance(s, str) and s in _WAITING:
        return Ack(AckStatus.ACCEPTED, cloid=cloid)
    if isinstance(s, dict) and len(s) == 1:
        if isinstance(r := s.get("resting"), dict):
            return Ack(AckStatus.RESTING, cloid=r.get("cloid", cloid), oid=str(int(r["oid"])))
        if isinstance(f := s.get("filled"), dict):
            total = P(f["totalSz"], "totalSz")
            status = AckStatus.FILLED if total >= size else AckStatus.PARTIALLY_FILLED
            return Ack(status, cloid=f.get("cloid", cloid), oid=str(int(f["oid"])), filled=total,
                       avg_price=P(f["avgPx"], "avgPx"))
        if "error" in s:
            text = str(s["error"])
            return Ack(AckStatus.REJECTED, cloid=cloid, error=text, error_kind=error_kind(text))
    raise MalformedAnswer(f"unrecognised order status {s!r:.80}")


# What an ok answer to a non-order action we send says it is: "default" for leverage, margin,
# transfers, agents, the dead man's switch and noop; TWAPs carry their own type.
_ACTION_ANSWER_TYPES = ("default", "twapOrder", "twapCancel")


@answer_of("/exchange answer")
def action_result(resp: dict) -> tuple[bool, str | None, dict]:
    """A non-order action's answer -> (ok, error, detail). twapOrder/twapCancel carry their own
    per-action status inside an ok envelope."""
    err = exchange_error(resp)
    if err is not None:
        return False, err, {}
    body = resp.get("response")
    if not isinstance(body, dict) or body.get("type") not in _ACTION_ANSWER_TYPES:
        raise MalformedAnswer(f"an ok answer of no action type we send: {body!r:.80}")
    if body.get("type") in ("twapOrder", "twapCancel"):
        status = (body.get("data") or {}).get("status")
        if isinstance(status, dict):
            if "error" in status:
                return False, str(status["error"]), {}
            if "running" in status:
                return True, None, {"twap_id": int(status["running"]["twapId"])}
    return True, None, {}


@answer_of("/exchange cancel answer")
def cancel_errors(resp: dict, count: int) -> list[str | None]:
    """Per-cancel error (None = success)."""
    err = exchange_error(resp)
    if err is not None:
        return [err] * count
    statuses = _ok_data(resp, "cancel").get("statuses")
    if not isinstance(statuses, list) or not statuses or len(statuses) not in (1, count):
        raise MalformedAnswer(f"cancel answer with statuses {statuses!r:.80} for {count} cancels")
    out: list[str | None] = []
    for i in range(count):
        s = statuses[i] if i < len(statuses) else statuses[0]
        if s == "success":
            out.append(None)
        elif isinstance(s, dict) and "error" in s:
            out.append(str(s["error"]))
        else:
            raise MalformedAnswer(f"unrecognised cancel status {s!r:.80}")
    return out


@answer_of("orderStatus")
def status_ack(resp: dict, *, cloid: str | None = None) -> Ack | None:
    """orderStatus answer -> the order's settled state; None when the venue never saw it."""
    if not isinstance(resp, dict) or resp.get("status") != "order":
        return None
    inner = resp.get("order") or {}
    row = inner.get("order") or {}
    word = inner.get("status", "")
    st = order_status(word)
    orig = D(row.get("origSz", row.get("sz", "0")))
    remaining = D(row.get("sz", "0"))
    filled = orig - remaining if st is not OrderStatus.FILLED else orig
    oid = str(row["oid"]) if row.get("oid") is not None else None
    cl = row.get("cloid") or cloid
    held = {"price": D(row["limitPx"]) if row.get("limitPx") is not None else None, "size": orig,
            "time_ms": int(row["timestamp"]) if row.get("timestamp") is not None else None}
    if st is OrderStatus.FILLED:
        return Ack(AckStatus.FILLED, cloid=cl, oid=oid, filled=filled, **held)
    if st in (OrderStatus.OPEN, OrderStatus.TRIGGERED):
        return Ack(AckStatus.PARTIALLY_FILLED if filled > 0 else AckStatus.RESTING, cloid=cl, oid=oid, filled=filled,
                   **held)
    if st is OrderStatus.REJECTED:
        return Ack(AckStatus.REJECTED, cloid=cl, oid=oid, error=word, error_kind=status_kind(word), **held)
    if filled > 0:
        return Ack(AckStatus.PARTIALLY_FILLED, cloid=cl, oid=oid, filled=filled, error=word,
                   error_kind=status_kind(word), **held)
    return Ack(AckStatus.CANCELED, cloid=cl, oid=oid, error=word, error_kind=status_kind(word), **held)


# ----- websocket frames ----------------------------------------------------------------------


def order_updates(rows: Iterable[dict], *, venue: str, account: str) -> list[OrderUpdate]:
    out = []
    for r in rows:
        word = r.get("status", "open")
        st = order_status(word)
        ts = int(r.get("statusTimestamp", 0))
        out.append(
            OrderUpdate(
                venue=venue,
                account=account,
                order=order(r["order"], venue=venue, status=st),
                time_ms=ts,
                reason=word if word not in ("open", "filled", "canceled", "triggered", "rejected") else "",
            )
        )
    return out


@answer_of("websocket message")
def ws_events(msg: dict, *, venue: str, account: str = "") -> tuple[str, list[Any], bool]:
    """One websocket message -> (channel, domain events, is_snapshot).

    Unknown channels return no events; `subscriptionResponse` and `pong` are control messages.
    """
    channel = msg.get("channel", "")
    data = msg.get("data")
    if channel == "l2Book":
        return channel, [book_snapshot(data, venue=venue)], True
    if channel == "trades":
        return channel, trades(data or [], venue=venue), False
    if channel == "userFills":
        user = str(data.get("user", account)).lower()
        return channel, fills(data.get("fills") or [], venue=venue, account=user), bool(data.get("isSnapshot"))
    if channel == "orderUpdates":
        return channel, order_updates(data or [], venue=venue, account=account), False
    if channel == "user":
        if "fills" in data:
            return channel, fills(data["fills"], venue=venue, account=account), False
        if "funding" in data:
            f = data["funding"]
            return channel, funding_payments([{"delta": {"type": "funding", **f}, "time": f.get("time", 0)}],
                                             venue=venue, account=account), False
        return channel, [], False
    if channel == "userFundings":
        user = str(data.get("user", account)).lower()
        rows = [{"delta": {"type": "funding", **f}, "time": f.get("time", 0)} for f in data.get("fundings") or []]
        return channel, funding_payments(rows, venue=venue, account=user), bool(data.get("isSnapshot"))
    return channel, [], False
