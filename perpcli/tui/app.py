"""`perp watch`: the live trading terminal.

Layout: account bar on top; market tabs (ladder | chart over tape) beside the order ticket;
positions and open orders below; a status line per stream; the footer with the key bindings.

How data flows (see bridge.py): workers run the venue feeds and write into the store; the
store's change feed marks topics dirty in the Bridge; a timer at `tui.refresh_hz` posts one
`StoreChanged` per tick and the panels re-read the store. Actions (place, cancel, close,
flatten) call the app layer in thread workers, so a key press never waits on the network;
their outcome comes back as a notification, and their effect as store changes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import wraps
from pathlib import Path
from typing import Any, Protocol

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import Footer, Input, Tab, Tabs

from perpcli.app.order_plan import OrderPlan, OrderRequest, plan_order
from perpcli.app.preview import PreviewInputs
from perpcli.config.tui_keys import BY_ID, KEYS
from perpcli.domain.errors import PerpError
from perpcli.domain.orders import Order, Side
from perpcli.ledger.book import BookState
from perpcli.tui.bridge import Bridge, StoreChanged, WatchSource, top_levels
from perpcli.tui.collateral_flow import CollateralTicket
from perpcli.tui.palette import MarketCommands
from perpcli.tui.portfolio_model import LivePortfolio, live_funding_board, live_portfolio
from perpcli.tui.preview import (
    OrderPreview,
    compute_preview,
    order_question,
    preview_text,
    source_inputs,
    ticket_context,
)
from perpcli.tui.risk_view import account_figures
from perpcli.tui.screens.confirm import ConfirmScreen
from perpcli.tui.screens.help import HelpScreen
from perpcli.tui.screens.portfolio import FundingScreen, PortfolioScreen
from perpcli.tui.ticket_model import TicketForm, to_request
from perpcli.tui.venue_health import VenueHealth, venue_health
from perpcli.tui.viewmodel import INTERVAL_ORDER, INTERVALS_MS, Bar, fmt_num, outcome_line
from perpcli.tui.widgets.account import AccountBar, StatusLine
from perpcli.tui.widgets.ladder import LadderWidget
from perpcli.tui.widgets.market import MarketState, MarketView, oracle_text
from perpcli.tui.widgets.tables import OrdersTable, PositionsTable
from perpcli.tui.widgets.ticket import Ticket

ZERO = Decimal(0)
NARROW_BELOW = 110  # columns: below this the orders share the bottom with the positions
SHORT_BELOW = 34  # rows: below this the bottom panel and the tab bar shrink


class Trader(Protocol):
    """The app layer's order actions for one venue. Blocking: always called from a thread worker."""

    def place(self, plan: OrderPlan) -> list[Any]: ...  # list of app.actions.OrderResult
    def cancel(self, orders: Sequence[Order]) -> list[Any]: ...  # list of app.actions.CancelOutcome
    def cancel_all(self) -> list[Any]: ...  # every open order, as the venue lists them now
    def close(self, symbol: str) -> list[Any]: ...
    def flatten(self) -> list[Any]: ...
    def new_cloid(self) -> str: ...
    def check_risk(self, plan: OrderPlan) -> None: ...  # raises RiskRefused
    def needs_confirmation(self, notional: Decimal) -> bool: ...


@dataclass
class WatchConfig:
    refresh_hz: int = 20
    chart_interval: str = "1m"
    coalesce: bool = True
    keymap: dict[str, str] | None = None
    title: str = "perp watch"


def tab_id(venue: str, symbol: str) -> str:
    return "m-" + re.sub(r"[^A-Za-z0-9_-]", "_", f"{venue}-{symbol}")


def _quiet_on_teardown(method: Callable[..., Any]) -> Callable[..., Any]:
    """Timers and late messages may still fire while the app tears its widgets down on exit;
    a missing widget then means "nothing to repaint", not an error."""

    @wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.screen_stack:
            return None
        try:
            return method(self, *args, **kwargs)
        except NoMatches:
            if self._exit or self._closing or not self.is_running:
                return None  # exiting (App.exit sets _exit; run_test's teardown sets _closing)
            raise

    return wrapper


