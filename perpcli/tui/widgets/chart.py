"""The price chart: candles and volume drawn with Unicode blocks (no plotting dependency).

WHY no plotext: one column per candle with block characters is all a terminal ladder-side
chart needs, it costs one string join per row, and it keeps the install small.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from perpcli.tui.viewmodel import CandleSeries, fmt_num, render_candles

AXIS = 12


class ChartWidget(Widget):
    def __init__(self, series: CandleSeries, *, price_places: int = 2, **kwargs) -> None:
        super().__init__(**kwargs)
        self.series = series
        self.price_places = price_places
        self._drawn: tuple[int, int, int] | None = None

    def set_series(self, series: CandleSeries) -> None:
        self.series = series
        self.refresh()

    def maybe_refresh(self) -> None:
        """Repaint only if the bars changed since the last paint."""
        if self._drawn is None or self._drawn[0] != self.series.version:
            self.refresh()

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        plot_w = max(0, width - AXIS)
        plot_h = max(2, height - 1)
        bars = self.series.bars(plot_w)
        rows, colors = render_candles(bars, plot_w, plot_h, volume_rows=max(1, plot_h // 5))
        self._drawn = (self.series.version, width, height)
        text = Text(no_wrap=True, overflow="crop")
        last = bars[-1].close if bars else None
        text.append(f"{self.series.interval} ", style="bold")
        text.append(f"last {fmt_num(last, self.price_places)}  bars {len(bars)}\n", style="dim")
        hi = max((b.high for b in bars), default=None)
        lo = min((b.low for b in bars), default=None)
        price_rows = plot_h - max(1, plot_h // 5)
        for r, row in enumerate(rows):
            start = 0
            # colour runs of equal colour in one append each
            while start < len(row):
                end = start + 1
                while end < len(row) and colors[end] == colors[start]:
                    end += 1
                c = colors[start]
                text.append(row[start:end], style="green" if c == "up" else "red" if c == "down" else "")
                start = end
            label = ""
            if r == 0 and hi is not None:
                label = fmt_num(hi, self.price_places)
            elif r == price_rows - 1 and lo is not None:
                label = fmt_num(lo, self.price_places)
            elif r == price_rows:
                label = "vol"
            text.append(f" {label:>{AXIS - 1}}\n", style="dim")
        return text
