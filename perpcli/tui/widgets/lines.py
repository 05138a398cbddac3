"""A widget drawn with Textual's line API from cached strips.

WHY: the ladder repaints up to 20 times a second. Building one rich Text and letting Rich wrap
and split it costs milliseconds per paint; here each row is a short list of Segments with
pre-built styles, turned into a Strip once per change and handed to the compositor as is.
Subclasses implement `build_rows(width, height) -> list[list[tuple[str, Style | None]]]`.
"""

from __future__ import annotations

import time

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

Row = list[tuple[str, Style | None]]


class LinesWidget(Widget):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._strips: list[Strip] | None = None
        self._built_for: tuple[int, int] | None = None
        self.renders = 0  # rebuild count and time of the last rebuild (tests and bench/tui.py)
        self.rendered_at = 0.0

    def build_rows(self, width: int, height: int) -> list[Row]:
        raise NotImplementedError

    def invalidate(self) -> None:
        """The content changed: rebuild the rows on the next paint."""
        self._strips = None
        self.refresh()

    def _ensure(self) -> list[Strip]:
        size = (self.size.width, self.size.height)
        if self._strips is None or self._built_for != size:
            self.renders += 1
            self.rendered_at = time.perf_counter()
            base = self.rich_style
            strips = []
            for row in self.build_rows(*size):
                segments = [Segment(text, base + style if style is not None else base) for text, style in row]
                strips.append(Strip(segments).adjust_cell_length(size[0], base))
            self._strips = strips
            self._built_for = size
        return self._strips

    def render_line(self, y: int) -> Strip:
        strips = self._ensure()
        if y < len(strips):
            return strips[y]
        return Strip.blank(self.size.width, self.rich_style)

    def text(self) -> str:
        """The rows as plain text (what a test reads)."""
        return "\n".join(Text("".join(t for t, _ in row)).plain for row in self.build_rows(*self.size))
