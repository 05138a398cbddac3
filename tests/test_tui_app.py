"""The TUI driven with Textual's Pilot over an in-memory source (no network): rendering,
coalescing, the ticket, hotkeys, confirmations, staleness, key remapping, tabs, help."""

from __future__ import annotations

import threading
import time
from decimal import Decimal as D

from perpcli.domain.events import ConnectionState
from perpcli.domain.orders import OrderType, Side, TimeInForce
from perpcli.tui.app import WatchApp, WatchConfig
from perpcli.tui.screens.confirm import ConfirmScreen
from perpcli.tui.screens.help import HelpScreen
from perpcli.tui.viewmodel import fmt_num
from perpcli.tui.widgets.account import StatusLine
from perpcli.tui.widgets.tables import OrdersTable, PositionsTable
from perpcli.tui.widgets.ticket import Ticket
from tests.tui_support import FakeSource, FakeTrader, order, position, screen_text, wait_until

SIZE = (160, 48)
BIDS = [("100", "1"), ("99.5", "2"), ("99", "4")]
ASKS = [("100.5", "1.5"), ("101", "3"), ("101.5", "0.5")]


def make_app(config: WatchConfig | None = None, trader_cls=FakeTrader):
    src = FakeSource()
    trader = trader_cls(src)
    app = WatchApp({"fake": src}, [("fake", "BTC"), ("fake", "ETH")], traders={"fake": trader}, config=config)
    return app, src, trader


def ladder_text(app) -> str:
    return app.active_view.ladder.text()


async def test_book_updates_render_with_depth_spread_and_mid():
    app, src, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        src.push_book("BTC", BIDS, ASKS)
        await pilot.pause(0.15)
        text = ladder_text(app)
        assert "mid 100.250" in text and "spread 0.50" in text
        lines = text.splitlines()
        row_101 = next(line for line in lines if line.strip().startswith("101.00"))
        assert "4.5000" in row_101  # cumulative size through 101 (1.5 + 3)
        assert lines.index(row_101) < next(i for i, ln in enumerate(lines) if "mid" in ln)  # asks above
        src.push_book("BTC", [("200", "1")], [("201", "1")])
        await pilot.pause(0.15)
        assert "mid 200.500" in ladder_text(app)


async def test_a_burst_of_updates_is_coalesced_into_few_repaints_showing_the_last():
    app, src, _ = make_app(WatchConfig(refresh_hz=20))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        before = app.repaints
        for i in range(2000):
            src.push_book("BTC", [(str(100 + i), "1")], [(str(101 + i), "1")])
        await pilot.pause(0.2)
        assert app.bridge.notified >= 2000
        assert app.repaints - before <= 3  # one message per 50 ms tick, whatever the feed did
        assert "mid 2,099.500" in ladder_text(app)


async def test_without_coalescing_every_update_is_a_message():
    app, src, _ = make_app(WatchConfig(coalesce=False))
    async with app.run_test(size=SIZE) as pilot:
        for i in range(50):
            src.push_book("BTC", [(str(100 + i), "1")], [(str(101 + i), "1")])
        await pilot.pause(0.3)
        assert app.bridge.posted >= 50 and app.repaints >= 50


async def test_clicking_a_level_sets_the_ticket_price_and_the_preview_follows():
    app, src, trader = make_app()
    async with app.run_test(size=SIZE) as pilot:
        src.leverages["BTC"] = (10, True)
        src.set_account(equity="10000")
        src.push_mark("BTC", "100.2")
        src.push_book("BTC", BIDS, ASKS)
        await pilot.pause(0.15)
        ladder = app.active_view.ladder
        row = next(i for i, r in enumerate(ladder._rows) if r is not None and r[0] == D("99.5"))
        await pilot.click(ladder, offset=(4, row))
        await pilot.pause(0.05)
        ticket = app.query_one(Ticket)
        assert ticket.form().price == "99.5"
        await pilot.press("t", "2")
        await pilot.pause(0.1)
        preview = app.last_preview
        assert preview is not None and preview.size == D("2") and not preview.takes  # a bid below the ask rests
        # the margin model: initial margin of the resulting position at the mark, at the 10x set
        assert preview.leverage == 10 and preview.margin == D("20.04")  # 2 x 100.2 / 10
        assert preview.model.resulting_size == D("2")
        assert preview.leverage_after.quantize(D("0.0001")) == D("0.0200")  # 200.4 / ~10,000 equity


