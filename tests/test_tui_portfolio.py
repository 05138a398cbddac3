"""The TUI across venues, in memory (no network): the portfolio screen and funding board, per-venue
health, venue tabs each keeping their ticket, and a book-less (oracle) venue's tab."""

from __future__ import annotations

from decimal import Decimal as D

from perpcli.domain.events import ConnectionState
from perpcli.domain.trading_hours import TradingHours
from perpcli.tui.app import WatchApp
from perpcli.tui.screens.portfolio import FundingScreen, PortfolioScreen
from perpcli.tui.venue_health import venue_health
from perpcli.tui.widgets.account import AccountBar, StatusLine, StreamHealth
from perpcli.tui.widgets.market import oracle_text
from perpcli.tui.widgets.tables import PositionsTable
from perpcli.tui.widgets.ticket import Ticket
from perpcli.venues.base import FundingRate
from tests.tui_support import FakeSource, FakeTrader, position, screen_text, wait_until

SIZE = (160, 48)


def venue(name: str, symbols=("BTC", "ETH")) -> FakeSource:
    src = FakeSource(symbols)
    src.venue = name
    src.rates: dict[str, FundingRate] = {}
    src.funding_rates = lambda: dict(src.rates)
    return src


def two_venue_app():
    a, b = venue("alpha"), venue("beta")
    app = WatchApp({"alpha": a, "beta": b}, [("alpha", "BTC"), ("beta", "BTC"), ("alpha", "ETH")],
                   traders={"alpha": FakeTrader(a), "beta": FakeTrader(b)})
    return app, a, b


def fund(src, equity, positions, marks):
    for symbol, px in marks.items():
        src.push_mark(symbol, px)
    src.set_account(equity=equity, positions=positions)


# ----------------------------------------------------------------------------- pure parts


def test_split_markets_by_venue_prefix_keeps_builder_market_names():
    from perpcli.cli.commands.watch import split_markets

    got = split_markets(["BTC", "aster-devnet:BTCUSDT", "xyz:GOLD", "ostium:XAU", "ETH", "ASTER-DEVNET:ETHUSDT"],
                        "devnet", {"devnet", "aster-devnet", "ostium"})
    assert got == {"devnet": ["BTC", "xyz:GOLD", "ETH"], "aster-devnet": ["BTCUSDT", "ETHUSDT"], "ostium": ["XAU"]}
    assert split_markets([], "devnet", {"devnet"}) == {"devnet": []}


def test_venue_health_connected_stale_unreachable():
    up = StreamHealth("ws", ConnectionState.CONNECTED, 120)
    assert venue_health("v", [up], has_data=True).status == "connected"
    dropped = StreamHealth("ws", ConnectionState.RECONNECTING, 4000, detail="refused")
    assert venue_health("v", [dropped], has_data=True).status == "STALE"
    never = StreamHealth("ws", ConnectionState.DOWN, None, detail="connection refused")
    h = venue_health("v", [never], has_data=False)
    assert (h.status, h.detail) == ("unreachable", "connection refused")
    # one stale book of a connected venue makes the venue STALE (its worst stream)
    assert venue_health("v", [up, StreamHealth("l2Book BTC", ConnectionState.STALE, 9000)], has_data=True).status == "STALE"


def test_oracle_text_shows_bid_ask_and_the_next_open():
    from dataclasses import dataclass

    @dataclass
    class Q:
        symbol: str
        bid: D
        mid: D
        ask: D
        market_open: bool
        time_ms: int

    hours = TradingHours.parse("America/New_York", "Mon-Fri 09:30-16:00")
    saturday = 1_767_456_000_000  # Saturday 2026-01-03 16:00 UTC: the exchange is closed
    text = oracle_text("SPX-USD", Q("SPX-USD", D("5000.1"), D("5000.2"), D("5000.3"), False, saturday - 3000),
                       hours, saturday, 1).plain
    assert "bid" in text and "5,000.1" in text and "5,000.3" in text and "CLOSED" in text
    assert "next open Mon 2026-01-05 14:30 UTC" in text and "Mon 09:30 - Mon 16:00" in text
    open_text = oracle_text("XAU-USD", Q("XAU-USD", D(1), D(2), D(3), True, saturday), None, saturday, 2).plain
    assert "OPEN" in open_text and "CLOSED" not in open_text and "around the clock" in open_text
    # The oracle still quoting as open while the market's hours say closed: closed, as the
    # ticket and `perp buy` refuse it, with the next open by the hours.
    hours_closed = oracle_text("SPX-USD", Q("SPX-USD", D(1), D(2), D(3), True, saturday), hours, saturday, 2).plain
    assert "CLOSED" in hours_closed and "next open Mon 2026-01-05 14:30 UTC" in hours_closed


# ----------------------------------------------------------------------------- the app


