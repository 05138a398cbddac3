"""A collateral x leverage tab's ticket (tui/collateral_flow.py) over an in-memory venue: the
quote runs off the UI thread, debounced while typing; an answer for a form that has changed
since is dropped; a tab switch never leaves another tab's preview on the ticket; Place sends
the CollateralOrder the form describes, after the confirmation where one is asked."""

from __future__ import annotations

import threading
from decimal import Decimal as D
from types import SimpleNamespace

from perpcli.domain.errors import RiskRefused
from perpcli.tui.app import WatchApp
from perpcli.tui.screens.confirm import ConfirmScreen
from perpcli.tui.widgets.ticket import Ticket
from perpcli.venues.base import OpenQuote
from perpcli.venues.ostium import instruments
from tests.tui_support import FakeSource, FakeTrader, wait_until

SIZE = (160, 48)
LIMITS = instruments.PairLimits(min_leverage=D("2"), max_leverage=D("100"), min_position_usd=D("100"),
                                liq_margin_threshold_pct=D("25"))


class CollateralSource(FakeSource):
    """A book-less venue whose orders are collateral x leverage (as Ostium's Capabilities say)."""

    venue = "fakeo"
    has_book = False
    md = SimpleNamespace(capabilities=SimpleNamespace(order_form="collateral"))

    def __init__(self) -> None:
        super().__init__(("XAU-USD",))
        self.instruments = {"XAU-USD": instruments.to_instrument("fakeo", instruments.spec_for_symbol("XAU-USD"), LIMITS)}


class QuotingTrading:
    """The reads a quote needs: each quote is counted, and can be held until released."""

    def __init__(self, source: CollateralSource) -> None:
        self.source = source
        self.asked: list = []
        self.hold: threading.Event | None = None

    def quote_open(self, order) -> OpenQuote:
        self.asked.append(order)
        hold = self.hold
        if hold is not None:
            hold.wait(5)
        price = D(2000)
        lev = order.leverage or D(10)
        notional = order.collateral * lev
        return OpenQuote(order=order, instrument=self.source.instruments["XAU-USD"], reference_price=price,
                         oracle_price=price, collateral=order.collateral, leverage=lev, notional=notional,
                         size=notional / price, rules=instruments.margin_rules(LIMITS, lev), opening_fee=None,
                         oracle_fee=None, wallet=D(10_000), approval_needed=False)


class CollateralTrader(FakeTrader):
    def __init__(self, source: CollateralSource, confirm_above=D(10**9)) -> None:
        super().__init__(source, confirm_above)
        self.trading = QuotingTrading(source)

    def check_quote(self, q) -> None:
        if q.leverage > 20:
            raise RiskRefused(f"leverage {q.leverage}x is above risk.max_leverage 20 (guard max_leverage)",
                              guard="max_leverage")

    def open(self, order):
        self.calls.append(("open", order))
        return []


def make_app(confirm_above=D(10**9)):
    book, gold = FakeSource(), CollateralSource()
    trader = CollateralTrader(gold, confirm_above)
    app = WatchApp({"fake": book, "fakeo": gold}, [("fake", "BTC"), ("fakeo", "XAU-USD")],
                   traders={"fake": FakeTrader(book), "fakeo": trader})
    return app, trader


async def _type(pilot, app, selector: str, text: str) -> None:
    app.screen.set_focus(app.query_one(selector))
    await pilot.pause()
    app.query_one(selector).value = ""
    await pilot.press(*text)


def _preview(app) -> str:
    return str(app.query_one(Ticket)._preview_shown)


async def test_typing_is_quoted_once_the_keys_pause_and_a_tab_switch_quotes_afresh():
    """...and a reduce-only ticked on the book venue's tab neither blocks the collateral tab (where
    it is hidden and means nothing) nor is lost when the trader comes back."""
    app, trader = make_app()
    async with app.run_test(size=SIZE) as pilot:
        ticket = app.query_one(Ticket)
        ticket.query_one("#ticket-reduce").value = True
        await app.run_action("next_market")
        assert await wait_until(pilot, lambda: ticket.collateral)
        assert not ticket.query_one("#ticket-flags").display
        ticket.set_type("market")
        await _type(pilot, app, "#ticket-size", "250")
        await _type(pilot, app, "#ticket-leverage", "12")
        assert await wait_until(pilot, lambda: "liq " in _preview(app) and "x 12 = 3,000 USD" in _preview(app))
        assert len(trader.trading.asked) <= 2  # not one quote per key
        assert not ticket.query_one("#ticket-place").disabled
        asked = len(trader.trading.asked)
        await app.run_action("prev_market")  # the book venue's tab: its own ticket and preview
        assert await wait_until(pilot, lambda: not ticket.collateral and "liq " not in _preview(app))
        assert ticket.query_one("#ticket-flags").display and not ticket.query_one("#ticket-leverage").display
        assert ticket.form().reduce_only
        await app.run_action("next_market")  # back: its fields, quoted again, never the other tab's text
        assert await wait_until(pilot, lambda: "x 12 = 3,000 USD" in _preview(app))
        assert ticket.query_one("#ticket-leverage").value == "12" and len(trader.trading.asked) == asked + 1


async def test_an_answer_for_a_form_that_changed_since_is_dropped_and_a_guard_disables_place():
    app, trader = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.run_action("next_market")
        ticket = app.query_one(Ticket)
        assert await wait_until(pilot, lambda: ticket.collateral)
        ticket.set_type("market")
        trader.trading.hold = threading.Event()
        await _type(pilot, app, "#ticket-size", "100")
        await _type(pilot, app, "#ticket-leverage", "30")
        assert await wait_until(pilot, lambda: len(trader.trading.asked) == 1)  # held in its worker
        assert "quoting" in _preview(app)  # typing was never blocked by it
        trader.trading.hold, held = None, trader.trading.hold
        await _type(pilot, app, "#ticket-leverage", "5")
        assert await wait_until(pilot, lambda: len(trader.trading.asked) == 2)
        assert await wait_until(pilot, lambda: "x 5 = 500 USD" in _preview(app))
        held.set()  # the 30x answer arrives late: the 5x form's quote stays
        await pilot.pause(0.2)
        assert "x 5 = 500 USD" in _preview(app) and "refused" not in _preview(app)
        await _type(pilot, app, "#ticket-leverage", "30")  # quoted again now: the guard refuses it
        assert await wait_until(pilot, lambda: "refused: leverage 30x" in _preview(app))
        assert ticket.query_one("#ticket-place").disabled


async def test_place_sends_the_forms_order_after_the_confirmation():
    app, trader = make_app(confirm_above=D(1000))
    async with app.run_test(size=SIZE) as pilot:
        await app.run_action("next_market")
        ticket = app.query_one(Ticket)
        assert await wait_until(pilot, lambda: ticket.collateral)
        ticket.set_type("limit")
        await _type(pilot, app, "#ticket-price", "1990")
        await _type(pilot, app, "#ticket-leverage", "10")
        await _type(pilot, app, "#ticket-size", "200")
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "liquidation" in app.screen.question.plain and "2,000 USD" in app.screen.question.plain
        await pilot.press("y")
        assert await wait_until(pilot, lambda: trader.calls)
        [(what, order)] = trader.calls
        assert what == "open"
        assert (order.symbol, order.side.value, order.kind, order.price, order.collateral, order.leverage) == (
            "XAU-USD", "buy", "limit", D(1990), D(200), D(10))