async def test_market_preview_walks_the_book_for_fill_and_slippage():
    app, src, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        src.set_account(equity="10000")
        src.push_mark("BTC", "100.25")
        src.push_book("BTC", BIDS, ASKS)
        await pilot.pause(0.1)
        ticket = app.query_one(Ticket)
        ticket.set_type("market")
        ticket.set_size("3")
        await pilot.pause(0.1)
        p = app.last_preview
        assert p is not None and p.takes
        assert p.model.fillable
        assert p.avg_price == D("100.75")  # 1.5 @ 100.5 + 1.5 @ 101
        assert p.slippage_pct == D("0.4988")  # (100.75 - 100.25) / 100.25, in %
        assert p.fee == D("0.136012")  # 302.25 x 0.045% taker = 0.1360125, in the collateral's 6 decimals
        assert p.leverage == 20  # no setting and no position: the venue default, min(20, max 50)
        assert p.fee_source == "public schedule"  # the fake account never said its own rates


async def test_place_from_the_ticket_sends_the_planned_order():
    app, src, trader = make_app()
    async with app.run_test(size=SIZE) as pilot:
        src.set_account(equity="10000")
        src.push_book("BTC", BIDS, ASKS)
        await pilot.pause(0.1)
        ticket = app.query_one(Ticket)
        ticket.set_side(Side.SELL)
        ticket.set_size("0.5")
        ticket.set_price(D("102"))
        await pilot.pause(0.05)
        await pilot.click("#ticket-place")
        assert await wait_until(pilot, lambda: len(trader.calls) == 1)
        assert [c[0] for c in trader.calls] == ["place"]
        plan = trader.calls[0][1]
        main = plan.main
        assert (main.symbol, main.side, main.size, main.price, main.order_type, main.tif) == (
            "BTC", Side.SELL, D("0.5"), D("102"), OrderType.LIMIT, TimeInForce.GTC)
        assert main.cloid and main.cloid.startswith("0x")


async def test_large_orders_ask_for_confirmation_first():
    app, src, trader = make_app(trader_cls=lambda s: FakeTrader(s, confirm_above=D("50")))
    async with app.run_test(size=SIZE) as pilot:
        src.push_book("BTC", BIDS, ASKS)
        await pilot.pause(0.1)
        ticket = app.query_one(Ticket)
        ticket.set_size("1")
        ticket.set_price(D("99"))
        await pilot.pause(0.05)
        ticket.submit()
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert trader.calls == []
        # The modal is pushed before it is painted: wait for its text, not just for the screen.
        assert await wait_until(pilot, lambda: "BUY 1 BTC limit at 99 " in screen_text(app))
        shown = screen_text(app)
        assert "fee" in shown and "margin" in shown  # the preview, again
        await pilot.press("n")
        assert await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.pause(0.1)
        assert trader.calls == []
        ticket.submit()
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await wait_until(pilot, lambda: len(trader.calls) == 1)
        assert [c[0] for c in trader.calls] == ["place"]


async def test_buy_at_best_is_an_ioc_at_the_best_ask_with_the_ticket_size():
    app, src, trader = make_app()
    async with app.run_test(size=SIZE) as pilot:
        src.push_book("BTC", BIDS, ASKS)
        await pilot.pause(0.1)
        app.query_one(Ticket).set_size("0.25")
        await pilot.pause(0.05)
        await pilot.press("b")
        assert await wait_until(pilot, lambda: len(trader.calls) == 1)
        plan = trader.calls[-1][1]
        assert (plan.main.side, plan.main.price, plan.main.size, plan.main.tif) == (
            Side.BUY, D("100.5"), D("0.25"), TimeInForce.IOC)
        await pilot.press("s")
        assert await wait_until(pilot, lambda: len(trader.calls) == 2)
        assert trader.calls[-1][1].main.price == D("100") and trader.calls[-1][1].main.side is Side.SELL


