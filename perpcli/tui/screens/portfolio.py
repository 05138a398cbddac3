"""The portfolio screen and the funding board: the whole book across venues, live.

Both are full screens over the trading screen (which keeps streaming underneath); the app
repaints them from the shared store on every coalesced change tick and once a second (data
ages). The figures are the CLI's (`perp portfolio`, `perp funding --compare`) through
tui/portfolio_model.py; these classes only lay them out with rich tables.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from perpcli.tui.portfolio_model import LivePortfolio
from perpcli.tui.viewmodel import fmt_age, fmt_num

_STATUS_STYLE = {"ok": "green", "stale": "bold white on red", "unreachable": "bold white on red",
                 "error": "bold white on red"}


def _num(value: Decimal | None, places: int | None = None, *, sign: bool = False) -> Text:
    if value is None:
        return Text("-", style="dim")
    text = Text(fmt_num(value, places, sign=sign))
    if sign:
        text.stylize("green" if value >= 0 else "red")
    return text


def _pct(value: Decimal | None, *, sign: bool = False) -> Text:
    if value is None:
        return Text("-", style="dim")
    return _num(value * 100, 2, sign=sign).append("%")


def totals_panel(live: LivePortfolio) -> Panel:
    t = live.doc["totals"]
    table = Table.grid(padding=(0, 2))
    for _ in range(7):
        table.add_column(justify="right")
    table.add_row(*(Text(h, style="dim") for h in ("equity", "margin used", "free", "uPnL", "gross notional",
                                                   "leverage", "closest to liquidation")))
    closest = t["closest_liquidation"]
    near = Text("-", style="dim") if closest is None else Text(
        f"{closest['venue']}:{closest['market']} {fmt_num(closest['distance_pct'], 2)}%",
        style="bold red" if closest["distance_pct"] is not None and closest["distance_pct"] < 10 else "yellow")
    table.add_row(_num(t["equity"], 2), _num(t["margin_used"], 2), _num(t["free_collateral"], 2),
                  _num(t["unrealized_pnl"], 2, sign=True), _num(t["gross_notional"], 2),
                  Text(f"{fmt_num(t['leverage'], 2)}x" if t["leverage"] is not None else "-"), near)
    line = live.partial_line()
    title = "Totals (USD) over " + (", ".join(t["venues"]) or "no venue")
    body = Group(table, Text(line, style="bold yellow")) if line else table
    return Panel(body, title=title, title_align="left", border_style="yellow" if line else "green")


def venue_cards(live: LivePortfolio) -> Table:
    """One card per venue, side by side."""
    grid = Table.grid(padding=(0, 1), expand=True)
    cards = []
    for v in live.doc["venues"]:
        status = v["status"]
        h = live.health.get(v["venue"])
        age = h.age_ms if h is not None and h.age_ms is not None else v["data_age_ms"]
        body = Table.grid(padding=(0, 1))
        body.add_column(style="dim")
        body.add_column(justify="right")
        if status in ("unreachable", "error"):
            body.add_row("status", Text(status.upper(), style=_STATUS_STYLE[status]))
            body.add_row("why", Text((v["error"] or "")[:60], style="red"))
        else:
            body.add_row("status", Text("STALE" if status == "stale" else "connected", style=_STATUS_STYLE[status]))
            body.add_row("equity", _num(v["equity"], 2))
            body.add_row("margin", _num(v["margin_used"], 2))
            body.add_row("free", _num(v["free_collateral"], 2))
            body.add_row("leverage", Text(f"{fmt_num(v['leverage'], 2)}x" if v["leverage"] is not None else "-"))
            body.add_row("uPnL", _num(v["unrealized_pnl"], 2, sign=True))
            body.add_row("positions", Text(str(v["positions"])))
            closest = v["closest_liquidation_market"]
            body.add_row("closest liq", Text("-" if closest is None else
                                             f"{closest} {fmt_num(v['closest_liquidation_distance_pct'], 2)}%"))
        body.add_row("data age", Text(fmt_age(age)))
        cards.append(Panel(body, title=v["venue"], title_align="left",
                           border_style="green" if status == "ok" else "red"))
    for _ in cards:
        grid.add_column(ratio=1)
    if cards:
        grid.add_row(*cards)
    return grid


def positions_table(live: LivePortfolio) -> Table:
    table = Table(title="Positions (every venue)", title_justify="left", expand=True)
    cols = ("venue", "market", "underlying", "side", "size", "notional", "entry", "mark", "uPnL", "liq",
            "to liq %", "funding APR")
    for c in cols:
        table.add_column(c, justify="left" if c in ("venue", "market", "underlying", "side") else "right")
    closest = live.doc["totals"]["closest_liquidation"]
    for p in live.doc["positions"]:
        is_closest = closest is not None and (p["venue"], p["market"]) == (closest["venue"], closest["market"])
        side = Text(p["side"], style="green" if p["side"] == "long" else "red")
        dist = p["liquidation_distance_pct"]
        table.add_row(p["venue"], p["market"], p["underlying"], side, _num(p["size"]), _num(p["notional"], 2),
                      _num(p["entry_price"]), _num(p["mark_price"]), _num(p["unrealized_pnl"], 2, sign=True),
                      _num(p["liquidation_price"]),
                      Text("-" if dist is None else fmt_num(dist, 2) + (" ◀ closest" if is_closest else ""),
                           style="bold red" if is_closest else ""),
                      _pct(p["funding_apr"], sign=True),
                      style="on #3a0000" if is_closest else None)
    if not live.doc["positions"]:
        table.add_row(Text("no open positions", style="dim"), *[""] * (len(cols) - 1))
    return table


def exposure_table(live: LivePortfolio) -> Table:
    table = Table(title="Net exposure by underlying", title_justify="left", expand=True)
    for c in ("underlying", "net size", "net notional", "gross notional", "venues"):
        table.add_column(c, justify="left" if c in ("underlying", "venues") else "right")
    for e in live.doc["exposure"]:
        table.add_row(e["underlying"], _num(e["net_size"], sign=True), _num(e["net_notional"], 2, sign=True),
                      _num(e["gross_notional"], 2), ", ".join(e["venues"]))
    return table


def funding_tables(doc: dict[str, Any]) -> Group:
    quotes = Table(title="Funding by venue (APR, normalised over each venue's interval)", title_justify="left",
                   expand=True)
    for c in ("underlying", "venue", "market", "interval", "APR", "predicted APR", "mark", "basis %"):
        quotes.add_column(c, justify="left" if c in ("underlying", "venue", "market") else "right")
    last = None
    for q in doc["quotes"]:
        quotes.add_row(q["underlying"] if q["underlying"] != last else "", q["venue"], q["market"],
                       f"{q['interval_hours']}h", _pct(q["apr"], sign=True), _pct(q["predicted_apr"], sign=True),
                       _num(q["mark_price"]), _num(q["basis_pct"], 4, sign=True))
        last = q["underlying"]
    pairs = Table(title="Best long/short pair", title_justify="left", expand=True)
    for c in ("underlying", "long on", "long APR", "short on", "short APR", "carry APR", "basis %"):
        pairs.add_column(c, justify="left" if c in ("underlying", "long on", "short on") else "right")
    for p in doc["pairs"]:
        if p["long_venue"] is None:
            continue
        pairs.add_row(p["underlying"], f"{p['long_venue']}:{p['long_market']}", _pct(p["long_apr"], sign=True),
                      f"{p['short_venue']}:{p['short_market']}", _pct(p["short_apr"], sign=True),
                      _pct(p["carry_apr"], sign=True), _num(p["basis_pct"], 4, sign=True))
    parts: list[Any] = [quotes, pairs]
    if doc["missing"]:
        parts.append(Text("no funding from " + ", ".join(f"{m['venue']} ({m['error'][:60]})" for m in doc["missing"]),
                          style="yellow"))
    return Group(*parts)


class _LiveScreen(Screen[None]):
    """A full screen the app repaints from the store (`repaint`)."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, build: Callable[[], Any]) -> None:
        super().__init__()
        self._build = build
        self.shown: Any = None  # the renderable painted last
        self.paints = 0

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="live-body")
        yield Footer()

    def on_mount(self) -> None:
        self.repaint()
        self.set_interval(1.0, self.repaint, name="ages")

    def repaint(self) -> None:
        if not self.is_mounted:
            return
        self.shown = self.render_body(self._build())
        self.query_one("#live-body", Static).update(self.shown)
        self.paints += 1

    def render_body(self, data: Any) -> Any:
        raise NotImplementedError

    def plain_text(self, width: int = 160) -> str:
        """What was painted last, as plain text (for tests and the clipboard-minded)."""
        import io

        from rich.console import Console

        if self.shown is None:
            return ""
        console = Console(width=width, file=io.StringIO(), color_system=None, record=True)
        console.print(self.shown)
        return console.export_text()


class PortfolioScreen(_LiveScreen):
    """Totals, per-venue cards, every position, net exposure; the position nearest its
    liquidation price is highlighted."""

    def render_body(self, live: LivePortfolio) -> Any:
        return Group(totals_panel(live), venue_cards(live), positions_table(live), exposure_table(live))


class FundingScreen(_LiveScreen):
    """Funding per venue as APR for each underlying, the basis, and the best long/short pair."""

    def render_body(self, doc: dict[str, Any]) -> Any:
        return funding_tables(doc)
