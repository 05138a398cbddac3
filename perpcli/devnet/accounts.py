"""Per-account state of the devnet: balances, leverage settings, positions, order indexes.

Kept apart from the engine so the engine file holds behaviour and this one holds data (and
its JSON form). Nothing here decides a rule; the engine mutates these records.
"""

from __future__ import annotations

from decimal import Decimal

from perpcli.devnet.faces import margin_venue_of

ZERO = Decimal(0)


class Position:
    """One-way position in one perp. `iso_margin` is the isolated pot (collateral + realised
    moves), so isolated equity = iso_margin + unrealised PnL; unused for cross positions."""

    __slots__ = (
        "coin",
        "szi",
        "entry_px",
        "is_cross",
        "leverage",
        "iso_margin",
        "cum_funding_all_time",
        "cum_funding_since_open",
        "cum_funding_since_change",
    )

    def __init__(self, coin: str, is_cross: bool, leverage: int) -> None:
        self.coin = coin
        self.szi = ZERO
        self.entry_px = ZERO
        self.is_cross = is_cross
        self.leverage = leverage
        self.iso_margin = ZERO
        self.cum_funding_all_time = ZERO  # positive = paid by the user, as the venue shows it
        self.cum_funding_since_open = ZERO
        self.cum_funding_since_change = ZERO

    def to_json(self) -> dict:
        return {
            "coin": self.coin,
            "szi": str(self.szi),
            "entry_px": str(self.entry_px),
            "is_cross": self.is_cross,
            "leverage": self.leverage,
            "iso_margin": str(self.iso_margin),
            "cum_funding": [
                str(self.cum_funding_all_time),
                str(self.cum_funding_since_open),
                str(self.cum_funding_since_change),
            ],
        }

    @classmethod
    def from_json(cls, d: dict) -> Position:
        p = cls(d["coin"], d["is_cross"], d["leverage"])
        p.szi = Decimal(d["szi"])
        p.entry_px = Decimal(d["entry_px"])
        p.iso_margin = Decimal(d["iso_margin"])
        a, o, c = d["cum_funding"]
        p.cum_funding_all_time, p.cum_funding_since_open, p.cum_funding_since_change = (
            Decimal(a),
            Decimal(o),
            Decimal(c),
        )
        return p


class Wallet:
    """The collateral of one builder-deployed (HIP-3) perp dex: each dex has its own balance
    and its own margin held by resting orders, as on the venue. The default dex's wallet is
    the Account itself (same two attributes), so the hot path needs no lookup for it."""

    __slots__ = ("usdc", "reserved")

    def __init__(self) -> None:
        self.usdc = ZERO
        self.reserved = ZERO


class Account:
    """A master account. `usdc` is the default perp dex's (cross) balance and `reserved` the
    margin its resting orders hold; `wallets` the same for each builder dex the account has
    touched; `spot` holds spot token totals. `address` is the engine's account id: the
    address itself for the Hyperliquid face, `aster:<address>` for the Aster face (faces.py)."""

    __slots__ = (
        "address",
        "usdc",
        "spot",
        "leverage",
        "positions",
        "open_oids",
        "cloids",
        "reserved",
        "cum_volume",
        "schedule_cancel_ms",
        "schedule_cancel_day",
        "schedule_cancel_count",
        "order_history",
        "fills",
        "funding",
        "ledger",
        "created_ms",
        "history_limit",
        "wallets",
        "margin_venue",
    )

    def __init__(self, address: str, created_ms: int) -> None:
        self.address = address
        self.usdc = ZERO
        self.spot: dict[str, Decimal] = {}
        self.leverage: dict[str, tuple[bool, int]] = {}  # coin -> (is_cross, leverage)
        self.positions: dict[str, Position] = {}
        self.open_oids: dict[int, None] = {}  # resting + untriggered, insertion-ordered
        self.cloids: dict[str, int] = {}  # cloid -> latest oid, for live and recent orders (engine trims)
        self.reserved = ZERO  # margin held by resting orders
        self.cum_volume = ZERO
        self.schedule_cancel_ms: int | None = None
        self.schedule_cancel_day = -1
        self.schedule_cancel_count = 0
        self.order_history: list[int] = []  # oids, oldest first
        self.fills: list = []  # records.Fill, oldest first
        self.funding: list = []  # records.FundingPayment
        self.ledger: list = []  # records.LedgerUpdate
        self.created_ms = created_ms
        self.history_limit: int | None = None  # rows of each history kept; None = the engine's default
        self.wallets: dict[str, Wallet] = {}  # builder dex name -> its collateral
        # Whose margin rules value the positions (margin_rules.MARGIN_VENUES), fixed by the face
        # the account belongs to: "" Hyperliquid's tiers, "aster" Binance-style brackets.
        self.margin_venue = margin_venue_of(address)
