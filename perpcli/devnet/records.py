"""Plain records the devnet engine takes and returns.

The engine speaks in these typed values, never in venue JSON: the devnet server parses
Hyperliquid request bodies into the *inputs* below and renders the *outputs* back into the
venue's exact JSON shapes. Every number that is money, a price or a size is a `Decimal`;
ids and times are `int` (milliseconds). Field names follow the venue's meaning (so a reader
of the protocol notes recognises them) in Python spelling.

Records made on every order (inputs, results, fills, trades, status rows, events) are plain slotted
dataclasses rather than frozen ones: a frozen dataclass pays an object.__setattr__ per field
when built, which dominated the matching hot path. Treat every record the engine hands out
as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

# ---------------------------------------------------------------------------------------------
# Inputs


@dataclass(slots=True)
class TriggerSpec:
    """A trigger order's condition: fire when the *mark* price crosses `trigger_px`.

    `tpsl` is "tp" (favourable side) or "sl" (adverse side); `is_market` executes as an
    aggressive IOC bounded by the order's `px`, otherwise a limit at `px` rests once fired.
    """

    is_market: bool
    trigger_px: Decimal
    tpsl: str


@dataclass(slots=True)
class OrderSpec:
    """One order as the venue's `order` action carries it (`a,b,p,s,r,t,c`).

    `tif` is "Gtc", "Ioc", "Alo" or "FrontendMarket" for limit orders and is ignored when
    `trigger` is set. `cloid` is "0x" + 32 lowercase hex, or None.
    """

    asset: int
    is_buy: bool
    px: Decimal
    sz: Decimal
    reduce_only: bool = False
    tif: str = "Gtc"
    trigger: TriggerSpec | None = None
    cloid: str | None = None
    builder: tuple[str, int] | None = None  # (builder address, fee in tenths of a basis point)


# ---------------------------------------------------------------------------------------------
# Per-item results of order / batchModify / cancel


@dataclass(slots=True)
class Resting:
    """`{"resting":{"oid":…, "cloid"?}}`."""

    oid: int
    cloid: str | None = None


@dataclass(slots=True)
class Filled:
    """`{"filled":{"totalSz","avgPx","oid","cloid"?}}` — the order filled completely at once."""

    total_sz: Decimal
    avg_px: Decimal
    oid: int
    cloid: str | None = None


@dataclass(slots=True)
class OrderError:
    """`{"error": "<venue text>"}` for one item of a batch."""

    error: str


# Bare-string statuses for grouped TP/SL children, exactly as the venue spells them.
WAITING_FOR_FILL = "waitingForFill"
WAITING_FOR_TRIGGER = "waitingForTrigger"
CANCEL_SUCCESS = "success"

OrderResult = Resting | Filled | OrderError | str
CancelResult = str | OrderError


class ActionError(Exception):
    """The whole action failed: the server answers `{"status":"err","response": message}`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------------------------------
# Outputs: orders, fills, trades, funding, ledger


@dataclass(slots=True)
class OrderRecord:
    """An order as `frontendOpenOrders` shows it (openOrders uses a subset of the fields).

    `sz` is the remaining size; `orig_sz` the size when placed (or re-placed by modify).
    `order_type` is the venue's label ("Limit", "Stop Market", "Take Profit Limit", ...);
    `tif` is None for trigger orders; `trigger_condition` is "N/A" for plain limits.
    """

    coin: str
    side: str  # "B" | "A"
    limit_px: Decimal
    sz: Decimal
    oid: int
    timestamp: int
    orig_sz: Decimal
    cloid: str | None = None
    reduce_only: bool = False
    order_type: str = "Limit"
    tif: str | None = "Gtc"
    is_trigger: bool = False
    trigger_px: Decimal = Decimal(0)
    trigger_condition: str = "N/A"
    is_position_tpsl: bool = False
    children: list[OrderRecord] = field(default_factory=list)


@dataclass(slots=True)
class OrderStatusRecord:
    """One entry of orderStatus / historicalOrders / the orderUpdates channel."""

    order: OrderRecord
    status: str  # "open", "filled", "canceled", "triggered", "rejected", "...Canceled", ...
    status_timestamp: int


@dataclass(frozen=True, slots=True)
class LiquidationInfo:
    liquidated_user: str
    mark_px: Decimal
    method: str  # "market" | "backstop"


@dataclass(slots=True)
class Fill:
    """One user's side of one match (the userFills row)."""

    user: str
    coin: str
    px: Decimal
    sz: Decimal
    side: str  # "B" | "A"
    time: int
    start_position: Decimal
    dir: str  # "Open Long", "Close Short", "Long > Short", ...
    closed_pnl: Decimal
    hash: str
    oid: int
    crossed: bool  # True = this side was the taker
    fee: Decimal  # negative = rebate
    tid: int
    cloid: str | None = None
    fee_token: str = "USDC"
    liquidation: LiquidationInfo | None = None
    builder_fee: Decimal | None = None  # part of `fee` paid to the order's builder


@dataclass(slots=True)
class Trade:
    """One print on the tape (trades channel / recentTrades). `side` is the taker's side."""

    coin: str
    side: str
    px: Decimal
    sz: Decimal
    time: int
    hash: str
    tid: int
    buyer: str
    seller: str


@dataclass(slots=True)
class FundingRate:
    """One row of fundingHistory (per coin, per funding interval)."""

    coin: str
    funding_rate: Decimal  # per interval (hourly on the venue)
    premium: Decimal
    time: int


@dataclass(slots=True)
class FundingPayment:
    """One row of userFunding: `usdc` negative = the user paid."""

    user: str
    coin: str
    usdc: Decimal
    szi: Decimal
    funding_rate: Decimal
    time: int
    hash: str


