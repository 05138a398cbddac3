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
disagree about the venue's rules. The per-venue hook: an account's `margin_venue` picks the
rules its positions are valued by (Hyperliquid's tiers, or the Aster face's Binance-style
brackets: liquidation price, maintenance, withdrawable and the leverage each notional allows).
It is fixed by the face the account belongs to (faces.py: each face keys its own accounts
over the one set of books, so an address is two accounts, never one margined two ways).

Layout: this module holds the order path (validation, matching, statuses, cancels, modifies,
the dead-man switch), leverage and margin, time and prices, and the event buffers. Mixins hold
the rest: `reads` (queries), `triggers` (TP/SL), `liquidation`, `funding`, `transfers`,
`agents`; `persist` the JSON state; `errors` the venue's texts; `matching` the book itself.

Each perp dex margins on its own collateral (`accounts.Wallet`), as on the venue; auto-fund
credits every dex so a fresh key trades every market.

Simplifications (documented, deliberate): the mark price is the median of oracle, best bid and
best ask (oracle alone when a side is empty; no EMA terms); liquidation is checked when the
oracle moves (every synthetic-market step), at funding and on margin changes, and closes the
whole position at once. Spot pairs trade on their own books and settle in token balances
(`spot`); they have no trigger or reduce-only orders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_EVEN, Decimal
from hashlib import blake2b
from pathlib import Path

from perpcli.devnet import margin_rules as mr
from perpcli.devnet import persist
from perpcli.devnet.accounts import Account, Position, Wallet
from perpcli.devnet.agents import EngineAgents
from perpcli.devnet.amounts import RATE_QUANTUM, USD_QUANTUM, ZERO
from perpcli.devnet.amounts import canon as _canon
from perpcli.devnet.amounts import plain as _plain
from perpcli.devnet.errors import Errors
from perpcli.devnet.funding import EngineFunding
from perpcli.devnet.history import SeededHistory, history_specs
from perpcli.devnet.liquidation import EngineLiquidation
from perpcli.devnet.markets import (
    MarketSet,
    PerpMarket,
    default_markets,
)
from perpcli.devnet.matching import BookOrder, OrderBook
from perpcli.devnet.reads import EngineReads
from perpcli.devnet.records import (
    CANCEL_SUCCESS,
    WAITING_FOR_FILL,
    WAITING_FOR_TRIGGER,
    AccountChanged,
    ActionError,
    AgentRecord,
    BookChanged,
    CancelResult,
    Candle,
    CandleUpdated,
    Event,
    Fill,
    Filled,
    FundingRate,
    LiquidationInfo,
    NonUserCancel,
    OrderError,
    OrderRecord,
    OrderResult,
    OrderSpec,
    OrderStatusRecord,
    OrderUpdates,
    PricesChanged,
    Resting,
    Trade,
    TradesPrinted,
    UserFills,
)
from perpcli.devnet.spot import EngineSpot
from perpcli.devnet.subaccounts import EngineSubAccounts
from perpcli.devnet.transfers import EngineTransfers
from perpcli.devnet.triggers import EngineTriggers
from perpcli.domain.candles import CANDLE_INTERVALS_MS
from perpcli.venues.hyperliquid.numbers import Rounding, decimal_places, price_violation, round_price

__all__ = ["Engine", "EngineConfig", "ActionError", "CANDLE_INTERVALS", "Errors"]

ONE = Decimal(1)

# Intervals the engine aggregates candles for, with their length in ms.
CANDLE_INTERVALS: dict[str, int] = CANDLE_INTERVALS_MS
_HOUR = 3_600_000
_MINUTE = 60_000
# The same-minute fast path of `_record_trade` relies on every interval being whole minutes.
assert all(length % _MINUTE == 0 for length in CANDLE_INTERVALS.values())
_DAY = 86_400_000
_TID_MASK = (1 << 50) - 1


def _builder_fee(builder: tuple[str, int], ntl: Decimal) -> Decimal:
    """The builder's cut of one fill: `f` tenths of a basis point of the notional."""
    return (ntl * builder[1] / 100_000).quantize(USD_QUANTUM, rounding=ROUND_HALF_EVEN)


@dataclass(slots=True)
class EngineConfig:
    """Exchange-wide settings. Defaults mirror the venue's base tier where one exists."""

    auto_fund: bool = True  # create and credit a never-seen address when its own state is first read
    auto_fund_usdc: Decimal = Decimal(100_000)  # perp USDC credited then
    taker_fee: Decimal = Decimal("0.00045")
    maker_fee: Decimal = Decimal("0.00015")  # negative = rebate
    spot_taker_fee: Decimal = Decimal("0.0007")
    spot_maker_fee: Decimal = Decimal("0.0004")
    funding_interval_ms: int = 3_600_000
    min_order_notional: Decimal = Decimal(10)
    price_band: Decimal = Decimal("0.8")  # limit px may be at most 80% away from the reference
    market_slippage: Decimal = Decimal("0.05")  # bound used by market_order()
    trigger_market_slippage: Decimal = Decimal("0.10")
    liquidation_slippage: Decimal = Decimal("0.10")
    withdraw_fee: Decimal = Decimal(1)
    schedule_cancel_min_volume: Decimal = Decimal(0)  # the venue requires $1,000,000
    schedule_cancel_daily_max: int = 10
    max_open_orders: int = 1000
    history_limit: int = 10_000  # per-user fills / order history kept
    trades_kept: int = 2_000  # per-coin recent trades kept
    candles_kept: int = 5_000  # per coin and interval
    liquidator: str = "0x2e3d94f0562703b25c83308a05046ddaf9a8dd14"

    def to_json(self) -> dict:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = str(v) if isinstance(v, Decimal) else v
        return out

    @classmethod
    def from_json(cls, d: dict) -> EngineConfig:
        out = cls()
        for f in fields(cls):
            if f.name in d:
                default = getattr(out, f.name)
                v = d[f.name]
                setattr(out, f.name, Decimal(v) if isinstance(default, Decimal) else v)
        return out


def _median3(a: Decimal, b: Decimal, c: Decimal) -> Decimal:
    if a > b:
        a, b = b, a
    if b > c:
        b = c
    return a if a > b else b


# The memo tables below hold the prices and sizes orders used: the synthetic makers alone send
# thousands of distinct sizes a minute, so an idle devnet filled a 200,000-entry table (tens of
# MB of Decimals) within the hour. A few thousand entries hold a book's working set; a full
# table is simply emptied, which costs one recount per entry.
MEMO_LIMIT = 4096
_PRICE_RULES: dict[tuple[Decimal, int], str | None] = {}


def _price_rule(px: Decimal, sz_decimals: int) -> str | None:
    """The venue's price rule (numbers.price_violation), memoised: books reuse a small set of
    prices, and the rule's digit counting is the slowest step of validating an order."""
    key = (px, sz_decimals)
    rule = _PRICE_RULES.get(key, _UNSEEN)
    if rule is _UNSEEN:
        if len(_PRICE_RULES) >= MEMO_LIMIT:
            _PRICE_RULES.clear()
        rule = _PRICE_RULES[key] = price_violation(px, sz_decimals, spot=False)
    return rule


_UNSEEN = object()
_SIZE_DECIMALS: dict[Decimal, int] = {}


def _size_decimals(sz: Decimal) -> int:
    """numbers.decimal_places, memoised for the same reason as `_price_rule`."""
    places = _SIZE_DECIMALS.get(sz)
    if places is None:
        if len(_SIZE_DECIMALS) >= MEMO_LIMIT:
            _SIZE_DECIMALS.clear()
        places = _SIZE_DECIMALS[sz] = decimal_places(sz)
    return places


