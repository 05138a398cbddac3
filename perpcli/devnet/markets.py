"""The devnet's listed markets: what `meta`, `perpDexs` and `spotMeta` describe.

Values are realistic copies of Hyperliquid's listings (size decimals, max leverage, tiered
margin tables) so a client that works here meets the same rules on the venue. Asset ids
follow the venue (protocol notes §d.1): default-dex perps are their index in the universe,
builder-deployed (HIP-3) perps are `100000 + dex_index * 10000 + index`, spot pairs are
`10000 + pair index`. The simulation parameters (start price, volatility) only drive the
synthetic market; the engine itself never reads them except the start price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

D = Decimal


@dataclass(frozen=True, slots=True)
class MarginTier:
    lower_bound: Decimal  # position notional (USDC) where this tier starts
    max_leverage: int


@dataclass(frozen=True, slots=True)
class MarginTable:
    """A venue margin table. Ids below 50 are implicit single tiers (max leverage = id)."""

    id: int
    description: str
    tiers: tuple[MarginTier, ...]


@dataclass(frozen=True, slots=True)
class PerpMarket:
    name: str  # "BTC" or "xyz:GOLD"
    dex: str  # "" = default dex
    dex_index: int  # position in perpDexs (0 = default dex)
    index: int  # position in that dex's meta.universe
    sz_decimals: int
    max_leverage: int
    margin_table_id: int
    start_px: Decimal
    volatility: Decimal  # fraction per sqrt(hour), for the synthetic market only
    only_isolated: bool = False
    margin_mode: str | None = None  # None | "strictIsolated" | "noCross"
    is_delisted: bool = False
    impact_notional: Decimal = D(6000)
    funding_multiplier: Decimal = D(1)
    growth_mode: str | None = None

    @property
    def asset(self) -> int:
        return perp_asset_id(self.dex_index, self.index)


@dataclass(frozen=True, slots=True)
class PerpDex:
    """A perp dex; index 0 is the default dex (rendered as `null` in perpDexs)."""

    index: int
    name: str
    full_name: str
    deployer: str
    oracle_updater: str | None = None
    fee_recipient: str | None = None
    streaming_oi_caps: tuple[tuple[str, Decimal], ...] = ()


@dataclass(frozen=True, slots=True)
class SpotToken:
    index: int
    name: str
    sz_decimals: int
    wei_decimals: int
    token_id: str  # 0x + 32 hex
    is_canonical: bool = True
    full_name: str | None = None


@dataclass(frozen=True, slots=True)
class SpotPair:
    index: int
    name: str  # "PURR/USDC" or "@1"
    base: int  # token index
    quote: int  # token index
    is_canonical: bool = True
    start_px: Decimal = D(1)

    @property
    def asset(self) -> int:
        return 10000 + self.index


def perp_asset_id(dex_index: int, index: int) -> int:
    """Venue asset id of a perp (§d.1)."""
    if dex_index == 0:
        return index
    return 100000 + dex_index * 10000 + index


def implicit_margin_table(table_id: int) -> MarginTable:
    """Ids < 50 mean a single tier whose max leverage is the id."""
    return MarginTable(table_id, "", (MarginTier(D(0), table_id),))


@dataclass(slots=True)
class MarketSet:
    """All listings, with the lookups the engine and server need."""

    dexs: list[PerpDex]
    perps: list[PerpMarket]
    margin_tables: dict[int, MarginTable]
    spot_tokens: list[SpotToken]
    spot_pairs: list[SpotPair]
    collateral_token: int = 0
    _by_asset: dict[int, PerpMarket] = field(default_factory=dict, repr=False)
    _by_name: dict[str, PerpMarket] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_asset = {m.asset: m for m in self.perps}
        self._by_name = {m.name: m for m in self.perps}

    def perp_by_asset(self, asset: int) -> PerpMarket | None:
        return self._by_asset.get(asset)

    def perp_by_name(self, name: str) -> PerpMarket | None:
        return self._by_name.get(name)

    def dex_by_name(self, name: str) -> PerpDex | None:
        for d in self.dexs:
            if d.name == name:
                return d
        return None

    def perps_of_dex(self, dex: str) -> list[PerpMarket]:
        """The dex's meta.universe, in index order (delisted kept: indices never shift)."""
        return sorted((m for m in self.perps if m.dex == dex), key=lambda m: m.index)

    def margin_table(self, table_id: int) -> MarginTable:
        return self.margin_tables.get(table_id) or implicit_margin_table(table_id)

    def margin_table_of(self, market: PerpMarket) -> MarginTable:
        return self.margin_table(market.margin_table_id)

    def spot_pair_by_asset(self, asset: int) -> SpotPair | None:
        for p in self.spot_pairs:
            if p.asset == asset:
                return p
        return None

    def spot_token_by_name(self, name: str) -> SpotToken | None:
        for t in self.spot_tokens:
            if t.name == name:
                return t
        return None


