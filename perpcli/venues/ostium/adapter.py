"""The Ostium adapter's keyless side: pairs as Instruments, their margin rules, the chain.

Built by the registry from a VenueConfig whose URL is the JSON-RPC node (the user's own RPC
via `--url`/`--rpc-url` or `venues.<name>.url`; a public one by default). Pair names and
hours come from markets.json; what the contracts enforce is read from the chain once per
process. Ostium has no order book, no trade tape and no candles on chain: those questions get
one clear answer from the Capabilities (kind "oracle"), not a guess.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpcli.domain.errors import NetworkError, UsageError, ValidationError
from perpcli.venues.ostium import instruments as pairs
from perpcli.venues.ostium.calls import address
from perpcli.venues.ostium.capabilities import ostium_capabilities
from perpcli.venues.ostium.chain import Chain, FeePolicy
from perpcli.venues.ostium.networks import NETWORKS, OstiumNetwork
from perpcli.venues.ostium.prices import OracleQuote, fetch_latest_prices, parse_latest_prices
from perpcli.venues.ostium.reads import ChainReads
from perpcli.venues.ostium.rpc import JsonRpc

if TYPE_CHECKING:
    from perpcli.domain.events import MarkPrice
    from perpcli.domain.instrument import Instrument
    from perpcli.ledger.fees import FeeRates
    from perpcli.ledger.margin_rules import MarginRules
    from perpcli.venues.capabilities import Capabilities

TITLES = {"ostium": "Ostium (Arbitrum One)", "ostium-testnet": "Ostium testnet (Arbitrum Sepolia)",
          "ostium-devnet": "Ostium devnet (local EVM node)"}
NETWORK_OF_VENUE = {"ostium": "mainnet", "ostium-testnet": "testnet", "ostium-devnet": "devnet"}


@dataclass(frozen=True, slots=True)
class OstiumSettings:
    """What the config says about one Ostium venue (VenueConfig.options may carry it instead)."""

    fees: FeePolicy
    confirmations: int = 1
    receipt_timeout_s: float = 60.0
    price_url: str = ""
    request_timeout_s: float = 10.0
    max_body_bytes: int = 32 * 1024 * 1024


def venue_settings(options: dict[str, Any], venue: str) -> OstiumSettings:
    """From `options["ostium"]` when given (tests, embedding), else from venues.<venue>.* and net.*
    (`options["price_url"]`, when given, is the price feed: `perp demo` names the one it started)."""
    if isinstance(options.get("ostium"), OstiumSettings):
        return options["ostium"]
    from perpcli.config import settings

    get = settings.current().get
    return OstiumSettings(
        fees=FeePolicy(max_fee_gwei=Decimal(get(f"venues.{venue}.max_fee_gwei")),
                       priority_fee_gwei=Decimal(get(f"venues.{venue}.priority_fee_gwei"))),
        confirmations=int(get(f"venues.{venue}.confirmations")),
        receipt_timeout_s=float(get(f"venues.{venue}.receipt_timeout_s")),
        price_url=str(options.get("price_url") or get(f"venues.{venue}.price_url")),  # a devnet started here
        request_timeout_s=float(get("net.request_timeout_s")),
        max_body_bytes=int(get("net.max_body_bytes")),
    )


def open_venue(config: Any) -> OstiumMarketData:
    """Registry factory: the keyless side from a VenueConfig (its URL is the RPC node)."""
    network = NETWORKS[NETWORK_OF_VENUE.get(config.name, config.network)]
    options = config.options if isinstance(getattr(config, "options", None), dict) else {}
    conf = venue_settings(options, config.name)
    rpc = JsonRpc(config.url, limits=options.get("http_limits"))
    chain = Chain(rpc, network, fees=conf.fees, confirmations=conf.confirmations,
                  receipt_timeout_s=conf.receipt_timeout_s)
    return OstiumMarketData(config.name, network, chain, conf)


class OstiumMarketData:
    """The keyless side of one Ostium network."""

    def __init__(self, venue: str, network: OstiumNetwork, chain: Chain, conf: OstiumSettings | None = None) -> None:
        self.venue = venue
        self.conf = conf or OstiumSettings(fees=chain.fees)
        self.ostium_network = network
        self.chain = chain
        self.reads = ChainReads(chain)
        self._limits: dict[int, pairs.PairLimits] = {}
        self._quotes: dict[str, OracleQuote] | None = None
        self._instruments: list[Instrument] | None = None

    @property
    def capabilities(self) -> Capabilities:
        return ostium_capabilities(self.venue, TITLES.get(self.venue, self.venue),
                                   "mainnet" if self.ostium_network.name == "mainnet" else "testnet")

    @property
    def network(self) -> str:
        return "mainnet" if self.ostium_network.name == "mainnet" else "testnet"

    def close(self) -> None:
        self.chain.rpc.close()

    # ----- markets -----------------------------------------------------------------------

    def limits(self, pair_index: int) -> pairs.PairLimits:
        if pair_index not in self._limits:
            self._limits[pair_index] = self.reads.pair_limits(pair_index)
        return self._limits[pair_index]

    def instruments(self, *, include_builder_dexes: bool = False) -> list[Instrument]:
        """Every pair both listed on chain and known to perpcli by name (a pair the chain
        lists beyond markets.json has no name perpcli could show, so it is left out)."""
        if self._instruments is None:
            self.chain.check_chain_id()
            count = self.reads.pairs_count()
            self._instruments = [pairs.to_instrument(self.venue, spec, self.limits(spec.pair_index))
                                 for spec in pairs.catalogue() if spec.pair_index < count]
        return list(self._instruments)

    def instrument(self, market: str) -> Instrument:
        """By Ostium's name ("XAU-USD", "xauusd"), the canonical underlying ("XAU", "WTI") or an
        alias ("GOLD", "CL"); reads the chain only for the pair asked about."""
        spec = self.pair(market)
        self.chain.check_chain_id()
        return pairs.to_instrument(self.venue, spec, self.limits(spec.pair_index))

    def pair(self, market: str) -> pairs.PairSpec:
        """The pair a name designates, from perpcli's own data (no chain read)."""
        from perpcli.domain.market_lookup import find_market

        spec = pairs.spec_for_symbol(market)
        if spec is None:
            static = [pairs.to_instrument(self.venue, s, _NAME_ONLY) for s in pairs.catalogue()]
            found = find_market(market, static)
            spec = pairs.spec_for_index(found.asset_id) if found is not None else None
        if spec is None:
            raise ValidationError(f"unknown market {market!r} on {self.venue}", rule="unknown-market")
        return spec

    def margin_rules(self, instrument: Instrument) -> MarginRules:
        return pairs.margin_rules(self.limits(instrument.asset_id))

    def default_fees(self) -> FeeRates:
        raise self._unsupported("a venue-wide fee schedule (Ostium's opening fee is per pair and per trade)")

    # ----- what an oracle venue does not have ---------------------------------------------

    def _unsupported(self, what: str) -> UsageError:
        return UsageError(f"{self.venue} has no {what}")

    def book(self, market: str, depth: int = 20) -> Any:
        raise self._unsupported("order book: trades fill at the oracle price")

    def recent_trades(self, market: str) -> list:
        raise self._unsupported("public trade tape on chain")

    def candles(self, market: str, interval: str, start_ms: int, end_ms: int) -> list:
        raise self._unsupported("candles on chain")

    def live_feed(self, account: str = "") -> Any:
        raise self._unsupported("websocket market stream")

    def stream_book(self, market: str) -> Any:
        raise self._unsupported("order book stream: trades fill at the oracle price")

    def stream_trades(self, market: str) -> Any:
        raise self._unsupported("public trade stream")

    # ----- oracle prices -------------------------------------------------------------------

    def quotes(self, *, fresh: bool = False) -> dict[str, OracleQuote]:
        """Every pair's oracle bid/mid/ask and open flag, read once per process unless `fresh`."""
        if self._quotes is None or fresh:
            if not self.conf.price_url:
                raise UsageError(f"{self.venue} has no price feed configured (venues.{self.venue}.price_url)")
            body = fetch_latest_prices(self.conf.price_url, timeout_s=self.conf.request_timeout_s,
                                       max_bytes=self.conf.max_body_bytes)
            try:
                self._quotes = parse_latest_prices(body)
            except ValueError as e:
                raise NetworkError(f"Ostium's price feed sent something unreadable: {e}", retryable=False) from None
        return self._quotes

    def quote(self, market: str, *, fresh: bool = False) -> OracleQuote:
        symbol = self._symbol(market)
        found = self.quotes(fresh=fresh).get(symbol)
        if found is None:
            raise UsageError(f"no oracle price for {symbol} on {self.venue}")
        return found

    def _symbol(self, market: str) -> str:
        return self.pair(market).symbol

    def mids(self, markets: Sequence[str] | None = None) -> dict[str, Decimal]:
        if markets:
            return {(q := self.quote(m)).symbol: q.mid for m in markets}
        known = {s.symbol for s in pairs.catalogue()}
        return {s: q.mid for s, q in self.quotes().items() if s in known}

    def mark_prices(self, markets: Sequence[str] | None = None, *, fresh: bool = False) -> list[MarkPrice]:
        """The oracle mid is Ostium's mark: PnL and liquidation are computed from it."""
        from perpcli.domain.events import MarkPrice

        quotes = self.quotes(fresh=fresh)
        wanted = [self._symbol(m) for m in markets] if markets else [s.symbol for s in pairs.catalogue()]
        return [MarkPrice(self.venue, s, quotes[s].mid, quotes[s].time_ms, oracle_price=quotes[s].mid,
                          mid_price=quotes[s].mid) for s in wanted if s in quotes]

    def reference_prices(self, market: str) -> tuple[Decimal, Decimal]:
        q = self.quote(market)
        return q.mid, q.mid

    def funding(self, markets: Sequence[str] | None = None) -> list:
        raise self._not_yet("funding and rollover rates")

    def trading(self, signer: Any, *, options: Any = None, nonces: Any = None) -> Any:
        """The account side for `signer`'s address (reads only in this version)."""
        from perpcli.venues.ostium.trading import OstiumTrading

        return OstiumTrading(self, signer)

    def offline(self) -> Any:
        raise self._not_yet("offline signing (`perp sign`)")

    def _not_yet(self, what: str) -> UsageError:
        return UsageError(f"{self.venue}: {what} is not supported by this perpcli version yet")

    # ----- ids and addresses ---------------------------------------------------------------

    def new_client_id(self) -> str:
        return "0x" + os.urandom(16).hex()

    def check_client_id(self, text: str, *, what: str = "cloid") -> str:
        raise UsageError(f"{self.venue} has no client order ids: a trade is addressed by pair and index")

    def check_address(self, text: str, *, what: str = "address") -> str:
        try:
            return address(text, what)
        except ValidationError as e:
            raise UsageError(e.message) from None


# For name lookups only: limits are never shown or enforced from this.
_NAME_ONLY = pairs.PairLimits(min_leverage=Decimal(1), max_leverage=Decimal(1), min_position_usd=Decimal(0),
                              liq_margin_threshold_pct=Decimal(0))
