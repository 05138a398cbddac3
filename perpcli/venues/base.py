"""The venue seam: everything app/, cli/ and tui/ may ask of a venue, in domain terms only.

A venue has two sides. The market-data side (`MarketData`) needs no key: instruments,
snapshots of books, trades, marks and funding, and how to stream them. The trading side
(`Trading`) exists only once built with a Signer: account reads, and every keyed action as
`prepare_*` (build and sign: the exact request, which `--dry-run` prints) followed by `send*`.
Keeping the sides apart means `perp price` never touches key material.

Adding a venue means writing a package under `perpcli/venues/<name>/` whose objects satisfy
these protocols, and one registry entry. What differs between venues travels as data:
`Capabilities` (what it supports), each `Instrument`'s rules (tick, lot, min notional...),
margin rules and fees — never as `if venue == ...` in the callers. Venue dicts never cross
this seam; the one exception is `Prepared.body`, which is the exact request and is only ever
printed or sent back to the venue that built it.

Order ids are opaque strings: Hyperliquid's are ints, Aster's large ints, Ostium's a pair
index and trade index. Only the venue that issued an id parses it.

`send_orders` never raises for "no answer": it returns an `Ack` whose status may be UNKNOWN,
because a request that left the machine may have executed. Each venue settles UNKNOWN by
client order id before answering (and spends the request's nonce where the venue allows, so
the original can never execute later).

Records here are plain (not frozen) dataclasses on purpose: frozen ones cost several times
more to create at import, and every `perp` process imports this module. Treat them as values.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from perpcli.domain.errors import ErrorKind
from perpcli.domain.orders import OrderIntent, Side

if TYPE_CHECKING:
    from perpcli.domain.events import (
        AccountSnapshot,
        BookSnapshot,
        Event,
        Fill,
        FundingPayment,
        MarkPrice,
        OrderUpdate,
        PositionSnapshot,
        Trade,
    )
    from perpcli.domain.instrument import Instrument
    from perpcli.domain.orders import Order
    from perpcli.keys.nonces import NonceAllocator
    from perpcli.keys.signer import Signer
    from perpcli.ledger.book import SyncRule
    from perpcli.ledger.fees import FeeRates
    from perpcli.ledger.margin_rules import MarginRules
    from perpcli.net.stream import StreamProtocol, Subscription
    from perpcli.venues.capabilities import Capabilities


def __getattr__(name: str) -> Any:
    """`Capabilities` lives in its own module (a frozen record costs import time on every
    command); it is still reachable here for code that expects it beside the protocols."""
    if name == "Capabilities":
        from perpcli.venues.capabilities import Capabilities

        return Capabilities
    raise AttributeError(name)


class AckStatus(StrEnum):
    """What the venue said about one submitted order."""

    RESTING = "resting"  # accepted, resting on the book (or a trigger waiting)
    FILLED = "filled"  # fully filled at once
    PARTIALLY_FILLED = "partially_filled"  # filled in part; the rest rests or was cancelled
    CANCELED = "canceled"  # accepted, then cancelled with nothing filled (IOC remainder, margin...)
    REJECTED = "rejected"  # the venue refused it; `error` says why
    ACCEPTED = "accepted"  # accepted but not yet settled (keeper venues; grouped children)
    UNKNOWN = "unknown"  # the request left and no answer came; settle by cloid


@dataclass
class Ack:
    """The venue's answer to one order (or the lack of one).

    `error` is the venue's own words; `error_kind` is the venue-neutral class of the
    rejection (the venue adapter maps its strings; nothing else matches them).
    """

    status: AckStatus
    cloid: str | None = None
    oid: str | None = None
    filled: Decimal = Decimal(0)
    avg_price: Decimal | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None
    note: str | None = None  # what a person should know beyond the status (e.g. an existing order)
    # The order as the venue holds it, when the answer describes an order it already had (a
    # status look-up): its limit price, original size and placement time. None: as requested.
    price: Decimal | None = None
    size: Decimal | None = None
    time_ms: int | None = None
    # What a venue adds that a person or script needs to follow the order up: a transaction
    # hash and nonce, the position a keeper opened ("trade_id"), a refund. Plain JSON values.
    detail: dict[str, object] = field(default_factory=dict)

    @property
    def settled(self) -> bool:
        return self.status is not AckStatus.UNKNOWN


@dataclass
class CancelTarget:
    """One order to cancel: by the venue's id or by our client order id (one of the two)."""

    market: str
    oid: str | None = None
    cloid: str | None = None