# Margin tables as the venue lists them in meta.marginTables (ids >= 50 are tiered).
_TABLES = [
    MarginTable(56, "tiered 40x", (MarginTier(D(0), 40), MarginTier(D(150_000_000), 20))),
    MarginTable(55, "tiered 25x", (MarginTier(D(0), 25), MarginTier(D(100_000_000), 15))),
    MarginTable(52, "tiered 20x", (MarginTier(D(0), 20), MarginTier(D(70_000_000), 10))),
    MarginTable(51, "tiered 10x", (MarginTier(D(0), 10), MarginTier(D(3_000_000), 5))),
]

# The largest market order (USDC notional) per market max leverage, as maxMarketOrderNtls lists it.
MAX_MARKET_ORDER_NTLS: tuple[tuple[int, Decimal], ...] = (
    (40, D(4_000_000)),
    (25, D(2_000_000)),
    (20, D(1_500_000)),
    (10, D(500_000)),
)

XYZ_DEPLOYER = "0x88806a71d74ad0a510b350545c9ae490912f0888"


def default_markets() -> MarketSet:
    """BTC, ETH, SOL, kPEPE on the default dex; gold, oil, EUR/USD and TSLA on builder dex `xyz`."""
    dexs = [
        PerpDex(0, "", "Hyperliquid", "0x0000000000000000000000000000000000000000"),
        PerpDex(
            1,
            "xyz",
            "XYZ",
            XYZ_DEPLOYER,
            oracle_updater=XYZ_DEPLOYER,
            fee_recipient=XYZ_DEPLOYER,
            streaming_oi_caps=(("xyz:GOLD", D(50_000_000)), ("xyz:TSLA", D(25_000_000))),
        ),
    ]
    perps = [
        PerpMarket("BTC", "", 0, 0, 5, 40, 56, D(95000), D("0.006"), impact_notional=D(20000)),
        PerpMarket("ETH", "", 0, 1, 4, 25, 55, D(3200), D("0.008"), impact_notional=D(20000)),
        PerpMarket("SOL", "", 0, 2, 2, 20, 52, D(180), D("0.011")),
        PerpMarket("kPEPE", "", 0, 3, 0, 10, 51, D("0.011"), D("0.016")),
        PerpMarket("xyz:GOLD", "xyz", 1, 0, 4, 20, 20, D(4000), D("0.003"), growth_mode="enabled"),
        PerpMarket("xyz:CL", "xyz", 1, 1, 3, 10, 10, D("62.5"), D("0.006")),
        PerpMarket("xyz:EUR", "xyz", 1, 2, 0, 20, 20, D("1.16"), D("0.001")),
        PerpMarket(
            "xyz:TSLA",
            "xyz",
            1,
            3,
            3,
            10,
            10,
            D(430),
            D("0.012"),
            only_isolated=True,
            margin_mode="noCross",
        ),
    ]
    tokens = [
        SpotToken(0, "USDC", 8, 8, "0x6d1e7cde53ba9467b783cb7c530ce054"),
        SpotToken(1, "PURR", 0, 5, "0xc1fb593aeffbeb02f85e0308e9956a90"),
        SpotToken(2, "HYPE", 2, 8, "0x0d01dc56dcaaca66ad901c959b4011ec"),
    ]
    pairs = [
        SpotPair(0, "PURR/USDC", 1, 0, True, D("0.2")),
        SpotPair(1, "@1", 2, 0, False, D(38)),
    ]
    return MarketSet(dexs, perps, {t.id: t for t in _TABLES}, tokens, pairs)
