"""The account bar (equity, margin used, free collateral, leverage, margin-ratio gauge) and
the stream status line (latency, message age, STALE / RECONNECTING badges per stream)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widget import Widget

from perpcli.domain.events import ConnectionState
from perpcli.tui.viewmodel import AccountView, fmt_age, fmt_num, gauge


class AccountBar(Widget):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.view: AccountView | None = None
        self.label = ""
        self.empty_text = "account: not connected (market data only)"

    def set_view(self, view: AccountView | None, label: str = "") -> None:
        if view != self.view or label != self.label:
            self.view, self.label = view, label
            self.refresh()

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        if self.label:
            text.append(f"{self.label}  ", style="bold")
        v = self.view
        if v is None:
            text.append(self.empty_text, style="dim")
            return text
        ratio = v.margin_ratio
        style = "green" if ratio is None or ratio < 0.5 else "yellow" if ratio < 0.8 else "bold red"
        ratio_text = "-" if ratio is None else f"{fmt_num(ratio * 100, 2)}%"
        if self.size.width and self.size.width < 100:  # narrow: the same figures, short labels, no gauge
            text.append("eq ", style="dim")
            text.append(fmt_num(v.equity, 2))
            text.append("  margin ratio ", style="dim")
            text.append(ratio_text, style=style)
            for label, value in (("  lev ", f"{v.leverage}x"), ("  free ", fmt_num(v.free_collateral, 2)),
                                 ("  margin ", fmt_num(v.margin_used, 2))):
                text.append(label, style="dim")
                text.append(value)
            return text
        text.append("equity ", style="dim")
        text.append(fmt_num(v.equity, 2))
        text.append("  margin ", style="dim")
        text.append(fmt_num(v.margin_used, 2))
        text.append("  free ", style="dim")
        text.append(fmt_num(v.free_collateral, 2))
        text.append("  lev ", style="dim")
        text.append(f"{v.leverage}x")
        text.append("  margin ratio ", style="dim")
        text.append("[" + gauge(ratio, 12) + "]", style=style)
        text.append(f" {ratio_text}", style=style)
        return text


@dataclass(frozen=True, slots=True)
class StreamHealth:
    name: str
    state: ConnectionState
    age_ms: int | None
    latency_ms: int | None = None
    detail: str = ""


class StatusLine(Widget):
    """One badge per stream; with several venues on screen, one badge per venue instead
    (connected / STALE / unreachable and the age of its data)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.streams: list[StreamHealth] = []
        self.venues: list[Any] = []  # tui.venue_health.VenueHealth, when several venues are shown
        self.message = ""

    def set_venues(self, venues: list[Any]) -> None:
        if venues != self.venues:
            self.venues = venues
            self.refresh()

    def set_streams(self, streams: list[StreamHealth]) -> None:
        if streams != self.streams:
            self.streams = streams
            self.refresh()

    def set_message(self, message: str) -> None:
        if message != self.message:
            self.message = message
            self.refresh()

    def render(self) -> Text:
        if self.venues:
            return self._render_venues()
        text = Text(no_wrap=True, overflow="crop")
        if not self.streams:
            text.append("streams: connecting…", style="dim")
        for s in self.streams:
            if s.state is ConnectionState.CONNECTED:
                text.append("● ", style="green")
            elif s.state is ConnectionState.STALE:
                text.append(" STALE ", style="bold white on red")
                text.append(" ")
            elif s.state is ConnectionState.RECONNECTING:
                text.append(" RECONNECTING ", style="bold black on yellow")
                text.append(" ")
            elif s.state is ConnectionState.CONNECTING or (s.age_ms is None and not s.detail):
                text.append("… ", style="yellow")  # not connected yet: nothing has failed
            else:
                text.append(" DOWN ", style="bold white on red")
                text.append(" ")
            text.append(s.name)
            if s.state is ConnectionState.DOWN and s.detail:
                text.append(f" ({s.detail[:60]})", style="red")
            lat = "" if s.latency_ms is None else f" {s.latency_ms}ms"
            text.append(f"{lat} age {fmt_age(s.age_ms)}", style="dim")
            text.append("   ")
        if self.message:
            text.append(self.message, style="yellow")
        return text

    def _render_venues(self) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        for i, v in enumerate(self.venues):
            if i:
                text.append(" │ ", style="dim")
            if v.status == "connected":
                text.append("● ", style="green")
            elif v.status == "connecting":
                text.append("… ", style="yellow")
            else:
                text.append(f" {v.status.upper()} ", style="bold white on red")
                text.append(" ")
            text.append(v.venue)
            text.append(f" {fmt_age(v.age_ms)}", style="dim")
            if v.status == "unreachable" and v.detail:
                text.append(f" ({v.detail[:40]})", style="red")
        if self.message:
            text.append("   ")
            text.append(self.message, style="yellow")
        return text