@dataclass
class CancelResult:
    ok: bool
    oid: str | None = None
    cloid: str | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None


@dataclass
class ActionResult:
    """Answer to a non-order action (leverage, margin, transfer, agent approval...)."""

    ok: bool
    error: str | None = None
    detail: dict[str, object] = field(default_factory=dict)
    error_kind: ErrorKind | None = None


@dataclass
class Prepared:
    """A signed request, ready to send (or to print for --dry-run).

    `body` is exactly what would be sent, as the venue reads it (printed by --dry-run);
    `requests` pairs each order with (client order id, size) so an unanswered request can be
    settled; `extra` holds what only the preparing venue reads back when sending.
    """

    kind: str  # "order", "cancel", "modify", "leverage", "margin", "transfer", ...
    body: dict[str, object]
    requests: list[tuple[str | None, Decimal]] = field(default_factory=list)
    markets: list[str] = field(default_factory=list)
    grouping: str = "na"  # "normalTpsl": the first order is the parent of the TP/SL children
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class Candle:
    """One OHLCV bar (the domain has no candle type; venues produce these directly)."""

    symbol: str
    interval: str
    open_ms: int
    close_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal  # base units
    trades: int


@dataclass
class FundingRate:
    """Current (and, where the venue predicts it, next) funding for one market.

    `rate` is per `interval_hours` as the venue quotes it; `apr` annualises it (rate x periods
    per year) so venues with different intervals compare.
    """

    symbol: str
    rate: Decimal
    interval_hours: int
    predicted_rate: Decimal | None = None
    next_time_ms: int | None = None

    @property
    def apr(self) -> Decimal:
        return self.rate * (Decimal(24 * 365) / self.interval_hours)

    @property
    def predicted_apr(self) -> Decimal | None:
        if self.predicted_rate is None:
            return None
        return self.predicted_rate * (Decimal(24 * 365) / self.interval_hours)


@dataclass
class KeyRole:
    """Whom a signing key acts for on a venue.

    `role` is "user" (the key's own account), "agent" (an approved API key trading for
    `account`), "vault"/"subAccount" (not signers), or "missing" (unknown to the venue).
    """

    signer: str
    role: str
    account: str | None
    agent_name: str | None = None
    valid_until_ms: int | None = None

    @property
    def registered(self) -> bool:
        return self.role in ("user", "agent") and self.account is not None


@dataclass
class LeverageSetting:
    """The leverage and margin mode the account has chosen for one market (None: not set)."""

    leverage: int | None
    cross: bool = True


@dataclass
class AgentKey:
    """An API key approved to trade for the account."""

    name: str
    address: str
    valid_until_ms: int | None = None


@dataclass
class TwapState:
    """One TWAP of the account: what it set out to do, how far it got, and whether it still runs.

    `status` is `running`, `finished`, `terminated` (canceled) or `error`; `executed_size` and
    `executed_notional` count the slices filled so far (their ratio is the average price).
    """

    venue: str
    twap_id: int
    symbol: str
    side: Side
    size: Decimal
    executed_size: Decimal
    executed_notional: Decimal
    minutes: int
    started_ms: int
    status: str = "running"
    reduce_only: bool = False
    randomize: bool = False
    ended_ms: int | None = None

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def ends_ms(self) -> int:
        """When the schedule ends (the venue sends its last slice by then)."""
        return self.started_ms + self.minutes * 60_000

    @property
    def progress(self) -> Decimal:
        """Share of the size executed, 0..1."""
        return self.executed_size / self.size if self.size else Decimal(0)

    @property
    def average_price(self) -> Decimal | None:
        return self.executed_notional / self.executed_size if self.executed_size else None


@dataclass
class TradingOptions:
    """Per-venue choices from config and flags, passed as data (never venue code in callers).

    `account_override` trades for a vault or sub-account the key may act for; `builder` and
    `builder_fee_tenths_bp` attach a builder fee — only when the user configured one.
    """

    account_override: str | None = None
    builder: str | None = None
    builder_fee_tenths_bp: int = 0