async def test_escape_leaves_a_ticket_field_so_hotkeys_work_again():
    app, src, trader = make_app()
    async with app.run_test(size=SIZE) as pilot:
        src.push_book("BTC", BIDS, ASKS)
        await pilot.pause(0.1)
        await pilot.press("t", "0", ".", "5")  # typing into the ticket's size field
        assert trader.calls == []
        await pilot.press("escape", "b")
        assert await wait_until(pilot, lambda: len(trader.calls) == 1)
        plan = trader.calls[-1][1]
        assert (plan.main.side, plan.main.size) == (Side.BUY, D("0.5"))


async def test_cancel_selected_cancel_all_and_close_by_hotkey():
    app, src, trader = make_app()
    async with app.run_test(size=SIZE) as pilot:
        src.set_account(orders=[order(7, price="99"), order(8, price="98")], positions=[position("ETH", "-2")])
        await pilot.pause(0.15)
        table = app.query_one(OrdersTable)
        assert table.row_count == 2
        await pilot.press("o", "down", "c")
        assert await wait_until(pilot, lambda: len(trader.calls) == 1)
        assert trader.calls[-1][0] == "cancel" and [o.oid for o in trader.calls[-1][1]] == [8]
        await pilot.press("C")
        assert await wait_until(pilot, lambda: len(trader.calls) == 2)
        assert trader.calls[-1] == ("cancel_all",)  # the trader lists the venue's orders itself
        await pilot.press("p", "x")
        assert await wait_until(pilot, lambda: len(trader.calls) == 3)
        assert trader.calls[-1] == ("close", "ETH")


async def test_flatten_needs_an_explicit_yes():
    app, src, trader = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("F")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")
        assert await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.pause(0.1)
        assert trader.calls == []
        await pilot.press("F", "y")
        assert await wait_until(pilot, lambda: trader.calls == [("flatten",)])


async def test_keys_never_wait_for_a_slow_action():
    release = threading.Event()

    class SlowTrader(FakeTrader):
        def flatten(self):
            release.wait(5)
            return super().flatten()

    app, src, trader = make_app(trader_cls=SlowTrader)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("F", "y")
        await pilot.pause(0.05)
        started = time.monotonic()
        await pilot.press("]")
        await pilot.pause(0.05)
        assert app.active_view.symbol == "ETH"  # the tab switched while the action still runs
        assert time.monotonic() - started < 1.0
        release.set()
        assert await wait_until(pilot, lambda: trader.calls == [("flatten",)])


async def test_stale_and_reconnecting_feeds_are_shown_and_cleared():
    app, src, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        src.push_book("BTC", BIDS, ASKS)
        await pilot.pause(0.1)
        src.set_health(ConnectionState.STALE, age_ms=12_000)
        await pilot.pause(0.15)
        status = app.query_one(StatusLine).render().plain
        assert "STALE" in status and "12.0s" in status
        assert "STALE" in ladder_text(app)  # the book itself is flagged too
        src.set_health(ConnectionState.RECONNECTING)
        await pilot.pause(0.15)
        assert "RECONNECTING" in app.query_one(StatusLine).render().plain
        src.set_health(ConnectionState.CONNECTED)
        await pilot.pause(0.15)
        assert "STALE" not in app.query_one(StatusLine).render().plain
        assert "STALE" not in ladder_text(app)


async def test_remapped_key_from_config_works_and_help_lists_ids():
    app, src, trader = make_app(WatchConfig(keymap={"buy_best": "B", "help": "f1"}))
    async with app.run_test(size=SIZE) as pilot:
        src.push_book("BTC", BIDS, ASKS)
        app.query_one(Ticket).set_size("1")
        await pilot.pause(0.1)
        await pilot.press("b")
        await pilot.pause(0.1)
        assert trader.calls == []  # the old key no longer buys
        await pilot.press("B")
        assert await wait_until(pilot, lambda: len(trader.calls) == 1)
        assert trader.calls and trader.calls[0][0] == "place"
        await pilot.press("f1")
        assert await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert await wait_until(pilot, lambda: "tui.keys.buy_best" in screen_text(app))  # painted
        assert "tui.keys.flatten" in screen_text(app)
        await pilot.press("escape")
        assert await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen))
        assert await wait_until(pilot, lambda: "B Buy" in screen_text(app).splitlines()[-1])


