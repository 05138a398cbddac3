"""Venue-neutral events: the only things a venue adapter hands to the rest of perpcli.

Each venue's codec turns its wire frames into these; the ledger folds them into books and
accounts; the store holds the result. Nothing here knows any venue's JSON.

Conventions:
- Money, prices and sizes are Decimal; times are integer Unix milliseconds supplied by the
  caller (pure code never reads a clock).
- A book level is a plain `(price, size)` tuple: hundreds of thousands of them flow per second,
  and a tuple is the cheapest immutable pair Python has.
- Sizes in `BookDiff` are absolute (the new size at that price); size 0 deletes the level.
- `account` is the address whose state it is (the master / sub-account / vault, never an agent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from perpcli.domain.instrument import MarginMode
from perpcli.domain.orders import Order, OrderStatus, Side

#: (price, size). Bids are best (highest) first, asks best (lowest) first, in snapshots.
Level = tuple[Decimal, Decimal]


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """The whole book (or its top N levels) at one moment.

    Hyperliquid sends one per l2Book message; Binance-style venues get one over REST with a
    `sequence` (lastUpdateId) that the following diffs chain onto; Lighter's
    `subscribed/order_book` carries `nonce`.
    """

    venue: str
    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    time_ms: int = 0
    sequence: int | None = None


def levels_of_pairs(pairs: list[tuple[str, str]]) -> list[Level]:
    """(price, size) pairs of plain decimal strings, parsed."""
    dec = Decimal
    return [(dec(px), dec(sz)) for px, sz in pairs]


class BookSnapshotText(BookSnapshot):
    """A BookSnapshot whose levels are still the venue's text, best first, parsed when read.

    Snapshot feeds push whole books faster than anyone reads them (Hyperliquid sends every
    subscribed coin every block), and parsing a frame's 80 decimal strings costs more than
    cutting the frame up. Each level is kept as the venue's text (`bid_text`, `ask_text`) with
    `parse_levels`, the venue codec's function from level texts to exact (price, size) levels,
    which checks them (ValueError if one is not a level). The ledger's book keeps the texts and
    parses what is read (`OrderBook.load_text`); anything else reading `bids` / `asks` gets
    them parsed, once, so this is a BookSnapshot (and equal to the eager one) for every consumer.
    """

    __slots__ = ("bid_text", "ask_text", "parse_levels", "_parsed")

    def __init__(self, venue: str, symbol: str, bid_text: list, ask_text: list, time_ms: int = 0,
                 sequence: int | None = None, *,
                 parse_levels: Callable[[list[Any]], list[Level]] = levels_of_pairs) -> None:
        # Frozen, as its base: each slot is set through its own descriptor (what
        # object.__setattr__ ends up calling, without the attribute lookup: one of these is
        # built per book frame a stream receives).
        _SET_VENUE(self, venue)
        _SET_SYMBOL(self, symbol)
        _SET_TIME(self, time_ms)
        _SET_SEQUENCE(self, sequence)
        _SET_BID_TEXT(self, bid_text)
        _SET_ASK_TEXT(self, ask_text)
        _SET_PARSE_LEVELS(self, parse_levels)
        _SET_PARSED(self, None)

    def _levels(self) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        parsed = self._parsed
        if parsed is None:
            parse = self.parse_levels
            parsed = (tuple(parse(self.bid_text)), tuple(parse(self.ask_text)))
            _SET_PARSED(self, parsed)
        return parsed

    @property  # type: ignore[override]
    def bids(self) -> tuple[Level, ...]:
        return self._levels()[0]

    @property  # type: ignore[override]
    def asks(self) -> tuple[Level, ...]:
        return self._levels()[1]

    def _key(self) -> tuple:
        return (self.venue, self.symbol, self.bids, self.asks, self.time_ms, self.sequence)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BookSnapshot):
            return self._key() == (other.venue, other.symbol, other.bids, other.asks, other.time_ms, other.sequence)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __reduce__(self) -> tuple:
        """Copied or pickled as the eager BookSnapshot it equals."""
        return (BookSnapshot, (self.venue, self.symbol, self.bids, self.asks, self.time_ms, self.sequence))


_SET_VENUE = BookSnapshot.__dict__["venue"].__set__
_SET_SYMBOL = BookSnapshot.__dict__["symbol"].__set__
_SET_TIME = BookSnapshot.__dict__["time_ms"].__set__
_SET_SEQUENCE = BookSnapshot.__dict__["sequence"].__set__
_SET_BID_TEXT = BookSnapshotText.__dict__["bid_text"].__set__
_SET_ASK_TEXT = BookSnapshotText.__dict__["ask_text"].__set__
_SET_PARSE_LEVELS = BookSnapshotText.__dict__["parse_levels"].__set__
_SET_PARSED = BookSnapshotText.__dict__["_parsed"].__set__


@dataclass(frozen=True, slots=True)
class BookDiff:
    """Changed levels with the sequence numbers needed to prove nothing was missed.

    Binance/Aster: first_seq=U, last_seq=u, prev_seq=pu.
    Lighter:       first_seq=begin_nonce, last_seq=nonce, prev_seq=None.
    A venue without per-market sequence (dYdX) uses its per-connection message id as both
    first_seq and last_seq.
    """

    venue: str
    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    first_seq: int
    last_seq: int
    prev_seq: int | None = None
    time_ms: int = 0


@dataclass(frozen=True, slots=True)
class Trade:
    """A public trade print. `side` is the taker's side."""

    venue: str
    symbol: str
    side: Side
    price: Decimal
    size: Decimal
    time_ms: int
    trade_id: int | str


