"""The order ticket: side, size (units / USD / % of free collateral / risk to a stop), type,
price, TP/SL, reduce-only, post-only, and the live preview of what the order would do.

On a tab of a venue that trades by collateral x leverage (Ostium) the same ticket takes a
leverage and sizes the trade as collateral (USDC), a USD notional or units; reduce-only and
post-only, which mean nothing there, are hidden (tui/collateral_ticket.py reads that form).

The ticket owns no logic: every change posts `Ticket.Changed` with the whole form; the
screen plans the order against the store (no network), and hands back the preview text or the
reason the form is not valid yet. `Place` posts `Ticket.Submitted`.
"""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from perpcli.domain.orders import Side
from perpcli.tui import collateral_ticket
from perpcli.tui.ticket_model import ORDER_TYPES, SIZE_MODES, TicketForm

SIZE_MODE_LABELS = {"units": "units", "usd": "USD", "pct": "% free", "risk": "% risk"}
_BOOK_SIZES = [(SIZE_MODE_LABELS[m], m) for m in SIZE_MODES]
_COLLATERAL_SIZES = [(collateral_ticket.SIZE_MODE_LABELS[m], m) for m in collateral_ticket.SIZE_MODES]


class Ticket(Vertical):
    class Changed(Message):
        def __init__(self, form: TicketForm) -> None:
            super().__init__()
            self.form = form

    class Submitted(Message):
        def __init__(self, form: TicketForm) -> None:
            super().__init__()
            self.form = form

    def __init__(self, market: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.market = market
        self.border_title = "Ticket"
        self._preview_shown: Text | str | None = None
        self._per_market: dict[str, dict[str, str]] = {}  # tab -> its price, TP/SL and size fields
        self._key = market  # the tab the fields belong to (venue and market: BTC on two venues differs)
        self.collateral = False  # the fields of a collateral x leverage venue (Ostium) are shown

    def compose(self) -> ComposeResult:
        yield Label(self.market, id="ticket-market")
        with Horizontal(classes="ticket-row"):
            yield Select([("Buy", "buy"), ("Sell", "sell")], value="buy", allow_blank=False, compact=True,
                         id="ticket-side")
            yield Select([(t, t) for t in ORDER_TYPES], value="limit", allow_blank=False, compact=True,
                         id="ticket-type")
        with Horizontal(classes="ticket-row"):
            yield Input(placeholder="size", compact=True, id="ticket-size")
            yield Select(_BOOK_SIZES, value="units", allow_blank=False, compact=True, id="ticket-size-mode")
        leverage = Input(placeholder="leverage (x)", compact=True, id="ticket-leverage")
        leverage.display = False  # a collateral x leverage venue's field only
        yield leverage
        yield Input(placeholder="price (limit / trigger)", compact=True, id="ticket-price")
        with Horizontal(classes="ticket-row"):
            yield Input(placeholder="TP", compact=True, id="ticket-tp")
            yield Input(placeholder="SL", compact=True, id="ticket-sl")
        with Horizontal(classes="ticket-row", id="ticket-flags"):
            yield Checkbox("reduce", compact=True, id="ticket-reduce")
            yield Checkbox("post", compact=True, id="ticket-post")
        yield Static("", id="ticket-preview")
        yield Button("Place", variant="primary", compact=True, id="ticket-place")

    # ----- reading and writing the form ---------------------------------------------------------

    def form(self) -> TicketForm:
        q = self.query_one
        return TicketForm(
            market=self.market,
            side=Side(q("#ticket-side", Select).value),
            size=q("#ticket-size", Input).value,
            size_mode=str(q("#ticket-size-mode", Select).value),
            order_type=str(q("#ticket-type", Select).value),
            price=q("#ticket-price", Input).value,
            tp=q("#ticket-tp", Input).value,
            sl=q("#ticket-sl", Input).value,
            # hidden on a collateral x leverage tab, so they do not count there (and come back as they
            # were on a book venue's tab)
            reduce_only=q("#ticket-reduce", Checkbox).value and not self.collateral,
            post_only=q("#ticket-post", Checkbox).value and not self.collateral,
            leverage=q("#ticket-leverage", Input).value,
        )

    def set_market(self, market: str, key: str | None = None, title: str | None = None, *,
                   collateral: bool = False) -> None:
        """Show another market tab: its own price, TP/SL and size come back (blank the first time).

        `key` names the tab (default: the market); the same symbol on two venues is two tabs
        with two sets of fields. A price is only meaningful on its own market, and so is a
        size in units; a size in USD or % carries over, as it means the same on any market.
        `collateral`: the tab's venue trades by collateral x leverage (its fields are shown).
        """
        key = key or market
        if key != self._key:
            if self._key:
                self._per_market[self._key] = self._market_fields()
            self.market, self._key = market, key
            self.query_one("#ticket-market", Label).update(title or market, layout=False)
            mode = str(self.query_one("#ticket-size-mode", Select).value)
            keep = self.query_one("#ticket-size", Input).value if mode != "units" else ""
            if collateral != self.collateral:
                self._show_form_of(collateral)
                keep = keep if mode == "usd" else ""  # a USD notional means the same on either form
                mode = "usd" if mode == "usd" else str(self.query_one("#ticket-size-mode", Select).value)
            saved = self._per_market.get(key)
            if saved is None:
                saved = {"#ticket-price": "", "#ticket-tp": "", "#ticket-sl": "", "#ticket-size": keep,
                         "#ticket-size-mode": mode, "#ticket-leverage": ""}
            for selector, value in saved.items():
                self.query_one(selector).value = value
            self._changed()

    def _show_form_of(self, collateral: bool) -> None:
        """The fields of a collateral x leverage venue, or of an order-book one."""
        self.collateral = collateral
        self.query_one("#ticket-size-mode", Select).set_options(_COLLATERAL_SIZES if collateral else _BOOK_SIZES)
        self.query_one("#ticket-leverage", Input).display = collateral
        self.query_one("#ticket-flags").display = not collateral

    def _market_fields(self) -> dict[str, str]:
        return {sel: str(self.query_one(sel).value)
                for sel in ("#ticket-price", "#ticket-tp", "#ticket-sl", "#ticket-size-mode", "#ticket-size",
                            "#ticket-leverage")}

    def set_price(self, price: Decimal) -> None:
        self.query_one("#ticket-price", Input).value = str(price)

    def set_side(self, side: Side) -> None:
        self.query_one("#ticket-side", Select).value = side.value

    def set_size(self, size: str, mode: str = "units") -> None:
        self.query_one("#ticket-size-mode", Select).value = mode
        self.query_one("#ticket-size", Input).value = size

    def set_type(self, order_type: str) -> None:
        self.query_one("#ticket-type", Select).value = order_type

    def show_preview(self, text: Text | str, *, ok: bool) -> None:
        if text != self._preview_shown:  # fixed height: no layout pass for a new preview
            self._preview_shown = text
            self.query_one("#ticket-preview", Static).update(text, layout=False)
        button = self.query_one("#ticket-place", Button)
        if button.disabled == ok:
            button.disabled = not ok

    # ----- events -------------------------------------------------------------------------------

    def _changed(self) -> None:
        if self.is_mounted:
            self.post_message(self.Changed(self.form()))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._changed()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._changed()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._changed()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ticket-place":
            self.submit()

    def submit(self) -> None:
        self.post_message(self.Submitted(self.form()))