class Engine(
    EngineReads,
    EngineLiquidation,
    EngineFunding,
    EngineTriggers,
    EngineTransfers,
    EngineAgents,
    EngineSubAccounts,
    EngineSpot,
):
    """One exchange: every market's book plus every account. See the module docstring."""

    OID_START = 40_000_000_000  # above 2^32, as on the venue: clients must use 64-bit ids

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
        self._books: dict[str, OrderBook] = {}
        self._oracle: dict[str, Decimal] = {}
        self._mark: dict[str, Decimal] = {}
        self._last_px: dict[str, Decimal] = {}
        self._triggers: dict[str, dict[int, BookOrder]] = {}
        self._holders: dict[str, dict[str, None]] = {}  # coin -> users with a position
        self._oi: dict[str, Decimal] = {}
        for m in self.markets.perps:
            self._books[m.name] = OrderBook(m.name)
            self._oracle[m.name] = m.start_px
            self._mark[m.name] = m.start_px
            self._triggers[m.name] = {}
            self._holders[m.name] = {}
            self._oi[m.name] = ZERO
        self._tables: dict = {}  # coin -> margin table (cache)
        self._by_name = {m.name: m for m in self.markets.perps}
        self._by_asset = {m.asset: m for m in self.markets.perps}
        self._dex_of = {m.name: m.dex for m in self.markets.perps}  # coin -> perp dex ("" = default)
        self._accounts: dict[str, Account] = {}
        self._orders: dict[int, BookOrder] = {}  # live: resting, untriggered, waiting children
        self._status: dict[int, OrderStatusRecord] = {}
        self._owner: dict[int, str] = {}
        self._agents: dict[str, AgentRecord] = {}
        self._trades: dict[str, list[Trade]] = {m.name: [] for m in self.markets.perps}
        self._candles: dict[str, dict[str, list[Candle]]] = {
            m.name: {iv: [] for iv in CANDLE_INTERVALS} for m in self.markets.perps
        }
        self._hour_volume: dict[str, dict[int, list[Decimal]]] = {m.name: {} for m in self.markets.perps}
        self._funding_hist: dict[str, list[FundingRate]] = {m.name: [] for m in self.markets.perps}
        self._premium: dict[str, list[Decimal]] = {m.name: [ZERO, ZERO] for m in self.markets.perps}
        self._last_sample_ms = start_ms
        interval = self.config.funding_interval_ms
        self._next_funding_ms = (start_ms // interval + 1) * interval
        self._next_oid = self.OID_START
        self._seq = 0  # feeds hashes and trade ids
        self._lid = 0
        self._scheduled: dict[str, None] = {}  # users with a dead-man switch set
        self._events: list[Event] = []
        # per-call buffers, flushed into _events at the end of every public mutating call
        self._buf_fills: dict[str, list[Fill]] = {}
        self._buf_updates: dict[str, list[OrderStatusRecord]] = {}
        self._buf_trades: dict[str, list[Trade]] = {}
        self._buf_books: dict[str, None] = {}
        self._buf_accounts: dict[str, None] = {}
        # coins that printed a trade this call: their latest candle per interval is pushed
        self._buf_candles: dict[str, None] = {}
        self._buf_prices = False
        self._buf_nonuser: dict[str, list[tuple[str, int]]] = {}
        self._event_cache: dict = {}
        self._mark_inputs: dict[str, tuple[int, Decimal]] = {}  # coin -> (book levels version, oracle)
        self._bands: dict[str, tuple[Decimal, Decimal, Decimal]] = {}  # coin -> (oracle, lowest, highest px)
        self._candle_slots: dict[str, list] = {}  # coin -> [(interval, ms, series, key)], rebuilt lazily
        # coin -> [minute start, minute end, open candle per interval, hour bucket, slots, events]
        # as of its last trade (see _record_trade and _flush)
        self._candle_minute: dict[str, list] = {}
        # The seeded past before launch (history.py), or None: a bare engine starts empty.
        self.history: SeededHistory | None = None
        self.load_sub_state(None)  # sub-accounts and referral codes (subaccounts.py)
        self._init_spot()  # spot pairs' books (spot.py)

    # ================================================================ time and prices

    def advance(self, now_ms: int) -> None:
        """Move the clock to `now_ms` (never backwards) and run everything that became due:
        scheduled cancels, funding payments, premium sampling."""
        self._advance(now_ms)
        self._flush()

    def _advance(self, now_ms: int) -> None:
        if now_ms < self.now_ms:
            return
        while self._next_funding_ms <= now_ms:
            t = self._next_funding_ms
            self._run_scheduled_cancels(t)
            self.now_ms = t
            self._pay_funding(t)
            self._next_funding_ms = t + self.config.funding_interval_ms
        if self._scheduled:  # checked here: this runs before every order
            self._run_scheduled_cancels(now_ms)
        self.now_ms = now_ms
        if now_ms - self._last_sample_ms >= 5000:
            self._sample_premiums()
            self._last_sample_ms = now_ms

    def set_oracle_price(self, coin: str, px: Decimal, now_ms: int) -> None:
        """Set a perp's oracle price (test hook / synthetic market). Mark follows; triggers and
        liquidations are then checked."""
        self._advance(now_ms)
        if coin not in self._oracle:
            raise ActionError(Errors.INVALID_ASSET)
        if not px.is_finite() or px <= 0:
            raise ActionError(Errors.INVALID_PRICE)
        self._oracle[coin] = px
        self._buf_prices = True
        self._after_price_moves((coin,), liquidations=True)
        self._flush()

    def oracle_price(self, coin: str) -> Decimal:
        return self._oracle[coin]

    def mark_price(self, coin: str) -> Decimal:
        """Median of oracle, best bid and best ask; the oracle alone when a side is empty."""
        return self._mark[coin]

    def mid_price(self, coin: str) -> Decimal | None:
        """(best bid + best ask) / 2, or the last trade price when a side is empty, or None."""
        bid, ask = self._books[coin].bbo()
        if bid is not None and ask is not None:
            return (bid + ask) / 2
        return self._last_px.get(coin)

    def _recompute_mark(self, coin: str) -> bool:
        book = self._books[coin]
        bids, asks = book.bids, book.asks
        version = bids.version + asks.version  # book.levels_version(), inlined: runs per order
        oracle = self._oracle[coin]
        seen = self._mark_inputs.get(coin)
        if seen is not None and seen[0] == version and seen[1] is oracle:
            return False  # same levels and same oracle: same mark
        self._mark_inputs[coin] = (version, oracle)
        bid_prices, ask_prices = bids.prices, asks.prices  # ascending: best bid last, best ask first
        mark = _median3(oracle, bid_prices[-1], ask_prices[0]) if bid_prices and ask_prices else oracle
        if mark != self._mark[coin]:
            self._mark[coin] = mark
            return True
        return False

    def _after_price_moves(self, coins, *, liquidations: bool = False) -> None:
        """Marks may have moved: fire triggers (on every mark move, as the venue does).

        Liquidation sweeps every holder of a coin, so it runs when the oracle moves (each
        synthetic-market step, the test hook), at funding and on margin changes, not after
        every trade: a trade moves the mark only within the spread, and the next oracle update
        (at most one market step later) catches any account it pushed under maintenance.
        `coins` is insertion-ordered (a dict or tuple, never a set): the order of trigger and
        liquidation checks must not depend on string hashing, or replays would differ.
        """
        if not coins:
            return
        moved = [c for c in coins if self._recompute_mark(c)]
        if not moved:
            return
        self._buf_prices = True
        for _ in range(8):  # triggers can move the book, which can move the mark again
            for coin in moved:
                self._check_triggers(coin)
            if liquidations:
                for coin in moved:
                    self._check_liquidations(coin)
            moved = [c for c in moved if self._recompute_mark(c)]
            if not moved:
                break

    # ================================================================ accounts and agents

    def fund(self, user: str, usdc: Decimal, now_ms: int, dex: str = "") -> None:
        """Credit `usdc` to the user's balance on perp dex `dex` (a devnet deposit, recorded as such)."""
        self._advance(now_ms)
        if not usdc.is_finite() or usdc <= 0:
            raise ActionError(Errors.AMOUNT)
        if dex and self.markets.dex_by_name(dex) is None:
            raise ActionError(Errors.INVALID_DEX.format(dex=dex))
        acct = self._account(user, now_ms, auto=False)
        self._deposit(acct, usdc, dex)
        self._flush()

    def _deposit(self, acct: Account, usdc: Decimal, dex: str = "") -> None:
        self._dex_wallet(acct, dex).usdc += usdc
        self._ledger(acct, "deposit", usdc, (("dex", dex),) if dex else ())

    def _wallet(self, acct: Account, coin: str):
        """The collateral `coin` trades against: the account itself on the default dex, else
        its wallet on the coin's builder dex (accounts.Wallet)."""
        dex = self._dex_of[coin]
        return acct if not dex else self._dex_wallet(acct, dex)

    @staticmethod
    def _dex_wallet(acct: Account, dex: str):
        if not dex:
            return acct
        w = acct.wallets.get(dex)
        if w is None:
            w = acct.wallets[dex] = Wallet()
        return w

    def _positions_of_dex(self, acct: Account, dex: str):
        if not acct.wallets:  # never touched a builder dex: every position is on the default one
            return acct.positions.values() if not dex else ()
        dex_of = self._dex_of
        return [p for p in acct.positions.values() if dex_of[p.coin] == dex]

    def seed_history(self, seed: int, launch_ms: int | None = None, days: int = 30) -> None:
        """Give every listed market `days` of seeded history ending at `launch_ms` (default:
        the engine's clock) at its listing price, where the live market starts."""
        launch = self.now_ms if launch_ms is None else launch_ms
        self.history = SeededHistory(history_specs(self.markets), seed, launch, days) if days > 0 else None

    def set_history_limit(self, user: str, limit: int | None) -> None:
        """Keep `limit` rows of `user`'s order, fill, funding and ledger history instead of the
        engine-wide `history_limit` (None restores it). The synthetic market's own accounts
        trade around the clock and nobody reads their history: this keeps it short."""
        if limit is not None and limit < 1:
            raise ValueError("history limit must be at least 1")
        self._accounts[user.lower()].history_limit = limit

    def ensure_account(self, user: str, now_ms: int) -> bool:
        """Return whether `user` exists, creating (and auto-funding) it when auto_fund is on.

        Called when an address's own state is read (userRole, clearinghouseState, a user
        websocket channel...), never for a signer: an address seen in any way before (a
        transfer recipient, an agent, an expired agent) is not funded again."""
        user = user.lower()
        if user in self._accounts:
            return True
        if not self.config.auto_fund or user in self._agents:  # agent keys hold no funds
            return False
        self._account(user, now_ms)
        self._flush()
        return True

    def account_exists(self, user: str) -> bool:
        return user.lower() in self._accounts

    def _account(self, user: str, now_ms: int, auto: bool = True) -> Account:
        acct = self._accounts.get(user)
        if acct is None:
            user = user.lower()
            acct = self._accounts.get(user)
            if acct is None:
                acct = Account(user, now_ms)
                self._accounts[user] = acct
                if auto and self.config.auto_fund and self.config.auto_fund_usdc > 0:
                    # Devnet convenience: every perp dex's collateral is funded, so a fresh key
                    # trades every market (on the venue builder dexs start empty).
                    for d in self.markets.dexs:
                        self._deposit(acct, self.config.auto_fund_usdc, d.name)
        return acct

    # ================================================================ orders

    def place_orders(
        self, user: str, orders: list[OrderSpec], grouping: str, now_ms: int
    ) -> list[OrderResult]:
        """The `order` action. One result per order, in order. Payload-level errors (empty
        batch, TP/SL children that are not reduce-only triggers) come back as a single error,
        as the venue's pre-validation does."""
        self._advance(now_ms)
        acct = self._account(user, now_ms)
        if not orders:
            return [OrderError(Errors.EMPTY_BATCH)]
        touched: dict[str, None] = {}
        if grouping == "normalTpsl" and len(orders) > 1:
            bad = self._tpsl_prevalidate(orders[1:])
            if bad:
                return [OrderError(bad)]
            results = self._place_normal_tpsl(acct, orders, now_ms, touched)
        elif grouping == "positionTpsl":
            bad = self._tpsl_prevalidate(orders)
            if bad:
                return [OrderError(bad)]
            results = []
            group = self._new_group()
            for spec in orders:
                r = self._place_one(acct, spec, now_ms, touched, position_tpsl=True, group=group)
                results.append(WAITING_FOR_TRIGGER if isinstance(r, Resting) else r)
        elif len(orders) == 1:  # the common case, without a comprehension's frame
            results = [self._place_one(acct, orders[0], now_ms, touched)]
        else:
            results = [self._place_one(acct, spec, now_ms, touched) for spec in orders]
        self._after_price_moves(touched)
        self._flush()
        return results

    @staticmethod
    def _tpsl_prevalidate(specs: list[OrderSpec]) -> str | None:
        for s in specs:
            if s.trigger is None:
                return Errors.TPSL_NOT_TRIGGER
            if not s.reduce_only:
                return Errors.TPSL_NOT_REDUCE_ONLY
        return None

    def _new_group(self) -> int:
        self._seq += 1
        return self._seq

    def _place_normal_tpsl(self, acct: Account, orders, now_ms, touched) -> list[OrderResult]:
        parent_spec, child_specs = orders[0], orders[1:]
        # Children are validated like any order but held, not live, until the parent fills.
        children: list[BookOrder] = []
        child_results: list[OrderResult] = []
        group = self._new_group()
        for spec in child_specs:
            checked = self._validate(acct, spec, now_ms)
            if isinstance(checked, OrderError):
                child_results.append(checked)
                continue
            child = self._new_order(acct, spec, checked, now_ms)
            child.group = group
            children.append(child)
            child_results.append(WAITING_FOR_FILL)
        parent_result = self._place_one(acct, parent_spec, now_ms, touched, held_children=children)
        if isinstance(parent_result, OrderError):
            for c in children:
                self._forget(c)
                self._set_status(c, "rejected", now_ms)
            return [parent_result] + [parent_result for _ in child_specs]
        if isinstance(parent_result, Filled):
            child_results = [WAITING_FOR_TRIGGER if r == WAITING_FOR_FILL else r for r in child_results]
        return [parent_result, *child_results]

    def _validate(self, acct: Account, spec: OrderSpec, now_ms: int):
        """Static checks of one order, in the venue's order: the market, or an OrderError."""
        m = self._by_asset.get(spec.asset)
        if m is None or m.is_delisted:
            return OrderError(Errors.INVALID_ASSET)
        px, sz = spec.px, spec.sz
        if not px.is_finite() or px <= 0:
            return OrderError(Errors.INVALID_PRICE)
        rule = _price_rule(px, m.sz_decimals)
        if rule is not None:
            return OrderError(Errors.TICK if rule == "price-sig-figs" else Errors.INVALID_PRICE)
        if spec.trigger is not None:
            tpx = spec.trigger.trigger_px
            if not tpx.is_finite() or tpx <= 0:
                return OrderError(Errors.INVALID_PRICE)
            rule = _price_rule(tpx, m.sz_decimals)
            if rule is not None:
                return OrderError(Errors.TICK if rule == "price-sig-figs" else Errors.INVALID_PRICE)
        if not sz.is_finite():
            return OrderError(Errors.INVALID_SIZE)
        if sz <= 0:
            return OrderError(Errors.ZERO_SIZE)
        if _size_decimals(sz) > m.sz_decimals:  # the venue's lot rule (numbers.py)
            return OrderError(Errors.INVALID_SIZE)
        if spec.cloid is not None and self._cloid_taken(acct, spec.cloid):
            return OrderError(Errors.DUPLICATE_CLOID)
        ref = self._oracle[m.name]
        band = self._bands.get(m.name)
        if band is None or band[0] is not ref:
            # |px - ref| > band * ref  <=>  px outside [ref - band*ref, ref + band*ref]
            width = self.config.price_band * ref
            band = self._bands[m.name] = (ref, ref - width, ref + width)
        if spec.trigger is None and (px < band[1] or px > band[2]):
            return OrderError(Errors.PRICE_BAND)
        if spec.trigger is not None:
            t = spec.trigger
            if abs(t.trigger_px - ref) > self.config.price_band * ref:
                return OrderError(Errors.PRICE_BAND)
            if t.tpsl not in ("tp", "sl"):
                return OrderError(Errors.TPSL_PRICE)
            if t.tpsl == "sl" and ((not spec.is_buy and px > t.trigger_px) or (spec.is_buy and px < t.trigger_px)):
                return OrderError(Errors.TPSL_PRICE)
        if not spec.reduce_only and px * sz < self.config.min_order_notional:
            return OrderError(Errors.MIN_VALUE)
        if len(acct.open_oids) >= self.config.max_open_orders:
            return OrderError(Errors.TOO_MANY_ORDERS)
        return m

    def _cloid_taken(self, acct: Account, cloid: str) -> bool:
        """A cloid names one order per account while that order is live or among the account's
        recent ones (`_trim_order_history`); only a rejected order frees it sooner."""
        oid = acct.cloids.get(cloid)
        if oid is None:
            return False
        if oid in self._orders:
            return True
        rec = self._status.get(oid)
        return rec is None or not rec.status.endswith("ejected")

    def _new_order(self, acct: Account, spec: OrderSpec, m: PerpMarket, now_ms: int) -> BookOrder:
        oid = self._next_oid
        self._next_oid += 1
        t = spec.trigger
        if t is None:
            order_type, tif = "Limit", spec.tif
        else:
            kind = "Take Profit" if t.tpsl == "tp" else "Stop"
            order_type, tif = f"{kind} {'Market' if t.is_market else 'Limit'}", None
        o = BookOrder(
            oid,
            acct.address,
            m.name,
            spec.is_buy,
            spec.px,
            spec.sz,
            now_ms,
            spec.cloid,
            spec.reduce_only,
            tif,
            t,
            order_type,
        )
        o.builder = spec.builder
        self._orders[oid] = o
        self._owner[oid] = acct.address
        if spec.cloid is not None:
            acct.cloids[spec.cloid] = oid
        history = acct.order_history
        history.append(oid)
        limit = acct.history_limit or self.config.history_limit
        if len(history) > limit + limit // 10:  # trim in chunks: a list drops its head in O(n)
            self._trim_order_history(acct, len(history) - limit)
        return o

    def _trim_order_history(self, acct: Account, count: int) -> None:
        """Forget the oldest `count` finished orders of `acct`: history, status, owner and cloid.

        What stays is every live order (however old: it must stay queryable and keep its cloid
        taken) plus the newest `history_limit` orders. The cloid map keeps exactly the cloids of
        those orders, so it is bounded like the history; a forgotten cloid may be used again,
        as it can no longer be queried either.
        """
        history = acct.order_history
        live = self._orders
        head = history[:count]
        still_live = [oid for oid in head if oid in live]
        history[:count] = still_live
        for old in head:
            if old not in live:
                self._status.pop(old, None)
                self._owner.pop(old, None)
        owner = self._owner
        acct.cloids = {cloid: oid for cloid, oid in acct.cloids.items() if oid in owner}

    def _forget(self, o: BookOrder) -> None:
        self._orders.pop(o.oid, None)

    def _place_one(
        self,
        acct: Account,
        spec: OrderSpec,
        now_ms: int,
        touched: dict[str, None],
        *,
        position_tpsl: bool = False,
        group: int | None = None,
        held_children: list[BookOrder] | None = None,
    ) -> OrderResult:
        if 10000 <= spec.asset < 100000:  # a spot pair (asset ids, protocol notes §d.1)
            s = self._spot_by_asset.get(spec.asset)
            return self._place_spot(acct, spec, s, now_ms, touched) if s else OrderError(Errors.INVALID_ASSET)
        checked = self._validate(acct, spec, now_ms)
        if isinstance(checked, OrderError):
            return checked
        m = checked
        coin = m.name
        if spec.trigger is not None:
            o = self._new_order(acct, spec, m, now_ms)
            o.is_position_tpsl = position_tpsl
            o.group = group
            self._triggers[coin][o.oid] = o
            acct.open_oids[o.oid] = None
            self._set_status(o, "open", now_ms)
            touched[coin] = None
            if self._trigger_due(o, self._mark[coin]):
                self._fire_trigger(o, now_ms, touched)
            return Resting(o.oid, o.cloid)

        pos = acct.positions.get(coin)
        szi = pos.szi if pos is not None else ZERO
        sz = spec.sz
        if spec.reduce_only:
            if szi == 0 or (szi > 0) == spec.is_buy:
                return self._reject(acct, spec, m, now_ms, Errors.REDUCE_ONLY, "reduceOnlyRejected")
            if sz > abs(szi):
                sz = abs(szi)
        book = self._books[coin]
        if spec.tif == "Alo" and book.opposite(spec.is_buy).crosses(spec.px, spec.is_buy):
            bid, ask = book.bbo()
            msg = Errors.ALO_CROSS.format(bid=_plain(bid), ask=_plain(ask))
            return self._reject(acct, spec, m, now_ms, msg, "badAloPxRejected")
        if not spec.reduce_only:
            err = self._margin_check(acct, m, spec.is_buy, sz, spec.px, szi)
            if err is not None:
                status = "perpMarginRejected"
                return self._reject(acct, spec, m, now_ms, err, status)
        o = self._new_order(acct, spec, m, now_ms)
        o.sz = o.orig_sz = sz
        if held_children:
            o.children = [c.oid for c in held_children]
            for c in held_children:
                c.parent = o.oid
        touched[coin] = None
        return self._execute(acct, o, now_ms, touched)

    def _reject(self, acct, spec: OrderSpec, m: PerpMarket, now_ms: int, msg: str, status: str) -> OrderError:
        """A rejected order still gets an oid and a history row with the reject status."""
        o = self._new_order(acct, spec, m, now_ms)
        self._forget(o)
        self._set_status(o, status, now_ms)
        return OrderError(msg)

    def _margin_check(self, acct: Account, m: PerpMarket, is_buy: bool, sz: Decimal, px: Decimal, szi: Decimal):
        """The pre-trade check, at the order's limit price (the venue reserves margin there).

        The margin an order needs is the growth of initial margin it causes: the opening part
        at `px`, minus, for a flip, the margin the closed position gives back — the same
        `margin_change` the ledger's preview computes.
        """
        closing = min(sz, abs(szi)) if szi != 0 and (szi > 0) != is_buy else ZERO
        increase = sz - closing
        if increase <= 0:
            return None
        is_cross, lev = self._leverage_of(acct, m)
        need = mr.initial_margin(increase * px, lev)
        if closing:  # a flip: the old position's margin is released
            pos = acct.positions[m.name]
            need -= mr.initial_margin(abs(szi) * self._mark[m.name], pos.leverage)
            new_ntl = increase * px
        else:
            new_ntl = (abs(szi) + increase) * px
        if acct.margin_venue:  # Binance-style brackets: the leverage must fit the new notional's
            if lev > self._rules(acct, m).max_leverage(new_ntl):
                return Errors.TIER_LIMIT
        else:
            tiers = self._table(m).tiers
            # Below the second tier the first applies, whose max is the market's (enforced by
            # updateLeverage); only bigger positions need the ledger's tier lookup.
            if len(tiers) > 1 and new_ntl >= tiers[1].lower_bound and lev > mr.max_leverage_at(self._table(m), new_ntl):
                return Errors.TIER_LIMIT
        if need > self._available(acct, m.dex):
            return Errors.MARGIN
        return None

    def _leverage_of(self, acct: Account, m: PerpMarket) -> tuple[bool, int]:
        setting = acct.leverage.get(m.name)
        if setting is None:
            # The venue's default: cross at min(20, max leverage) (isolated-only markets: isolated).
            return mr.default_leverage(self._table(m), m.only_isolated)
        return setting

    def _table(self, m: PerpMarket):
        table = self._tables.get(m.name)
        if table is None:
            table = self._tables[m.name] = self.markets.margin_table_of(m)
        return table

    # ---------------------------------------------------------------- matching

    def _execute(self, acct: Account, o: BookOrder, now_ms: int, touched: dict[str, None]) -> OrderResult:
        """Match `o` (already validated and numbered) against the book; rest or cancel the rest."""
        book = self._books[o.coin]
        opposite = book.opposite(o.is_buy)
        is_buy = o.is_buy
        limit = o.px
        filled = ZERO
        notional = ZERO
        first_px = None
        one_price = True
        coin = o.coin
        spot = coin in self._spot_markets  # settles in tokens (spot.py), not positions
        # Each pass takes the oldest order at the best level; every pass either fills the
        # taker completely or removes that maker (filled or canceled), so the loop ends.
        while o.sz > 0:
            level = opposite.best()
            if level is None or (level.px > limit if is_buy else level.px < limit):
                break
            maker = next(iter(level.orders.values()))
            if maker.user == o.user:
                # Self-trade prevention: the venue expires the resting (maker) order.
                self._cancel_order(maker, "selfTradeCanceled", now_ms)
                continue
            qty = o.sz if o.sz < maker.sz else maker.sz
            if o.reduce_only:
                tpos = acct.positions.get(coin)
                tszi = tpos.szi if tpos is not None else ZERO
                if tszi == 0 or (tszi > 0) == is_buy:
                    break
                if qty > abs(tszi):
                    qty = abs(tszi)
            macct = self._accounts[maker.user]
            if spot:
                if not self._spot_maker_ok(macct, maker, qty):
                    self._cancel_order(maker, "insufficientSpotBalanceRejected", now_ms)
                    continue
                self._match_spot(o, maker, qty, now_ms)
            else:
                mpos = macct.positions.get(coin)
                mszi = mpos.szi if mpos is not None else ZERO
                if maker.reduce_only:
                    if mszi == 0 or (mszi > 0) == maker.is_buy:
                        self._cancel_order(maker, "reduceOnlyCanceled", now_ms)
                        continue
                    if qty > abs(mszi):
                        qty = abs(mszi)
                elif not self._maker_margin_ok(macct, maker, qty, mszi):
                    self._cancel_order(maker, "marginCanceled", now_ms)
                    continue
                self._match(o, maker, qty, now_ms)
            filled += qty
            notional += qty * maker.px
            if first_px is None:
                first_px = maker.px
            elif maker.px != first_px:
                one_price = False
            if maker.sz == 0:
                self._maker_done(macct, maker, now_ms, touched)
        if not filled:
            avg = ZERO
        elif one_price:
            avg = first_px  # exact, and already in canonical form
        else:
            avg = _canon((notional / filled).quantize(RATE_QUANTUM))
        if filled:
            self._buf_books[coin] = None
        if o.sz <= 0 or (o.reduce_only and filled and not self._has_position(acct, coin)):
            o.sz = ZERO
            self._orders.pop(o.oid, None)
            self._set_status(o, "filled", now_ms)
            if o.children:
                self._activate_children(o, now_ms, touched)
            return Filled(filled, avg, o.oid, o.cloid)
        tif = o.tif
        if tif == "Gtc" or tif == "Alo":
            if not o.reduce_only and not spot:  # reduce-only orders never add exposure: no margin held
                pos = acct.positions.get(coin)
                szi = pos.szi if pos is not None else ZERO
                o.reserved = self._reserve_for(acct, o, szi)
                (acct if not self._dex_of[coin] else self._wallet(acct, coin)).reserved += o.reserved
            book.add(o)
            acct.open_oids[o.oid] = None
            self._buf_books[coin] = None
            self._set_status(o, "open", now_ms)
            return Resting(o.oid, o.cloid)
        # Ioc / FrontendMarket / LiquidationMarket: cancel what is left.
        self._orders.pop(o.oid, None)
        if filled:
            self._set_status(o, "canceled", now_ms)
            self._activate_children(o, now_ms, touched, partial=True)
            return Filled(filled, avg, o.oid, o.cloid)
        self._cancel_children(o, now_ms)
        if tif == "Ioc":
            self._set_status(o, "iocCancelRejected", now_ms)
            return OrderError(Errors.IOC_NO_MATCH)
        self._set_status(o, "marketOrderNoLiquidityRejected", now_ms)
        return OrderError(Errors.NO_LIQUIDITY)

    def _maker_done(self, macct: Account, maker: BookOrder, now_ms: int, touched: dict[str, None]) -> None:
        """A resting order filled completely: off the book, margin released, children live."""
        book = self._books[maker.coin]
        side = book.bids if maker.is_buy else book.asks
        lvl = side.levels.get(maker.px)
        if lvl is not None and maker.oid in lvl.orders:
            side.remove(maker)
        if maker.reserved:
            self._wallet(macct, maker.coin).reserved -= maker.reserved
            maker.reserved = ZERO
        if macct.open_oids.pop(maker.oid, _UNSEEN) is not _UNSEEN:
            self._set_status(maker, "filled", now_ms)
        self._orders.pop(maker.oid, None)
        if maker.children:
            self._activate_children(maker, now_ms, touched)

    def _has_position(self, acct: Account, coin: str) -> bool:
        p = acct.positions.get(coin)
        return p is not None and p.szi != 0

    def _reserve_for(self, acct: Account, o: BookOrder, szi: Decimal) -> Decimal:
        closing = min(o.sz, abs(szi)) if szi != 0 and (szi > 0) != o.is_buy else ZERO
        inc = o.sz - closing
        if inc <= 0:
            return ZERO
        m = self._by_name[o.coin]
        _, lev = self._leverage_of(acct, m)
        return mr.initial_margin(inc * o.px, lev)

    def _release(self, acct: Account, o: BookOrder) -> None:
        if o.reserved:
            self._wallet(acct, o.coin).reserved -= o.reserved
            o.reserved = ZERO

    def _maker_margin_ok(self, macct: Account, maker: BookOrder, qty: Decimal, mszi: Decimal) -> bool:
        """The venue re-checks the resting side's margin at match time."""
        closing = min(qty, abs(mszi)) if mszi != 0 and (mszi > 0) != maker.is_buy else ZERO
        inc = qty - closing
        if inc <= 0:
            return True
        m = self._by_name[maker.coin]
        _, lev = self._leverage_of(macct, m)
        need = mr.initial_margin(inc * maker.px, lev)
        share = maker.reserved * qty / maker.sz if maker.sz else ZERO
        return need <= self._available(macct, m.dex) + share

    def _match(self, taker: BookOrder, maker: BookOrder, qty: Decimal, now_ms: int, liquidation=None) -> None:
        px = maker.px
        coin = maker.coin
        taker.sz -= qty
        old_maker_sz = maker.sz
        book = self._books[coin]
        # BookSide.reduce, inlined (once per match): the order and its level shrink by qty
        maker.sz -= qty
        (book.bids if maker.is_buy else book.asks).levels[px].total -= qty
        if maker.reserved and old_maker_sz:
            macct = self._accounts[maker.user]
            new_res = maker.reserved * maker.sz / old_maker_sz
            (macct if not self._dex_of[coin] else self._wallet(macct, coin)).reserved -= maker.reserved - new_res
            maker.reserved = new_res
        self._seq += 1
        # One digest gives the tx hash and the trade id: tid is 50 bits of a hash of
        # (buyer oid, seller oid), as on the venue, salted with the sequence number.
        buy_oid, sell_oid = (taker.oid, maker.oid) if taker.is_buy else (maker.oid, taker.oid)
        digest = blake2b(b"%d:%d:%d" % (buy_oid, sell_oid, self._seq), digest_size=32).digest()
        txhash = "0x" + digest.hex()
        tid = int.from_bytes(digest[:8], "big") & _TID_MASK
        ntl = px * qty
        cfg = self.config
        taker_fee = (ntl * cfg.taker_fee).quantize(USD_QUANTUM, rounding=ROUND_HALF_EVEN)
        maker_fee = (ntl * cfg.maker_fee).quantize(USD_QUANTUM, rounding=ROUND_HALF_EVEN)
        tb = _builder_fee(taker.builder, ntl) if taker.builder is not None else None
        mb = _builder_fee(maker.builder, ntl) if maker.builder is not None else None
        self._apply_fill(
            taker.user, taker, px, qty, taker_fee + tb if tb else taker_fee, True, txhash, tid, now_ms, liquidation, tb
        )
        self._apply_fill(maker.user, maker, px, qty, maker_fee + mb if mb else maker_fee, False, txhash, tid, now_ms, None, mb)
        if tb:
            self.credit_builder(taker.builder[0], tb)
        if mb:
            self.credit_builder(maker.builder[0], mb)
        if taker.is_buy:
            trade = Trade(coin, "B", px, qty, now_ms, txhash, tid, taker.user, maker.user)
        else:
            trade = Trade(coin, "A", px, qty, now_ms, txhash, tid, maker.user, taker.user)
        self._record_trade(trade)

    def _apply_fill(
        self,
        user: str,
        o: BookOrder,
        px: Decimal,
        qty: Decimal,
        fee: Decimal,
        crossed: bool,
        txhash: str,
        tid: int,
        now_ms: int,
        liquidation: LiquidationInfo | None,
        builder_fee: Decimal | None = None,
    ) -> None:
        """One side of a match: position, entry price, realised PnL, cash, fee, fill row.
        `fee` already includes `builder_fee` (the fill row shows both, as the venue does)."""
        acct = self._accounts[user]
        coin = o.coin
        is_buy = o.is_buy
        pos = acct.positions.get(coin)
        if pos is None:
            is_cross, lev = self._leverage_of(acct, self._by_name[coin])
            pos = acct.positions[coin] = Position(coin, is_cross, lev)
        old = pos.szi
        new = old + qty if is_buy else old - qty
        if old == 0 or (old > 0) == is_buy:  # opening or adding: entry is the size-weighted average
            closing = ZERO
            opening = qty
            realized = ZERO
            if old == 0:
                pos.entry_px = px
                pos.cum_funding_since_open = ZERO
            else:
                size = abs(old)
                pos.entry_px = (size * pos.entry_px + qty * px) / (size + qty)
            direction = "Open Long" if is_buy else "Open Short"
        else:  # reducing, closing or flipping: entry unchanged, or px for the flipped remainder
            size = abs(old)
            closing = qty if qty < size else size
            opening = qty - closing
            realized = closing * (px - pos.entry_px) if old > 0 else closing * (pos.entry_px - px)
            if opening:
                pos.entry_px = px
                pos.cum_funding_since_open = ZERO
                direction = "Short > Long" if is_buy else "Long > Short"
            else:
                direction = "Close Short" if is_buy else "Close Long"
        w = acct if not self._dex_of[coin] else self._wallet(acct, coin)
        if pos.is_cross:
            w.usdc += realized - fee
        else:
            if closing:
                released = pos.iso_margin * closing / abs(old)
                pos.iso_margin -= released
                w.usdc += released + realized
            if opening:
                need = mr.initial_margin(opening * px, pos.leverage)
                w.usdc -= need
                pos.iso_margin += need
            w.usdc -= fee
        pos.cum_funding_since_change = ZERO
        pos.szi = new
        # open interest counts the long side
        self._oi[coin] += (new if new > 0 else ZERO) - (old if old > 0 else ZERO)
        if new == 0:
            pos.entry_px = ZERO
            if not pos.is_cross:
                w.usdc += pos.iso_margin
                pos.iso_margin = ZERO
            del acct.positions[coin]
            self._holders[coin].pop(user, None)
            self._on_position_closed(acct, coin, now_ms)
        else:
            self._holders[coin][user] = None
        acct.cum_volume += px * qty
        fill = Fill(
            user,
            coin,
            px,
            qty,
            "B" if is_buy else "A",
            now_ms,
            old,
            direction,
            (realized - fee) if closing else ZERO,
            txhash,
            o.oid,
            crossed,
            fee,
            tid,
            o.cloid,
            "USDC",
            liquidation,
            builder_fee,
        )
        fills = acct.fills
        fills.append(fill)
        limit = acct.history_limit or self.config.history_limit
        if len(fills) > limit + limit // 10:  # trim in chunks: a list drops its head in O(n)
            del fills[: len(fills) - limit]
        buf = self._buf_fills.get(user)
        if buf is None:
            self._buf_fills[user] = [fill]
        else:
            buf.append(fill)
        self._buf_accounts[user] = None

    def _on_position_closed(self, acct: Account, coin: str, now_ms: int) -> None:
        """A flat position takes its position-TP/SL and now-pointless reduce-only orders with it."""
        for oid in list(acct.open_oids):
            o = self._orders.get(oid)
            if o is None or o.coin != coin or not o.reduce_only or o.sz == 0:
                continue
            if o.is_position_tpsl or o.trigger is None:
                self._cancel_order(o, "reduceOnlyCanceled" if o.trigger is None else "canceled", now_ms)

    def _record_trade(self, trade: Trade) -> None:
        coin = trade.coin
        tape = self._trades[coin]
        tape.append(trade)
        kept = self.config.trades_kept
        if len(tape) > kept + kept // 10:  # trim in chunks
            del tape[: len(tape) - kept]
        self._buf_trades.setdefault(coin, []).append(trade)
        px, sz, time = trade.px, trade.sz, trade.time
        self._last_px[coin] = px
        slots = self._candle_slots.get(coin)
        if slots is None:
            slots = self._candle_slots[coin] = [
                (iv, length, self._candles[coin][iv], (coin, iv)) for iv, length in CANDLE_INTERVALS.items()
            ]
        self._buf_candles[coin] = None
        minute = self._candle_minute.get(coin)
        if minute is not None and minute[0] <= time < minute[1] and minute[4] is slots:
            # Same minute as the coin's previous trade: every interval's open candle is still the
            # one that trade updated (all intervals are whole minutes on the epoch grid), and so
            # is the hour's volume bucket.
            for c in minute[2]:
                if px > c.h:
                    c.h = px
                elif px < c.l:
                    c.l = px
                c.c = px
                c.v += sz
                c.n += 1
            bucket = minute[3]
            bucket[0] += sz
            bucket[1] += sz * px
            return
        for iv, length, series, _key in slots:
            t0 = time - time % length
            c = series[-1] if series else None
            if c is not None and c.t == t0:
                if px > c.h:
                    c.h = px
                elif px < c.l:
                    c.l = px
                c.c = px
                c.v += sz
                c.n += 1
            else:
                c = Candle(coin, iv, t0, t0 + length - 1, px, px, px, px, sz, 1)
                series.append(c)
                if len(series) > self.config.candles_kept:
                    del series[0]
        hour = trade.time - trade.time % _HOUR
        bucket = self._hour_volume[coin].get(hour)
        if bucket is None:
            bucket = self._hour_volume[coin][hour] = [ZERO, ZERO]
            for old in [h for h in self._hour_volume[coin] if h <= hour - _DAY]:
                del self._hour_volume[coin][old]
        bucket[0] += trade.sz
        bucket[1] += trade.sz * trade.px
        if all(series for _iv, _len, series, _key in slots):
            start = time - time % _MINUTE
            candles = [series[-1] for _iv, _len, series, _key in slots]
            # [minute start, minute end, open candles, hour bucket, slots, their events (made at flush)]
            self._candle_minute[coin] = [start, start + _MINUTE, candles, bucket, slots, None]
        else:
            self._candle_minute.pop(coin, None)

    # ---------------------------------------------------------------- statuses and children

    def _set_status(self, o: BookOrder, status: str, now_ms: int) -> None:
        rec = OrderStatusRecord(self._order_record(o), status, now_ms)
        self._status[o.oid] = rec
        buf = self._buf_updates.get(o.user)
        if buf is None:
            self._buf_updates[o.user] = [rec]
        else:
            buf.append(rec)

    def _order_record(self, o: BookOrder, with_children: bool = False) -> OrderRecord:
        t = o.trigger
        if t is None:
            cond = "N/A"  # a plain limit order (every order of the matching path)
        else:
            above = (t.tpsl == "tp") != o.is_buy  # sell TP / buy SL fire on a rise
            cond = "Triggered" if o.triggered else f"Price {'above' if above else 'below'} {_plain(t.trigger_px)}"
        children = []
        if with_children and o.children:
            children = [self._order_record(self._orders[c]) for c in o.children if c in self._orders]
        return OrderRecord(
            o.coin,
            "B" if o.is_buy else "A",
            o.px,
            o.sz,
            o.oid,
            o.timestamp,
            o.orig_sz,
            o.cloid,
            o.reduce_only,
            o.order_type,
            o.tif,
            t is not None,
            ZERO if t is None else t.trigger_px,
            cond,
            o.is_position_tpsl,
            children,
        )

    def _cancel_order(self, o: BookOrder, status: str, now_ms: int) -> None:
        acct = self._accounts[o.user]
        if o.trigger is not None and not o.triggered:
            self._triggers[o.coin].pop(o.oid, None)
        else:
            side = self._books[o.coin].side(o.is_buy)
            lvl = side.levels.get(o.px)
            if lvl is not None and o.oid in lvl.orders:
                side.remove(o)
                self._buf_books[o.coin] = None
        self._release(acct, o)
        acct.open_oids.pop(o.oid, None)
        self._orders.pop(o.oid, None)
        self._set_status(o, status, now_ms)
        if status not in ("canceled",):
            self._buf_nonuser.setdefault(o.user, []).append((o.coin, o.oid))
        self._cancel_children(o, now_ms)

    def _cancel_children(self, parent: BookOrder, now_ms: int) -> None:
        for cid in parent.children:
            c = self._orders.pop(cid, None)
            if c is not None:
                self._set_status(c, "canceled", now_ms)
        parent.children = []

    def _activate_children(self, parent: BookOrder, now_ms: int, touched: dict[str, None], partial: bool = False) -> None:
        """normalTpsl: the parent filled, so its TP/SL children become live trigger orders."""
        if not parent.children:
            return
        if partial:
            # The venue places children after a partial fill only when the parent was canceled
            # for insufficient margin; an IOC remainder cancel takes them away.
            self._cancel_children(parent, now_ms)
            return
        acct = self._accounts[parent.user]
        for cid in parent.children:
            c = self._orders.get(cid)
            if c is None:
                continue
            c.parent = None
            c.timestamp = now_ms
            self._triggers[c.coin][c.oid] = c
            acct.open_oids[c.oid] = None
            self._set_status(c, "open", now_ms)
            touched[c.coin] = None
        parent.children = []

    # ---------------------------------------------------------------- cancels and modifies

    def cancel(self, user: str, cancels: list[tuple[int, int]], now_ms: int) -> list[CancelResult]:
        """The `cancel` action: (asset, oid) pairs → "success" or OrderError each."""
        self._advance(now_ms)
        acct = self._account(user, now_ms)
        out: list[CancelResult] = []
        touched: dict[str, None] = {}
        for asset, oid in cancels:
            o = self._orders.get(oid)
            m = self.markets.perp_by_asset(asset) or self._spot_by_asset.get(asset)
            if o is None or o.user != acct.address or m is None or o.coin != m.name or oid not in acct.open_oids:
                out.append(OrderError(Errors.CANCEL_MISSING))
                continue
            self._cancel_order(o, "canceled", now_ms)
            touched[o.coin] = None
            out.append(CANCEL_SUCCESS)
        self._after_price_moves(touched)
        self._flush()
        return out

    def cancel_by_cloid(self, user: str, cancels: list[tuple[int, str]], now_ms: int) -> list[CancelResult]:
        """The `cancelByCloid` action: (asset, cloid) pairs."""
        acct = self._account(user, now_ms)
        pairs = [(asset, acct.cloids.get(cloid.lower(), -1)) for asset, cloid in cancels]
        return self.cancel(user, pairs, now_ms)

    def _find_open(self, acct: Account, target: int | str) -> BookOrder | None:
        oid = acct.cloids.get(target.lower(), -1) if isinstance(target, str) else target
        o = self._orders.get(oid)
        if o is None or oid not in acct.open_oids:
            return None
        return o

    def modify(self, user: str, target: int | str, order: OrderSpec, now_ms: int) -> OrderResult:
        """The `modify` action: cancel `target` (oid or cloid) and place `order` under a new oid.
        Raises ActionError when the target is not an open order of the user."""
        result = self.batch_modify(user, [(target, order)], now_ms)[0]
        if isinstance(result, OrderError) and result.error == Errors.CANCEL_MISSING:
            raise ActionError(result.error)
        return result

    def batch_modify(self, user: str, modifies: list[tuple[int | str, OrderSpec]], now_ms: int) -> list[OrderResult]:
        """The `batchModify` action: one status per modify. The replacement gets a new oid (as
        observed on the venue) and may keep the old order's cloid."""
        self._advance(now_ms)
        acct = self._account(user, now_ms)
        out: list[OrderResult] = []
        touched: dict[str, None] = {}
        for target, spec in modifies:
            old = self._find_open(acct, target)
            if old is None:
                out.append(OrderError(Errors.CANCEL_MISSING))
                continue
            self._cancel_order(old, "canceled", now_ms)
            touched[old.coin] = None
            if spec.cloid is not None and acct.cloids.get(spec.cloid) == old.oid:
                del acct.cloids[spec.cloid]  # the replacement inherits the cloid
            out.append(self._place_one(acct, spec, now_ms, touched))
        self._after_price_moves(touched)
        self._flush()
        return out

    def schedule_cancel(self, user: str, time_ms: int | None, now_ms: int) -> None:
        """Set (or clear with None) the dead-man switch. Raises ActionError with the venue's
        text when too soon, volume is insufficient, or today's triggers are used up."""
        self._advance(now_ms)
        acct = self._account(user, now_ms)
        if time_ms is None:
            acct.schedule_cancel_ms = None
            self._flush()
            return
        need = self.config.schedule_cancel_min_volume
        if acct.cum_volume < need:
            raise ActionError(Errors.SCHEDULE_VOLUME.format(req=_plain(need)))
        if time_ms < now_ms + 5000:
            raise ActionError(Errors.SCHEDULE_TOO_EARLY)
        if acct.schedule_cancel_day == now_ms // _DAY and acct.schedule_cancel_count >= self.config.schedule_cancel_daily_max:
            raise ActionError(Errors.SCHEDULE_TOO_MANY)
        acct.schedule_cancel_ms = time_ms
        self._scheduled[acct.address] = None
        self._flush()

    def _run_scheduled_cancels(self, now_ms: int) -> None:
        if not self._scheduled:
            return
        for user in list(self._scheduled):
            acct = self._accounts[user]
            t = acct.schedule_cancel_ms
            if t is None:
                self._scheduled.pop(user, None)
                continue
            if t > now_ms:
                continue
            acct.schedule_cancel_ms = None
            self._scheduled.pop(user, None)
            day = t // _DAY
            if acct.schedule_cancel_day != day:
                acct.schedule_cancel_day, acct.schedule_cancel_count = day, 0
            acct.schedule_cancel_count += 1
            for oid in list(acct.open_oids):
                o = self._orders.get(oid)
                if o is not None:
                    self._cancel_order(o, "scheduledCancel", t)

    # ================================================================ leverage and margin

    def update_leverage(self, user: str, asset: int, is_cross: bool, leverage: int, now_ms: int) -> None:
        self._advance(now_ms)
        acct = self._account(user, now_ms)
        m = self.markets.perp_by_asset(asset)
        if m is None:
            raise ActionError(Errors.INVALID_ASSET)
        if not isinstance(leverage, int) or leverage < 1 or leverage > m.max_leverage:
            raise ActionError(Errors.LEVERAGE)
        if is_cross and m.only_isolated:
            raise ActionError(Errors.CROSS_NOT_ALLOWED)
        pos = acct.positions.get(m.name)
        if pos is not None:
            if pos.is_cross != is_cross:
                raise ActionError(Errors.SWITCH_WITH_POSITION)
            ntl = abs(pos.szi) * self._mark[m.name]
            if leverage > mr.max_leverage_at(self._table(m), ntl, self._rules(acct, m)):
                raise ActionError(Errors.LEVERAGE)
            old_lev = pos.leverage
            pos.leverage = leverage
            if is_cross:
                if leverage < old_lev and self._available(acct, m.dex) < 0:
                    pos.leverage = old_lev
                    raise ActionError(Errors.LEVERAGE_MARGIN)
            else:
                # Isolated: the pot must hold the new initial margin; top up from the balance.
                need = mr.initial_margin(ntl, leverage) - (pos.iso_margin + self._upnl(pos))
                if need > 0:
                    if need > self._available(acct, m.dex):
                        pos.leverage = old_lev
                        raise ActionError(Errors.LEVERAGE_MARGIN)
                    self._wallet(acct, m.name).usdc -= need
                    pos.iso_margin += need
        acct.leverage[m.name] = (is_cross, leverage)
        self._rereserve(acct)
        self._buf_accounts[acct.address] = None
        self._flush()

    def _rereserve(self, acct: Account) -> None:
        acct.reserved = ZERO
        for w in acct.wallets.values():
            w.reserved = ZERO
        for oid in acct.open_oids:
            o = self._orders.get(oid)
            if o is None or o.trigger is not None and not o.triggered or o.reduce_only:
                continue
            pos = acct.positions.get(o.coin)
            o.reserved = self._reserve_for(acct, o, pos.szi if pos else ZERO)
            self._wallet(acct, o.coin).reserved += o.reserved

    def update_isolated_margin(self, user: str, asset: int, usdc: Decimal, now_ms: int) -> None:
        """Add (positive) or remove (negative) isolated margin of the user's position."""
        self._advance(now_ms)
        acct = self._account(user, now_ms)
        m = self.markets.perp_by_asset(asset)
        if m is None:
            raise ActionError(Errors.INVALID_ASSET)
        pos = acct.positions.get(m.name)
        if pos is None or pos.is_cross:
            raise ActionError(Errors.NO_ISOLATED_POSITION)
        if not usdc.is_finite():
            raise ActionError(Errors.AMOUNT)
        if usdc > 0:
            if usdc > self._available(acct, m.dex):
                raise ActionError(Errors.MARGIN)
        elif usdc < 0:
            if m.margin_mode == "strictIsolated":
                raise ActionError(Errors.ISOLATED_MARGIN)
            ntl = abs(pos.szi) * self._mark[m.name]
            keep = max(mr.initial_margin(ntl, pos.leverage), ntl / 10)
            if pos.iso_margin + self._upnl(pos) + usdc < keep:
                raise ActionError(Errors.ISOLATED_MARGIN)
        self._wallet(acct, m.name).usdc -= usdc
        pos.iso_margin += usdc
        self._buf_accounts[acct.address] = None
        self._after_price_moves(())
        self._check_liquidations(m.name)
        self._flush()

    # -- the margin model (perpcli.ledger.margin rules via margin_rules) --------------------

    def _risk_of(self, pos: Position, venue: str = mr.HYPERLIQUID) -> mr.PositionRisk:
        m = self.markets.perp_by_name(pos.coin)
        rules = mr.venue_rules(venue, self._table(m), m.max_leverage, m.only_isolated) if venue else None
        return mr.position_risk(
            pos.coin, pos.szi, pos.entry_px, self._mark[pos.coin], pos.leverage, self._table(m), pos.is_cross,
            pos.iso_margin, rules,
        )

    def _rules(self, acct: Account, m: PerpMarket) -> mr.MarginRules:
        """The margin rules `acct` is valued by on market `m` (its margin venue's)."""
        return mr.venue_rules(acct.margin_venue, self._table(m), m.max_leverage, m.only_isolated)

    def _upnl(self, pos: Position) -> Decimal:
        return self._risk_of(pos).unrealized_pnl

    def _summary(self, acct: Account, dex: str = "") -> mr.MarginSummary:
        """The ledger's view of the account on one perp dex. Its `cash` includes isolated pots."""
        positions = self._positions_of_dex(acct, dex)
        risks = [self._risk_of(p, acct.margin_venue) for p in positions]
        cash = self._balance(acct, dex)[0] + sum((p.iso_margin for p in positions if not p.is_cross), ZERO)
        return mr.summarize(cash, risks)

    @staticmethod
    def _balance(acct: Account, dex: str) -> tuple[Decimal, Decimal]:
        """(balance, margin held by resting orders) on one perp dex; reads create no wallet."""
        w = acct if not dex else acct.wallets.get(dex)
        return (w.usdc, w.reserved) if w is not None else (ZERO, ZERO)

    def _available(self, acct: Account, dex: str = "") -> Decimal:
        """Collateral free for new orders on one perp dex: cross value − cross initial margin −
        resting orders, all of that dex (each dex margins against its own collateral)."""
        if not dex:  # the default dex, inlined: this runs for every order
            positions = acct.positions.values() if not acct.wallets else self._positions_of_dex(acct, dex)
            return mr.free_collateral(positions, self._mark, acct.usdc) - acct.reserved
        usdc, reserved = self._balance(acct, dex)
        return mr.free_collateral(self._positions_of_dex(acct, dex), self._mark, usdc) - reserved

    def margin_available(self, user: str, dex: str = "") -> Decimal:
        """What a new order's initial margin must fit in (the engine's pre-trade check)."""
        acct = self._accounts.get(user.lower())
        return self._available(acct, dex) if acct else ZERO

    def margin_reserved(self, user: str, dex: str = "") -> Decimal:
        """The initial margin the account's resting orders hold on one perp dex."""
        acct = self._accounts.get(user.lower())
        return self._balance(acct, dex)[1] if acct else ZERO

    # ================================================================ convenience for the market and tests

    def market_order_px(self, coin: str, is_buy: bool, slippage: Decimal | None = None) -> Decimal:
        """The worst price of a market order: mid (or mark) × (1 ± slippage), rounded outwards
        to a valid price — what the official SDK sends for a market order."""
        m = self.markets.perp_by_name(coin) or self._spot_markets[coin]
        ref = self.mid_price(coin) or self._mark[coin]
        slip = self.config.market_slippage if slippage is None else slippage
        raw = ref * (1 + slip) if is_buy else ref * (1 - slip)
        rounding = Rounding.DOWN if is_buy else Rounding.UP
        return round_price(raw, m.sz_decimals, spot=coin in self._spot_markets, rounding=rounding)

    def market_order(
        self,
        user: str,
        coin: str,
        is_buy: bool,
        sz: Decimal,
        now_ms: int,
        *,
        slippage: Decimal | None = None,
        reduce_only: bool = False,
        cloid: str | None = None,
    ) -> OrderResult:
        """An aggressive IOC bounded by `market_order_px`."""
        m = self.markets.perp_by_name(coin) or self._spot_markets[coin]
        px = self.market_order_px(coin, is_buy, slippage)
        spec = OrderSpec(m.asset, is_buy, px, sz, reduce_only, "Ioc", None, cloid)
        return self.place_orders(user, [spec], "na", now_ms)[0]

    def market(self, coin_or_asset: str | int) -> PerpMarket | None:
        if isinstance(coin_or_asset, int):
            return self.markets.perp_by_asset(coin_or_asset)
        return self.markets.perp_by_name(coin_or_asset)

    # ================================================================ events

    def _flush(self) -> None:
        """Turn this call's buffers into events (one per book, coin, user, candle)."""
        if not (self._buf_books or self._buf_updates or self._buf_accounts or self._buf_prices):
            return
        ev = self._events
        now = self.now_ms
        if self._buf_books:
            for coin in self._buf_books:
                ev.append(BookChanged(coin, now))
            self._buf_books.clear()
        if self._buf_trades:
            for coin, trades in self._buf_trades.items():
                ev.append(TradesPrinted(coin, tuple(trades)))
            self._buf_trades.clear()
        if self._buf_fills:
            for user, fills in self._buf_fills.items():
                ev.append(UserFills(user, tuple(fills)))
            self._buf_fills.clear()
        if self._buf_updates:
            for user, updates in self._buf_updates.items():
                ev.append(OrderUpdates(user, tuple(updates)))
            self._buf_updates.clear()
        if self._buf_nonuser:
            for user, cancels in self._buf_nonuser.items():
                ev.append(NonUserCancel(user, tuple(cancels)))
            self._buf_nonuser.clear()
        # Events are read-only values, so the ones that only name a live object (a candle, a
        # user) are made once and re-sent: this runs for every order.
        cache = self._event_cache
        if self._buf_candles:
            # Each interval's newest candle is the one this call's trades last touched (a
            # candle that closed mid-call was superseded by its successor, as before).
            for coin in self._buf_candles:
                slots = self._candle_slots[coin]
                minute = self._candle_minute.get(coin)
                if minute is not None and minute[4] is slots and minute[5] is not None:
                    # same open candles as the last flush of this coin: the same events
                    ev += minute[5]
                    continue
                made = []
                for _iv, _len, series, key in slots:
                    if not series:  # candles_kept=0 keeps none
                        continue
                    c = series[-1]
                    e = cache.get(key)
                    if e is None or e.candle is not c:
                        e = cache[key] = CandleUpdated(c)
                    made.append(e)
                ev += made
                if minute is not None and minute[4] is slots:
                    minute[5] = made  # minute[2] are these candles: _record_trade keeps it current
            self._buf_candles.clear()
        if self._buf_accounts:
            for user in self._buf_accounts:
                e = cache.get(user)
                if e is None:
                    e = cache[user] = AccountChanged(user)
                ev.append(e)
            self._buf_accounts.clear()
        if self._buf_prices:
            ev.append(PricesChanged(now))
            self._buf_prices = False

    def drain_events(self) -> list[Event]:
        """Events queued since the last drain, oldest first."""
        out = self._events
        self._events = []
        return out

    # ================================================================ persistence

    def to_json(self) -> dict:
        """The whole exchange state as JSON-able data (Decimals as strings)."""
        return persist.state_to_json(self)

    @classmethod
    def from_json(cls, data: dict) -> Engine:
        return persist.state_from_json(cls, EngineConfig, data)

    def save(self, path: Path) -> None:
        """Write the state atomically (temp file + rename) so a crash never leaves half a file."""
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), separators=(",", ":")))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Engine:
        return cls.from_json(json.loads(Path(path).read_text()))