async def test_switching_tabs_keeps_each_tickets_market_and_price_even_for_one_symbol_on_two_venues():
    app, a, b = two_venue_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        ticket = app.query_one(Ticket)
        assert [app.query_one("#market-tabs").get_tab(t).label.plain for t in app.views] == [
            "alpha:BTC", "beta:BTC", "alpha:ETH"]
        ticket.set_price(D("100.5"))
        ticket.set_size("0.2")
        await app.run_action("next_market")  # beta:BTC: same symbol, another venue, its own fields
        await pilot.pause(0.05)
        assert (app.active_view.venue, ticket.market) == ("beta", "BTC")
        assert str(app.query_one("#ticket-market").render()) == "beta:BTC"
        assert ticket.form().price == "" and ticket.form().size == ""
        ticket.set_price(D("101.25"))
        await app.run_action("next_market")  # alpha:ETH
        await pilot.pause(0.05)
        assert ticket.form().price == ""
        await app.run_action("next_market")  # back to alpha:BTC
        await pilot.pause(0.05)
        assert (app.active_view.venue, ticket.form().market, ticket.form().price, ticket.form().size) == (
            "alpha", "BTC", "100.5", "0.2")
        await app.run_action("prev_market")
        await app.run_action("prev_market")  # beta:BTC again
        await pilot.pause(0.05)
        assert (app.active_view.venue, ticket.form().price) == ("beta", "101.25")


async def test_an_order_from_a_tab_goes_to_that_tabs_venue():
    app, a, b = two_venue_app()
    async with app.run_test(size=SIZE) as pilot:
        for src in (a, b):
            src.push_book("BTC", [("100", "1")], [("101", "1")])
            fund(src, "10000", [], {"BTC": "100.5"})
        await app.run_action("next_market")  # beta:BTC
        ticket = app.query_one(Ticket)
        ticket.set_size("0.5")
        ticket.set_price(D("99"))
        await pilot.pause(0.1)
        ticket.submit()
        assert await wait_until(pilot, lambda: app.traders["beta"].calls)
        [(what, plan)] = app.traders["beta"].calls
        assert what == "place" and plan.venue == "beta" and plan.market == "BTC"
        assert app.traders["alpha"].calls == []


async def test_portfolio_screen_totals_are_the_sum_of_venues_and_exposure_nets():
    app, a, b = two_venue_app()
    async with app.run_test(size=SIZE) as pilot:
        # alpha: long 1 BTC at 100 (mark 110); beta: short 0.4 BTC at 105 (mark 110), 20x: close to liq
        fund(a, "1000", [position("BTC", "1", "100", lev=10)], {"BTC": "110"})
        fund(b, "30", [position("BTC", "-0.4", "105", lev=20)], {"BTC": "110"})
        await pilot.pause(0.1)
        await pilot.press("P")
        assert await wait_until(pilot, lambda: isinstance(app.screen, PortfolioScreen) and app.screen.paints > 0)
        live = app.portfolio()
        venues = {v["venue"]: v for v in live.doc["venues"]}
        assert set(venues) == {"alpha", "beta"} and all(v["status"] == "ok" for v in venues.values())
        totals = live.doc["totals"]
        for field in ("equity", "margin_used", "free_collateral", "unrealized_pnl"):
            assert totals[field] == sum(venues[v][field] for v in venues), field
        assert totals["unrealized_pnl"] == D("10") + D("-2")  # 1 x (110-100) and -0.4 x (110-105)
        [btc] = live.doc["exposure"]
        assert (btc["underlying"], btc["net_size"], btc["venues"]) == ("BTC", D("0.6"), ["alpha", "beta"])
        assert totals["closest_liquidation"]["venue"] == "beta" and not totals["partial"]
        text = app.screen.plain_text()
        assert "Net exposure by underlying" in text and "◀ closest" in text
        closest_line = next(line for line in text.splitlines() if "◀ closest" in line)
        assert "beta" in closest_line and "short" in closest_line
        assert await wait_until(pilot, lambda: "Totals (USD) over alpha, beta" in screen_text(app))
        await pilot.press("P")  # the same key goes back
        assert await wait_until(pilot, lambda: not isinstance(app.screen, PortfolioScreen))


