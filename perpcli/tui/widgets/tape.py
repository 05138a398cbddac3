"""The trade tape: newest public prints first, coloured by the taker's side, at local time."""

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
        shown = self.trades[: max(0, height - 1)]
        pw = max([5, *(len(fmt_num(t.price, self.price_places)) for t in shown)])
        sw = max([4, *(len(fmt_num(t.size, self.size_places)) for t in shown)])
        if width >= 34:
            pw, sw = max(pw, 12), max(sw, 10)
        with_time = width >= pw + sw + 11  # a narrow tape keeps price and size, drops the clock
        rows: list[Row] = [[(f"{'price':>{pw}} {'size':>{sw}}" + ("  time" if with_time else ""), DIM)]]
        for t in shown:
            # the trader's own clock, as every other screen on their desk shows it
            clock = "  " + time.strftime("%H:%M:%S", time.localtime(t.time_ms / 1000)) if with_time else ""
            rows.append([(f"{fmt_num(t.price, self.price_places):>{pw}} ", BUY if t.side is Side.BUY else SELL),
                         (f"{fmt_num(t.size, self.size_places):>{sw}}{clock}", None)])
        return rows