@dataclass
class MarginAccount:
    """One margin account the key's account holds on a venue: `name` is "" for the main one
    (Hyperliquid's builder dexes each keep their own collateral and are named by the dex)."""

    name: str
    snapshot: AccountSnapshot


@dataclass
class Positions:
    """Open positions and the mark each was valued at by the venue (when it says)."""

    positions: list[PositionSnapshot]
    marks: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class AccountSocket:
    """A separate, authenticated websocket carrying one account's events, for venues that keep
    them off the market socket (Aster's listenKey user-data stream).

    Run it as its own `StreamSession(ws_url, protocol, sink, connector=connector)` with
    `subscription`, which carries fills and order updates together. `connector` authenticates
    every connection (a new or renewed credential each time, kept alive while connected, and
    the connection closed when the venue says the credential expired), so a reconnect is also
    the re-authentication; the session's reconnect hook reconciles over REST. `ws_url` is where
    it connects with the credential left out: it is what statuses and logs show.
    """

    ws_url: str
    protocol: StreamProtocol
    connector: Callable[..., Awaitable[Any]]
    subscription: Subscription


@dataclass
class CollateralOrder:
    """A new trade on a venue that margins every trade on its own collateral (Ostium).

    Such a venue sizes a trade as collateral x leverage; a USD notional or a base size is
    converted by the venue, exactly, at its reference price (exactly one of the three is set).
    `kind` is "market", "limit" (opens when the price comes to `price`) or "stop" (when the
    price goes through it); `tp`/`sl` ride on the trade itself, not as separate orders.
    """

    symbol: str
    side: Side
    leverage: Decimal | None = None  # None: the venue's default for a new trade on the market
    kind: str = "market"
    collateral: Decimal | None = None
    notional: Decimal | None = None
    size: Decimal | None = None
    price: Decimal | None = None
    tp: Decimal | None = None
    sl: Decimal | None = None
    slippage_pct: Decimal = Decimal(1)


@dataclass
class OpenQuote:
    """A CollateralOrder checked and priced by the venue before anything is signed: what the
    preview shows (app/preview.collateral_preview) and what `prepare_open` then signs.

    `rules` are this trade's margin rules (on a per-trade venue the liquidation threshold may
    depend on the leverage); fees are in the collateral asset, None where the venue did not say.
    """

    order: CollateralOrder
    instrument: Instrument
    reference_price: Decimal  # the oracle's ask (buy) or bid (sell) for a market order; else the trigger
    oracle_price: Decimal  # the oracle mid: what PnL and liquidation are marked at
    collateral: Decimal
    leverage: Decimal
    notional: Decimal
    size: Decimal  # units of the underlying at the reference price
    rules: MarginRules
    opening_fee: Decimal | None
    oracle_fee: Decimal | None
    wallet: Decimal  # free collateral in the wallet
    approval_needed: bool  # the venue's spender may not pull the collateral yet: an approval goes first


@runtime_checkable
class CollateralTrading(Protocol):
    """The keyed side of a venue whose trades carry their own collateral and are filled later by
    a keeper (Capabilities.order_form == "collateral"). Its orders are CollateralOrders.

    A market order's Ack is ACCEPTED with the venue's order id until `await_settlement` sees
    the keeper's answer (FILLED: `detail["trade_id"]` is the position; CANCELED: refunded, with
    the reason); a limit or stop is RESTING. A transaction that left without a receipt is
    UNKNOWN with its hash and nonce in `detail`, and `settle_earlier` (which every later
    command on the key calls first) settles it by hash and nonce — never by sending again.
    `detail` keys, all optional: tx_hash, nonce, order_id, trade_id, collateral, leverage,
    liquidation_price, tp, sl, approved, usdc_to_trader, reason; settle_earlier's Acks add
    type, market, side and label (what the transaction was).
    """

    def quote_open(self, order: CollateralOrder) -> OpenQuote: ...
    def prepare_open(self, quote: OpenQuote) -> list[Prepared]: ...  # an approval first when needed
    def prepare_close_trade(self, market: str, *, percent: Decimal, slippage_pct: Decimal,
                            trade_id: str | None = None) -> Prepared: ...
    def prepare_tpsl(self, market: str, *, tp: Decimal | None, sl: Decimal | None, clear_tp: bool = False,
                     clear_sl: bool = False, trade_id: str | None = None) -> list[Prepared]: ...
    def send_order(self, prepared: Sequence[Prepared]) -> Ack: ...  # the last one is the order
    def await_settlement(self, ack: Ack, timeout_s: float | None = None) -> Ack: ...
    def settle_earlier(self) -> list[Ack]: ...
    def open_trade_ids(self) -> list[tuple[str, str]]: ...  # (market, trade id) of every open trade


