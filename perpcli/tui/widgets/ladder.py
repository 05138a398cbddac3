"""The order book ladder: asks above, bids below, size bars, cumulative depth, spread and mid.

Clicking a level (or moving the cursor with the arrow keys and pressing enter) posts
`LevelSelected`, which the screen turns into the ticket's price. Rows are cached strips
(widgets/lines.py): a repaint after a book change rebuilds ~40 short rows and nothing else.
"""

from __future__ import annotations

from decimal import Decimal

from rich.style import Style
from textual.binding import Binding
from textual.events import Click, Resize
from textual.message import Message
from textual.reactive import reactive

from perpcli.domain.events import Level
from perpcli.tui.viewmodel import Ladder, build_ladder, fmt_num
from perpcli.tui.widgets.lines import LinesWidget, Row

DIM = Style(dim=True)
BOLD = Style(bold=True)
ASK = Style(color="red")
BID = Style(color="green")
ASK_BAR = Style(color="red", dim=True)
BID_BAR = Style(color="green", dim=True)
ASK_SEL = Style(color="red", bold=True, reverse=True)
BID_SEL = Style(color="green", bold=True, reverse=True)
STALE = Style(color="white", bgcolor="red", bold=True)
NOTE = Style(color="yellow")


class LadderWidget(LinesWidget, can_focus=True):
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
        self.invalidate()

    def watch_cursor(self) -> None:
        self.invalidate()

    def on_resize(self, event: Resize) -> None:
        self.invalidate()

    @property
    def depth(self) -> int:
        return max(1, (self.size.height - 2) // 2)

    def build_rows(self, width: int, height: int) -> list[Row]:
        depth = max(1, (height - 2) // 2)
        ladder = self.ladder = build_ladder(self.bids, self.asks, depth)
        pp, sp = self.price_places, self.size_places
        # Column widths from the numbers shown; a narrow ladder drops the cumulative column.
        levels = ladder.asks + ladder.bids
        pw = max([12 if width >= 38 else 5, *(len(fmt_num(r.price, pp)) + 1 for r in levels)])
        sw = max([11 if width >= 38 else 4, *(len(fmt_num(r.size, sp)) for r in levels)])
        tw = max([12, *(len(fmt_num(r.cum_size, sp)) for r in levels)])
        with_total = width >= pw + sw + tw + 3
        bar_width = max(0, width - (pw + sw + tw + 3 if with_total else pw + sw + 2))

        def qty(r) -> str:
            return f"{fmt_num(r.size, sp):>{sw}} " + (f"{fmt_num(r.cum_size, sp):>{tw}} " if with_total else "")

        rows: list[Row] = [[(f"{'price':>{pw}} {'size':>{sw}}" + (f" {'total':>{tw}}" if with_total else ""), DIM)]]
        index: list[tuple[Decimal, bool] | None] = [None]
        cursor = self.cursor
        ask_rows = list(ladder.asks)[::-1]  # worst at the top, best just above the spread line
        for _ in range(depth - len(ask_rows)):
            rows.append([])
            index.append(None)
        for r in ask_rows:
            style = ASK_SEL if cursor == len(rows) else ASK
            rows.append([(f"{fmt_num(r.price, pp):>{pw}} ", style), (qty(r), None),
                         ("█" * int(r.bar * bar_width), ASK_BAR)])
            index.append((r.price, False))
        mid: Row = []
        if self.stale:
            mid += [(" STALE ", STALE), (" ", None)]
        if ladder.mid is not None:
            line = (f"mid {fmt_num(ladder.mid, pp + 1)}  spread {fmt_num(ladder.spread, pp)} "
                    f"({ladder.spread_bps} bps)")
            if len(line) > width:  # narrow: the spread in bps is what fits
                line = f"mid {fmt_num(ladder.mid, pp + 1)} {ladder.spread_bps}bp"
            mid.append((line, BOLD))
        else:
            mid.append(("no book yet", BOLD))
        if self.note:
            mid.append((f"  {self.note}", NOTE))
        rows.append(mid)
        index.append(None)
        for r in ladder.bids:
            style = BID_SEL if cursor == len(rows) else BID
            rows.append([(f"{fmt_num(r.price, pp):>{pw}} ", style), (qty(r), None),
                         ("█" * int(r.bar * bar_width), BID_BAR)])
            index.append((r.price, True))
        self._rows = index
        return rows

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
            best_bid = next((i for i, r in enumerate(self._rows) if r is not None and r[1]), rows[-1])
            self.cursor = best_bid if step > 0 else max(rows[0], best_bid - 2)
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
