"""Aster market data JSON -> domain records (pure: no I/O, no clock).

Aster's REST and websocket shapes are Binance USD-M's: exchangeInfo symbols with filters,
depth snapshots with `lastUpdateId`, `depthUpdate` diffs with U/u/pu, aggTrades, premiumIndex
(mark, index, funding), fundingInfo (interval per symbol), klines as arrays. Numbers arrive as
strings (sometimes as JSON numbers); every one becomes a Decimal, never a float.

Order rules come from the filters, not from pricePrecision/quantityPrecision (the docs say
not to use those as tick/step): PRICE_FILTER.tickSize, LOT_SIZE.stepSize, MIN_NOTIONAL and
PERCENT_PRICE (a band around the mark). What a market tracks is its base asset, with the
"1000PEPE"-style prefixes read as a contract multiplier so exposure nets across venues.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from perpcli.domain.events import BookDiff, BookSnapshot, Level, MarkPrice, Trade
from perpcli.domain.instrument import Instrument, PriceBand
from perpcli.domain.orders import Side
from perpcli.venues.base import Candle, FundingRate

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
DEFAULT_FUNDING_INTERVAL_HOURS = 8  # Aster's usual interval; fundingInfo names the exceptions
DEFAULT_MAX_LEVERAGE = 20  # when exchangeInfo carries no requiredMarginPercent


def D(value: Any) -> Decimal:
    """Decimal from a venue string or JSON number (parsed as Decimal); never via float."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"not a venue number: {value!r}")
    return Decimal(value)


def D_or_none(value: Any) -> Decimal | None:
    return None if value is None or value == "" else D(value)


# ----- instruments ---------------------------------------------------------------------------

# "1000PEPE" is 1000 PEPE per contract; "1000000BOB", "1MBABYDOGE" a million.
_MULTIPLIER_PREFIX = re.compile(r"^(1000000|1000|1M)([A-Z][A-Z0-9]*)$")
_PREFIX_UNITS = {"1000": Decimal(1000), "1000000": Decimal(1_000_000), "1M": Decimal(1_000_000)}


def canonical_underlying(base_asset: str) -> tuple[str, Decimal, tuple[str, ...]]:
    """(underlying, units per contract, aliases) for an Aster base asset.

    "BTC" -> ("BTC", 1, ()); "1000PEPE" -> ("PEPE", 1000, ("1000PEPE",)); stock and metal
    perps already use the canonical ticker ("TSLA", "XAU").
    """
    m = _MULTIPLIER_PREFIX.match(base_asset)
    if m:
        return m.group(2), _PREFIX_UNITS[m.group(1)], (base_asset,)
    return base_asset, ONE, ()


