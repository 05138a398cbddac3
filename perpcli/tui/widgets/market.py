"""One market tab's state (candles, trade cursor) and the one set of panels that shows it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from perpcli.tui.viewmodel import CandleSeries, fmt_age, fmt_num
from perpcli.tui.widgets.chart import ChartWidget
from perpcli.tui.widgets.ladder import LadderWidget
from perpcli.tui.widgets.tape import TapeWidget


class OraclePanel(Static):
    """A book-less market (an oracle venue): the oracle's bid, mid and ask, and the hours."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.text = ""

    def set_text(self, text: Text) -> None:
        if text.plain != self.text:
            self.text = text.plain
            self.update(text)


def oracle_text(symbol: str, quote: Any, hours: Any, now_ms: int, places: int | None) -> Text:
    """What an oracle market's tab shows instead of a book (pure; `quote` is an OracleQuote)."""
    out = Text()
    out.append(f"{symbol}  ", style="bold")
    out.append("oracle price (no order book: trades fill at the oracle's bid or ask)\n\n", style="dim")
    if quote is None:
        out.append("waiting for the first oracle price…\n", style="yellow")
    else:
        for label, value, style in (("bid", quote.bid, "green"), ("mid", quote.mid, "bold"), ("ask", quote.ask, "red")):
            out.append(f"  {label:<4}", style="dim")
            out.append(f"{fmt_num(value, places):>16}\n", style=style)
        spread = quote.ask - quote.bid
        bps = (spread / quote.mid * 10_000).quantize(Decimal("0.01")) if quote.mid else None
        out.append("  spread ", style="dim")
        out.append(f"{fmt_num(spread, places)} ({fmt_num(bps, 2)} bps)\n")
        out.append("  as of  ", style="dim")
        out.append(f"{fmt_age(max(0, now_ms - quote.time_ms))} ago\n\n")
    # Orders are refused when either says closed (the venue's oracle, or the market's hours as
    # perpcli keeps them: ostium/sizing.py and ordering.py), so the tab says closed then too.
    is_open = (quote is None or quote.market_open) and (hours is None or hours.is_open(now_ms))
    out.append("  market ", style="dim")
    if is_open:
        out.append(" OPEN ", style="bold black on green")
    else:
        out.append(" CLOSED ", style="bold white on red")
        nxt = hours.next_open(now_ms) if hours is not None else None
        if nxt is not None and nxt > now_ms:  # (the feed may close a market its hours say is open)
            when = datetime.fromtimestamp(nxt / 1000, tz=UTC).strftime("%a %Y-%m-%d %H:%M UTC")
            out.append(f"  next open {when} (in {_span(nxt - now_ms)})")
        out.append("\n  orders are refused until it opens", style="yellow")
    out.append("\n")
    out.append("  hours  ", style="dim")
    if hours is not None:
        out.append("; ".join(w.describe() for w in hours.windows) + f" ({hours.zone})\n")
    else:
        out.append("around the clock\n")
    return out


def _span(ms: int) -> str:
    minutes = max(0, ms) // 60_000
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{hours}h {mins:02d}m"


class MarketView(Horizontal):
    """The market panels: the ladder, and the chart above the tape; for a market without a
    book (an oracle venue), the oracle panel instead.

    One set of widgets serves every market tab: switching tabs points them at another
    market's state and repaints them, with no layout pass (a key press stays fast).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ladder = LadderWidget(classes="ladder")
        self.chart = ChartWidget(CandleSeries(), classes="chart")
        self.tape = TapeWidget(classes="tape")
        self.oracle = OraclePanel(classes="oracle")
        self.chart_col = Vertical(classes="chart-col")

    def compose(self) -> ComposeResult:
        yield self.ladder
        with self.chart_col:
            yield self.chart
            yield self.tape
        yield self.oracle

    def show(self, state: MarketState) -> None:
        if self.oracle.display != state.oracle:  # between a book and an oracle market (CSS: hidden first)
            self.ladder.display = self.chart_col.display = not state.oracle
            self.oracle.display = state.oracle
        self.oracle.text = ""
        for widget in (self.ladder, self.tape):
            widget.price_places, widget.size_places = state.price_places, state.size_places
        self.ladder.cursor = None
        self.ladder.set_book([], [], stale=True)
        self.tape.trades = []
        self.chart.price_places = state.price_places
        self.chart.set_series(state.series)


class MarketState:
    """One market tab: what it shows and the candles built from its trades."""

    def __init__(self, venue: str, symbol: str, view: MarketView, *, price_places: int, size_places: int,
                 interval: str, oracle: bool = False) -> None:
        self.venue = venue
        self.symbol = symbol
        self.oracle = oracle  # no book: the tab shows the oracle panel
        self.view = view
        self.series = CandleSeries(interval)
        self.price_places = price_places
        self.size_places = size_places
        self._last_trade: tuple[int, Any] | None = None
        self.backfilled: set[str] = set()  # intervals whose past candles were requested

    @property
    def ladder(self) -> LadderWidget:
        return self.view.ladder

    @property
    def chart(self) -> ChartWidget:
        return self.view.chart

    @property
    def tape(self) -> TapeWidget:
        return self.view.tape

    def ingest_trades(self, trades: list) -> None:
        """Feed trades not seen before (newest-first list) into the candles, oldest first."""
        fresh = []
        for t in trades:
            key = (t.time_ms, str(t.trade_id))
            if self._last_trade is not None and key <= self._last_trade:
                break
            fresh.append(t)
        for t in reversed(fresh):
            self.series.add_trade(t.price, t.size, t.time_ms)
        if fresh:
            self._last_trade = (fresh[0].time_ms, str(fresh[0].trade_id))