@dataclass(slots=True)
class LedgerUpdate:
    """One row of userNonFundingLedgerUpdates.

    `kind` is the venue's delta type ("deposit", "withdraw", "accountClassTransfer", "send",
    "internalTransfer", "liquidation"); `usdc` the amount; `details` holds the remaining
    delta keys in venue spelling with Decimal/str/bool values (e.g. toPerp, destination, fee).
    """

    user: str
    time: int
    hash: str
    kind: str
    usdc: Decimal
    details: tuple[tuple[str, object], ...] = ()


@dataclass(slots=True)
class Candle:
    """`{"t","T","s","i","o","c","h","l","v","n"}`: open/close ms, coin, interval, OHLC, base volume, count."""

    coin: str
    interval: str
    t: int
    T: int  # noqa: N815 — the venue's key
    o: Decimal
    c: Decimal
    h: Decimal
    l: Decimal  # noqa: E741 — the venue's key
    v: Decimal
    n: int


# ---------------------------------------------------------------------------------------------
# Outputs: market data and account views


@dataclass(slots=True)
class BookLevel:
    px: Decimal
    sz: Decimal
    n: int


@dataclass(slots=True)
class L2Snapshot:
    coin: str
    time: int
    bids: tuple[BookLevel, ...]  # best (highest) first
    asks: tuple[BookLevel, ...]  # best (lowest) first


@dataclass(frozen=True, slots=True)
class AssetCtx:
    """metaAndAssetCtxs / activeAssetCtx fields. Perp only; None where the venue sends null."""

    coin: str
    funding: Decimal
    open_interest: Decimal
    oracle_px: Decimal
    mark_px: Decimal
    mid_px: Decimal | None
    impact_pxs: tuple[Decimal, Decimal] | None
    premium: Decimal | None
    prev_day_px: Decimal
    day_ntl_vlm: Decimal
    day_base_vlm: Decimal


@dataclass(frozen=True, slots=True)
class PositionView:
    """One `assetPositions[i].position` of clearinghouseState."""

    coin: str
    szi: Decimal
    entry_px: Decimal
    position_value: Decimal
    unrealized_pnl: Decimal
    return_on_equity: Decimal
    liquidation_px: Decimal | None
    margin_used: Decimal
    max_leverage: int
    leverage_type: str  # "cross" | "isolated"
    leverage_value: int
    raw_usd: Decimal | None  # isolated only
    cum_funding_all_time: Decimal
    cum_funding_since_open: Decimal
    cum_funding_since_change: Decimal


@dataclass(frozen=True, slots=True)
class MarginSummaryView:
    account_value: Decimal
    total_ntl_pos: Decimal
    total_raw_usd: Decimal
    total_margin_used: Decimal


@dataclass(frozen=True, slots=True)
class ClearinghouseView:
    """clearinghouseState for one user and one perp dex."""

    asset_positions: tuple[PositionView, ...]
    margin_summary: MarginSummaryView
    cross_margin_summary: MarginSummaryView
    cross_maintenance_margin_used: Decimal
    withdrawable: Decimal
    time: int


@dataclass(frozen=True, slots=True)
class SpotBalance:
    coin: str
    token: int
    total: Decimal
    hold: Decimal
    entry_ntl: Decimal


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """An approved API wallet. `name` "" = the unnamed agent; `valid_until` None = no expiry."""

    master: str
    address: str
    name: str
    valid_until: int | None


@dataclass(frozen=True, slots=True)
class ActiveAssetData:
    user: str
    coin: str
    leverage_type: str
    leverage_value: int
    raw_usd: Decimal | None
    max_trade_szs: tuple[Decimal, Decimal]  # buy, sell
    available_to_trade: tuple[Decimal, Decimal]
    mark_px: Decimal


# ---------------------------------------------------------------------------------------------
# Events: what changed during one engine call, for websocket pushes


@dataclass(slots=True)
class BookChanged:
    """The l2Book of `coin` changed (the server re-renders the snapshot, as the venue pushes)."""

    coin: str
    time: int


@dataclass(slots=True)
class TradesPrinted:
    coin: str
    trades: tuple[Trade, ...]


@dataclass(slots=True)
class UserFills:
    user: str
    fills: tuple[Fill, ...]


@dataclass(slots=True)
class OrderUpdates:
    user: str
    updates: tuple[OrderStatusRecord, ...]


@dataclass(slots=True)
class UserFunding:
    user: str
    payment: FundingPayment


@dataclass(slots=True)
class UserLedger:
    user: str
    update: LedgerUpdate


@dataclass(frozen=True, slots=True)
class Liquidated:
    """`userEvents.liquidation`: a user's positions were liquidated by the engine."""

    user: str
    lid: int
    liquidator: str
    liquidated_ntl_pos: Decimal
    liquidated_account_value: Decimal


@dataclass(slots=True)
class NonUserCancel:
    """`userEvents.nonUserCancel`: orders the engine (not the user) canceled."""

    user: str
    cancels: tuple[tuple[str, int], ...]  # (coin, oid)


@dataclass(slots=True)
class CandleUpdated:
    candle: Candle


@dataclass(slots=True)
class AccountChanged:
    """Balances/positions/margin of `user` may have changed (clearinghouseState, spotState pushes)."""

    user: str


@dataclass(slots=True)
class PricesChanged:
    """Oracle/mark/mid prices moved (allMids, activeAssetCtx pushes)."""

    time: int


Event = (
    BookChanged
    | TradesPrinted
    | UserFills
    | OrderUpdates
    | UserFunding
    | UserLedger
    | Liquidated
    | NonUserCancel
    | CandleUpdated
    | AccountChanged
    | PricesChanged
)