class WatchApp(App):
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses live elsewhere
    TITLE = "perp watch"
    BINDINGS = [Binding(k.key, k.action, k.label, show=k.show, id=k.id, priority=k.priority) for k in KEYS]
    COMMANDS = App.COMMANDS | {MarketCommands}
    # Screen classes app.tcss lays out by: 80x24 is "-narrow -short", 160x48 "-wide -tall".
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW_BELOW, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (SHORT_BELOW, "-tall")]

    def __init__(
        self,
        sources: dict[str, WatchSource],
        markets: Sequence[tuple[str, str]],
        *,
        traders: dict[str, Trader] | None = None,
        config: WatchConfig | None = None,
        start_feed: Callable[[WatchApp, WatchSource], None] | None = None,
        open_venue: Callable[[str], WatchSource | None] | None = None,
        venues: Sequence[str] = (),
    ) -> None:
        super().__init__()
        # No animations: a sliding tab underline repaints at 60 fps for a third of a second per
        # key press, which is CPU taken from the feed for nothing a trader needs.
        self.animation_level = "none"
        self.sources = dict(sources)
        self.initial_markets = list(markets)
        self.traders = dict(traders or {})
        self.config = config or WatchConfig()
        self._start_feed = start_feed
        self._open_venue = open_venue
        self.configured_venues = list(venues) or list(self.sources)
        self.bridge = Bridge(self.post_message, coalesce=self.config.coalesce)
        self.views: dict[str, MarketState] = {}  # tab id -> market, in tab order
        self.market_view = MarketView(id="market")
        self._active: str | None = None
        self.last_preview: OrderPreview | None = None
        self.last_error: str = ""
        self.repaints = 0  # StoreChanged messages handled (for tests and the benchmark)
        self.last_action_result: Any = None
        self.collateral_ticket = CollateralTicket(self)  # a collateral x leverage tab's preview and Place
        self._chart_interval = self.config.chart_interval

    def notify(self, message: str, *, title: str = "", severity: Any = "information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Plain text by default: venue errors and outcome lines carry brackets (`[insufficient_margin]`)
        that Textual markup would swallow."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # ----- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield AccountBar(id="account")
        with Horizontal(id="main"):
            with Vertical(id="markets"):
                yield Tabs(id="market-tabs")
                yield self.market_view
            yield Ticket(id="ticket")
        with Horizontal(id="bottom"):
            positions = PositionsTable(id="positions")
            positions.border_title = "Positions"
            yield positions
            orders = OrdersTable(id="orders")
            orders.border_title = "Open orders"
            yield orders
        yield StatusLine(id="status")
        yield Footer()

    async def on_mount(self) -> None:
        if self.config.keymap:
            self.set_keymap(self.config.keymap)
        for source in self.sources.values():
            source.add_listener(self.bridge.notify)
        for i, (venue, symbol) in enumerate(self.initial_markets):
            await self.open_market(venue, symbol, activate=i == 0)
        if self.config.coalesce:
            self.set_interval(1 / max(1, self.config.refresh_hz), self.bridge.flush, name="repaint")
        self.set_interval(1.0, self._tick_status, name="status-ages")
        if self._start_feed is not None:
            for source in self.sources.values():
                self._start_feed(self, source)
        self._refresh_account()
        self._tick_status()

    def _main(self, selector: Any, expect_type: Any = None) -> Any:
        """A widget of the main screen, also while a modal (confirm, help) is on top."""
        if not self.screen_stack:
            raise NoMatches(f"no screen (exiting): {selector}")
        screen = self.screen_stack[0]
        if expect_type is None:
            return screen.query_one(selector)
        return screen.query_one(selector, expect_type)

    # ----- markets and venues -------------------------------------------------------------------

    def catalogue(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for venue in self.configured_venues:
            source = self.sources.get(venue)
            out[venue] = list(source.markets()) if source is not None else []
        return out

    def connect_venue(self, venue: str, *, then_open: str | None = None) -> None:
        """Open another venue's market data in a thread worker (its REST metadata may be slow)."""
        if venue in self.sources or self._open_venue is None:
            if self._open_venue is None and venue not in self.sources:
                self.notify(f"cannot open {venue} from here", severity="error")
            return
        opener = self._open_venue
        self.notify(f"connecting to {venue}…")

        def work() -> None:
            try:
                source = opener(venue)
            except Exception as e:  # noqa: BLE001 - shown; the app keeps running
                self.call_from_thread(self.notify, f"{venue}: {e}", severity="error", title="venue not opened")
                return
            self.call_from_thread(self._venue_ready, venue, source, then_open)

        self.run_worker(work, thread=True, group="venues", name=f"open:{venue}")

    async def _venue_ready(self, venue: str, source: WatchSource, then_open: str | None) -> None:
        if venue in self.sources:
            return
        self.sources[venue] = source
        if venue not in self.configured_venues:
            self.configured_venues.append(venue)
        source.add_listener(self.bridge.notify)
        if self._start_feed is not None:
            self._start_feed(self, source)
        tabs = self._main("#market-tabs", Tabs)
        for tid, view in self.views.items():  # a second venue: every tab now says whose it is
            tabs.get_tab(tid).label = self._tab_title(view.venue, view.symbol)
        markets = list(source.markets())
        symbol = then_open or (markets[0] if markets else None)
        if symbol is not None:
            await self.open_market(venue, symbol)

    @property
    def active_view(self) -> MarketState | None:
        return self.views.get(self._active) if self._active else None

    async def open_market(self, venue: str, symbol: str, *, activate: bool = True) -> None:
        tabs = self._main("#market-tabs", Tabs)
        tid = tab_id(venue, symbol)
        if tid not in self.views:
            source = self.sources.get(venue)
            if source is None:
                self.connect_venue(venue, then_open=symbol)
                return
            try:
                inst = source.instrument(symbol)
            except PerpError as e:
                self.notify(str(e), severity="error")
                return
            symbol = inst.symbol
            tid = tab_id(venue, symbol)
            if tid not in self.views:
                self.views[tid] = MarketState(
                    venue, symbol, self.market_view,
                    price_places=inst.price_decimals if inst.price_decimals < 8 else 2,
                    size_places=inst.size_decimals,
                    interval=self._chart_interval,
                    oracle=not getattr(source, "has_book", True),
                )
                title = self._tab_title(venue, symbol)
                await tabs.add_tab(Tab(title, id=tid))
                self._backfill(self.views[tid])
                ensure = getattr(source, "ensure_market", None)
                if ensure is not None:
                    ensure(symbol)
        if activate or self._active is None:
            self._activate(tid)

    def _tab_title(self, venue: str, symbol: str) -> str:
        """The market alone with one venue on screen; `venue:market` once several are."""
        return symbol if len(self.sources) < 2 else f"{venue}:{symbol}"

    @_quiet_on_teardown
    def _activate(self, tid: str) -> None:
        tabs = self._main("#market-tabs", Tabs)
        if tabs.active != tid:
            tabs.active = tid  # posts TabActivated, which lands in _activate again
        if self._active == tid:
            return
        self._active = tid
        self._on_active_market()

    @_quiet_on_teardown
    def _on_active_market(self) -> None:
        if not self.screen_stack:
            return  # shutting down
        view = self.active_view
        if view is None:
            return
        self.market_view.show(view)
        self.collateral_ticket.forget()  # a tab of its own: its ticket is quoted afresh
        self._main(Ticket).set_market(view.symbol, key=self._active, title=self._tab_title(view.venue, view.symbol),
                                      collateral=_collateral_venue(self.sources[view.venue]))
        self._refresh_market(view, force=True)
        self._refresh_account()  # the account bar follows the venue of the tab

    @_quiet_on_teardown
    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab is not None and event.tab.id in self.views:
            self._activate(event.tab.id)

    def action_next_market(self) -> None:
        self._cycle_tab(1)

    def action_prev_market(self) -> None:
        self._cycle_tab(-1)

    def _cycle_tab(self, step: int) -> None:
        ids = list(self.views)
        if not ids:
            return
        i = ids.index(self._active) if self._active in ids else 0
        self._activate(ids[(i + step) % len(ids)])

    async def action_close_market(self) -> None:
        if len(self.views) <= 1 or self._active is None:
            return
        gone = self._active
        ids = list(self.views)
        nxt = ids[ids.index(gone) - 1] if ids.index(gone) > 0 else ids[1]
        self._activate(nxt)
        self.views.pop(gone, None)
        await self._main("#market-tabs", Tabs).remove_tab(gone)

    def set_chart_interval(self, interval: str) -> None:
        self._chart_interval = interval
        for view in self.views.values():
            view.series.set_interval(interval)
            self._backfill(view)
        self.market_view.chart.invalidate()

    def _backfill(self, state: MarketState) -> None:
        """Past candles for the chart, fetched in a thread worker (once per market and interval)."""
        source = self.sources.get(state.venue)
        fetch = getattr(source, "candles", None)
        interval = state.series.interval
        if fetch is None or interval in state.backfilled:
            return
        state.backfilled.add(interval)
        step = INTERVALS_MS[interval]
        end = int(time.time() * 1000)
        start = end - step * 300

        def work() -> None:
            try:
                candles = fetch(state.symbol, interval, start, end)
            except Exception as e:  # noqa: BLE001 - a chart without history is still a chart
                state.backfilled.discard(interval)
                self.call_from_thread(self.notify, f"{state.symbol} {interval} candles: {e}", severity="warning")
                return
            bars = [Bar(c.open_ms, c.open, c.high, c.low, c.close, c.volume) for c in candles]
            self.call_from_thread(self._backfilled, state, interval, bars)

        self.run_worker(work, thread=True, group="candles", name=f"candles:{state.symbol}:{interval}")

    def _backfilled(self, state: MarketState, interval: str, bars: list[Bar]) -> None:
        state.series.load(interval, bars)
        if state is self.active_view:
            self.market_view.chart.invalidate()

    def action_chart_interval(self) -> None:
        i = INTERVAL_ORDER.index(self._chart_interval) if self._chart_interval in INTERVAL_ORDER else 0
        self.set_chart_interval(INTERVAL_ORDER[(i + 1) % len(INTERVAL_ORDER)])

    # ----- repainting from the store ------------------------------------------------------------

    @_quiet_on_teardown
    def on_store_changed(self, message: StoreChanged) -> None:
        if not self.screen_stack:
            return  # shutting down: the screens are gone
        self.repaints += 1
        topics = message.topics
        active = self.active_view
        for view in self.views.values():
            if f"trades:{view.symbol}" in topics:
                source = self.sources[view.venue]
                view.ingest_trades(source.trades(view.symbol, 200))
            if view is active and (f"book:{view.symbol}" in topics or f"trades:{view.symbol}" in topics
                                   or "status" in topics):
                self._refresh_market(view, trades=f"trades:{view.symbol}" in topics)
        if "account" in topics or any(t.startswith("mark:") for t in topics):
            self._refresh_account()
            self._refresh_preview()
            if active is not None and f"mark:{active.symbol}" in topics:
                self._refresh_market(active, trades=False)
        elif active is not None and f"book:{active.symbol}" in topics and self._main("#ticket-type").value == "market":
            self._refresh_preview()
        if "status" in topics:
            self._tick_status()
        if isinstance(self.screen, ConfirmScreen) and self.screen.is_live:
            self.screen.reprice_now()  # the dialog shows the order a yes would send, as of now
        if isinstance(self.screen, PortfolioScreen) and (
                "account" in topics or "status" in topics or any(t.startswith("mark:") for t in topics)):
            self.screen.repaint()  # positions are valued at the marks: a new mark moves the figures
        elif isinstance(self.screen, FundingScreen) and ("funding" in topics or "status" in topics):
            self.screen.repaint()

    def _refresh_market(self, view: MarketState, force: bool = False, *, trades: bool = True) -> None:
        if not view.ladder.is_mounted or view is not self.active_view:
            return
        source = self.sources[view.venue]
        if view.oracle:
            self._refresh_oracle(view, source)
            return
        book = source.book(view.symbol)
        bids, asks = top_levels(book, max(view.ladder.depth, 1))
        note = ""
        if book is not None and not book.is_usable:
            note = f"book {book.state.value}"
        # STALE marks levels on screen that must not be trusted; before the first book there are none.
        has_levels = book is not None and book.state is not BookState.EMPTY
        view.ladder.set_book(bids, asks, stale=has_levels and not source.book_usable(view.symbol), note=note)
        if bids and asks:
            view.series.add_price((bids[0][0] + asks[0][0]) / 2, int(time.time() * 1000))
        mark = source.mark(view.symbol)
        if mark is not None:
            funding = "" if mark.funding_rate is None else f"  funding {fmt_num(mark.funding_rate * 100, 4)}%"
            view.chart.set_note(f"mark {fmt_num(mark.mark_price, view.price_places)}{funding}")
        if trades or force:
            view.tape.set_trades(source.trades(view.symbol, 100))
        if force:
            view.chart.invalidate()
        else:
            view.chart.maybe_refresh()

    def _refresh_oracle(self, view: MarketState, source: WatchSource) -> None:
        """A book-less market: the oracle's bid/mid/ask and the market's hours."""
        quote_of = getattr(source, "quote", None)
        quote = quote_of(view.symbol) if quote_of is not None else None
        try:
            hours = source.instrument(view.symbol).trading_hours
        except PerpError:
            hours = None
        now_ms = int(time.time() * 1000)
        self.market_view.oracle.set_text(oracle_text(view.symbol, quote, hours, now_ms, view.price_places))

    def _mark_of(self, source: WatchSource) -> Callable[[str], Decimal | None]:
        def mark_of(symbol: str) -> Decimal | None:
            m = source.mark(symbol)
            return m.mark_price if m is not None else None

        return mark_of

    def _quote_of(self, source: WatchSource) -> str:
        """The venue's collateral asset: the quote of a market it shows ("" when none is shown:
        cash is then derived from account value less uPnL)."""
        symbol = next((v.symbol for v in self.views.values() if v.venue == source.venue), None)
        try:
            return source.instrument(symbol).quote if symbol is not None else ""
        except PerpError:
            return ""

    def _instrument_of(self, source: WatchSource) -> Callable[[str], Any]:
        def instrument_of(symbol: str) -> Any:
            try:
                return source.instrument(symbol)
            except PerpError:
                return None

        return instrument_of

    @_quiet_on_teardown
    def _refresh_account(self) -> None:
        if not self.screen_stack:
            return  # shutting down
        positions: list = []
        orders: list[Order] = []
        accounts = {}
        snaps = {venue: source.account() for venue, source in self.sources.items()}
        several = sum(snap is not None for snap in snaps.values()) > 1
        for venue, snap in snaps.items():
            if snap is None:
                continue
            source = self.sources[venue]
            acct, views, _ = account_figures(snap, self._instrument_of(source), self._mark_of(source),
                                             lambda i, s=source: s.margin_rules(i.symbol), self._quote_of(source))
            accounts[venue] = acct
            positions.extend(replace(v, venue=venue) for v in views)
            orders.extend(_on_lot(o, self._instrument_of(source)(o.symbol)) for o in snap.open_orders)
        # The bar shows one account: the active tab's venue (the one the ticket trades on); the
        # portfolio screen (P) adds them all up.
        active = self.active_view
        shown = active.venue if active is not None and active.venue in accounts else next(iter(accounts), None)
        acct = accounts.get(shown) if shown is not None else None
        bar = self._main(AccountBar)
        if acct is None and self.traders and not bar.empty_text.endswith("…"):
            bar.empty_text = "account: loading the venue's snapshot…"
            bar.refresh()
        label = shown or ""
        if several:
            key = (self.config.keymap or {}).get("portfolio", BY_ID["portfolio"].key)
            label += f"  (+{len(accounts) - 1} venue{'s' * (len(accounts) > 2)}: {key} portfolio)"
        bar.set_view(acct, label)
        self._main(PositionsTable).set_positions(positions)
        self._main(OrdersTable).set_orders(orders)
        self._label_bottom()

    @_quiet_on_teardown
    def _tick_status(self) -> None:
        if not self.screen_stack:
            return
        streams = []
        for source in self.sources.values():
            streams.extend(source.streams())
        status = self._main(StatusLine)
        status.set_streams(streams)
        several = len(self.sources) > 1
        status.set_venues(list(self.venue_health().values()) if several else [])
        status.set_message(self._session_note(several))

    def _session_note(self, several: bool) -> str:
        """Which venues stream through the `perp session` agent (with one venue its stream's name
        says so), and why a venue streams on its own although a session was there."""
        attached = [v for v, s in self.sources.items() if getattr(s, "attached", False)]
        notes = [f"{v}: {s.stream_note}" for v, s in self.sources.items() if getattr(s, "stream_note", "")]
        if several and attached:
            notes.insert(0, f"via session: {', '.join(attached)}")
        signed = [v for v, t in self.traders.items() if getattr(getattr(t, "trading", None), "via_session", False)]
        if signed:  # the session agent's key signs these venues' orders (tui/session_trading.py)
            notes.append(f"orders signed by the session: {', '.join(signed)}")
        return "; ".join(notes)

    def venue_health(self) -> dict[str, VenueHealth]:
        """Each venue's verdict: connected, STALE (its figures are old) or unreachable."""
        out = {}
        for venue, source in self.sources.items():
            has_data = source.account() is not None or any(
                source.book(v.symbol) is not None for v in self.views.values() if v.venue == venue)
            out[venue] = venue_health(venue, source.streams(), has_data=has_data)
        return out

    def portfolio(self) -> LivePortfolio:
        """The whole book across venues, from the store at live marks (the P screen)."""
        return live_portfolio(self.sources, self.venue_health(), int(time.time() * 1000), self._quote_of)

    def funding_board(self) -> dict[str, Any]:
        """The funding board across venues (the f screen): portfolio_views.funding_board_doc."""
        focus = {self._underlying(v.venue, v.symbol) for v in self.views.values()}
        focus |= {p["underlying"] for p in self.portfolio().doc["positions"]}
        return live_funding_board(self.sources, int(time.time() * 1000), focus)

    def _underlying(self, venue: str, symbol: str) -> str:
        try:
            return self.sources[venue].instrument(symbol).underlying
        except (PerpError, KeyError):
            return symbol

    def action_portfolio(self) -> None:
        self._toggle_screen(PortfolioScreen, lambda: PortfolioScreen(self.portfolio))

    def action_funding_board(self) -> None:
        self._toggle_screen(FundingScreen, lambda: FundingScreen(self.funding_board))

    def action_algos(self) -> None:
        """The session's algos (tui/screens/algos.py), over the session socket."""
        from perpcli.tui.screens.algos import AlgosScreen

        self._toggle_screen(AlgosScreen, AlgosScreen)

    def _toggle_screen(self, kind: type, make: Callable[[], Any]) -> None:
        """Open a live screen over the trading screen; its own key again (or Escape) closes it."""
        if isinstance(self.screen, kind):
            self.pop_screen()
            return
        from perpcli.tui.screens.algos import AlgosScreen

        while len(self.screen_stack) > 1 and isinstance(self.screen, (PortfolioScreen, FundingScreen, AlgosScreen)):
            self.pop_screen()  # one live screen at a time: P on the funding board goes to the portfolio
        self.push_screen(make())

    def on_worker_state_changed(self, event: Any) -> None:
        """A feed that dies is shown, never silently lost (the status line turns DOWN too)."""
        worker = event.worker
        if worker.group == "feeds" and worker.error is not None:
            self.notify(f"{worker.name}: {type(worker.error).__name__}: {worker.error}", severity="error",
                        title="feed stopped", timeout=30)

    # ----- the ticket ---------------------------------------------------------------------------

    def _plan(self, form: TicketForm, *, ioc: bool = False) -> tuple[OrderPlan, PreviewInputs]:
        view = self.active_view
        if view is None:
            raise PerpError("no market open")
        source = self.sources[view.venue]
        if _collateral_venue(source):  # no book to plan at (a quick buy at the touch): said plainly
            from perpcli.tui.collateral_trader import touch_refusal

            raise PerpError(touch_refusal(view.venue))
        inst = source.instrument(form.market or view.symbol)
        book = source.book(inst.symbol)
        mid = book.mid() if book is not None else None
        mark = source.mark(inst.symbol)
        mark_px = mark.mark_price if mark is not None else mid
        if mid is None:
            mid = mark_px
        if mid is None or mark_px is None:
            raise PerpError(f"no price for {inst.symbol} yet")
        inputs = source_inputs(source, inst, mark_px, instrument_of=self._instrument_of(source),
                               mark_of=self._mark_of(source))
        ctx = ticket_context(inputs, mid)  # sizing reads the account as the preview does
        req: OrderRequest = to_request(replace(form, market=inst.symbol))
        if ioc:
            req = replace(req, ioc=True)
        trader = self.traders.get(view.venue)
        new_cloid = trader.new_cloid if trader is not None else (lambda: "0x" + "0" * 32)
        return plan_order(view.venue, req, ctx, new_cloid=new_cloid), inputs

    @_quiet_on_teardown
    def _refresh_preview(self, form: TicketForm | None = None) -> None:
        if not self.screen_stack:
            return  # shutting down
        ticket = self._main(Ticket)
        if not ticket.is_mounted:
            return
        form = form or ticket.form()
        view = self.active_view
        if view is not None and _collateral_venue(self.sources[view.venue]):
            self.collateral_ticket.refresh(view, form)  # quoted off the UI thread: it reads the chain
            return
        try:
            plan, preview = self._priced(form)
        except PerpError as e:
            self.last_preview = None
            ticket.show_preview(Text(str(e), style="yellow"), ok=False)
            return
        self.last_preview = preview
        trader = self.traders.get(plan.venue)
        refusal = self._refusal(trader, plan) if trader is not None else None  # what Enter would meet
        text = preview_text(preview, self._price_places(plan), warning=refusal)
        ticket.show_preview(text, ok=trader is not None and refusal is None)

    def _priced(self, form: TicketForm, *, ioc: bool = False) -> tuple[OrderPlan, OrderPreview]:
        """The order the form describes, planned at the current book, and its preview."""
        plan, inputs = self._plan(form, ioc=ioc)
        return plan, compute_preview(plan, inputs)

    def _places_of(self, symbol: str) -> int | None:
        """The price decimals a market's tab shows (None: no tab for it)."""
        return next((v.price_places for v in self.views.values() if v.symbol == symbol), None)

    def _price_places(self, plan: OrderPlan) -> int | None:
        view = self.views.get(tab_id(plan.venue, plan.market))
        return view.price_places if view is not None else None

    @staticmethod
    def _refusal(trader: Trader, plan: OrderPlan) -> str | None:
        try:
            trader.check_risk(plan)
        except PerpError as e:
            return str(e)
        return None

    def on_ticket_changed(self, message: Ticket.Changed) -> None:
        self._refresh_preview(message.form)

    def on_ladder_widget_level_selected(self, message: LadderWidget.LevelSelected) -> None:
        ticket = self._main(Ticket)
        ticket.set_type("limit") if ticket.form().order_type == "market" else None
        ticket.set_price(message.price)

    def on_ticket_submitted(self, message: Ticket.Submitted) -> None:
        view = self.active_view
        if view is not None and _collateral_venue(self.sources[view.venue]):
            self.collateral_ticket.submit(view, message.form)
            return
        self._submit(message.form)

    def _submit(self, form: TicketForm, *, ioc: bool = False,
                reform: Callable[[], TicketForm] | None = None) -> None:
        """Plan, check and send an order; above the confirmation notional, ask first.

        `reform` rebuilds the form at confirmation time (a quick buy re-reads the touch). The
        dialog re-plans on every repaint and a yes sends exactly the order it shows.
        """
        view = self.active_view
        if view is None:
            return
        trader = self.traders.get(view.venue)
        if trader is None:
            self.notify(f"no key for {view.venue}: market data only", severity="error")
            return

        def priced() -> tuple[OrderPlan, OrderPreview]:
            plan, preview = self._priced(reform() if reform is not None else form, ioc=ioc)
            trader.check_risk(plan)
            return plan, preview

        try:
            plan, preview = priced()
        except PerpError as e:
            self.last_action_result = ("place", None, str(e))
            self.notify(str(e), severity="error", title="not sent")
            return
        if not trader.needs_confirmation(plan.notional):
            self._send(trader, "place", plan)
            return

        def reprice() -> tuple[Text, OrderPlan | None]:
            try:
                plan, preview = priced()
            except PerpError as e:
                return Text(f"Nothing would be sent now: {e}\n", style="bold red"), None
            return order_question(plan, preview, self._price_places(plan)), plan

        screen = ConfirmScreen(order_question(plan, preview, self._price_places(plan)), payload=plan,
                               reprice=reprice)

        def answered(yes: bool | None) -> None:
            if yes and screen.payload is not None:
                self._send(trader, "place", screen.payload)
            elif yes:
                self.notify("the order could not be priced when confirmed", severity="error", title="not sent")

        self.push_screen(screen, answered)

    def _send(self, trader: Trader, what: str, *args: Any) -> None:
        """Run an app-layer action in a thread worker; report its outcome as a notification."""

        def work() -> None:
            try:
                result = getattr(trader, what)(*args)
            except PerpError as e:
                self.call_from_thread(self._action_done, what, None, str(e))
            except Exception as e:  # noqa: BLE001 - shown, never crashes the terminal
                self.call_from_thread(self._action_done, what, None, f"{type(e).__name__}: {e}")
            else:
                self.call_from_thread(self._action_done, what, result, None)

        self.run_worker(work, thread=True, group="actions", exclusive=False, name=what)

    def _action_done(self, what: str, result: Any, error: str | None) -> None:
        self.last_action_result = (what, result, error)
        if error is not None:
            self.notify(error, severity="error", title=f"{what} failed")
            return
        lines = []
        bad = False
        for r in result or []:
            note = getattr(r, "note", None)
            bad = bad or getattr(r, "status", "") in ("rejected", "unknown") or bool(note and "WITHOUT" in note)
            # an open the keeper refunded, or has not settled yet: not what was asked for
            bad = bad or (what == "open" and getattr(r, "status", "") in ("canceled", "accepted"))
            lines.append(outcome_line(r, self._places_of(getattr(r, "market", ""))))
        self.notify("\n".join(lines) or "nothing to do", title=what, severity="error" if bad else "information")

    # ----- hotkeys ------------------------------------------------------------------------------

    def _at_best(self, side: Side) -> None:
        """A limit IOC for the ticket size at the touch. The touch is read when the order is
        sent (after the confirmation, if one is asked), and the preview shows what an IOC
        there fills: only what the best level holds, the rest is cancelled."""
        view = self.active_view
        if view is None:
            return
        base = replace(self._main(Ticket).form(), market=view.symbol, side=side, order_type="limit",
                       post_only=False, tp="", sl="")

        def at_touch() -> TicketForm:
            source = self.sources[view.venue]
            book = source.book(view.symbol)
            level = None
            if book is not None and source.book_usable(view.symbol):
                level = book.best_ask() if side is Side.BUY else book.best_bid()
            if level is None:
                raise PerpError(f"{view.symbol}: no usable book to price from")
            return replace(base, price=str(level[0]))

        self._submit(base, ioc=True, reform=at_touch)

    def action_buy_best(self) -> None:
        self._at_best(Side.BUY)

    def action_sell_best(self) -> None:
        self._at_best(Side.SELL)

    def _focus_now(self, widget: Any) -> None:
        """Move the focus before the next key is handled. (`Widget.focus` defers the move to
        after the queued events: keys typed right after `t` would go to the old focus.)"""
        if self.screen_stack and self.screen is self.screen_stack[0]:
            self.screen.set_focus(widget)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_ticket":
            # A priority binding fires before the focused widget sees the key: in a text field
            # or over a dialog (the palette's search) the key is just a letter.
            # None: shown greyed in the footer there, not hidden.
            return (self.screen is self.screen_stack[0] and not isinstance(self.focused, Input)) or None
        return True

    def action_focus_ticket(self) -> None:
        self._focus_now(self._main("#ticket-size"))

    def action_focus_book(self) -> None:
        view = self.active_view
        if view is not None:
            self._focus_now(view.ladder)

    def action_focus_orders(self) -> None:
        self._show_bottom(orders=True)
        self._focus_now(self._main(OrdersTable))

    def action_focus_positions(self) -> None:
        self._show_bottom(orders=False)
        self._focus_now(self._main(PositionsTable))

    def _show_bottom(self, *, orders: bool) -> None:
        """On a narrow terminal the open orders and the positions take turns at the bottom."""
        base = self.screen_stack[0]
        if base.has_class("-show-orders") != orders:
            base.set_class(orders, "-show-orders")
            base.refresh(layout=True)
            self._label_bottom()

    def _label_bottom(self) -> None:
        base = self.screen_stack[0]
        positions, orders = self._main(PositionsTable), self._main(OrdersTable)
        narrow = base.has_class("-narrow")
        positions.border_subtitle = f"o: open orders ({len(orders.orders)})" if narrow else ""
        orders.border_subtitle = f"p: positions ({len(positions.positions)})" if narrow else ""

    def _trader_for(self, venue: str | None = None) -> Trader | None:
        view = self.active_view
        venue = venue or (view.venue if view else None)
        trader = self.traders.get(venue) if venue else None
        if trader is None:
            self.notify("no key loaded: market data only", severity="error")
        return trader

    def action_cancel_selected(self) -> None:
        order = self._main(OrdersTable).selected_order()
        if order is None:
            self.notify("no order selected", severity="warning")
            return
        trader = self._trader_for(order.venue)
        if trader is not None:
            self._send(trader, "cancel", [order])

    def action_cancel_all(self) -> None:
        """Every open order on every venue with a key: the trader asks the venue for the list
        (the table may be a moment behind), then cancels them."""
        if not self.traders:
            self.notify("no key loaded: market data only", severity="error")
        for trader in self.traders.values():
            self._send(trader, "cancel_all")

    def action_close_position(self) -> None:
        table = self._main(PositionsTable)
        pos = table.selected_position() if self.focused is table else None
        view = self.active_view
        if pos is None and view is not None:
            pos = table.position_of(view.venue, view.symbol)
        if pos is None:
            pos = table.selected_position()
        if pos is None:
            self.notify("no position to close", severity="warning")
            return
        symbol = pos.symbol
        trader = self._trader_for(pos.venue or None)  # the venue that holds it, not the tab's
        if trader is None:
            return
        price = pos.mark if pos.mark is not None else pos.entry
        notional = abs(pos.size) * price
        if not trader.needs_confirmation(notional):  # the same rule as an order of that size
            self._send(trader, "close", symbol)
            return
        side = "SELL" if pos.size > 0 else "BUY"
        question = Text(f"Close {symbol}: {side} {fmt_num(abs(pos.size))} reduce-only at market "
                        f"(notional {fmt_num(notional, 2)} USD at mark {fmt_num(price, self._places_of(symbol))}, "
                        "1% worst-price bound)?",
                        style="bold")

        def answered(yes: bool | None) -> None:
            if yes:
                self._send(trader, "close", symbol)

        self.push_screen(ConfirmScreen(question), answered)

    def action_flatten(self) -> None:
        trader = self._trader_for()
        view = self.active_view
        if trader is None or view is None:
            return
        orders, positions, known = self._exposure(view.venue)
        if known and not orders and not positions:
            self.notify("nothing to flatten: no open orders, no positions", title="flatten")
            return
        if not known:
            what = "cancel every open order and close every position at market"
        else:
            parts = []
            if orders:
                parts.append(f"cancel {len(orders)} open order{'s' * (len(orders) != 1)}")
            if positions:
                parts.append(f"close {len(positions)} position{'s' * (len(positions) != 1)} "
                             f"({', '.join(positions)}) at market")
            what = " and ".join(parts)

        def answered(yes: bool | None) -> None:
            if yes:
                self._send(trader, "flatten")

        where = f" on {view.venue}" if len(self.traders) > 1 else ""
        self.push_screen(ConfirmScreen(f"Flatten{where}: {what}?"), answered)

    def _exposure(self, venue: str) -> tuple[list[Order], list[str], bool]:
        """(open orders, markets with a position, whether the account is loaded yet) on the
        venue a flatten acts on: the active tab's."""
        source = self.sources.get(venue)
        snap = source.account() if source is not None else None
        if snap is None:
            return [], [], False
        return list(snap.open_orders), [p.symbol for p in snap.positions if p.size], True

    def action_help(self) -> None:
        active = {k.id: k.key for k in KEYS}
        active.update(self.config.keymap or {})
        self.push_screen(HelpScreen(active))


def _on_lot(order: Order, inst: Any) -> Order:
    """An order's size on its market's lot, as the positions show sizes (a venue that sizes an
    order from collateral x leverage / price, like Ostium, reports it to 28 digits)."""
    from perpcli.app import display

    size = display.size(inst, order.size) if inst is not None else None
    if size is None or size == order.size:
        return order
    return replace(order, size=size, orig_size=display.size(inst, order.orig_size) or size)


def _collateral_venue(source: Any) -> bool:
    """Whether a venue's orders are collateral x leverage (Ostium), from its Capabilities."""
    from perpcli.app.collateral import uses_collateral_orders

    return uses_collateral_orders(getattr(getattr(source, "md", None), "capabilities", None))
