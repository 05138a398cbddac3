"""Command palette entries: every market of every venue, connecting other venues, the portfolio and
funding board screens, chart intervals."""

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
            source = app.sources.get(venue)
            for symbol in symbols:
                text = f"{venue}: {symbol}"
                tracks = _underlying(source, symbol)
                if tracks and tracks.casefold() != symbol.casefold():
                    text += f" ({tracks})"  # found as `xau` too, as `perp price XAU` finds xyz:GOLD
                out.append((text, f"open {symbol} on {venue}", partial(app.open_market, venue, symbol)))
        out.append(("portfolio", "every venue's account, all positions, net exposure by underlying",
                    app.action_portfolio))
        out.append(("funding board", "funding APR per venue, basis, best long/short pair", app.action_funding_board))
        out.append(("algos", "the session's algos: progress, state, cancel one", app.action_algos))
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


def _underlying(source: Any, symbol: str) -> str:
    """What a market tracks, when its source knows (the search matches it, any case)."""
    if source is None:
        return ""
    try:
        return str(source.instrument(symbol).underlying or "")
    except Exception:  # noqa: BLE001 - a market the source cannot describe is still listed by symbol
        return ""