@runtime_checkable
class LiveFeed(Protocol):
    """How to stream one venue through `net.stream.StreamSession`: its websocket URL, its
    protocol (frames, decoding, snapshots) and the subscriptions for each kind of feed."""

    ws_url: str
    protocol: StreamProtocol
    book_sync_rule: SyncRule  # how the venue proves a book feed is continuous (snapshots, U/u/pu...)
    # For diff feeds: the REST snapshot a feed resyncs from (StreamSession's snapshot_fetcher);
    # None where every book message is whole (a resync is the next message).
    snapshot: Callable[[Subscription], Awaitable[str]] | None
    # Where account events need their own authenticated socket: builds it for a keyed side
    # (venues/live.py `account_socket`). None: `fills`/`orders` ride this feed's socket.
    account_socket: Callable[[Trading], AccountSocket] | None
    # The market's mark price as it moves (MarkPrice events), for algos that trail the mark;
    # None where the venue streams none (then they read it over REST).
    marks: Callable[[str], Subscription] | None

    def book(self, symbol: str) -> Subscription: ...
    def trades(self, symbol: str) -> Subscription: ...
    def fills(self, account: str) -> Subscription: ...
    def orders(self, account: str) -> Subscription: ...


class SubmitAnswer(Protocol):
    """What a venue said to a body posted by `perp submit`: its JSON answer, printed as is."""

    answer: object

    def raise_for_refusal(self) -> None: ...


@runtime_checkable
class OfflineSigning(Protocol):
    """Signing on a machine that never touches the network (`perp sign`), and posting what
    was signed from one that holds no key (`perp submit`).

    `options` are the venue's own signing choices as plain values (network, vault, expiry...);
    `next_nonce` supplies a fresh nonce when the document does not carry one."""

    def sign(self, document: object, signer: Signer, *, nonce: int | None,
             next_nonce: Callable[[], int] | None, options: dict[str, object]) -> dict[str, object]: ...
    def submit(self, signed: object, *, url: str, timeout_s: float) -> SubmitAnswer: ...


class OracleQuote(Protocol):
    """One market's price on a venue without a book (Capabilities.kind "oracle"): the oracle's
    bid, mid and ask (a trade fills at bid or ask; the mid is the mark) and whether the
    market trades now."""

    symbol: str
    bid: Decimal
    mid: Decimal
    ask: Decimal
    market_open: bool
    time_ms: int


@runtime_checkable
class OracleQuotes(Protocol):
    """What a venue without a book offers instead (the market-data side of an oracle venue):
    `quote(market, fresh=True)` reads the feed again, else the last reading is reused."""

    def quote(self, market: str, *, fresh: bool = False) -> OracleQuote: ...


@runtime_checkable
class MarketData(Protocol):
    """The keyless side of a venue."""

    venue: str

    @property
    def capabilities(self) -> Capabilities: ...
    @property
    def network(self) -> str: ...
    def close(self) -> None: ...

    # ----- markets and prices
    def instruments(self, *, include_builder_dexes: bool = False) -> list[Instrument]: ...
    def instrument(self, market: str) -> Instrument: ...
    def mids(self, markets: Sequence[str] | None = None) -> dict[str, Decimal]: ...
    def mark_prices(self, markets: Sequence[str] | None = None, *, fresh: bool = False) -> list[MarkPrice]: ...
    def reference_prices(self, market: str) -> tuple[Decimal, Decimal]: ...
    def book(self, market: str, depth: int = 20) -> BookSnapshot: ...
    def recent_trades(self, market: str) -> list[Trade]: ...
    def candles(self, market: str, interval: str, start_ms: int, end_ms: int) -> list[Candle]: ...
    def funding(self, markets: Sequence[str] | None = None) -> list[FundingRate]: ...

    # ----- margin and fees: the venue's rules as data (ledger/margin_rules.py, ledger/fees.py)
    def margin_rules(self, instrument: Instrument) -> MarginRules: ...
    def default_fees(self) -> FeeRates: ...  # the public schedule, source="public schedule"

    # ----- streams
    def live_feed(self, account: str = "") -> LiveFeed: ...
    def stream_book(self, market: str) -> AsyncIterator[Event]: ...
    def stream_trades(self, market: str) -> AsyncIterator[Event]: ...

    # ----- ids, addresses, offline signing
    def new_client_id(self) -> str: ...
    def check_client_id(self, text: str, *, what: str = "cloid") -> str: ...
    def check_address(self, text: str, *, what: str = "address") -> str: ...
    def offline(self) -> OfflineSigning: ...

    # ----- the keyed side
    def trading(self, signer: Signer, *, options: TradingOptions | None = None,
                nonces: NonceAllocator | None = None) -> Trading: ...