async def test_a_dropped_venue_is_stale_in_the_status_bar_and_the_totals_say_partial():
    app, a, b = two_venue_app()
    async with app.run_test(size=SIZE) as pilot:
        fund(a, "1000", [position("BTC", "1", "100")], {"BTC": "100"})
        fund(b, "500", [], {"BTC": "100"})
        await pilot.pause(0.1)
        status = app.query_one(StatusLine)
        b.set_health(ConnectionState.CONNECTING, age_ms=None)  # an account before the socket: not stale
        assert await wait_until(pilot, lambda: [v.status for v in status.venues] == ["connected", "connecting"])
        assert not app.portfolio().partial
        b.set_health(ConnectionState.CONNECTED)
        assert await wait_until(pilot, lambda: [v.status for v in status.venues] == ["connected", "connected"])
        b.set_health(ConnectionState.RECONNECTING, age_ms=12_000)
        assert await wait_until(pilot, lambda: [v.status for v in status.venues] == ["connected", "STALE"])
        assert await wait_until(pilot, lambda: "STALE  beta 12.0s" in screen_text(app))
        await pilot.press("P")
        assert await wait_until(pilot, lambda: isinstance(app.screen, PortfolioScreen) and app.screen.paints > 0)
        live = app.portfolio()
        assert live.partial and live.stale == ("beta",)
        assert "PARTIAL: beta STALE" in app.screen.plain_text()
        # a venue with a key whose account never came: missing from the totals, named unreachable
        b.trading = object()
        b.snapshot = None
        b.set_health(ConnectionState.DOWN, age_ms=None)
        b.health = [StreamHealth("ws", ConnectionState.DOWN, None, detail="connection refused")]
        b._notify("status")
        assert await wait_until(pilot, lambda: "beta unreachable" in app.screen.plain_text())
        live = app.portfolio()
        assert live.doc["totals"]["missing"] == ["beta"] and live.doc["totals"]["equity"] == D("1000.00")


async def test_the_account_bar_follows_the_tab_and_positions_name_their_venue():
    app, a, b = two_venue_app()
    async with app.run_test(size=SIZE) as pilot:
        fund(a, "1000", [position("BTC", "1", "100")], {"BTC": "100"})
        fund(b, "500", [position("BTC", "-1", "100")], {"BTC": "100"})
        bar = app.query_one(AccountBar)
        assert await wait_until(pilot, lambda: bar.label.startswith("alpha") and bar.view is not None)
        assert bar.view.equity == D("1000")
        await app.run_action("next_market")
        assert await wait_until(pilot, lambda: bar.label.startswith("beta"))
        assert bar.view.equity == D("500") and "P portfolio" in bar.label
        table = app.query_one(PositionsTable)
        assert await wait_until(pilot, lambda: set(table.positions) == {"alpha:BTC", "beta:BTC"})
        assert await wait_until(pilot, lambda: "alpha:BTC" in screen_text(app) and "beta:BTC" in screen_text(app))
        await app.run_action("close_position")  # the beta tab: beta's BTC position, beta's trader
        assert await wait_until(pilot, lambda: app.traders["beta"].calls == [("close", "BTC")])
        assert app.traders["alpha"].calls == []


async def test_funding_board_compares_venues_as_apr():
    app, a, b = two_venue_app()
    async with app.run_test(size=SIZE) as pilot:
        a.rates = {"BTC": FundingRate("BTC", D("0.0000125"), 1)}  # hourly: 10.95% APR
        b.rates = {"BTC": FundingRate("BTC", D("0.0001"), 8)}  # 8-hourly: 10.95% APR too
        b.rates["ETH"] = FundingRate("ETH", D("0.0003"), 8)
        a.rates["ETH"] = FundingRate("ETH", D("-0.00001"), 1)
        fund(a, "1000", [], {"BTC": "100", "ETH": "10"})
        fund(b, "1000", [], {"BTC": "101", "ETH": "10"})
        await pilot.press("f")
        assert await wait_until(pilot, lambda: isinstance(app.screen, FundingScreen) and app.screen.paints > 0)
        doc = app.funding_board()
        aprs = {(q["underlying"], q["venue"]): q["apr"] for q in doc["quotes"]}
        assert aprs[("BTC", "alpha")] == aprs[("BTC", "beta")] == D("0.10950000")
        [eth] = [p for p in doc["pairs"] if p["underlying"] == "ETH"]
        assert (eth["long_venue"], eth["short_venue"]) == ("alpha", "beta")
        assert eth["carry_apr"] == D("0.41610000")  # 0.0003 x 1095 - (-0.00001 x 8760)
        text = app.screen.plain_text()
        assert "Best long/short pair" in text and "alpha:ETH" in text and "beta:ETH" in text
        await pilot.press("P")  # straight to the portfolio: one live screen at a time
        assert await wait_until(pilot, lambda: isinstance(app.screen, PortfolioScreen))
        assert len(app.screen_stack) == 2


async def test_help_and_palette_list_the_portfolio_and_funding_board():
    from perpcli.config.tui_keys import BY_ID
    from perpcli.tui.palette import MarketCommands

    app, _, _ = two_venue_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert await wait_until(pilot, lambda: "tui.keys.portfolio" in screen_text(app))
        assert "tui.keys.funding_board" in screen_text(app)
        provider = MarketCommands(app.screen)
        names = [text for text, _, _ in await provider._commands()]
        assert "portfolio" in names and "funding board" in names
    assert BY_ID["portfolio"].key == "P" and BY_ID["funding_board"].key == "f"
