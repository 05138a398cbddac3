"""A widget drawn with Textual's line API from cached strips, repainting only changed rows.

WHY: the ladder repaints up to 20 times a second. Building one rich Text and letting Rich wrap
and split it costs milliseconds per paint, and repainting all 40 rows when three sizes changed
makes Textual restyle every line. Here each row is a short list of (text, style) pairs; a
change rebuilds the rows, compares them with what is on screen, and marks only the rows that
differ as dirty, so the compositor re-renders those lines and nothing else.
Subclasses implement `build_rows(width, height) -> list[Row]`.
"""

from __future__ import annotations

import time

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

Row = list[tuple[str, Style | None]]


class LinesWidget(Widget):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._rows_shown: list[tuple] = []
        self._strips: list[Strip] = []
        self._built_for: tuple[int, int] | None = None
        self._stale = True
        self.renders = 0  # rebuild count and time of the last rebuild (tests and bench/tui.py)
        self.rendered_at = 0.0

    def build_rows(self, width: int, height: int) -> list[Row]:
        raise NotImplementedError

    def invalidate(self) -> None:
        """The content changed: rebuild now and repaint the rows that differ."""
        self._stale = True
        size = (self.size.width, self.size.height)
        if not self.is_mounted or size[0] == 0 or self._built_for != size:
            self.refresh()
            return
        old = self._rows_shown
        self._rebuild(size)
        new = self._rows_shown
        changed = [y for y in range(max(len(old), len(new)))
                   if y >= len(old) or y >= len(new) or old[y] != new[y]]
        if not changed:
            return
        start = prev = changed[0]
        for y in changed[1:] + [None]:  # one dirty region per run of adjacent rows
            if y is not None and y == prev + 1:
                prev = y
                continue
            self.refresh(Region(0, start, size[0], prev - start + 1))
            if y is not None:
                start = prev = y

    def _rebuild(self, size: tuple[int, int]) -> None:
        self.renders += 1
        self.rendered_at = time.perf_counter()
        base = self.rich_style
        combined: dict[Style | None, Style] = {None: base}  # a handful of styles, added once each
        rows = self.build_rows(*size)
        self._rows_shown = [tuple(row) for row in rows]
        strips = []
        for row in rows:
            segments = []
            for text, style in row:
                full = combined.get(style)
                if full is None:
                    full = combined[style] = base + style
                segments.append(Segment(text, full))
            strips.append(Strip(segments).adjust_cell_length(size[0], base))
        self._strips = strips
        self._built_for = size
        self._stale = False

    def render_line(self, y: int) -> Strip:
        size = (self.size.width, self.size.height)
        if self._stale or self._built_for != size:
            self._rebuild(size)
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(size[0], self.rich_style)

    def text(self) -> str:
        """The rows as plain text (what a test reads)."""
        return "\n".join("".join(t for t, _ in row) for row in self.build_rows(*self.size))