async def test_tabs_switch_markets_and_the_ticket_follows():
    app, src, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.active_view.symbol == "BTC"
        await pilot.press("]")
        await pilot.pause(0.05)
        assert app.active_view.symbol == "ETH" and app.query_one(Ticket).market == "ETH"
        await pilot.press("[")
        await pilot.pause(0.05)
        assert app.active_view.symbol == "BTC"
        await app.open_market("fake", "ETH")
        await pilot.pause(0.05)
        assert len(app.views) == 2 and app.active_view.symbol == "ETH"  # reused, not duplicated
        assert "ETH" in src.ensured


async def test_palette_lists_every_venue_and_another_venue_opens_in_a_worker():
    from perpcli.tui.palette import MarketCommands

    src = FakeSource()
    other = FakeSource(("SOL",))
    other.venue = "other"
    opened = []

    def opener(name):
        opened.append(name)
        time.sleep(0.3)  # a slow venue: the screen must not wait for it
        return other

    app = WatchApp({"fake": src}, [("fake", "BTC")], traders={"fake": FakeTrader(src)}, open_venue=opener,
                   venues=["fake", "other"])
    async with app.run_test(size=SIZE) as pilot:
        texts = [t for t, _, _ in await MarketCommands(app.screen)._commands()]
        assert "fake: BTC" in texts and "fake: ETH" in texts and "venue other" in texts
        started = time.monotonic()
        app.connect_venue("other")
        assert time.monotonic() - started < 0.1  # returned at once; the opener runs in a thread
        assert await wait_until(pilot, lambda: app.active_view is not None and app.active_view.venue == "other")
        assert opened == ["other"] and app.active_view.symbol == "SOL"
        texts = [t for t, _, _ in await MarketCommands(app.screen)._commands()]
        assert "other: SOL" in texts and "venue other" not in texts
        other.push_book("SOL", BIDS, ASKS)
        assert await wait_until(pilot, lambda: "mid 100.250" in app.active_view.ladder.text())
        # two venues on screen now: every tab, the first one too, says whose market it is
        tabs = app.query_one("#market-tabs")
        assert [tabs.get_tab(t).label.plain for t in app.views] == ["fake:BTC", "other:SOL"]


async def test_chart_backfills_past_candles_per_interval_in_a_worker():
    from perpcli.venues.base import Candle

    app, src, _ = make_app()
    asked = []

    def candles(symbol, interval, start_ms, end_ms):
        asked.append((symbol, interval))
        step = 60_000 if interval == "1m" else 300_000
        base = end_ms - end_ms % step - 3 * step
        return [Candle(symbol, interval, base + i * step, base + (i + 1) * step - 1, D(100 + i), D(102 + i),
                       D(99 + i), D(101 + i), D(5), 3) for i in range(3)]

    src.candles = candles
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: len(app.active_view.series.bars()) >= 3)
        assert ("BTC", "1m") in asked and ("ETH", "1m") in asked
        bars = app.active_view.series.bars()
        assert [b.close for b in bars[:3]] == [D(101), D(102), D(103)]
        assert "bars 3" in app.active_view.chart.text()
        await pilot.press("i")  # next interval: 5m, fetched once
        assert await wait_until(pilot, lambda: ("BTC", "5m") in asked)
        assert app.active_view.series.interval == "5m"
        assert await wait_until(pilot, lambda: "5m" in app.active_view.chart.text())


async def test_keyboard_selection_of_a_level_sets_the_ticket_price():
    app, src, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        src.push_book("BTC", BIDS, ASKS)
        await pilot.pause(0.15)
        await pilot.press("l", "down", "enter")  # focus the ladder, cursor on the best bid, use it
        assert await wait_until(pilot, lambda: app.query_one(Ticket).form().price == "100")
        await pilot.press("l", "up", "enter")  # one up from the best bid skips the spread line: best ask
        assert await wait_until(pilot, lambda: app.query_one(Ticket).form().price == "100.5")
        await pilot.press("l", "up", "enter")
        assert await wait_until(pilot, lambda: app.query_one(Ticket).form().price == "101")


# ----- issue 13 item 7: quick trades, confirmations, guards, focus, tabs ------------------------


