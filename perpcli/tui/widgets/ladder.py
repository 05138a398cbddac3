"""The order book ladder: asks above, bids below, size bars, cumulative depth, spread and mid.

Clicking a level (or moving the cursor with the arrow keys and pressing enter) posts
`LevelSelected`, which the screen turns into the ticket's price. Rendering builds one rich
Text per repaint from the book's top levels; the bridge decides how often that happens.
"""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.binding import Binding
from textual.events import Click
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from perpcli.domain.events import Level
from perpcli.tui.viewmodel import Ladder, build_ladder, fmt_num


class LadderWidget(Widget, can_focus=True):
    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("enter", "choose", "Use price", show=False),
    ]

    cursor: reactive[int | None] = reactive(None)

    class LevelSelected(Message):
        def __init__(self, price: Decimal, is_bid: bool) -> None:
            super().__init__()
            self.price = price
            self.is_bid = is_bid

    def __init__(self, *, price_places: int = 2, size_places: int = 4, **kwargs) -> None:
        super().__init__(**kwargs)
        self.price_places = price_places
        self.size_places = size_places
        self.bids: list[Level] = []
        self.asks: list[Level] = []
        self.stale = False
        self.note = ""
        self.ladder: Ladder = build_ladder([], [], 0)
        self._rows: list[tuple[Decimal, bool] | None] = []  # screen row -> (price, is_bid)

    def set_book(self, bids: list[Level], asks: list[Level], *, stale: bool, note: str = "") -> None:
        self.bids, self.asks, self.stale, self.note = bids, asks, stale, note
        self.refresh()

    @property
    def depth(self) -> int:
        return max(1, (self.size.height - 2) // 2)

    def render(self) -> Text:
        width = self.size.width
        depth = self.depth
        ladder = self.ladder = build_ladder(self.bids, self.asks, depth)
        pp, sp = self.price_places, self.size_places
        text = Text(no_wrap=True, overflow="crop")
        rows: list[tuple[Decimal, bool] | None] = []
        text.append(f"{'price':>12} {'size':>11} {'total':>12}\n", style="dim")
        rows.append(None)
        bar_width = max(0, width - 38)
        # asks: worst at the top, best just above the spread line
        ask_rows = list(ladder.asks)[::-1]
        for _ in range(depth - len(ask_rows)):
            text.append("\n")
            rows.append(None)
        for i, r in enumerate(ask_rows):
            selected = self.cursor is not None and self.cursor == len(rows)
            style = "bold red reverse" if selected else "red"
            text.append(f"{fmt_num(r.price, pp):>12} ", style=style)
            text.append(f"{fmt_num(r.size, sp):>11} {fmt_num(r.cum_size, sp):>12} ")
            n = int(r.bar * bar_width)
            text.append("█" * n, style="red dim")
            if i < len(ask_rows):
                text.append("\n")
            rows.append((r.price, False))
        spread = ""
        if ladder.mid is not None:
            spread = f"mid {fmt_num(ladder.mid, pp + 1)}  spread {fmt_num(ladder.spread, pp)} ({ladder.spread_bps} bps)"
        if self.stale:
            text.append(" STALE ", style="bold white on red")
            text.append(" ")
        text.append(spread or "no book yet", style="bold")
        if self.note:
            text.append(f"  {self.note}", style="yellow")
        text.append("\n")
        rows.append(None)
        for r in ladder.bids:
            selected = self.cursor is not None and self.cursor == len(rows)
            style = "bold green reverse" if selected else "green"
            text.append(f"{fmt_num(r.price, pp):>12} ", style=style)
            text.append(f"{fmt_num(r.size, sp):>11} {fmt_num(r.cum_size, sp):>12} ")
            text.append("█" * int(r.bar * bar_width), style="green dim")
            text.append("\n")
            rows.append((r.price, True))
        self._rows = rows
        return text

    def level_at(self, y: int) -> tuple[Decimal, bool] | None:
        if 0 <= y < len(self._rows):
            return self._rows[y]
        return None

    def on_click(self, event: Click) -> None:
        hit = self.level_at(event.y)
        if hit is not None:
            self.cursor = event.y
            self.post_message(self.LevelSelected(*hit))

    def action_cursor(self, step: int) -> None:
        rows = [i for i, r in enumerate(self._rows) if r is not None]
        if not rows:
            return
        if self.cursor not in rows:
            # start at the best ask (last ask row) going up, best bid going down
            mid_index = next((i for i, r in enumerate(self._rows) if r is not None and r[1]), rows[-1])
            self.cursor = mid_index if step > 0 else max(0, mid_index - 2)
            if self.cursor not in rows:
                self.cursor = rows[0]
            return
        pos = rows.index(self.cursor) + step
        self.cursor = rows[max(0, min(len(rows) - 1, pos))]

    def action_choose(self) -> None:
        if self.cursor is not None:
            hit = self.level_at(self.cursor)
            if hit is not None:
                self.post_message(self.LevelSelected(*hit))
