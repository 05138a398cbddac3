"""The ticket of a collateral x leverage tab (Ostium) at work: its live preview and its Place.

The venue prices an open by reading the chain (the oracle, the pair's limits and fees, the
wallet and its allowance), so unlike a book venue's preview (computed from the store, on the
UI thread) the quote runs in a thread worker: debounced while the trader types, asked again
only when the form changes or the shown quote is older than REQUOTE_S, and an answer that
arrives after the form changed is dropped. Until the quote of the form as it is now is shown,
Place stays disabled. The quote is `collateral.quote` and its document `collateral_preview`:
what `perp buy --preview` prints.

Place quotes the order again off the UI thread, applies the risk guards, asks above
`risk.confirm_above_notional` (the question names the liquidation price), then hands the
CollateralOrder to the trader (tui/collateral_trader.py), which opens it (here or in the
session agent) and awaits the keeper.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from rich.text import Text
from textual.css.query import NoMatches

from perpcli.domain.errors import PerpError
from perpcli.tui.collateral_ticket import confirm_question, order_of_form, preview_text
from perpcli.tui.screens.confirm import ConfirmScreen
from perpcli.tui.ticket_model import TicketForm
from perpcli.tui.widgets.ticket import Ticket

DEBOUNCE_S = 0.25  # typing: one quote once the keys pause, not one per key
REQUOTE_S = 5.0  # an unchanged form: its quote is read again at most this often (prices, wallet)


class CollateralTicket:
    def __init__(self, app: Any) -> None:
        self.app = app
        self._timer: Any = None
        self._serial = 0  # the latest quote asked; an older answer is dropped
        self._asked: tuple[str, Any] | None = None  # (venue, order) of that quote
        self._asked_at = 0.0
        self.shown: dict[str, Any] | None = None  # the preview document on the ticket now

    # ----- the preview --------------------------------------------------------------------------

    def refresh(self, view: Any, form: TicketForm) -> None:
        """The form changed, or the store did: quote it (debounced) unless its quote stands."""
        ticket = self.app._main(Ticket)
        try:
            order = order_of_form(replace(form, market=view.symbol))
        except PerpError as e:  # not a whole order yet: said at once, nothing read
            self.forget()
            ticket.show_preview(Text(str(e), style="yellow"), ok=False)
            return
        asked = (view.venue, order)
        if asked == self._asked and time.monotonic() - self._asked_at < REQUOTE_S:
            return  # shown, or on its way
        if asked != self._asked:
            self.shown = None
            ticket.show_preview(Text(f"quoting {view.symbol}…", style="dim"), ok=False)
        self._asked, self._asked_at = asked, time.monotonic()
        self._serial += 1
        serial = self._serial
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.app.set_timer(DEBOUNCE_S, lambda: self._quote(serial, view.venue, order))

    def forget(self) -> None:
        """Drop the quote asked or shown: another tab's ticket is shown now (its preview replaced it)."""
        self._asked, self.shown = None, None
        self._serial += 1
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _quote(self, serial: int, venue: str, order: Any) -> None:
        from perpcli.app import collateral
        from perpcli.app.preview import collateral_preview

        trader = self.app.traders.get(venue)
        source = self.app.sources.get(venue)
        # Without a key, a watched address still quotes (its wallet): a preview Place cannot send.
        trading = trader.trading if trader is not None else getattr(source, "trading", None)
        if trading is None:
            self._show(serial, None, f"no account on {venue}: load a key (or watch an address) to quote a trade")
            return

        def work() -> None:
            try:
                q = collateral.quote(trading, order)
                doc = collateral_preview(q)
            except PerpError as e:
                self.app.call_from_thread(self._show, serial, None, str(e))
                return
            except Exception as e:  # noqa: BLE001 - shown on the ticket, never crashes the terminal
                self.app.call_from_thread(self._show, serial, None, f"{type(e).__name__}: {e}")
                return
            refusal = None
            if trader is not None:
                try:
                    trader.check_quote(q)
                except PerpError as e:
                    refusal = str(e)
            self.app.call_from_thread(self._show, serial, doc, refusal, sendable=trader is not None)

        self.app.run_worker(work, thread=True, group="collateral-quote", exclusive=False, name=f"quote:{venue}")

    def _show(self, serial: int, doc: dict[str, Any] | None, refusal: str | None, *, sendable: bool = False) -> None:
        if serial != self._serial or not self.app.is_running or not self._on_screen():
            return  # the form (or the tab) changed meanwhile
        try:
            ticket = self.app._main(Ticket)
        except NoMatches:
            return  # the app is tearing down
        self.shown = doc
        if doc is None:
            ticket.show_preview(Text(str(refusal), style="yellow"), ok=False)
            return
        text = preview_text(doc, warning=refusal)
        if not sendable:
            text.append("\nno key loaded: a preview only", style="yellow")
        ticket.show_preview(text, ok=sendable and refusal is None)

    def _on_screen(self) -> bool:
        """Whether the tab the quote was asked for is still the active one."""
        view = self.app.active_view
        return self._asked is not None and view is not None and (view.venue, view.symbol) == (
            self._asked[0], self._asked[1].symbol)

    # ----- Place --------------------------------------------------------------------------------

    def submit(self, view: Any, form: TicketForm) -> None:
        app = self.app
        trader = app.traders.get(view.venue)
        if trader is None:
            app.notify(f"no key for {view.venue}: market data only", severity="error")
            return
        try:
            order = order_of_form(replace(form, market=view.symbol))
        except PerpError as e:
            self._not_sent(str(e))
            return

        def work() -> None:
            from perpcli.app import collateral
            from perpcli.app.preview import collateral_preview

            try:
                q = collateral.quote(trader.trading, order)
                trader.check_quote(q)
                doc = collateral_preview(q)
            except PerpError as e:
                app.call_from_thread(self._not_sent, str(e))
                return
            except Exception as e:  # noqa: BLE001 - shown, never crashes the terminal
                app.call_from_thread(self._not_sent, f"{type(e).__name__}: {e}")
                return
            app.call_from_thread(self._confirm_then_open, trader, view.venue, order, q.notional, doc)

        app.run_worker(work, thread=True, group="actions", exclusive=False, name="open:quote")

    def _not_sent(self, error: str) -> None:
        self.app.last_action_result = ("open", None, error)
        self.app.notify(error, severity="error", title="not sent")

    def _confirm_then_open(self, trader: Any, venue: str, order: Any, notional: Any, doc: dict[str, Any]) -> None:
        if not trader.needs_confirmation(notional):
            self.app._send(trader, "open", order)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app._send(trader, "open", order)

        self.app.push_screen(ConfirmScreen(confirm_question(doc, venue)), answered)
