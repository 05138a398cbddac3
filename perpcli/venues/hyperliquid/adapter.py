"""The Hyperliquid adapter's keyless side: instruments, prices, books, trades, candles, funding.

It glues rest.py (I/O) and codec.py (JSON -> domain). HIP-3 (builder-deployed) markets are
addressed by name ("xyz:GOLD"): the dex index comes from perpDexs and each dex's metadata is
fetched with `dex` set, so asset ids are never hard-coded. The keyed side is trading.py,
built from here with `trading(signer)`.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpcli.domain.errors import UsageError, ValidationError, VenueRejected
from perpcli.domain.events import (
    BookSnapshot,
    MarkPrice,
    Trade,
)
from perpcli.domain.instrument import Instrument
from perpcli.keys.signer import Signer
from perpcli.net.http1 import Limits
from perpcli.venues.base import Candle, FundingRate, KeyRole, TradingOptions
from perpcli.venues.hyperliquid import codec
from perpcli.venues.hyperliquid.endpoints import Endpoint, endpoint
from perpcli.venues.hyperliquid.rest import RestClient

if TYPE_CHECKING:
    from perpcli.keys.nonces import NonceAllocator
    from perpcli.venues.capabilities import Capabilities
    from perpcli.venues.hyperliquid.offline import HyperliquidOffline
    from perpcli.venues.hyperliquid.stream import HyperliquidFeed
    from perpcli.venues.hyperliquid.trading import HyperliquidTrading

CANDLE_INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "8h", "12h", "1d", "3d", "1w", "1M")


def new_cloid() -> str:
    """A fresh client order id: 0x + 32 hex (16 random bytes)."""
    return "0x" + os.urandom(16).hex()  # os.urandom, like `secrets`, without its import cost


def open_venue(config: Any) -> HyperliquidMarketData:
    """Registry factory: build the keyless side from a VenueConfig. HTTP bounds come from
    `config.options["http_limits"]` when given, else from the settings (net.*)."""
    ep = endpoint(config.url, config.network)
    limits = config.options.get("http_limits") if isinstance(getattr(config, "options", None), dict) else None
    if limits is None:
        from perpcli.config import settings

        limits = Limits.from_settings(settings.current().get)
    return HyperliquidMarketData(ep, venue=config.name, rest=RestClient(ep, limits=limits))


class HyperliquidMarketData:
    """The keyless side: instruments, prices, books, trades, candles, funding."""

    def __init__(
        self,
        ep: Endpoint,
        *,
        venue: str = "hyperliquid",
        rest: RestClient | None = None,
        clock_ms: Callable[[], int] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = ep
        self.venue = venue
        self.rest = rest or RestClient(ep)
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self.sleep = sleep  # injectable: tests settle unknown outcomes without waiting
        self._dex_names: list[str] | None = None
        self._instruments: dict[str, dict[str, Instrument]] = {}  # dex -> symbol -> Instrument
        self._delisted: dict[str, frozenset[str]] = {}
        self._meta_ctx: dict[str, tuple[dict, list]] = {}
        self._roles: dict[str, KeyRole] = {}  # signer -> whom it signs for (see known_role)

    @property
    def network(self) -> str:
        return self.endpoint.network

    @property
    def capabilities(self) -> Capabilities:
        """Built on demand: most commands never ask (it is a frozen record, costly to import)."""
        from perpcli.venues.hyperliquid.capabilities import hyperliquid_capabilities

        return hyperliquid_capabilities(self.venue, "Hyperliquid", self.endpoint.network)

    def close(self) -> None:
        self.rest.close()

    def begin_command(self) -> None:
        """A long-lived process (the session agent) reuses this object for many commands: keep
        the warm connection and the dex list, drop what one command may read once and trust
        (marks, funding, instrument rules), so no command prices an order from an older one."""
        self._instruments.clear()
        self._delisted.clear()
        self._meta_ctx.clear()
        # Not the key roles: whom a key signs for changes only by an approval or a revocation,
        # which the venue reports as a role error on the next signed request (forget_role);
        # asking again per command costs a userRole read, the heaviest /info weight.

    # ----- whom a key signs for, across commands -------------------------------------------

    def known_role(self, signer: str) -> KeyRole | None:
        """A registered role this object already learnt for `signer`, unless it has expired."""
        role = self._roles.get(signer.lower())
        if role is not None and role.valid_until_ms is not None and role.valid_until_ms <= self._clock_ms():
            self._roles.pop(signer.lower(), None)
            return None
        return role

    def remember_role(self, role: KeyRole) -> None:
        """Keep a registered role; an unknown key is asked again (it may be funded meanwhile)."""
        if role.registered:
            self._roles[role.signer.lower()] = role

    def forget_role(self, signer: str) -> None:
        """The venue refused a request as not authorised: ask whom the key signs for again."""
        self._roles.pop(signer.lower(), None)

    def now_ms(self) -> int:
        return self._clock_ms()

    # ----- metadata -------------------------------------------------------------------------

    def dex_names(self) -> list[str]:
        """"" for the default dex, then each builder (HIP-3) dex by index."""
        if self._dex_names is None:
            self._dex_names = codec.perp_dex_names(self.rest.info({"type": "perpDexs"}))
        return self._dex_names

    def _load_dex(self, dex: str) -> dict[str, Instrument]:
        """Instruments of one dex. One metaAndAssetCtxs call gives the rules and the current
        mark/mid/funding together, so an order needs one metadata round trip, not three."""
        if dex not in self._instruments:
            if dex == "":
                index = 0
            else:
                names = self.dex_names()
                if dex not in names:
                    known = ", ".join(n for n in names if n) or "none"
                    raise UsageError(f"unknown perp dex {dex!r} on {self.venue} (builder dexes: {known})")
                index = names.index(dex)
            meta, _ = self.meta_and_ctxs(dex)
            tokens = self._spot_token_names() if meta.get("collateralToken") else ()  # a non-USDC collateral
            insts, delisted = codec.instruments_from_meta(meta, venue=self.venue, dex_index=index, token_names=tokens)
            self._instruments[dex] = {i.symbol: i for i in insts}
            self._delisted[dex] = delisted
        return self._instruments[dex]

    @staticmethod
    def dex_of(market: str) -> str:
        """The HIP-3 dex a market name lives on ("" for the default dex)."""
        return market.split(":", 1)[0] if ":" in market else ""

    def _dex_named(self, dex: str) -> str:
        """The builder dex a typed prefix names, in any case ("XYZ:gold" is on dex xyz): dex
        names are the venue's lowercase words, and a market name is case-insensitive as a whole."""
        if not dex:
            return ""
        names = self.dex_names()
        if dex in names:
            return dex
        same = [n for n in names if n and n.casefold() == dex.casefold()]
        return same[0] if len(same) == 1 else dex

    def _spot_token_names(self) -> list[str]:
        tokens = (self.rest.info({"type": "spotMeta"}) or {}).get("tokens") or []
        names = {int(t["index"]): str(t["name"]) for t in tokens}
        return [names.get(i, f"token {i}") for i in range(max(names, default=-1) + 1)]

    def _listed(self, dex: str) -> list[Instrument]:
        delisted = self._delisted.get(dex, frozenset())
        return [i for i in self._load_dex(dex).values() if i.symbol not in delisted]

    def instrument(self, market: str) -> Instrument:
        """The market a name designates (domain/market_lookup.py: the exact symbol, then any
        case, then a unique underlying or alias: "kpepe", "XAU" or "GOLD" for xyz:GOLD).

        A name with a dex prefix ("xyz:GOLD") looks in that dex only. A bare name looks in the
        default dex first and only when nothing there matches in every builder (HIP-3) dex: so
        "BTC" or "ETH" never land on a builder dex's market of the same underlying, builder
        dexes cost their metadata calls only for names the default dex does not know, and a
        builder-dex market is chosen only when it is the single match (several dexes listing
        TSLA is an error naming them). The resolved symbol is what confirmations show.
        """
        from perpcli.domain.market_lookup import find_market

        dex = self._dex_named(self.dex_of(market))
        exact = self._load_dex(dex).get(market)
        if exact is not None and market not in self._delisted.get(dex, frozenset()):
            return exact  # the common case, without a scan
        inst = find_market(market, self._listed(dex))
        if inst is None and not dex:
            inst = find_market(market, [i for d in self.dex_names() if d for i in self._listed(d)])
        if inst is None:
            if market.casefold() in {d.casefold() for d in self._delisted.get(dex, frozenset())}:
                raise ValidationError(f"market {market} is delisted on {self.venue}", rule="market-closed")
            raise ValidationError(f"unknown market {market!r} on {self.venue} (see `perp markets`)",
                                  rule="unknown-market")
        return inst

    def instruments(self, *, include_builder_dexes: bool = False) -> list[Instrument]:
        dexes = [""]
        if include_builder_dexes:
            dexes += [d for d in self.dex_names() if d]
        out = []
        for dex in dexes:
            for inst in self._load_dex(dex).values():
                if inst.symbol not in self._delisted.get(dex, frozenset()):
                    out.append(inst)
        return out

    def instrument_by_asset(self, asset: int) -> Instrument | None:
        for insts in self._instruments.values():
            for inst in insts.values():
                if inst.asset_id == asset:
                    return inst
        return None

    def meta_and_ctxs(self, dex: str = "") -> tuple[dict, list]:
        if dex not in self._meta_ctx:
            body: dict[str, Any] = {"type": "metaAndAssetCtxs"}
            if dex:
                body["dex"] = dex
            data = self.rest.info(body)
            if not data and dex:
                raise UsageError(f"unknown perp dex {dex!r} on {self.venue}")
            self._meta_ctx[dex] = codec.meta_and_ctxs(data, venue=self.venue)
        return self._meta_ctx[dex]

    # ----- prices ---------------------------------------------------------------------------

    def mids(self, markets: Sequence[str] | None = None) -> dict[str, Decimal]:
        dexes = sorted({self.dex_of(self.instrument(m).symbol) for m in markets}) if markets else [""]
        out: dict[str, Decimal] = {}
        for dex in dexes:
            body: dict[str, Any] = {"type": "allMids"}
            if dex:
                body["dex"] = dex
            out.update(codec.mids(self.rest.info(body) or {}))
        if markets:
            resolved = {m: self.instrument(m).symbol for m in markets}
            missing = [m for m, s in resolved.items() if s not in out]
            if missing:
                raise UsageError(f"no price for {', '.join(missing)} on {self.venue}")
            return {s: out[s] for s in resolved.values()}
        return {k: v for k, v in out.items() if not k.startswith("@") and "/" not in k}

    def mark_prices(self, markets: Sequence[str] | None = None, *, fresh: bool = False) -> list[MarkPrice]:
        """Marks (with mid and funding context) of the given markets, or of every market on
        the default dex. One metaAndAssetCtxs read per dex, cached for the process unless
        `fresh` (a live view polls for new marks; a one-shot command reads them once)."""
        wanted = {self.instrument(m).symbol for m in markets} if markets else None
        dexes = sorted({self.dex_of(s) for s in wanted}) if wanted else [""]
        out: list[MarkPrice] = []
        for dex in dexes:
            if fresh:
                self._meta_ctx.pop(dex, None)
            out.extend(mp for mp in self._dex_marks(dex) if wanted is None or mp.symbol in wanted)
        return out

    def _dex_marks(self, dex: str) -> list[MarkPrice]:
        meta, ctxs = self.meta_and_ctxs(dex)
        return codec.mark_prices(meta, ctxs, venue=self.venue, time_ms=self.now_ms())

    def mark_price(self, market: str) -> MarkPrice:
        inst = self.instrument(market)
        for mp in self._dex_marks(self.dex_of(inst.symbol)):
            if mp.symbol == inst.symbol:
                return mp
        raise UsageError(f"no mark price for {market} on {self.venue}")

    def reference_prices(self, market: str) -> tuple[Decimal, Decimal]:
        """(mid, mark) from the cached asset context; mid falls back to allMids, then mark."""
        mp = self.mark_price(market)
        mid = mp.mid_price
        if mid is None:
            mid = codec.mids(self.rest.info({"type": "allMids", **({"dex": d} if (d := self.dex_of(mp.symbol)) else {})})
                             or {}).get(mp.symbol, mp.mark_price)
        return mid, mp.mark_price

    def book(self, market: str, depth: int = 20) -> BookSnapshot:
        inst = self.instrument(market)
        snap = codec.book_answer(self.rest.info({"type": "l2Book", "coin": inst.symbol}), venue=self.venue)
        if depth < len(snap.bids) or depth < len(snap.asks):
            snap = BookSnapshot(snap.venue, snap.symbol, snap.bids[:depth], snap.asks[:depth], snap.time_ms)
        return snap

    def recent_trades(self, market: str) -> list[Trade]:
        inst = self.instrument(market)
        return codec.trades(self.rest.info({"type": "recentTrades", "coin": inst.symbol}) or [], venue=self.venue)

    def candles(self, market: str, interval: str, start_ms: int, end_ms: int) -> list[Candle]:
        if interval not in CANDLE_INTERVALS:
            raise UsageError(f"interval must be one of {' '.join(CANDLE_INTERVALS)}, got {interval!r}")
        inst = self.instrument(market)
        req = {"coin": inst.symbol, "interval": interval, "startTime": start_ms, "endTime": end_ms}
        return codec.candles(self.rest.info({"type": "candleSnapshot", "req": req}) or [])

    def funding(self, markets: Sequence[str] | None = None) -> list[FundingRate]:
        dexes = sorted({self.dex_of(self.instrument(m).symbol) for m in markets}) if markets else [""]
        try:
            predicted = self.rest.info({"type": "predictedFundings"})
        except VenueRejected:
            predicted = None  # a server without predictions still has current rates
        out: list[FundingRate] = []
        for dex in dexes:
            meta, ctxs = self.meta_and_ctxs(dex)
            out.extend(codec.funding_rates(meta, ctxs, predicted))
        if markets:
            wanted = {self.instrument(m).symbol for m in markets}
            out = [r for r in out if r.symbol in wanted]
        return out

    # ----- margin and fees -------------------------------------------------------------------

    def margin_rules(self, instrument: Instrument) -> Any:
        """Hyperliquid's margin rules over the market's margin table (ledger/margin_rules.py)."""
        from perpcli.ledger.margin_rules import HyperliquidRules

        return HyperliquidRules.for_instrument(instrument)

    def default_fees(self) -> Any:
        """The public schedule's base tier: what an account without its own rates is shown."""
        from perpcli.venues.hyperliquid.fees import PUBLIC_RATES

        return PUBLIC_RATES

    # ----- live streams (the venue protocol's async iterators) ----------------------------

    def stream_book(self, market: str) -> AsyncIterator[Any]:
        """BookSnapshots of one market as they change, plus ConnectionStatus events."""
        from perpcli.venues.hyperliquid import stream

        inst = self.instrument(market)
        return stream.iterate(self.endpoint.ws_url, self.venue, [stream.book_subscription(inst.symbol)], books=True)

    def stream_trades(self, market: str) -> AsyncIterator[Any]:
        """Public trades of one market (each once), plus ConnectionStatus events."""
        from perpcli.venues.hyperliquid import stream

        inst = self.instrument(market)
        return stream.iterate(self.endpoint.ws_url, self.venue, [stream.trades_subscription(inst.symbol)])

    def live_feed(self, account: str = "") -> HyperliquidFeed:
        """How to stream this venue through net.stream.StreamSession (for the TUI and
        `perp stream`). `account` routes account channels (orderUpdates carry no user)."""
        from perpcli.venues.hyperliquid.stream import HyperliquidFeed

        return HyperliquidFeed(self.endpoint.ws_url, self.venue, account)

    # ----- ids, addresses, offline signing --------------------------------------------------

    def new_client_id(self) -> str:
        return new_cloid()

    def check_client_id(self, text: str, *, what: str = "cloid") -> str:
        from perpcli.venues.hyperliquid.actions import check_cloid

        return check_cloid(text, what=what)

    def check_address(self, text: str, *, what: str = "address") -> str:
        from perpcli.venues.hyperliquid.actions import check_address

        return check_address(text, what=what)

    def offline(self) -> HyperliquidOffline:
        from perpcli.venues.hyperliquid.offline import HyperliquidOffline

        return HyperliquidOffline()

    # ----- the keyed side -------------------------------------------------------------------

    def trading(
        self,
        signer: Signer,
        *,
        options: TradingOptions | None = None,
        nonces: NonceAllocator | None = None,
    ) -> HyperliquidTrading:
        """The keyed side (trading.py), built only with a Signer."""
        from perpcli.venues.hyperliquid.trading import HyperliquidTrading

        return HyperliquidTrading(self, signer, options=options, nonces=nonces)
