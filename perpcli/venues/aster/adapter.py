"""The Aster adapter's keyless side: instruments, prices, books, trades, candles, funding.

It glues rest.py (I/O) and codec.py (JSON -> domain). exchangeInfo is read once per process
(it carries every symbol's order rules); prices are read per call. Offline signing is the
offline.py side, reachable without any of this.

Market streams (diff book with U/u/pu, trades) run through net/stream.py with stream.py's
protocol; the keyed side is trading.py.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpcli.domain.errors import UsageError, ValidationError
from perpcli.domain.events import BookSnapshot, MarkPrice, Trade
from perpcli.domain.instrument import Instrument
from perpcli.venues.aster import codec
from perpcli.venues.aster.rest import AsterRest
from perpcli.venues.base import Candle, FundingRate

if TYPE_CHECKING:
    from perpcli.ledger.fees import FeeRates
    from perpcli.ledger.margin_rules import BracketRules
    from perpcli.venues.aster.offline import AsterOffline
    from perpcli.venues.capabilities import Capabilities

CANDLE_INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M")
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
KLINES_MAX = 1500
# newClientOrderId must match ^[.A-Z:/a-z0-9_-]{1,36}$ (v3 docs)
_CLIENT_ID = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}\Z")


def new_client_id() -> str:
    """A fresh client order id: "perp-" + 24 hex (12 random bytes), within Aster's 36 chars."""
    return "perp-" + os.urandom(12).hex()


def _rows(answer: Any) -> list[Any]:
    """Binance-style endpoints answer one object when a symbol is given, a list otherwise."""
    if answer is None:
        return []
    return answer if isinstance(answer, list) else [answer]


def open_venue(config: Any) -> AsterMarketData:
    """Registry factory: build the keyless side from a VenueConfig."""
    return AsterMarketData(config.url, venue=config.name, network=config.network, ws_url=config.ws_url)


