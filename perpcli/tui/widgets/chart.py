"""The price chart: candles and volume drawn with Unicode blocks (no plotting dependency).

WHY no plotext: one column per candle with block characters is all a ladder-side chart
needs, it costs one string per row, and it keeps the install small. Rows are cached strips
(widgets/lines.py), rebuilt only when the bars changed, and at most `max_fps` times a second.
"""

from __future__ import annotations

import time

from rich.style import Style
from textual.events import Resize

from perpcli.tui.viewmodel import CandleSeries, fmt_num, render_candles
from perpcli.tui.widgets.lines import LinesWidget, Row

AXIS = 12
UP = Style(color="green")
DOWN = Style(color="red")
DIM = Style(dim=True)
BOLD = Style(bold=True)


class ChartWidget(LinesWidget):
    def __init__(self, series: CandleSeries, *, price_places: int = 2, max_fps: float = 4.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.series = series
        self.price_places = price_places
        self.min_interval = 1.0 / max_fps
        self._drawn_version = -1
        self._last_paint = 0.0
        self.note = ""

    def set_series(self, series: CandleSeries) -> None:
        self.series = series
        self.note = ""
        self.invalidate()

    def set_note(self, note: str) -> None:
        """The market's mark and funding, shown after the last price."""
        if note != self.note:
            self.note = note
            self.invalidate()

    def on_resize(self, event: Resize) -> None:
        self.invalidate()

    def maybe_refresh(self) -> None:
        """Repaint if the bars changed, at most `max_fps` times a second."""
        now = time.monotonic()
        if self.series.version != self._drawn_version and now - self._last_paint >= self.min_interval:
            self._last_paint = now
            self.invalidate()

    def build_rows(self, width: int, height: int) -> list[Row]:
        self._drawn_version = self.series.version
        # The axis is as wide as its labels (a narrow chart keeps its columns for candles).
        span = self.series.bars(max(1, width - 4))
        labels = [fmt_num(b, self.price_places) for b in
                  (max((x.high for x in span), default=None), min((x.low for x in span), default=None)) if b is not None]
        axis = min(AXIS, max([4, *(len(lb) + 1 for lb in labels)]))
        plot_w = max(0, width - axis)
        plot_h = max(2, height - 1)
        vol_rows = max(1, plot_h // 5)
        bars = self.series.bars(plot_w)
        grid, colors = render_candles(bars, plot_w, plot_h, volume_rows=vol_rows)
        last = bars[-1].close if bars else None
        rows: list[Row] = [[(f"{self.series.interval} ", BOLD),
                            (f"last {fmt_num(last, self.price_places)}  bars {len(bars)}", DIM)]]
        if self.note:
            rows[0].append((f"  {self.note}", None))
        hi = max((b.high for b in bars), default=None)
        lo = min((b.low for b in bars), default=None)
        price_rows = plot_h - vol_rows
        for r, line in enumerate(grid):
            row: Row = []
            start = 0
            while start < len(line):  # one segment per run of equal colour
                end = start + 1
                while end < len(line) and colors[end] == colors[start]:
                    end += 1
                c = colors[start]
                row.append((line[start:end], UP if c == "up" else DOWN if c == "down" else None))
                start = end
            label = ""
            if r == 0 and hi is not None:
                label = fmt_num(hi, self.price_places)
            elif r == price_rows - 1 and lo is not None:
                label = fmt_num(lo, self.price_places)
            elif r == price_rows:
                label = "vol"
            row.append((f" {label:>{axis - 1}}", DIM))
            rows.append(row)
        return rows