def _filters(symbol: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {f["filterType"]: f for f in symbol.get("filters") or () if isinstance(f, Mapping) and "filterType" in f}


def _max_leverage(symbol: Mapping[str, Any]) -> int:
    """From the first bracket's initial margin percent (25% -> 4x); leverageBracket refines it."""
    required = D_or_none(symbol.get("requiredMarginPercent"))
    if required is None or required <= 0:
        return DEFAULT_MAX_LEVERAGE
    return max(1, int(HUNDRED / required))


def instrument(symbol: Mapping[str, Any], *, venue: str, asset_id: int) -> Instrument:
    """One exchangeInfo symbol -> Instrument with its order rules."""
    filters = _filters(symbol)
    price_filter = filters.get("PRICE_FILTER", {})
    lot = filters.get("LOT_SIZE", {})
    notional = filters.get("MIN_NOTIONAL", {})
    percent = filters.get("PERCENT_PRICE")
    band = None
    if percent is not None and "multiplierDown" in percent and "multiplierUp" in percent:
        band = PriceBand(below=ONE - D(percent["multiplierDown"]), above=D(percent["multiplierUp"]) - ONE)
    tick = D_or_none(price_filter.get("tickSize"))
    underlying, multiplier, aliases = canonical_underlying(str(symbol["baseAsset"]))
    return Instrument(
        venue=venue,
        symbol=str(symbol["symbol"]),
        underlying=underlying,
        asset_id=asset_id,
        lot_size=D(lot.get("stepSize", "1")),
        max_leverage=_max_leverage(symbol),
        tick_size=tick if tick is not None and tick > 0 else None,
        min_notional=D(notional.get("notional", notional.get("minNotional", "0"))),
        quote=str(symbol.get("marginAsset") or symbol.get("quoteAsset") or "USDT"),
        multiplier=multiplier,
        aliases=aliases,
        price_band=band,
    )


def instruments_from_exchange_info(info: Mapping[str, Any], *, venue: str) -> tuple[list[Instrument], frozenset[str]]:
    """Every perpetual in exchangeInfo (asset id = its position there) and the names not trading."""
    out: list[Instrument] = []
    halted: set[str] = set()
    for row in info.get("symbols") or ():
        if row.get("contractType", "PERPETUAL") != "PERPETUAL" or not row.get("baseAsset"):
            continue
        out.append(instrument(row, venue=venue, asset_id=len(out)))
        if row.get("status", "TRADING") != "TRADING":
            halted.add(str(row["symbol"]))
    return out, frozenset(halted)


def rate_limits(info: Mapping[str, Any]) -> dict[str, int]:
    """Per-minute limits by type ("REQUEST_WEIGHT", "ORDERS") from exchangeInfo.rateLimits.

    Only the one-minute windows: those are what the X-MBX-*-1M headers count against."""
    return {
        str(r["rateLimitType"]): int(r["limit"])
        for r in info.get("rateLimits") or ()
        if r.get("interval") == "MINUTE" and int(r.get("intervalNum", 1)) == 1 and "rateLimitType" in r
    }


# ----- books ---------------------------------------------------------------------------------


_NUMBERS: dict[str, Decimal] = {}  # price text -> Decimal: book prices repeat frame after frame
_NUMBERS_KEPT = 50_000


def _number(text: Any) -> Decimal:
    value = _NUMBERS.get(text) if text.__class__ is str else None
    if value is None:
        value = D(text)
        if text.__class__ is str:
            if len(_NUMBERS) >= _NUMBERS_KEPT:
                _NUMBERS.clear()
            _NUMBERS[text] = value
    return value


def _levels(rows: Iterable[Sequence[Any]]) -> tuple[Level, ...]:
    """[[price, size], ...] -> levels: the per-level hot path of every depth diff. Decimals are
    immutable, so a price level seen before shares its Decimal (sizes vary too much to)."""
    get = _NUMBERS.get
    dec = Decimal
    out = []
    for r in rows:
        p, q = r[0], r[1]
        out.append((get(p) or _number(p), dec(q) if q.__class__ is str else D(q)))
    return tuple(out)


def book_snapshot(depth: Mapping[str, Any], *, venue: str, symbol: str) -> BookSnapshot:
    """GET /fapi/v3/depth -> snapshot; `sequence` is lastUpdateId, which the diffs chain onto."""
    return BookSnapshot(
        venue=venue,
        symbol=symbol,
        bids=_levels(depth.get("bids") or ()),
        asks=_levels(depth.get("asks") or ()),
        time_ms=int(depth.get("T") or depth.get("E") or 0),
        sequence=int(depth["lastUpdateId"]),
    )


def depth_diff(event: Mapping[str, Any], *, venue: str) -> BookDiff:
    """A `depthUpdate` event -> BookDiff (U first id, u last id, pu the previous event's u)."""
    return BookDiff(
        venue=venue,
        symbol=str(event["s"]),
        bids=_levels(event.get("b") or ()),
        asks=_levels(event.get("a") or ()),
        first_seq=int(event["U"]),
        last_seq=int(event["u"]),
        prev_seq=int(event["pu"]) if event.get("pu") is not None else None,
        time_ms=int(event.get("T") or event.get("E") or 0),
    )


def book_ticker(row: Mapping[str, Any]) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(bid, bid size, ask, ask size) from REST bookTicker or the `@bookTicker` stream."""
    if "bidPrice" in row:
        return D(row["bidPrice"]), D(row["bidQty"]), D(row["askPrice"]), D(row["askQty"])
    return D(row["b"]), D(row["B"]), D(row["a"]), D(row["A"])


def mids(book_tickers: Iterable[Mapping[str, Any]]) -> dict[str, Decimal]:
    """Mid prices of every symbol whose BBO has both sides."""
    out: dict[str, Decimal] = {}
    for row in book_tickers:
        bid, _, ask, _ = book_ticker(row)
        if bid > 0 and ask > 0:
            out[str(row.get("symbol") or row.get("s"))] = (bid + ask) / 2
    return out


# ----- trades, marks, funding, candles --------------------------------------------------------


def _taker_side(buyer_is_maker: object) -> Side:
    """`m` true: the buyer was the maker, so the taker sold."""
    return Side.SELL if buyer_is_maker is True or buyer_is_maker == "true" else Side.BUY


def agg_trades(rows: Iterable[Mapping[str, Any]], *, venue: str, symbol: str) -> list[Trade]:
    """GET /fapi/v3/aggTrades rows ({a, p, q, f, l, T, m})."""
    return [
        Trade(venue=venue, symbol=symbol, side=_taker_side(r.get("m")), price=D(r["p"]), size=D(r["q"]),
              time_ms=int(r["T"]), trade_id=int(r["a"]))
        for r in rows
    ]


def agg_trade_event(event: Mapping[str, Any], *, venue: str) -> Trade:
    """An `aggTrade` stream event."""
    return Trade(venue=venue, symbol=str(event["s"]), side=_taker_side(event.get("m")), price=D(event["p"]),
                 size=D(event["q"]), time_ms=int(event["T"]), trade_id=int(event["a"]))


def mark_price(row: Mapping[str, Any], *, venue: str) -> MarkPrice:
    """A premiumIndex row or a `markPriceUpdate` event -> mark, index and current funding rate."""
    if "markPrice" in row:
        return MarkPrice(venue=venue, symbol=str(row["symbol"]), mark_price=D(row["markPrice"]),
                         time_ms=int(row.get("time") or 0), oracle_price=D_or_none(row.get("indexPrice")),
                         funding_rate=D_or_none(row.get("lastFundingRate")))
    return MarkPrice(venue=venue, symbol=str(row["s"]), mark_price=D(row["p"]), time_ms=int(row.get("E") or 0),
                     oracle_price=D_or_none(row.get("i")), funding_rate=D_or_none(row.get("r")))


def funding_intervals(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """GET /fapi/v3/fundingInfo -> hours between fundings, per symbol that is not the default."""
    return {str(r["symbol"]): int(r["fundingIntervalHours"]) for r in rows if r.get("fundingIntervalHours")}


def funding_rates(premium: Iterable[Mapping[str, Any]], intervals: Mapping[str, int]) -> list[FundingRate]:
    """premiumIndex rows + intervals -> the funding each symbol pays next, with its time."""
    out = []
    for r in premium:
        symbol = str(r["symbol"])
        rate = D_or_none(r.get("lastFundingRate"))
        if rate is None:
            continue
        next_time = r.get("nextFundingTime")
        out.append(FundingRate(symbol=symbol, rate=rate,
                               interval_hours=int(intervals.get(symbol, DEFAULT_FUNDING_INTERVAL_HOURS)),
                               next_time_ms=int(next_time) if next_time else None))
    return out


def candles(rows: Iterable[Sequence[Any]], *, symbol: str, interval: str) -> list[Candle]:
    """GET /fapi/v3/klines arrays: [open time, o, h, l, c, volume, close time, quote volume, trades, ...]."""
    return [
        Candle(symbol=symbol, interval=interval, open_ms=int(r[0]), close_ms=int(r[6]), open=D(r[1]), high=D(r[2]),
               low=D(r[3]), close=D(r[4]), volume=D(r[5]), trades=int(r[8]) if len(r) > 8 else 0)
        for r in rows
    ]


def kline_event(event: Mapping[str, Any]) -> Candle:
    """A `kline` stream event (its `k` object)."""
    k = event["k"]
    return Candle(symbol=str(k["s"]), interval=str(k["i"]), open_ms=int(k["t"]), close_ms=int(k["T"]), open=D(k["o"]),
                  high=D(k["h"]), low=D(k["l"]), close=D(k["c"]), volume=D(k["v"]), trades=int(k.get("n", 0)))
