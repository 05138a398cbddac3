"""One market tab's state (candles, trade cursor) and the one set of panels that shows it."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from perpcli.tui.viewmodel import CandleSeries
from perpcli.tui.widgets.chart import ChartWidget
from perpcli.tui.widgets.ladder import LadderWidget
from perpcli.tui.widgets.tape import TapeWidget


class MarketView(Horizontal):
    """The market panels: the ladder, and the chart above the tape.

    One set of widgets serves every market tab: switching tabs points them at another
    market's state and repaints them, with no layout pass (a key press stays fast).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ladder = LadderWidget(classes="ladder")
        self.chart = ChartWidget(CandleSeries(), classes="chart")
        self.tape = TapeWidget(classes="tape")

    def compose(self) -> ComposeResult:
        yield self.ladder
        with Vertical(classes="chart-col"):
            yield self.chart
            yield self.tape

    def show(self, state: MarketState) -> None:
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
                 interval: str) -> None:
        self.venue = venue
        self.symbol = symbol
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
