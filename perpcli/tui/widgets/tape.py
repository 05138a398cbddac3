"""The trade tape: newest public prints first, coloured by the taker's side."""

from __future__ import annotations

import time

from rich.style import Style
from textual.events import Resize

from perpcli.domain.events import Trade
from perpcli.domain.orders import Side
from perpcli.tui.viewmodel import fmt_num
from perpcli.tui.widgets.lines import LinesWidget, Row

BUY = Style(color="green")
SELL = Style(color="red")
DIM = Style(dim=True)


class TapeWidget(LinesWidget):
    def __init__(self, *, price_places: int = 2, size_places: int = 4, **kwargs) -> None:
        super().__init__(**kwargs)
        self.price_places = price_places
        self.size_places = size_places
        self.trades: list[Trade] = []  # newest first

    def set_trades(self, trades: list[Trade]) -> None:
        if trades[:1] != self.trades[:1] or len(trades) != len(self.trades):
            self.trades = trades
            self.invalidate()

    def on_resize(self, event: Resize) -> None:
        self.invalidate()

    def build_rows(self, width: int, height: int) -> list[Row]:
        rows: list[Row] = [[(f"{'price':>12} {'size':>10}  time", DIM)]]
        for t in self.trades[: max(0, height - 1)]:
            clock = time.strftime("%H:%M:%S", time.gmtime(t.time_ms / 1000))
            rows.append([(f"{fmt_num(t.price, self.price_places):>12} ", BUY if t.side is Side.BUY else SELL),
                         (f"{fmt_num(t.size, self.size_places):>10}  {clock}", None)])
        return rows
