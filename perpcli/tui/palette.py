"""Command palette entries: every market of every venue, connecting other venues, chart intervals."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from perpcli.tui.viewmodel import INTERVAL_ORDER

if TYPE_CHECKING:
    from perpcli.tui.app import WatchApp


class MarketCommands(Provider):
    """Command palette: open / switch to any market of any venue the app can reach."""

    async def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        app: WatchApp = self.app  # type: ignore[assignment]
        out = []
        for venue, symbols in app.catalogue().items():
            if venue not in app.sources:
                out.append((f"venue {venue}", f"connect to {venue} (market data) and list its markets",
                            partial(app.connect_venue, venue)))
            for symbol in symbols:
                out.append((f"{venue}: {symbol}", f"open {symbol} on {venue}", partial(app.open_market, venue, symbol)))
        for interval in INTERVAL_ORDER:
            out.append((f"chart interval {interval}", "candle interval of the chart",
                        partial(app.set_chart_interval, interval)))
        return out

    async def discover(self) -> Hits:
        for text, help_text, cmd in await self._commands():
            yield DiscoveryHit(text, cmd, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_text, cmd in await self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), cmd, help=help_text)
