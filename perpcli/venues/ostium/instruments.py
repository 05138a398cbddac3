"""Ostium's pairs as Instruments: static facts from markets.json, limits from the chain.

What a pair tracks (its canonical underlying: XAU, WTI, EURUSD, SPX, TSLA...) and when it
trades are facts perpcli keeps as data (markets.json), because the chain does not say them in
a form a terminal can show. What the contracts enforce — leverage range, minimum position,
the liquidation threshold — is read from PairsStorage/PairsInfo at run time and passed in as
`PairLimits`; nothing here hard-codes a leverage.

Prices go on the wire with 18 decimals, but Ostium's own client rounds them to 5 decimals and
its oracle quotes no finer, so 5 is the price grid. A trade is sized in USDC collateral (6
decimals) times leverage; the base-size grid below only bounds how finely a size is shown.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from importlib import resources

from perpcli.domain.errors import UsageError
from perpcli.domain.instrument import Instrument
from perpcli.domain.trading_hours import TradingHours
from perpcli.ledger.margin_rules import PerTradeIsolatedRules

PRICE_MAX_DECIMALS = 5
SIZE_LOT = Decimal("0.000001")
DEFAULT_LEVERAGE = 10  # what a new trade opens with when none is asked (capped by the pair's range)


@dataclass(frozen=True, slots=True)
class PairSpec:
    pair_index: int
    symbol: str  # Ostium's own name: "XAU-USD"
    asset_class: str  # "crypto" | "fx" | "commodity" | "index" | "stock_or_etf"
    underlying: str  # canonical: "XAU", "WTI", "EURUSD"
    quote: str  # what the price is quoted in ("USD"; "JPY" for NIK-JPY)
    aliases: tuple[str, ...]
    session: str | None  # key into the sessions table; None: around the clock


@dataclass(frozen=True, slots=True)
class PairLimits:
    """What the contracts enforce for one pair, as read from the chain."""

    min_leverage: Decimal
    max_leverage: Decimal
    min_position_usd: Decimal  # pairMinLevPos: collateral x leverage must reach it
    liq_margin_threshold_pct: Decimal  # PairsInfo.liqMarginThresholdP, a whole percent
    overnight_max_leverage: Decimal | None = None  # non-day trades held overnight

    def loss_threshold(self, leverage: Decimal) -> Decimal:
        """The fraction of its collateral a trade at `leverage` may lose before liquidation.

        Ostium keeps a liquidation margin of liqMarginThresholdP% x leverage / maxLeverage of
        the collateral (quantized down to 1e-6, as PairsInfo computes it), so a trade at the
        pair's maximum leverage keeps the whole threshold and a low-leverage trade almost none.
        """
        kept_pct = (self.liq_margin_threshold_pct * leverage / self.max_leverage).quantize(
            Decimal("0.000001"), rounding=ROUND_DOWN)
        return 1 - kept_pct / 100


@functools.cache
def _data() -> dict:
    return json.loads(resources.files(__package__).joinpath("markets.json").read_text())


@functools.cache
def catalogue() -> tuple[PairSpec, ...]:
    """Every pair perpcli knows by name, in pair-index order."""
    return tuple(
        PairSpec(pair_index=p["pair_index"], symbol=p["symbol"], asset_class=p["class"], underlying=p["underlying"],
                 quote=p["quote"], aliases=tuple(p["aliases"]), session=p["session"])
        for p in sorted(_data()["pairs"], key=lambda p: p["pair_index"])
    )


def spec_for_index(pair_index: int) -> PairSpec | None:
    return next((s for s in catalogue() if s.pair_index == pair_index), None)


def spec_for_symbol(symbol: str) -> PairSpec | None:
    """By Ostium's name, with or without the dash ("XAU-USD", "XAUUSD"), ignoring case."""
    folded = symbol.replace("-", "").casefold()
    return next((s for s in catalogue() if s.symbol.replace("-", "").casefold() == folded), None)


@functools.cache
def trading_hours(session: str | None) -> TradingHours | None:
    if session is None:
        return None
    entry = _data()["sessions"].get(session)
    if entry is None:
        raise KeyError(f"no trading session {session!r} in markets.json")
    return TradingHours.parse(entry["zone"], entry["spec"])


def to_instrument(venue: str, spec: PairSpec, limits: PairLimits) -> Instrument:
    max_leverage = int(limits.max_leverage)  # a fractional maximum rounds down: never promise more
    if max_leverage < 1:
        raise UsageError(f"{spec.symbol}: the chain reports max leverage {limits.max_leverage}, below 1x")
    return Instrument(
        venue=venue,
        symbol=spec.symbol,
        underlying=spec.underlying,
        asset_id=spec.pair_index,
        lot_size=SIZE_LOT,
        max_leverage=max_leverage,
        price_max_decimals=PRICE_MAX_DECIMALS,
        min_notional=limits.min_position_usd,
        only_isolated=True,
        quote="USDC",  # margin and PnL are USDC whatever the price is quoted in
        aliases=spec.aliases,
        trading_hours=trading_hours(spec.session),
    )


def margin_rules(limits: PairLimits, leverage: Decimal | None = None) -> PerTradeIsolatedRules:
    """The pair's margin rules for a trade at `leverage` (default: the leverage a new trade
    opens with): the liquidation threshold depends on it (PairLimits.loss_threshold)."""
    low = max(1, int(-(-limits.min_leverage // 1)))  # the smallest whole leverage the pair accepts
    high = int(limits.max_leverage)
    default = min(max(DEFAULT_LEVERAGE, low), high)
    return PerTradeIsolatedRules(
        max_leverage_value=high,
        liquidation_threshold=limits.loss_threshold(Decimal(default) if leverage is None else leverage),
        default_leverage_value=default,
        min_leverage=low,
    )
