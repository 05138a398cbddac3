"""The devnet exchange engine: books, matching, margin, funding, liquidation, transfers.

Pure and deterministic: the engine never reads a clock or a global RNG. Every mutating call
takes `now_ms`; before acting, the engine first runs what became due up to that time
(scheduled cancels, funding). Calling the same methods with the same arguments from the
same state gives the same state, byte for byte, so a seed plus a clock replays a session.

Callers (the HTTP/ws server, the synthetic market, tests) pass typed inputs
(`records.OrderSpec`, addresses as lowercase strings, Decimals) and get typed results
(`records.Resting | Filled | OrderError | str`, views). Whole-action failures raise
`records.ActionError` whose message is the venue's exact text. Everything that changed is
also queued as `records.Event`s; the server calls `drain_events()` after each call and
pushes websocket channels from them.

Margin math (initial/maintenance margin, account value, withdrawable, liquidation price) is
the client's own model in `perpcli.ledger.margin`, so the devnet and the terminal cannot
disagree about the venue's rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from perpcli.devnet.markets import MarketSet, PerpMarket, default_markets
from perpcli.devnet.records import (
    ActionError,
    ActiveAssetData,
    AgentRecord,
    AssetCtx,
    CancelResult,
    Candle,
    ClearinghouseView,
    Event,
    Fill,
    FundingPayment,
    FundingRate,
    L2Snapshot,
    LedgerUpdate,
    OrderRecord,
    OrderResult,
    OrderSpec,
    OrderStatusRecord,
    SpotBalance,
    Trade,
)

__all__ = ["Engine", "EngineConfig", "ActionError", "CANDLE_INTERVALS"]

# Intervals the engine aggregates candles for, with their length in ms.
CANDLE_INTERVALS: dict[str, int] = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}


@dataclass(slots=True)
class EngineConfig:
    """Exchange-wide settings. Defaults mirror the venue's base tier where one exists."""

    auto_fund: bool = True  # credit unknown addresses on first use
    auto_fund_usdc: Decimal = Decimal(100_000)  # perp USDC credited on first use
    taker_fee: Decimal = Decimal("0.00045")
    maker_fee: Decimal = Decimal("0.00015")  # negative = rebate
    funding_interval_ms: int = 3_600_000
    interest_rate_8h: Decimal = Decimal("0.0001")
    min_order_notional: Decimal = Decimal(10)
    price_band: Decimal = Decimal("0.8")  # limit px may be at most 80% away from the reference
    market_slippage: Decimal = Decimal("0.05")  # bound used by market_order() helpers
    trigger_market_slippage: Decimal = Decimal("0.10")
    withdraw_fee: Decimal = Decimal(1)
    schedule_cancel_min_volume: Decimal = Decimal(0)  # the venue requires $1,000,000
    schedule_cancel_daily_max: int = 10
    max_open_orders: int = 1000
    history_limit: int = 10_000  # per-user fills / order history kept
    trades_kept: int = 2_000  # per-coin recent trades kept
    candles_kept: int = 5_000  # per coin and interval
    liquidator: str = "0x2e3d94f0562703b25c83308a05046ddaf9a8dd14"


