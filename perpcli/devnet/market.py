"""Synthetic order flow that makes the devnet's books live.

Each market has a fair price that follows a random walk (per-market volatility, occasional
jumps). The oracle follows the fair price; maker accounts re-quote ladders of post-only
orders around it (skewed against their inventory so they do not drift into huge positions);
taker accounts send market orders now and then, so trades print, candles form and funding
accrues. Everything is driven by one `random.Random(seed)` and the `now_ms` passed to
`step`, so a seed plus a clock reproduces the exact same exchange.

Randomness is drawn as floats (that is what `random` gives) and turned into Decimals at once,
then rounded to the market's valid prices and sizes before anything reaches the engine.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from decimal import Decimal

from perpcli.devnet.engine import Engine
from perpcli.devnet.markets import PerpMarket
from perpcli.devnet.records import OrderSpec, Resting
from perpcli.venues.hyperliquid.numbers import Rounding, round_price, round_size

_HOUR_MS = 3_600_000


@dataclass(slots=True)
class FlowConfig:
    """How busy the synthetic market is."""

    makers: int = 2  # maker accounts per market
    levels: int = 5  # price levels per side per maker
    half_spread: Decimal = Decimal("0.0003")  # of the fair price, innermost quote
    level_gap: Decimal = Decimal("0.0004")  # between a maker's levels
    level_notional: tuple[int, int] = (3_000, 30_000)  # USDC per level, uniform
    taker_prob: float = 0.35  # per market per step
    taker_notional: tuple[int, int] = (50, 15_000)
    jump_prob: float = 0.002  # per market per step
    jump_sigmas: float = 6.0
    requote_prob: float = 0.7  # per maker per market per step
    maker_funds: Decimal = Decimal(50_000_000)
    taker_funds: Decimal = Decimal(5_000_000)
    inventory_skew: Decimal = Decimal("0.000002")  # price skew per USDC of maker inventory
    bot_history: int = 500  # order/fill history rows kept per synthetic account (engine default: 10,000)
    spot_volatility: Decimal = Decimal("0.01")  # fraction per sqrt(hour) of every spot pair's fair price
    spot_levels: int = 3
    spot_level_notional: tuple[int, int] = (500, 5_000)
    spot_taker_prob: float = 0.15
    spot_funds: Decimal = Decimal(2_000_000)  # USDC, and as much again of each base token, per bot


def _address(role: str, seed: int, i: int) -> str:
    """Stable, obviously synthetic addresses: 0x5ee d… (never a real key's address)."""
    body = f"{role}{seed:x}{i:x}".encode().hex()
    return "0x" + ("5eed" + body).ljust(40, "0")[:40]


class SyntheticMarket:
    """Drives an Engine with market-maker and taker flow. Call `step(now_ms)` repeatedly."""

    def __init__(
        self, engine: Engine, seed: int = 0, config: FlowConfig | None = None, coins: list[str] | None = None
    ) -> None:
        self.engine = engine
        self.seed = seed
        self.config = config or FlowConfig()
        self.rng = random.Random(seed)
        self.markets: list[PerpMarket] = [
            m for m in engine.markets.perps if not m.is_delisted and (coins is None or m.name in coins)
        ]
        self.fair: dict[str, Decimal] = {m.name: engine.oracle_price(m.name) for m in self.markets}
        self.makers = [_address("m", seed, i) for i in range(self.config.makers)]
        self.takers = [_address("t", seed, i) for i in range(2)]
        self.last_ms: int | None = None
        self.started = False
        self.quotes: dict[str, list[int]] = {}  # "maker|coin" -> oids of its resting quotes
        # Spot pairs draw from their own generator, so adding them left the perps' flow unchanged.
        self.spot_rng = random.Random(f"spot:{seed}")
        self.spot = [s for s in engine.spot_markets() if coins is None or s.name in coins]
        self.spot_fair: dict[str, Decimal] = {s.name: s.start_px for s in self.spot}

    # -- the one entry point -----------------------------------------------------------------

    def step(self, now_ms: int) -> None:
        """Advance fair prices to `now_ms`, move oracles, re-quote makers, maybe trade."""
        eng = self.engine
        if not self.started:
            self._start(now_ms)
        dt = 1000 if self.last_ms is None else max(0, now_ms - self.last_ms)
        self.last_ms = now_ms
        for m in self.markets:
            self._walk(m, dt)
            eng.set_oracle_price(m.name, self._valid_px(m, self.fair[m.name], Rounding.NEAREST), now_ms)
        for m in self.markets:
            for maker in self.makers:
                if self.rng.random() < self.config.requote_prob:
                    self._requote(maker, m, now_ms)
            if self.rng.random() < self.config.taker_prob:
                self._take(m, now_ms)
        for s in self.spot:
            self._spot_step(s, dt, now_ms)

    # -- pieces ------------------------------------------------------------------------------

    def _start(self, now_ms: int) -> None:
        eng = self.engine
        dexs = sorted({m.dex for m in self.markets})  # each perp dex margins on its own collateral
        for maker in self.makers:
            for dex in dexs:
                eng.fund(maker, self.config.maker_funds, now_ms, dex)
            for m in self.markets:
                # Modest leverage keeps the makers far from liquidation whatever the walk does.
                eng.update_leverage(maker, m.asset, not m.only_isolated, min(5, m.max_leverage), now_ms)
        for taker in self.takers:
            for dex in dexs:
                eng.fund(taker, self.config.taker_funds, now_ms, dex)
            for m in self.markets:
                eng.update_leverage(taker, m.asset, not m.only_isolated, min(3, m.max_leverage), now_ms)
        for bot in (*self.makers, *self.takers):
            for s in self.spot:
                for token, amount in ((s.quote, self.config.spot_funds), (s.base, self.config.spot_funds / s.start_px)):
                    eng.fund_spot(bot, token, amount.quantize(s.base_quantum if token == s.base else s.quote_quantum), now_ms)
        self.started = True
        self._limit_bot_history()

    def _limit_bot_history(self) -> None:
        for bot in (*self.makers, *self.takers):
            if self.engine.account_exists(bot):
                self.engine.set_history_limit(bot, self.config.bot_history)

    def _walk(self, m: PerpMarket, dt_ms: int) -> None:
        sigma = float(m.volatility) * math.sqrt(dt_ms / _HOUR_MS) if dt_ms else 0.0
        ret = self.rng.gauss(0.0, 1.0) * sigma
        if self.rng.random() < self.config.jump_prob:
            ret += self.rng.choice((-1.0, 1.0)) * self.config.jump_sigmas * float(m.volatility) * 0.1
        # Pull gently back toward the listing price so a long-running devnet stays plausible.
        start = float(m.start_px)
        fair = float(self.fair[m.name])
        ret += 0.0005 * math.log(start / fair) * (dt_ms / 1000)
        self.fair[m.name] = self.fair[m.name] * (Decimal(1) + Decimal(f"{ret:.12f}"))

    def _valid_px(self, m: PerpMarket, px: Decimal, rounding: Rounding) -> Decimal:
        return round_price(px, m.sz_decimals, rounding=rounding)

    def _requote(self, maker: str, m: PerpMarket, now_ms: int) -> None:
        eng = self.engine
        cfg = self.config
        key = f"{maker}|{m.name}"
        mine = self.quotes.pop(key, [])
        if mine:  # orders that filled meanwhile just answer "never placed, ... or filled"
            eng.cancel(maker, [(m.asset, oid) for oid in mine], now_ms)
        fair = self.fair[m.name]
        inventory = eng.position(maker, m.name) * fair
        skew = -inventory * cfg.inventory_skew / 100
        specs: list[OrderSpec] = []
        lo, hi = cfg.level_notional
        for i in range(cfg.levels):
            off = cfg.half_spread + cfg.level_gap * i
            jitter = Decimal(self.rng.randint(0, 9)) * cfg.level_gap / 20
            for is_buy in (True, False):
                raw = fair * (1 + skew - off - jitter) if is_buy else fair * (1 + skew + off + jitter)
                px = self._valid_px(m, raw, Rounding.DOWN if is_buy else Rounding.UP)
                ntl = Decimal(self.rng.randint(lo, hi))
                sz = self._size(m, ntl / px)
                if sz is None:
                    continue
                specs.append(OrderSpec(m.asset, is_buy, px, sz, False, "Alo"))
        if specs:
            results = eng.place_orders(maker, specs, "na", now_ms)
            self.quotes[key] = [r.oid for r in results if isinstance(r, Resting)]

    def _size(self, m: PerpMarket, raw: Decimal) -> Decimal | None:
        lot = Decimal(1).scaleb(-m.sz_decimals)
        if raw < lot:
            return None
        return round_size(raw, m.sz_decimals)

    def _take(self, m: PerpMarket, now_ms: int) -> None:
        eng = self.engine
        taker = self.takers[self.rng.randrange(len(self.takers))]
        lo, hi = self.config.taker_notional
        ntl = Decimal(self.rng.randint(max(lo, 12), hi))
        pos = eng.position(taker, m.name)
        # Lean against the taker's inventory so its position stays bounded.
        p_buy = 0.5 - max(-0.3, min(0.3, float(pos * self.fair[m.name]) / 200_000))
        is_buy = self.rng.random() < p_buy
        sz = self._size(m, ntl / self.fair[m.name])
        if sz is None:
            return
        eng.market_order(taker, m.name, is_buy, sz, now_ms)

    def _spot_step(self, s, dt_ms: int, now_ms: int) -> None:
        """A spot pair: walk its fair price, re-quote each maker's ladder, maybe take."""
        rng, cfg, eng = self.spot_rng, self.config, self.engine
        sigma = float(cfg.spot_volatility) * math.sqrt(dt_ms / _HOUR_MS) if dt_ms else 0.0
        pull = 0.0005 * math.log(float(s.start_px) / float(self.spot_fair[s.name])) * (dt_ms / 1000)
        self.spot_fair[s.name] *= Decimal(1) + Decimal(f"{rng.gauss(0.0, 1.0) * sigma + pull:.12f}")
        fair = self.spot_fair[s.name]
        lot = Decimal(1).scaleb(-s.sz_decimals)
        for maker in self.makers:
            if rng.random() >= cfg.requote_prob:
                continue
            key = f"{maker}|{s.name}"
            mine = self.quotes.pop(key, [])
            if mine:
                eng.cancel(maker, [(s.asset, oid) for oid in mine], now_ms)
            specs = []
            for i in range(cfg.spot_levels):
                off = cfg.half_spread + cfg.level_gap * (i + rng.randint(0, 3))
                for is_buy in (True, False):
                    raw = fair * (1 - off) if is_buy else fair * (1 + off)
                    px = round_price(raw, s.sz_decimals, spot=True, rounding=Rounding.DOWN if is_buy else Rounding.UP)
                    sz = (Decimal(rng.randint(*cfg.spot_level_notional)) / px).quantize(lot, rounding="ROUND_DOWN")
                    if sz > 0:
                        specs.append(OrderSpec(s.asset, is_buy, px, sz, False, "Alo"))
            if specs:
                results = eng.place_orders(maker, specs, "na", now_ms)
                self.quotes[key] = [r.oid for r in results if isinstance(r, Resting)]
        if rng.random() < cfg.spot_taker_prob:
            taker = self.takers[rng.randrange(len(self.takers))]
            is_buy = rng.random() < 0.5
            ntl = Decimal(rng.randint(20, 2_000))
            sz = (ntl / fair).quantize(lot, rounding="ROUND_DOWN")
            if sz > 0:
                eng.market_order(taker, s.name, is_buy, sz, now_ms)

    # -- persistence -------------------------------------------------------------------------

    def to_json(self) -> dict:
        version, internal, gauss_next = self.rng.getstate()
        return {
            "seed": self.seed,
            "rng": [version, list(internal), gauss_next],
            "fair": {k: str(v) for k, v in self.fair.items()},
            "last_ms": self.last_ms,
            "started": self.started,
            "quotes": self.quotes,
            "spot_rng": [self.spot_rng.getstate()[0], list(self.spot_rng.getstate()[1]), self.spot_rng.getstate()[2]],
            "spot_fair": {k: str(v) for k, v in self.spot_fair.items()},
        }

    def load_json(self, data: dict) -> None:
        version, internal, gauss_next = data["rng"]
        self.rng.setstate((version, tuple(internal), gauss_next))
        self.fair = {k: Decimal(v) for k, v in data["fair"].items()}
        self.last_ms = data["last_ms"]
        self.started = data["started"]
        self.quotes = {k: list(v) for k, v in data.get("quotes", {}).items()}
        if "spot_rng" in data:  # states saved before spot pairs traded have no spot flow yet
            version, internal, gauss_next = data["spot_rng"]
            self.spot_rng.setstate((version, tuple(internal), gauss_next))
            self.spot_fair = {k: Decimal(v) for k, v in data["spot_fair"].items()}
        if self.started:  # a state saved before bot histories were limited
            self._limit_bot_history()