async def test_quick_buy_is_priced_at_confirmation_and_previews_the_partial_fill_it_sends():
    app, src, trader = make_app(trader_cls=lambda s: FakeTrader(s, confirm_above=D("50")))
    async with app.run_test(size=SIZE) as pilot:
        src.set_account(equity="10000")
        src.push_mark("BTC", "100.25")
        src.push_book("BTC", BIDS, ASKS)  # 1.5 at the best ask 100.5
        await pilot.pause(0.1)
        app.query_one(Ticket).set_size("3")
        await pilot.pause(0.05)
        await pilot.press("b")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        # An IOC at the touch fills what the touch holds, and the dialog says so.
        assert await wait_until(pilot, lambda: "BUY 3 BTC limit IOC at 100.5 " in screen_text(app))
        shown = screen_text(app)
        assert "1.5 of 3 @ 100.5" in shown and "1.5 not filled" in shown
        # The book moves while the dialog is up: the order a yes sends moves with it.
        src.push_book("BTC", [("100.5", "2")], [("101", "5")])
        assert await wait_until(pilot, lambda: "BUY 3 BTC limit IOC at 101 " in screen_text(app))
        assert "not filled" not in screen_text(app)
        await pilot.press("y")
        assert await wait_until(pilot, lambda: len(trader.calls) == 1)
        main = trader.calls[0][1].main
        assert (main.side, main.price, main.size, main.tif) == (Side.BUY, D("101"), D("3"), TimeInForce.IOC)


async def test_quick_sell_is_not_sent_when_the_book_went_stale_during_the_confirmation():
    app, src, trader = make_app(trader_cls=lambda s: FakeTrader(s, confirm_above=D("50")))
    async with app.run_test(size=SIZE) as pilot:
        src.set_account(equity="10000")
        src.push_book("BTC", BIDS, ASKS)
        await pilot.pause(0.1)
        app.query_one(Ticket).set_size("1")
        await pilot.press("s")
        assert await wait_until(pilot, lambda: "SELL 1 BTC limit IOC at 100 " in screen_text(app))
        src.set_health(ConnectionState.STALE, age_ms=9000)  # the feed went stale: its book prices nothing
        assert await wait_until(pilot, lambda: "Nothing would be sent now" in screen_text(app))
        await pilot.press("y")
        assert await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.pause(0.1)
        assert trader.calls == []


async def test_risk_guards_show_in_the_ticket_preview_before_enter():
    from perpcli.domain.errors import RiskRefused

    class GuardedTrader(FakeTrader):
        def check_risk(self, plan):
            if plan.notional > 1000:
                raise RiskRefused("order notional above risk.max_order_notional 1000 (guard max_order_notional)",
                                  guard="max_order_notional")

    app, src, trader = make_app(trader_cls=GuardedTrader)
    async with app.run_test(size=SIZE) as pilot:
        src.set_account(equity="10000")
        src.push_mark("BTC", "100.25")
        src.push_book("BTC", BIDS, ASKS)
        await pilot.pause(0.1)
        ticket = app.query_one(Ticket)
        ticket.set_price(D("99"))
        ticket.set_size("20")
        assert await wait_until(pilot, lambda: "refused: order notional above" in screen_text(app))
        assert app.query_one("#ticket-place").disabled
        ticket.set_size("2")
        assert await wait_until(pilot, lambda: "refused:" not in screen_text(app))
        assert not app.query_one("#ticket-place").disabled


async def test_keys_typed_right_after_t_reach_the_ticket():
    from textual import events

    app, src, trader = make_app()
    async with app.run_test(size=SIZE) as pilot:
        src.push_book("BTC", BIDS, ASKS)
        await pilot.pause(0.1)
        # A fast typist: the keys arrive together, before the app has handled the first one.
        for key, char in (("t", "t"), ("0", "0"), ("full_stop", "."), ("5", "5")):
            app.post_message(events.Key(key, char))
        assert await wait_until(pilot, lambda: app.query_one(Ticket).form().size == "0.5")
        assert trader.calls == []


