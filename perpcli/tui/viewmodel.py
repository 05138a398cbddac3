"""What the panels show, computed from domain values: ladder rows, candles, position and account figures.

WHY apart from the widgets: these are the numbers a trader acts on (cumulative depth, the
distance to liquidation, the margin ratio), so they are plain functions over Decimals that
tests check exactly, with no terminal involved. The widgets only lay the results out. Nothing
here imports textual or reads a clock (times are arguments).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from perpcli.domain.candles import CANDLE_INTERVALS_MS
from perpcli.domain.events import Level

ZERO = Decimal(0)
HUNDRED = Decimal(100)

# ----------------------------------------------------------------------------- order book ladder


@dataclass(frozen=True, slots=True)
class LadderRow:
    is_bid: bool
    price: Decimal
    size: Decimal
    cum_size: Decimal  # size from the best level through this one
    cum_notional: Decimal  # price x size summed the same way
    bar: float  # this level's size / the largest level shown, 0..1 (display only)
    depth_bar: float  # cum_size / the deepest cumulative size shown, 0..1 (display only)


@dataclass(frozen=True, slots=True)
class Ladder:
    asks: tuple[LadderRow, ...]  # best (lowest) first
    bids: tuple[LadderRow, ...]  # best (highest) first
    mid: Decimal | None
    spread: Decimal | None
    spread_bps: Decimal | None


def build_ladder(bids: Sequence[Level], asks: Sequence[Level], depth: int) -> Ladder:
    """Rows for `depth` levels a side (best first), with cumulative size and notional."""
    bids = list(bids[:depth])
    asks = list(asks[:depth])
    biggest = max((sz for _, sz in bids + asks), default=ZERO)

    def rows(levels: list[Level], is_bid: bool) -> list[tuple[Decimal, Decimal, Decimal, Decimal]]:
        out = []
        cum = cum_ntl = ZERO
        for px, sz in levels:
            cum += sz
            cum_ntl += px * sz
            out.append((px, sz, cum, cum_ntl))
        return out

    bid_rows = rows(bids, True)
    ask_rows = rows(asks, False)
    deepest = max([r[2] for r in bid_rows[-1:]] + [r[2] for r in ask_rows[-1:]], default=ZERO)

    def finish(raw, is_bid: bool) -> tuple[LadderRow, ...]:
        return tuple(
            LadderRow(
                is_bid, px, sz, cum, ntl,
                float(sz / biggest) if biggest else 0.0,
                float(cum / deepest) if deepest else 0.0,
            )
            for px, sz, cum, ntl in raw
        )

    mid = spread = spread_bps = None
    if bids and asks:
        best_bid, best_ask = bids[0][0], asks[0][0]
        mid = (best_bid + best_ask) / 2
        spread = best_ask - best_bid
        spread_bps = (spread / mid * 10_000).quantize(Decimal("0.01")) if mid else None
    return Ladder(finish(ask_rows, False), finish(bid_rows, True), mid, spread, spread_bps)


# ----------------------------------------------------------------------------- candles

INTERVALS_MS: dict[str, int] = CANDLE_INTERVALS_MS
INTERVAL_ORDER = tuple(INTERVALS_MS)


@dataclass(slots=True)
class Bar:
    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def add(self, price: Decimal, size: Decimal) -> None:
        if price > self.high:
            self.high = price
        if price < self.low:
            self.low = price
        self.close = price
        self.volume += size


class CandleSeries:
    """OHLCV bars of one market at one interval, built from trades (and mid samples).

    Trades give real volume; mid samples (size 0) keep a quiet market's chart moving between
    prints. Backfilled bars (REST candles) are loaded first and live updates extend them.
    Raw ticks are kept (bounded) so switching the interval rebuilds the bars at once.
    """

    def __init__(self, interval: str = "1m", *, max_bars: int = 600, max_ticks: int = 50_000) -> None:
        if interval not in INTERVALS_MS:
            raise ValueError(f"unknown interval {interval!r}")
        self.interval = interval
        self.max_bars = max_bars
        self._ticks: deque[tuple[int, Decimal, Decimal]] = deque(maxlen=max_ticks)
        self._backfill: dict[str, list[Bar]] = {}
        self._bars: deque[Bar] = deque(maxlen=max_bars)
        self.version = 0  # bumped on every change, so a widget can skip an unchanged redraw

    @property
    def interval_ms(self) -> int:
        return INTERVALS_MS[self.interval]

    def load(self, interval: str, bars: Iterable[Bar]) -> None:
        """Backfill (e.g. the venue's candleSnapshot) for `interval`; live ticks extend it."""
        self._backfill[interval] = sorted(bars, key=lambda b: b.open_ms)
        if interval == self.interval:
            self._rebuild()

    def set_interval(self, interval: str) -> None:
        if interval not in INTERVALS_MS:
            raise ValueError(f"unknown interval {interval!r}")
        if interval != self.interval:
            self.interval = interval
            self._rebuild()

    def add_trade(self, price: Decimal, size: Decimal, time_ms: int) -> None:
        self._ticks.append((time_ms, price, size))
        self._apply(time_ms, price, size)

    def add_price(self, price: Decimal, time_ms: int) -> None:
        """A price sample with no volume (a mid): moves the bar, adds nothing to volume."""
        self.add_trade(price, ZERO, time_ms)

    def bars(self, n: int | None = None) -> list[Bar]:
        bars = list(self._bars)
        return bars if n is None else bars[-n:]

    def _rebuild(self) -> None:
        self._bars = deque((Bar(b.open_ms, b.open, b.high, b.low, b.close, b.volume)
                            for b in self._backfill.get(self.interval, ())), maxlen=self.max_bars)
        for t, px, sz in self._ticks:
            self._apply(t, px, sz)
        self.version += 1

    def _apply(self, time_ms: int, price: Decimal, size: Decimal) -> None:
        step = self.interval_ms
        start = time_ms - time_ms % step
        bars = self._bars
        if bars and bars[-1].open_ms == start:
            bars[-1].add(price, size)
        elif not bars or start > bars[-1].open_ms:
            bars.append(Bar(start, price, price, price, price, size))
        else:
            return  # older than the newest bar: already summarised by the backfill
        self.version += 1


def render_candles(bars: Sequence[Bar], width: int, height: int, volume_rows: int = 3) -> tuple[list[str], list[str]]:
    """Draw candles with Unicode blocks: one column per bar, newest at the right.

    Returns (`rows`, `colors`): `rows` are `height` strings of `width` characters; `colors`
    holds, per column, "up", "down" or "" so the widget can colour each column. The top
    `height - volume_rows` rows are the price pane (wick │, body █), the rest the volume pane
    (▁▂▃▄▅▆▇█, scaled to the largest volume shown).
    """
    width = max(0, width)
    shown = list(bars[-width:]) if width else []
    pad = width - len(shown)
    price_rows = max(1, height - volume_rows)
    vol_rows = height - price_rows
    grid = [[" "] * width for _ in range(height)]
    colors = [""] * width
    if shown:
        hi = max(b.high for b in shown)
        lo = min(b.low for b in shown)
        span = hi - lo

        def row_of(px: Decimal) -> int:
            if span == 0:
                return price_rows // 2
            # row 0 is the top (highest price)
            return min(price_rows - 1, int((hi - px) / span * (price_rows - 1) + Decimal("0.5")))

        max_vol = max(b.volume for b in shown)
        for i, b in enumerate(shown):
            col = pad + i
            colors[col] = "up" if b.close >= b.open else "down"
            top, bottom = row_of(b.high), row_of(b.low)
            body_top, body_bottom = row_of(max(b.open, b.close)), row_of(min(b.open, b.close))
            for r in range(top, bottom + 1):
                grid[r][col] = "█" if body_top <= r <= body_bottom else "│"
            if vol_rows and max_vol > 0 and b.volume > 0:
                eighths = int(b.volume / max_vol * vol_rows * 8)
                eighths = max(1, eighths)
                for k in range(vol_rows):
                    r = height - 1 - k
                    fill = min(8, eighths - k * 8)
                    if fill > 0:
                        grid[r][col] = " ▁▂▃▄▅▆▇█"[fill]
    return ["".join(r) for r in grid], colors


# ----------------------------------------------------------------------------- positions, account


@dataclass(frozen=True, slots=True)
class PositionView:
    symbol: str
    size: Decimal  # signed
    entry: Decimal
    mark: Decimal | None
    upnl: Decimal | None
    roe_pct: Decimal | None  # uPnL over the margin backing the position, in %
    liq_price: Decimal | None
    liq_distance_pct: Decimal | None  # how far mark must move (against us) to reach liq, in %
    funding: Decimal | None  # funding paid since open (> 0 paid)
    leverage: int | None
    venue: str = ""  # the venue holding it (the table names it once several venues hold positions)


def position_view(
    symbol: str,
    size: Decimal,
    entry: Decimal,
    mark: Decimal | None,
    *,
    leverage: int | None,
    liq_price: Decimal | None,
    funding: Decimal | None = None,
    margin: Decimal | None = None,
) -> PositionView:
    """Figures for one position. `margin` (isolated margin) wins over notional/leverage."""
    upnl = roe = dist = None
    if mark is not None:
        upnl = size * (mark - entry)
        backing = margin if margin else (abs(size) * entry / leverage if leverage else None)
        if backing:
            roe = (upnl / backing * HUNDRED).quantize(Decimal("0.01"))
        if liq_price is not None and mark > 0:
            # long: mark falls to liq; short: mark rises to liq. Positive = still that far away.
            raw = (mark - liq_price) / mark if size > 0 else (liq_price - mark) / mark
            dist = (raw * HUNDRED).quantize(Decimal("0.01"))
    return PositionView(symbol, size, entry, mark, upnl, roe, liq_price, dist, funding, leverage)


@dataclass(frozen=True, slots=True)
class AccountView:
    equity: Decimal
    margin_used: Decimal
    free_collateral: Decimal
    notional: Decimal
    leverage: Decimal  # total position notional / equity
    maintenance: Decimal | None
    margin_ratio: Decimal | None  # maintenance margin / equity: 1 (100%) = liquidation


def account_view(
    equity: Decimal,
    margin_used: Decimal,
    notional: Decimal,
    *,
    free_collateral: Decimal | None = None,
    maintenance: Decimal | None = None,
) -> AccountView:
    free = free_collateral if free_collateral is not None else max(ZERO, equity - margin_used)
    lev = (notional / equity).quantize(Decimal("0.01")) if equity > 0 else ZERO
    ratio = None
    if maintenance is not None:
        ratio = (maintenance / equity) if equity > 0 else (Decimal(1) if maintenance > 0 else ZERO)
    return AccountView(equity, margin_used, free, notional, lev, maintenance, ratio)


def gauge(fraction: Decimal | float | None, width: int) -> str:
    """A horizontal bar of `width` cells filled to `fraction` (clamped to 0..1), in eighths."""
    if fraction is None or width <= 0:
        return " " * max(0, width)
    f = min(1.0, max(0.0, float(fraction)))
    eighths = round(f * width * 8)
    full, part = divmod(eighths, 8)
    out = "█" * full + (" ▏▎▍▌▋▊▉"[part] if part and full < width else "")
    return out.ljust(width)


# ----------------------------------------------------------------------------- formatting


def fmt_num(value: Decimal | None, places: int | None = None, *, sign: bool = False, grouping: bool = True) -> str:
    """Exact decimal formatting for the screen ("-" for unknown)."""
    if value is None:
        return "-"
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places))
    spec = ("+" if sign else "") + ("," if grouping else "") + "f"
    return format(value, spec)