@dataclass(frozen=True, slots=True)
class Fill:
    """One of our own executions.

    Deduplicate by `key` (venue, symbol, trade id, order id): a trade id alone is not unique
    across our two sides of a self-cross, and streams replay fills after reconnects.
    `fee` is the total fee paid (negative = rebate) in `fee_token`; `closed_pnl` is the
    venue's realised PnL for the closing part exactly as it reports it (kept for reconciling;
    the ledger computes its own realised PnL from prices and fees).
    """

    venue: str
    account: str
    symbol: str
    trade_id: int | str
    oid: str | None
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    time_ms: int
    cloid: str | None = None
    closed_pnl: Decimal | None = None
    fee_token: str = "USDC"
    liquidation: bool = False
    is_taker: bool = True

    @property
    def key(self) -> tuple[str, str, int | str, str | None]:
        return (self.venue, self.symbol, self.trade_id, self.oid)


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """The venue says this order is now in this status (with its current remaining size)."""

    venue: str
    account: str
    order: Order
    time_ms: int
    reason: str = ""  # the venue's status word when it carries more detail, e.g. "marginCanceled"

    @property
    def status(self) -> OrderStatus:
        return self.order.status


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """Funding settled on one position: `amount` > 0 received, < 0 paid."""

    venue: str
    account: str
    symbol: str
    amount: Decimal
    rate: Decimal
    position_size: Decimal
    time_ms: int


@dataclass(frozen=True, slots=True)
class MarkPrice:
    """A market's reference prices and funding (Hyperliquid's asset context).

    `funding_rate` is per funding interval as the venue quotes it (Hyperliquid: hourly).
    Any field the venue did not send is None.
    """

    venue: str
    symbol: str
    mark_price: Decimal
    time_ms: int
    oracle_price: Decimal | None = None
    mid_price: Decimal | None = None
    funding_rate: Decimal | None = None
    open_interest: Decimal | None = None


AssetCtx = MarkPrice


@dataclass(frozen=True, slots=True)
class BalanceUpdate:
    """A collateral change outside trading (deposit, withdrawal, transfer) or a new balance.

    Venues that push deltas (Hyperliquid ledger updates) set `delta`; venues that push the new
    balance (Aster ACCOUNT_UPDATE) set `total`. Exactly one of the two is set.
    """

    venue: str
    account: str
    asset: str
    time_ms: int
    delta: Decimal | None = None
    total: Decimal | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if (self.delta is None) == (self.total is None):
            raise ValueError("BalanceUpdate needs exactly one of delta or total")


class ConnectionState(str, Enum):
    CONNECTING = "connecting"  # first attempt: nothing has failed yet
    CONNECTED = "connected"
    STALE = "stale"  # connected, but nothing arrived for too long: do not trust the data
    RECONNECTING = "reconnecting"  # it was up (or an attempt failed) and is being restored
    DOWN = "down"  # gave up (or not started)


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """Health of one stream; `last_message_age_ms` is None before the first message."""

    venue: str
    stream: str
    state: ConnectionState
    time_ms: int
    last_message_age_ms: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Balance:
    asset: str
    total: Decimal
    hold: Decimal = Decimal(0)  # reserved by open orders (spot)

    @property
    def available(self) -> Decimal:
        return self.total - self.hold


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """A position as the venue reports it (its numbers are the truth we reconcile to)."""

    symbol: str
    size: Decimal  # signed: + long, − short
    entry_price: Decimal
    margin_mode: MarginMode = MarginMode.CROSS
    leverage: int | None = None
    isolated_margin: Decimal | None = None  # isolated: margin held by the position
    unrealized_pnl: Decimal | None = None
    liquidation_price: Decimal | None = None
    funding_since_open: Decimal | None = None  # > 0 paid (Hyperliquid cumFunding sign)
    # Set where one market may hold several positions, each its own (Ostium's per-trade
    # "PAIR:INDEX"): what a close or a TP/SL update names. None where a market nets to one.
    position_id: str | None = None


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """What a REST snapshot says about an account, used to reconcile the local model.

    `balances` hold collateral as cash (excluding unrealised PnL; Hyperliquid: the USDC
    balance the codec derives from the margin summary). `account_value`, `withdrawable`
    and `margin_used` are the venue's own figures when it reports them. `reserved` is cash
    held by open orders on a venue that takes an order's collateral when it is placed
    (Ostium): the margin model counts it as used and not free.
    """

    venue: str
    account: str
    time_ms: int
    balances: tuple[Balance, ...] = ()
    positions: tuple[PositionSnapshot, ...] = ()
    open_orders: tuple[Order, ...] = ()
    account_value: Decimal | None = None
    withdrawable: Decimal | None = None
    margin_used: Decimal | None = None
    reserved: Decimal = Decimal(0)


Event = (
    BookSnapshot
    | BookDiff
    | Trade
    | Fill
    | OrderUpdate
    | FundingPayment
    | MarkPrice
    | BalanceUpdate
    | ConnectionStatus
    | AccountSnapshot
)