async def test_the_ticket_price_is_per_market_across_tab_switches():
    app, src, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        src.push_book("BTC", BIDS, ASKS)
        src.push_book("ETH", [("2000", "1")], [("2001", "1")])
        await pilot.pause(0.1)
        ticket = app.query_one(Ticket)
        ticket.set_size("0.5")
        ticket.set_price(D("99.5"))
        ticket.query_one("#ticket-sl").value = "95"
        await pilot.pause(0.05)
        await pilot.press("]")
        assert await wait_until(pilot, lambda: ticket.market == "ETH")
        form = ticket.form()
        assert (form.price, form.sl, form.size) == ("", "", "")  # BTC's price and units mean nothing on ETH
        ticket.set_price(D("1990"))
        await pilot.pause(0.05)
        await pilot.press("[")
        assert await wait_until(pilot, lambda: ticket.market == "BTC")
        form = ticket.form()
        assert (form.price, form.sl, form.size) == ("99.5", "95", "0.5")  # BTC's own, restored
        await pilot.press("]")
        assert await wait_until(pilot, lambda: ticket.form().price == "1990")


async def test_close_asks_by_the_same_notional_rule_as_an_order():
    app, src, trader = make_app(trader_cls=lambda s: FakeTrader(s, confirm_above=D("1000")))
    async with app.run_test(size=SIZE) as pilot:
        src.push_mark("BTC", "100")
        src.push_mark("ETH", "2000")
        src.set_account(positions=[position("BTC", "5", "95"), position("ETH", "-2", "2100")])
        assert await wait_until(pilot, lambda: len(app.query_one(PositionsTable).positions) == 2)
        await pilot.press("x")  # BTC, this tab's market: 500 USD, below the rule: no question
        assert await wait_until(pilot, lambda: trader.calls == [("close", "BTC")])
        await pilot.press("]", "x")  # ETH: 4,000 USD asks first
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert await wait_until(pilot, lambda: "Close ETH: BUY 2 reduce-only" in screen_text(app))
        assert "(notional 4,000.00" in screen_text(app)
        assert trader.calls == [("close", "BTC")]
        await pilot.press("y")
        assert await wait_until(pilot, lambda: trader.calls == [("close", "BTC"), ("close", "ETH")])


async def test_flatten_does_not_ask_when_there_is_nothing_to_flatten():
    app, src, trader = make_app()
    async with app.run_test(size=SIZE) as pilot:
        src.set_account(equity="10000")
        assert await wait_until(pilot, lambda: app.sources["fake"].account() is not None)
        await pilot.pause(0.1)
        await pilot.press("F")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmScreen) and trader.calls == []
        src.set_account(orders=[order(7)], positions=[position("ETH", "-2")])
        await pilot.pause(0.1)
        await pilot.press("F")
        assert await wait_until(pilot, lambda: "cancel 1 open order and close 1 position (ETH)" in screen_text(app))
        await pilot.press("y")
        assert await wait_until(pilot, lambda: trader.calls == [("flatten",)])


async def _leveraged(app, src, pilot):
    src.push_book("BTC", BIDS, ASKS)
    for i in range(3):
        src.push_trade("BTC", Side.BUY, "100.5", "0.2", 1_700_000_000_000 + i * 1000, i + 1)
    src.push_mark("BTC", "100.25")
    src.set_account(equity="10000", positions=[position("BTC", "250", "95.12345", lev=10)],
                    orders=[order(41, price="98")])
    table = app.query_one(PositionsTable)
    assert await wait_until(pilot, lambda: "BTC" in table.positions and table.positions["BTC"].liq_price)
    assert await wait_until(pilot, lambda: "mid 100.250" in screen_text(app))
    return table


async def test_80x24_keeps_chart_trades_ticket_and_the_liquidation_column():
    app, src, trader = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        table = await _leveraged(app, src, pilot)
        view = app.market_view
        assert view.chart.size.width >= 20 and view.chart.size.height >= 4  # not collapsed
        assert view.tape.size.width >= 20 and view.tape.size.height >= 2
        assert app.query_one(Ticket).size.width >= 26
        assert "liq" in table.visible_columns and "size" in table.visible_columns
        liq = table.positions["BTC"].liq_price
        shown = screen_text(app)
        assert f"{liq:,.2f}" in shown  # the liquidation price, whole and at the market's tick
        assert "0.2000" in view.tape.text() and "100.50" in view.tape.text()  # the tape prints
        assert "o: open orders (1)" in shown
        await pilot.press("o")  # the open orders take the bottom while focused
        assert await wait_until(pilot, lambda: "p: positions (1)" in screen_text(app))
        assert app.query_one(OrdersTable).size.width >= 70
        await pilot.press("p")
        assert await wait_until(pilot, lambda: "o: open orders (1)" in screen_text(app))