def fmt_age(ms: int | None) -> str:
    if ms is None:
        return "never"
    if ms < 1000:
        return f"{ms}ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f}s"
    return f"{ms // 60_000}m"


# ----------------------------------------------------------------------------- action outcomes


def outcome_line(result: object, price_places: int | None = None) -> str:
    """One line of the last-action notice for an order/cancel/action outcome: market, status,
    the kind a script would branch on (`error_kind`), then the venue's own words."""
    market = getattr(result, "market", "") or getattr(result, "action", "")
    status = getattr(result, "status", "")
    kind = getattr(result, "error_kind", None)
    err = getattr(result, "error", None)
    line = f"{market} {status}".strip()
    filled, size = getattr(result, "filled", None), getattr(result, "size", None)
    if filled:  # what actually traded: an IOC at the touch may fill only part of its size
        line += f" {fmt_num(filled)}" + (f" of {fmt_num(size)}" if size and filled < size else "")
        avg = getattr(result, "avg_price", None)
        line += f" @ {fmt_num(avg, price_places)}" if avg is not None else ""  # a VWAP: at the tick
        if size and filled < size and status == "filled":
            line += f"; {fmt_num(size - filled)} not filled (cancelled)"
    trade_id = getattr(result, "trade_id", None)
    if trade_id is not None and not filled:  # a collateral venue's trade (Ostium): what the keeper opened
        avg = getattr(result, "avg_price", None)
        line += (f" {fmt_num(size)}" if size is not None else "") + (
            f" @ {fmt_num(avg, price_places)}" if avg is not None else "") + f" (trade {trade_id})"
        liq = getattr(result, "liquidation_price", None)
        line += f", liquidation {fmt_num(liq, price_places)}" if liq is not None else ""
    reason = getattr(result, "reason", None)
    if reason:  # why the keeper cancelled it (a collateral venue's refund)
        line += f" ({reason})"
    if kind is not None:
        line += f" [{getattr(kind, 'value', kind)}]"
    note = getattr(result, "note", None)
    return line + (f": {err}" if err else "") + (f" — {note}" if note else "")
