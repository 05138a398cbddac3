"""The account bar (equity, margin used, free collateral, leverage, margin-ratio gauge) and
the stream status line (latency, message age, STALE / RECONNECTING badges per stream)."""

from __future__ import annotations

from dataclasses import dataclass

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
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.streams: list[StreamHealth] = []
        self.message = ""

    def set_streams(self, streams: list[StreamHealth]) -> None:
        if streams != self.streams:
            self.streams = streams
            self.refresh()

    def set_message(self, message: str) -> None:
        if message != self.message:
            self.message = message
            self.refresh()

    def render(self) -> Text:
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
