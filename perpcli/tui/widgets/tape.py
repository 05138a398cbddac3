"""The trade tape: newest public prints first, coloured by the taker's side."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widget import Widget

from perpcli.domain.events import Trade
from perpcli.domain.orders import Side
from perpcli.tui.viewmodel import fmt_num


class TapeWidget(Widget):
    def __init__(self, *, price_places: int = 2, size_places: int = 4, **kwargs) -> None:
        super().__init__(**kwargs)
        self.price_places = price_places
        self.size_places = size_places
        self.trades: list[Trade] = []  # newest first

    def set_trades(self, trades: list[Trade]) -> None:
        self.trades = trades
        self.refresh()

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        text.append(f"{'price':>12} {'size':>10}  time\n", style="dim")
        for t in self.trades[: max(0, self.size.height - 1)]:
            style = "green" if t.side is Side.BUY else "red"
            clock = time.strftime("%H:%M:%S", time.gmtime(t.time_ms / 1000))
            text.append(f"{fmt_num(t.price, self.price_places):>12} ", style=style)
            text.append(f"{fmt_num(t.size, self.size_places):>10}  {clock}\n")
        return text