class AsterMarketData:
    """The keyless side of Aster."""

    def __init__(
        self,
        url: str,
        *,
        venue: str = "aster",
        network: str = "mainnet",
        ws_url: str = "",
        rest: AsterRest | None = None,
        clock_ms: Callable[[], int] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self.venue = venue
        self._network = network
        self.ws_url = ws_url
        self.rest = rest or AsterRest(self.url)
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self.sleep = sleep  # injectable: tests settle unknown outcomes without waiting
        self._instruments: dict[str, Instrument] | None = None
        self._halted: frozenset[str] = frozenset()
        self._maint_rates: dict[str, Decimal] = {}
        self._intervals: dict[str, int] | None = None
        # With a key (trading.py sets it): reads the signed leverageBracket table, once.
        self.bracket_source: Callable[[], Any] | None = None
        self._brackets: dict[str, BracketRules] | None = None

    @property
    def network(self) -> str:
        return self._network

    @property
    def capabilities(self) -> Capabilities:
        from perpcli.venues.aster.capabilities import aster_capabilities

        return aster_capabilities(self.venue, "Aster", self._network)

    def close(self) -> None:
        self.rest.close()

    def now_ms(self) -> int:
        return self._clock_ms()

    # ----- metadata -------------------------------------------------------------------------

    def _load(self) -> dict[str, Instrument]:
        if self._instruments is None:
            info = self.rest.public("/fapi/v3/exchangeInfo")
            insts, halted = codec.instruments_from_exchange_info(info, venue=self.venue)
            self._instruments = {i.symbol: i for i in insts}
            self._halted = halted
            for row in info.get("symbols") or ():
                rate = codec.D_or_none(row.get("maintMarginPercent"))
                if rate is not None and rate > 0:
                    self._maint_rates[str(row["symbol"])] = rate / 100
            limits = codec.rate_limits(info)
            if "REQUEST_WEIGHT" in limits:
                self.rest.weight_limit = limits["REQUEST_WEIGHT"]
        return self._instruments

    def instruments(self, *, include_builder_dexes: bool = False) -> list[Instrument]:
        return [i for i in self._load().values() if i.symbol not in self._halted]

    def instrument(self, market: str) -> Instrument:
        """The market a name designates: the symbol ("BTCUSDT"), any case, or what it tracks ("BTC")."""
        from perpcli.domain.market_lookup import find_market

        insts = self._load()
        exact = insts.get(market)
        if exact is not None and market not in self._halted:
            return exact
        inst = find_market(market, self.instruments())
        if inst is None:
            if market.upper() in self._halted:
                raise ValidationError(f"market {market} is not trading on {self.venue}", rule="market-closed")
            raise ValidationError(f"unknown market {market!r} on {self.venue} (see `perp markets`)",
                                  rule="unknown-market")
        return inst

    # ----- prices ---------------------------------------------------------------------------

    def mids(self, markets: Sequence[str] | None = None) -> dict[str, Decimal]:
        if markets and len(markets) == 1:
            symbol = self.instrument(markets[0]).symbol
            rows = _rows(self.rest.public("/fapi/v3/ticker/bookTicker", {"symbol": symbol}))
        else:
            rows = _rows(self.rest.public("/fapi/v3/ticker/bookTicker"))
        out = codec.mids(rows)
        if markets:
            resolved = {m: self.instrument(m).symbol for m in markets}
            missing = [m for m, s in resolved.items() if s not in out]
            if missing:
                raise UsageError(f"no price for {', '.join(missing)} on {self.venue}")
            return {s: out[s] for s in resolved.values()}
        listed = self._load()
        return {k: v for k, v in out.items() if k in listed and k not in self._halted}

    def mark_prices(self, markets: Sequence[str] | None = None, *, fresh: bool = False) -> list[MarkPrice]:
        """premiumIndex: mark, index and current funding, of the given markets or of all."""
        if markets and len(markets) == 1:
            symbol = self.instrument(markets[0]).symbol
            rows = _rows(self.rest.public("/fapi/v3/premiumIndex", {"symbol": symbol}))
        else:
            rows = _rows(self.rest.public("/fapi/v3/premiumIndex"))
        marks = [codec.mark_price(r, venue=self.venue) for r in rows]
        if markets:
            wanted = {self.instrument(m).symbol for m in markets}
            return [m for m in marks if m.symbol in wanted]
        listed = self._load()
        return [m for m in marks if m.symbol in listed]

    def reference_prices(self, market: str) -> tuple[Decimal, Decimal]:
        """(mid, mark): the BBO mid (mark when one side is empty) and premiumIndex's mark."""
        symbol = self.instrument(market).symbol
        (mark,) = self.mark_prices([symbol]) or [None]
        if mark is None:
            raise UsageError(f"no mark price for {market} on {self.venue}")
        try:
            mid = self.mids([symbol])[symbol]
        except UsageError:
            mid = mark.mark_price
        return mid, mark.mark_price

    def book(self, market: str, depth: int = 20) -> BookSnapshot:
        symbol = self.instrument(market).symbol
        limit = next((n for n in DEPTH_LIMITS if n >= depth), DEPTH_LIMITS[-1])
        snap = codec.book_snapshot(self.rest.public("/fapi/v3/depth", {"symbol": symbol, "limit": limit}),
                                   venue=self.venue, symbol=symbol)
        if depth < len(snap.bids) or depth < len(snap.asks):
            snap = BookSnapshot(snap.venue, snap.symbol, snap.bids[:depth], snap.asks[:depth], snap.time_ms,
                                snap.sequence)
        return snap

    def recent_trades(self, market: str) -> list[Trade]:
        symbol = self.instrument(market).symbol
        rows = self.rest.public("/fapi/v3/aggTrades", {"symbol": symbol, "limit": 100}) or []
        return codec.agg_trades(rows, venue=self.venue, symbol=symbol)

    def candles(self, market: str, interval: str, start_ms: int, end_ms: int) -> list[Candle]:
        if interval not in CANDLE_INTERVALS:
            raise UsageError(f"interval must be one of {' '.join(CANDLE_INTERVALS)}, got {interval!r}")
        symbol = self.instrument(market).symbol
        rows = self.rest.public("/fapi/v3/klines", {"symbol": symbol, "interval": interval, "startTime": start_ms,
                                                    "endTime": end_ms, "limit": KLINES_MAX}) or []
        return codec.candles(rows, symbol=symbol, interval=interval)

    def funding(self, markets: Sequence[str] | None = None) -> list[FundingRate]:
        if self._intervals is None:
            self._intervals = codec.funding_intervals(self.rest.public("/fapi/v3/fundingInfo") or [])
        premium = self.rest.public("/fapi/v3/premiumIndex") or []
        rates = codec.funding_rates(premium, self._intervals)
        if markets:
            wanted = {self.instrument(m).symbol for m in markets}
            return [r for r in rates if r.symbol in wanted]
        listed = self._load()
        return [r for r in rates if r.symbol in listed]

    # ----- margin and fees -------------------------------------------------------------------

    def margin_rules(self, instrument: Instrument) -> BracketRules:
        """The symbol's maintenance brackets. With a key: the full table from the signed
        leverageBracket endpoint (read once per process). Keyless: only the first bracket, as
        exchangeInfo publishes it (max leverage from the initial margin percent, maintenance
        rate from maintMarginPercent) — right for positions inside it, too lenient beyond."""
        from perpcli.ledger.margin_rules import Bracket, BracketRules

        if self.bracket_source is not None:
            if self._brackets is None:
                from perpcli.venues.aster.codec_account import leverage_brackets

                self._brackets = leverage_brackets(self.bracket_source())
            full = self._brackets.get(instrument.symbol)
            if full is not None:
                return full
        self._load()
        mmr = self._maint_rates.get(instrument.symbol, Decimal(1) / (2 * instrument.max_leverage))
        return BracketRules(brackets=(Bracket(floor=Decimal(0), max_leverage=instrument.max_leverage, mmr=mmr,
                                              cum=Decimal(0)),))

    def default_fees(self) -> FeeRates:
        from perpcli.ledger.fees import PUBLIC_SCHEDULE, FeeRates

        return FeeRates(maker=Decimal("0.0001"), taker=Decimal("0.00035"), source=PUBLIC_SCHEDULE)

    # ----- streams ------------------------------------------------------------------------------

    async def depth_snapshot_text(self, sub: Any) -> str:
        """The REST depth snapshot a diff book resyncs from (StreamSession's snapshot fetcher),
        fetched in a worker thread so the stream keeps reading meanwhile."""
        import asyncio
        import json

        from perpcli.venues.aster.stream import DEPTH_SNAPSHOT_LIMIT

        symbol = sub.key[1]
        answer = await asyncio.to_thread(self.rest.public, "/fapi/v3/depth",
                                         {"symbol": symbol, "limit": DEPTH_SNAPSHOT_LIMIT})
        return json.dumps(answer, default=str)

    def live_feed(self, account: str = "") -> Any:
        """How to stream this venue through net.stream.StreamSession (TUI, `perp stream`)."""
        from perpcli.venues.aster.stream import AsterFeed

        return AsterFeed(self.ws_url or self.url, self.venue, self.depth_snapshot_text)

    def stream_book(self, market: str) -> Any:
        """BookSnapshots of one market as its diffs apply, plus ConnectionStatus events."""
        from perpcli.venues.aster import stream

        feed = self.live_feed()
        return stream.iterate(feed, self.venue, [feed.book(self.instrument(market).symbol)], books=True)

    def stream_trades(self, market: str) -> Any:
        from perpcli.venues.aster import stream

        feed = self.live_feed()
        return stream.iterate(feed, self.venue, [feed.trades(self.instrument(market).symbol)])

    # ----- ids, addresses, offline signing --------------------------------------------------

    def new_client_id(self) -> str:
        return new_client_id()

    def check_client_id(self, text: str, *, what: str = "cloid") -> str:
        if not isinstance(text, str) or not _CLIENT_ID.match(text):
            raise ValidationError(f"{what} {text[:40]!r} must be 1-36 characters of A-Z a-z 0-9 . : / _ -",
                                  rule="cloid")
        return text

    def check_address(self, text: str, *, what: str = "address") -> str:
        from perpcli.venues.aster.signing import checksum_address

        checksum_address(text)  # raises ValidationError naming the rule
        return text.lower()

    def offline(self) -> AsterOffline:
        from perpcli.venues.aster.offline import AsterOffline

        return AsterOffline(self.url, self._network)

    # ----- the keyed side -------------------------------------------------------------------

    def trading(self, signer: Any, *, options: Any = None, nonces: Any = None) -> Any:
        """The keyed side (trading.py), built only with a Signer."""
        from perpcli.venues.aster.trading import AsterTrading

        return AsterTrading(self, signer, options=options, nonces=nonces)