class Engine:
    """One exchange: every market's book plus every account. See the module docstring."""

    def __init__(
        self,
        markets: MarketSet | None = None,
        config: EngineConfig | None = None,
        *,
        start_ms: int = 0,
    ) -> None:
        self.markets = markets or default_markets()
        self.config = config or EngineConfig()
        self.now_ms = start_ms
        raise NotImplementedError

    # -- time and prices ---------------------------------------------------------------------

    def advance(self, now_ms: int) -> None:
        """Move the clock to `now_ms` (never backwards) and run everything that became due:
        scheduled cancels, funding payments, trigger and liquidation checks."""
        raise NotImplementedError

    def set_oracle_price(self, coin: str, px: Decimal, now_ms: int) -> None:
        """Set a perp's oracle price (test hook / synthetic market). Mark follows; triggers and
        liquidations are then checked."""
        raise NotImplementedError

    def oracle_price(self, coin: str) -> Decimal:
        raise NotImplementedError

    def mark_price(self, coin: str) -> Decimal:
        """Median of (oracle, best bid, best ask) style mark; see `_recompute_mark`."""
        raise NotImplementedError

    def mid_price(self, coin: str) -> Decimal | None:
        """(best bid + best ask) / 2, or the last trade price when a side is empty, or None."""
        raise NotImplementedError

    # -- accounts ----------------------------------------------------------------------------

    def fund(self, user: str, usdc: Decimal, now_ms: int) -> None:
        """Credit `usdc` to the user's perp balance (a devnet deposit, recorded as such)."""
        raise NotImplementedError

    def ensure_account(self, user: str, now_ms: int) -> bool:
        """Return whether `user` exists, creating (and auto-funding) it when auto_fund is on."""
        raise NotImplementedError

    def account_exists(self, user: str) -> bool:
        raise NotImplementedError

    def approve_agent(self, master: str, agent: str, name: str, now_ms: int) -> None:
        """Register `agent` for `master`. `name` may end in " valid_until <ms>". An unnamed
        approval replaces the previous unnamed agent; a known name replaces that named agent;
        at most 3 named agents."""
        raise NotImplementedError

    def resolve_signer(self, signer: str, now_ms: int) -> str | None:
        """The account a recovered signer acts for: its master if it is a live agent, itself if
        it is a known (or auto-funded) user, else None."""
        raise NotImplementedError

    def is_agent(self, address: str, now_ms: int) -> bool:
        raise NotImplementedError

    def agents_of(self, master: str, now_ms: int) -> list[AgentRecord]:
        raise NotImplementedError

    def user_role(self, address: str, now_ms: int) -> tuple[str, str | None]:
        """("user"|"agent"|"missing", master for agents)."""
        raise NotImplementedError

    # -- trading actions (user = the account acted for, never an agent) ----------------------

    def place_orders(
        self, user: str, orders: list[OrderSpec], grouping: str, now_ms: int
    ) -> list[OrderResult]:
        """The `order` action. One result per order, in order; a payload-level rejection of
        the whole batch raises ActionError."""
        raise NotImplementedError

    def cancel(self, user: str, cancels: list[tuple[int, int]], now_ms: int) -> list[CancelResult]:
        """The `cancel` action: (asset, oid) pairs → "success" or OrderError each."""
        raise NotImplementedError

    def cancel_by_cloid(
        self, user: str, cancels: list[tuple[int, str]], now_ms: int
    ) -> list[CancelResult]:
        """The `cancelByCloid` action: (asset, cloid) pairs."""
        raise NotImplementedError

    def modify(self, user: str, target: int | str, order: OrderSpec, now_ms: int) -> OrderResult:
        """The `modify` action: cancel `target` (oid or cloid) and place `order` under a new oid.
        Raises ActionError when the target is unknown."""
        raise NotImplementedError

    def batch_modify(
        self, user: str, modifies: list[tuple[int | str, OrderSpec]], now_ms: int
    ) -> list[OrderResult]:
        """The `batchModify` action: one status per modify."""
        raise NotImplementedError

    def schedule_cancel(self, user: str, time_ms: int | None, now_ms: int) -> None:
        """Set (or clear with None) the dead-man switch. Raises ActionError with the venue's
        text when too soon or volume is insufficient."""
        raise NotImplementedError

    def update_leverage(self, user: str, asset: int, is_cross: bool, leverage: int, now_ms: int) -> None:
        raise NotImplementedError

    def update_isolated_margin(self, user: str, asset: int, usdc: Decimal, now_ms: int) -> None:
        """Add (positive) or remove (negative) isolated margin of the user's position."""
        raise NotImplementedError

    # -- transfers ---------------------------------------------------------------------------

    def usd_class_transfer(self, user: str, usdc: Decimal, to_perp: bool, now_ms: int) -> None:
        raise NotImplementedError

    def usd_send(self, user: str, destination: str, usdc: Decimal, now_ms: int) -> None:
        raise NotImplementedError

    def withdraw(self, user: str, destination: str, usdc: Decimal, now_ms: int) -> None:
        raise NotImplementedError

    # -- reads -------------------------------------------------------------------------------

    def l2_book(self, coin: str, depth: int = 20, n_sig_figs: int | None = None) -> L2Snapshot:
        raise NotImplementedError

    def asset_ctx(self, coin: str) -> AssetCtx:
        raise NotImplementedError

    def all_mids(self, dex: str = "") -> dict[str, Decimal]:
        raise NotImplementedError

    def clearinghouse_state(self, user: str, dex: str = "") -> ClearinghouseView:
        raise NotImplementedError

    def spot_balances(self, user: str) -> list[SpotBalance]:
        raise NotImplementedError

    def open_orders(self, user: str, dex: str = "") -> list[OrderRecord]:
        """Resting and untriggered trigger orders, newest first (frontendOpenOrders rows)."""
        raise NotImplementedError

    def order_status(self, user: str, oid_or_cloid: int | str) -> OrderStatusRecord | None:
        raise NotImplementedError

    def historical_orders(self, user: str, limit: int = 2000) -> list[OrderStatusRecord]:
        raise NotImplementedError

    def user_fills(
        self, user: str, start_ms: int | None = None, end_ms: int | None = None, limit: int = 2000
    ) -> list[Fill]:
        """Newest first."""
        raise NotImplementedError

    def recent_trades(self, coin: str, limit: int = 100) -> list[Trade]:
        raise NotImplementedError

    def funding_history(self, coin: str, start_ms: int, end_ms: int | None = None) -> list[FundingRate]:
        raise NotImplementedError

    def user_funding(self, user: str, start_ms: int, end_ms: int | None = None) -> list[FundingPayment]:
        raise NotImplementedError

    def user_ledger(self, user: str, start_ms: int, end_ms: int | None = None) -> list[LedgerUpdate]:
        raise NotImplementedError

    def candles(self, coin: str, interval: str, start_ms: int, end_ms: int) -> list[Candle]:
        raise NotImplementedError

    def active_asset_data(self, user: str, coin: str) -> ActiveAssetData:
        raise NotImplementedError

    def cum_volume(self, user: str) -> Decimal:
        raise NotImplementedError

    def market(self, coin_or_asset: str | int) -> PerpMarket | None:
        raise NotImplementedError

    # -- events and persistence --------------------------------------------------------------

    def drain_events(self) -> list[Event]:
        """Events queued since the last drain, oldest first."""
        raise NotImplementedError

    def to_json(self) -> dict:
        """The whole exchange state as JSON-able data (Decimals as strings)."""
        raise NotImplementedError

    @classmethod
    def from_json(cls, data: dict) -> Engine:
        raise NotImplementedError

    def save(self, path: Path) -> None:
        raise NotImplementedError

    @classmethod
    def load(cls, path: Path) -> Engine:
        raise NotImplementedError