async def test_120_columns_show_the_distance_to_liquidation():
    app, src, trader = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        table = await _leveraged(app, src, pilot)
        assert {"liq", "to liq %", "uPnL"} <= set(table.visible_columns)
        dist = table.positions["BTC"].liq_distance_pct
        assert await wait_until(pilot, lambda: fmt_num(dist, 2) in screen_text(app))


async def test_the_ticket_preview_shows_prices_at_the_markets_tick():
    app, src, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        src.set_account(equity="10000")
        src.push_mark("BTC", "100.25")
        src.push_book("BTC", BIDS, ASKS)
        await pilot.pause(0.1)
        ticket = app.query_one(Ticket)
        ticket.set_type("market")
        ticket.set_size("1.7")  # 1.5 @ 100.5 + 0.2 @ 101: a VWAP of 100.5588235...
        assert await wait_until(pilot, lambda: "fill @ 100.56" in screen_text(app))
        assert "100.5588" not in screen_text(app)


async def test_a_quick_buy_the_venue_would_refuse_for_margin_says_so_though_only_part_fills():
    """The venue checks the margin of the whole IOC before any of it fills."""
    app, src, trader = make_app(trader_cls=lambda s: FakeTrader(s, confirm_above=D("50")))
    async with app.run_test(size=SIZE) as pilot:
        src.set_account(equity="500")
        src.push_mark("BTC", "100.25")
        src.push_book("BTC", BIDS, ASKS)
        await pilot.pause(0.1)
        app.query_one(Ticket).set_size("150")  # 1.5 fills at the touch (7.5 USD of margin); 150 needs 754
        await pilot.press("b")
        assert await wait_until(pilot, lambda: "1.5 of 150 @ 100.5" in screen_text(app))
        assert "not enough margin" in screen_text(app)


async def test_an_outcome_with_brackets_is_shown_as_written():
    from perpcli.app.actions import OrderResult
    from perpcli.domain.errors import ErrorKind

    class Refused(FakeTrader):
        def place(self, plan):
            super().place(plan)
            return [OrderResult(venue="fake", market="BTC", side="buy", size=D("1"), price=D("100.5"), type="limit",
                                status="rejected", error="Insufficient margin to place order.",
                                error_kind=ErrorKind.INSUFFICIENT_MARGIN)]

    app, src, trader = make_app(trader_cls=Refused)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        src.push_book("BTC", BIDS, ASKS)
        app.query_one(Ticket).set_size("1")
        await pilot.pause(0.1)
        await pilot.press("b")
        assert await wait_until(pilot, lambda: "BTC rejected [insufficient_margin]: Insufficient" in screen_text(app))


async def test_palette_finds_markets_in_any_case_and_by_what_they_track():
    """Issue 13: market names are case-insensitive everywhere — `xyz:gold`, `btc` — and the
    palette, like `perp price XAU`, finds a market by its underlying too."""
    from dataclasses import replace

    from perpcli.tui.palette import MarketCommands
    from tests.tui_support import instrument

    src = FakeSource(("BTC", "xyz:GOLD", "kPEPE"))
    src.instruments["xyz:GOLD"] = replace(instrument("xyz:GOLD"), underlying="XAU")
    app = WatchApp({"fake": src}, [("fake", "BTC")], traders={"fake": FakeTrader(src)})
    async with app.run_test(size=SIZE) as pilot:
        palette = MarketCommands(app.screen)
        for query, symbol in (("xyz:gold", "xyz:GOLD"), ("XYZ:GOLD", "xyz:GOLD"), ("xau", "xyz:GOLD"),
                              ("btc", "BTC"), ("kpepe", "kPEPE")):
            hits = sorted([h async for h in palette.search(query)], key=lambda h: -h.score)
            assert hits, query
            await hits[0].command()
            await pilot.pause(0.05)
            assert app.active_view.symbol == symbol, query