@runtime_checkable
class Trading(Protocol):
    """The keyed side of a venue; constructed only with a Signer."""

    venue: str
    market: MarketData

    @property
    def capabilities(self) -> Capabilities: ...

    # ----- who is trading
    @property
    def account_address(self) -> str: ...
    @property
    def signer_address(self) -> str: ...
    def resolve_account(self) -> KeyRole: ...
    def require_registered(self) -> KeyRole: ...

    # ----- reads
    def account(self, market: str | None = None) -> AccountSnapshot: ...
    def margin_accounts(self) -> list[MarginAccount]: ...
    def positions(self) -> Positions: ...
    def open_orders(self) -> list[Order]: ...
    def fills(self, since_ms: int | None = None) -> list[Fill]: ...
    def funding_history(self, since_ms: int, end_ms: int | None = None) -> list[FundingPayment]: ...
    # `market`, when the caller knows it, lets a venue that looks orders up per symbol find a
    # finished order too (not only an open one).
    def order_status(self, *, oid: str | None = None, cloid: str | None = None,
                     market: str | None = None) -> Ack | None: ...
    def order_updates_since(self, since_ms: int) -> list[OrderUpdate]: ...
    def leverage_setting(self, market: str) -> LeverageSetting: ...
    def fee_rates(self) -> FeeRates: ...  # the account's own (source="account"); cached per process
    def agents(self) -> list[AgentKey]: ...
    def twaps(self, *, include_ended: bool = False) -> list[TwapState]: ...  # running ones, newest first
    def stream_account(self) -> AsyncIterator[Event]: ...

    # ----- orders: prepare (sign) then send; submit = both
    def prepare_orders(self, intents: Sequence[OrderIntent], *, grouping: str = "na") -> Prepared: ...
    def send_orders(self, prepared: Prepared) -> list[Ack]: ...
    def submit(self, intents: Sequence[OrderIntent], *, grouping: str = "na") -> list[Ack]: ...
    def prepare_cancel(self, targets: Sequence[CancelTarget]) -> Prepared: ...
    def send_cancel(self, prepared: Prepared, targets: Sequence[CancelTarget]) -> list[CancelResult]: ...
    def cancel(self, target: CancelTarget) -> CancelResult: ...
    def prepare_modify(self, oid: str, intent: OrderIntent) -> Prepared: ...
    def modify(self, oid: str, intent: OrderIntent) -> Ack: ...

    # ----- other actions: prepare then `send`
    def prepare_leverage(self, market: str, leverage: int, *, cross: bool) -> Prepared: ...
    def set_leverage(self, market: str, leverage: int, *, cross: bool) -> ActionResult: ...
    def prepare_margin(self, market: str, amount: Decimal) -> Prepared: ...
    def prepare_schedule_cancel(self, time_ms: int | None) -> Prepared: ...
    def prepare_twap(self, market: str, *, is_buy: bool, size: Decimal, minutes: int,
                     reduce_only: bool = False, randomize: bool = False) -> Prepared: ...
    def prepare_twap_cancel(self, market: str, twap_id: int) -> Prepared: ...
    def prepare_transfer(self, kind: str, amount: Decimal, *, destination: str | None = None,
                         to_perp: bool = True) -> Prepared: ...
    def transfer(self, kind: str, amount: Decimal, *, destination: str | None = None,
                 to_perp: bool = True) -> ActionResult: ...
    def prepare_approve_agent(self, agent_address: str, name: str | None,
                              valid_until_ms: int | None = None) -> Prepared: ...
    def send(self, prepared: Prepared) -> ActionResult: ...
