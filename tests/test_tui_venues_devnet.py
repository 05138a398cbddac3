"""`perp watch` over several real venues on loopback: the Hyperliquid devnet, its Aster face, the
in-memory fake venue (plugged in by entry point) and a scripted oracle venue (no book).

The portfolio screen adds up positions held on two venues; a devnet stopped mid-session shows
STALE and the totals say they are partial; an Aster tab places an order through the ticket; an
oracle venue's tab shows bid/ask and hours, and its positions join the others. Every check
waits for painted state (wait_until), never a fixed sleep.
"""

from __future__ import annotations

import sys
from decimal import Decimal as D

from perpcli.config import settings
from perpcli.domain import order_rules
from perpcli.domain.errors import NetworkError, UsageError
from perpcli.domain.events import AccountSnapshot, Balance, MarkPrice, PositionSnapshot
from perpcli.domain.instrument import Instrument, MarginMode, Rounding
from perpcli.domain.orders import OrderIntent, OrderType, Side, TimeInForce
from perpcli.domain.trading_hours import TradingHours
from perpcli.keys.signer import Signer
from perpcli.ledger.fees import FeeRates
from perpcli.ledger.margin_rules import PerTradeIsolatedRules
from perpcli.net.stream import StreamSettings
from perpcli.tui.run import VenueFeed, build_watch
from perpcli.tui.screens.portfolio import PortfolioScreen
from perpcli.tui.widgets.account import StatusLine
from perpcli.tui.widgets.tables import OrdersTable, PositionsTable
from perpcli.tui.widgets.ticket import Ticket
from perpcli.venues import registry
from perpcli.venues.base import LeverageSetting
from perpcli.venues.capabilities import Capabilities
from tests.cli_devnet import devnet_fixture
from tests.fake_venue.fixture import FAKE_URL, fake_venue_fixture
from tests.tui_support import screen_text, wait_until

SIZE = (160, 48)
STREAM = StreamSettings(stale_after=2.0)


devnet = devnet_fixture(seed=23, market_interval=0.1)
fakex = fake_venue_fixture()


def _far(market, symbol: str, *, up: bool) -> D:
    inst = market.instrument(symbol)
    _, mark = market.reference_prices(symbol)
    return order_rules.conform_price(inst, mark * (D("1.03") if up else D("0.97")), Rounding.NEAREST)


def _market_order(trading, venue: str, symbol: str, side: Side, size: str) -> None:
    [ack] = trading.submit([OrderIntent(venue=venue, symbol=symbol, side=side, size=D(size),
                                        order_type=OrderType.MARKET,
                                        price=_far(trading.market, symbol, up=side is Side.BUY),
                                        tif=TimeInForce.IOC)])
    assert ack.filled == D(size), ack


def devnet_venue(url: str, signer: Signer | None):
    md = registry.open_venue(registry.get_entry("devnet").config(url=url))
    return md, (md.trading(signer) if signer is not None else None)


def fake_venue(signer: Signer):
    md = registry.open_venue(registry.get_entry("fakex").config(url=FAKE_URL))
    return md, md.trading(signer)


async def open_portfolio(app, pilot, venues: set[str]):
    await pilot.press("P")
    assert await wait_until(pilot, lambda: isinstance(app.screen, PortfolioScreen) and app.screen.paints > 0)

    def ready() -> bool:
        doc = app.portfolio().doc
        return {v["venue"] for v in doc["venues"] if v["status"] == "ok" and v["positions"]} == venues

    assert await wait_until(pilot, ready, timeout=15)
    return app.portfolio()


async def test_portfolio_screen_adds_up_positions_on_the_devnet_and_the_fake_venue(devnet, fakex):
    from tests.cli_devnet import new_key

    settings.configure()
    hexkey, address = new_key(devnet.url)
    signer = Signer.from_hex(hexkey)
    fakex.fund(address, D(10000))
    dev_md, dev = devnet_venue(devnet.url, signer)
    fake_md, fake = fake_venue(signer)
    _market_order(dev, "devnet", "BTC", Side.BUY, "0.01")  # long 0.01 BTC here...
    _market_order(fake, "fakex", "BTCUSDT", Side.SELL, "0.004")  # ...short 0.004 BTC there: net +0.006
    app, _ = build_watch([VenueFeed(dev_md, dev, ["BTC"]), VenueFeed(fake_md, fake, ["BTCUSDT"])],
                         settings=settings.current(), stream=STREAM)
    async with app.run_test(size=SIZE) as pilot:
        live = await open_portfolio(app, pilot, {"devnet", "fakex"})
        doc = live.doc
        venues = {v["venue"]: v for v in doc["venues"]}
        for field in ("equity", "margin_used", "free_collateral", "unrealized_pnl"):
            assert doc["totals"][field] == sum(venues[v][field] for v in venues), field
        assert doc["totals"]["partial"] is False and not live.stale
        assert venues["fakex"]["equity"] > D(9000) and venues["devnet"]["equity"] > D(9000)
        sides = {(p["venue"], p["market"]): (p["underlying"], p["side"], p["size"]) for p in doc["positions"]}
        assert sides == {("devnet", "BTC"): ("BTC", "long", D("0.01")),
                         ("fakex", "BTCUSDT"): ("BTC", "short", D("0.004"))}
        [btc] = [e for e in doc["exposure"] if e["underlying"] == "BTC"]
        assert btc["net_size"] == D("0.006") and btc["venues"] == ["devnet", "fakex"]
        text = app.screen.plain_text()
        assert "Totals (USD) over devnet, fakex" in text and "BTCUSDT" in text
        assert "PARTIAL" not in text
        await pilot.press("escape")
        assert await wait_until(pilot, lambda: "devnet:BTC" in screen_text(app) and "fakex:BTCUSDT" in screen_text(app))
        table = app.query_one(PositionsTable)
        assert set(table.positions) == {"devnet:BTC", "fakex:BTCUSDT"}


async def test_a_stopped_devnet_is_stale_and_the_totals_say_partial(fakex):
    from perpcli.devnet.server import start_in_thread
    from tests.cli_devnet import new_key, wait_for_books

    settings.configure()
    handle = start_in_thread(port=0, seed=29, market_interval=0.1)
    try:
        wait_for_books(handle.url)
        hexkey, address = new_key(handle.url)
        signer = Signer.from_hex(hexkey)
        fakex.fund(address, D(5000))
        dev_md, dev = devnet_venue(handle.url, signer)
        fake_md, fake = fake_venue(signer)
        _market_order(dev, "devnet", "ETH", Side.BUY, "0.1")
        _market_order(fake, "fakex", "ETHUSDT", Side.SELL, "0.1")
        app, _ = build_watch([VenueFeed(dev_md, dev, ["ETH"]), VenueFeed(fake_md, fake, ["ETHUSDT"])],
                             settings=settings.current(), stream=StreamSettings(stale_after=1.0))
        async with app.run_test(size=SIZE) as pilot:
            status = app.query_one(StatusLine)
            assert await wait_until(pilot, lambda: [v.status for v in status.venues] == ["connected", "connected"],
                                    timeout=15)
            live = await open_portfolio(app, pilot, {"devnet", "fakex"})
            assert not live.partial
            handle.stop()
            assert await wait_until(pilot, lambda: {v.venue: v.status for v in status.venues}["devnet"] == "STALE",
                                    timeout=15)
            assert {v.venue: v.status for v in status.venues}["fakex"] == "connected"
            assert await wait_until(pilot, lambda: "PARTIAL: devnet STALE" in app.screen.plain_text(), timeout=5)
            live = app.portfolio()
            assert live.partial and live.stale == ("devnet",)
            assert {v["venue"]: v["status"] for v in live.doc["venues"]} == {"devnet": "stale", "fakex": "ok"}
            await pilot.press("escape")
            assert await wait_until(pilot, lambda: " STALE  devnet" in screen_text(app))
    finally:
        handle.stop()


async def test_an_aster_tab_beside_hyperliquid_trades_through_the_ticket(devnet):
    from tests.cli_devnet import new_key

    settings.configure()
    hexkey, _ = new_key(devnet.url)
    signer = Signer.from_hex(hexkey)
    dev_md, dev = devnet_venue(devnet.url, signer)
    aster_md = registry.open_venue(registry.get_entry("aster-devnet").config(url=devnet.url))
    aster = aster_md.trading(signer)
    app, sources = build_watch([VenueFeed(dev_md, dev, ["BTC"]), VenueFeed(aster_md, aster, ["BTCUSDT"])],
                               settings=settings.current(), stream=STREAM)
    aster_source = sources[1]
    async with app.run_test(size=SIZE) as pilot:
        tabs = [(v.venue, v.symbol) for v in app.views.values()]
        assert tabs == [("devnet", "BTC"), ("aster-devnet", "BTCUSDT")]
        ticket = app.query_one(Ticket)
        ticket.set_price(D("1000"))  # the Hyperliquid tab's own price
        await app.run_action("next_market")
        assert await wait_until(pilot, lambda: app.active_view.venue == "aster-devnet")
        assert await wait_until(pilot, lambda: "mid " in app.active_view.ladder.text(), timeout=15)
        assert await wait_until(pilot, lambda: aster_source.account() is not None, timeout=15)
        book = aster_source.book("BTCUSDT")
        inst = aster_source.instrument("BTCUSDT")
        price = inst.round_price(book.best_ask()[0] * D("1.01"), Rounding.UP)  # rests above the touch
        ticket.set_side(Side.SELL)
        ticket.set_size("0.002")
        ticket.set_price(price)
        assert await wait_until(pilot, lambda: not app.query_one("#ticket-place").disabled)
        preview = app.last_preview
        assert (preview.venue, preview.market, preview.side, preview.size) == ("aster-devnet", "BTCUSDT", Side.SELL, D("0.002"))
        assert preview.price == price and not preview.takes  # rests: a maker order
        ticket.submit()
        assert await wait_until(pilot, lambda: app.last_action_result is not None, timeout=15)
        what, results, error = app.last_action_result
        assert error is None and [r.status for r in results] == ["resting"], results
        orders = app.query_one(OrdersTable)
        assert await wait_until(pilot, lambda: any(o.venue == "aster-devnet" and o.symbol == "BTCUSDT"
                                                   for o in orders.orders.values()), timeout=15)
        [resting] = [o for o in aster.open_orders() if o.symbol == "BTCUSDT"]
        assert (resting.side, resting.price, resting.size) == (Side.SELL, price, D("0.002"))
        # back to Hyperliquid's tab: its own ticket price came back; then cancel the Aster order
        await app.run_action("prev_market")
        assert await wait_until(pilot, lambda: ticket.form().price == "1000" and ticket.market == "BTC")
        orders.focus()
        orders.move_cursor(row=orders.get_row_index(OrdersTable.row_key(resting)))
        await app.run_action("cancel_selected")
        assert await wait_until(pilot, lambda: not [o for o in aster.open_orders() if o.symbol == "BTCUSDT"],
                                timeout=15)
        # a market buy from the Aster tab: a position in the table, closed with `x` on Aster
        await app.run_action("next_market")
        assert await wait_until(pilot, lambda: ticket.market == "BTCUSDT" and ticket.form().price == str(price))
        ticket.set_side(Side.BUY)
        ticket.set_type("market")
        assert await wait_until(pilot, lambda: app.last_preview is not None and app.last_preview.takes
                                and not app.query_one("#ticket-place").disabled)
        app.last_action_result = None
        ticket.submit()
        assert await wait_until(pilot, lambda: app.last_action_result is not None, timeout=15)
        _, results, error = app.last_action_result
        assert error is None and [(r.status, r.filled) for r in results] == [("filled", D("0.002"))], results
        positions = app.query_one(PositionsTable)
        assert await wait_until(pilot, lambda: positions.position_of("aster-devnet", "BTCUSDT") is not None,
                                timeout=15)
        assert positions.position_of("aster-devnet", "BTCUSDT").size == D("0.002")
        [held] = [p for p in aster.positions().positions if p.symbol == "BTCUSDT" and p.size]
        assert held.size == D("0.002")
        app.last_action_result = None
        app.set_focus(None)
        await app.run_action("close_position")
        assert await wait_until(pilot, lambda: app.last_action_result is not None, timeout=15)
        assert app.last_action_result[0] == "close" and app.last_action_result[2] is None, app.last_action_result
        assert await wait_until(pilot, lambda: positions.position_of("aster-devnet", "BTCUSDT") is None, timeout=15)
        assert not [p for p in aster.positions().positions if p.symbol == "BTCUSDT" and p.size]


# ----------------------------------------------------------------------------- an oracle venue


ORACLE_CAPS = Capabilities(name="oraclex", title="scripted oracle venue", kind="oracle", settlement="keeper",
                           networks=("testnet",), default_network="testnet", order_types=("market",),
                           margin_modes=("isolated",), book_stream="none")


def _oracle_inst(symbol: str, underlying: str, hours: TradingHours | None) -> Instrument:
    return Instrument(venue="oraclex", symbol=symbol, underlying=underlying, asset_id=0, lot_size=D("0.0001"),
                      max_leverage=50, tick_size=D("0.01"), only_isolated=True, trading_hours=hours)


class Quote:
    def __init__(self, symbol, bid, mid, ask, market_open, time_ms):
        self.symbol, self.bid, self.mid, self.ask, self.market_open, self.time_ms = (
            symbol, D(bid), D(mid), D(ask), market_open, time_ms)


class ScriptedOracle:
    """A book-less venue through the seam only: instruments, oracle quotes, marks, no book."""

    venue = "oraclex"
    capabilities = ORACLE_CAPS
    network = "testnet"

    def __init__(self) -> None:
        self.insts = {"XAU-USD": _oracle_inst("XAU-USD", "XAU", None),
                      "SPX-USD": _oracle_inst("SPX-USD", "SPX",
                                              TradingHours.parse("America/New_York", "Mon-Fri 09:30-16:00"))}
        self.quotes = {"XAU-USD": Quote("XAU-USD", "2650.10", "2650.15", "2650.20", True, 0),
                       "SPX-USD": Quote("SPX-USD", "5000.00", "5000.50", "5001.00", False, 0)}
        self.failing = False
        self.reads = 0

    def instruments(self, **_):
        return list(self.insts.values())

    def instrument(self, market: str) -> Instrument:
        for inst in self.insts.values():
            if market.upper() in (inst.symbol, inst.underlying):
                return inst
        raise UsageError(f"unknown market {market}")

    def quote(self, market: str, *, fresh: bool = False):
        if self.failing:
            raise NetworkError("cannot reach the price feed")
        self.reads += fresh
        return self.quotes[self.instrument(market).symbol]

    def mark_prices(self, markets=None, *, fresh: bool = False):
        return [MarkPrice("oraclex", s, q.mid, q.time_ms, oracle_price=q.mid) for s, q in self.quotes.items()]

    def funding(self, markets=None):
        raise UsageError("oraclex: funding is not supported")

    def margin_rules(self, instrument):
        return PerTradeIsolatedRules(max_leverage_value=50, liquidation_threshold=D("0.9"), default_leverage_value=10)

    def default_fees(self):
        return FeeRates(D("0.0003"), D("0.0003"), "public schedule")

    def book(self, market, depth=20):
        raise UsageError("oraclex has no order book")

    def live_feed(self, account=""):
        raise UsageError("oraclex has no websocket market stream")


class ScriptedOracleAccount:
    """The account side: 800 USDC of cash, 212 of it backing a long of 2 XAU (isolated)."""

    account_address = "0x" + "ab" * 20

    def account(self, market=None) -> AccountSnapshot:
        pos = PositionSnapshot("XAU-USD", D("2"), D("2600"), MarginMode.ISOLATED, 25, D("212"))
        return AccountSnapshot("oraclex", self.account_address, 1, balances=(Balance("USDC", D("800")),),
                               positions=(pos,))

    def fee_rates(self):
        raise UsageError("oraclex has no venue-wide fee schedule")  # as Ostium: the account still loads

    def leverage_setting(self, market):
        return LeverageSetting(None, False)


async def test_an_oracle_venue_shows_bid_ask_hours_and_its_positions_beside_the_devnet(devnet):
    settings.configure()
    dev_md, _ = devnet_venue(devnet.url, None)
    oracle = ScriptedOracle()
    app, sources = build_watch([VenueFeed(dev_md, None, ["BTC"]),
                                VenueFeed(oracle, ScriptedOracleAccount(), ["XAU", "SPX"], read_only=True)],
                               settings=settings.current(), stream=STREAM)
    async with app.run_test(size=SIZE) as pilot:
        assert [(v.venue, v.symbol, v.oracle) for v in app.views.values()] == [
            ("devnet", "BTC", False), ("oraclex", "XAU-USD", True), ("oraclex", "SPX-USD", True)]
        await app.run_action("next_market")
        panel = app.market_view.oracle
        assert await wait_until(pilot, lambda: "2,650.20" in panel.text, timeout=10)
        assert "2,650.10" in panel.text and "OPEN" in panel.text and "around the clock" in panel.text
        assert await wait_until(pilot, lambda: "bid" in screen_text(app) and "2,650.15" in screen_text(app))
        assert not app.market_view.ladder.display  # no book to show
        await app.run_action("next_market")  # SPX: the feed says closed
        assert await wait_until(pilot, lambda: "CLOSED" in panel.text and "5,001.00" in panel.text)
        assert "Mon 09:30 - Mon 16:00" in panel.text and "orders are refused" in panel.text
        await app.run_action("next_market")  # back to the devnet's book
        assert await wait_until(pilot, lambda: app.market_view.ladder.display and "mid " in app.active_view.ladder.text(),
                                timeout=15)
        # its position sits beside the others, in the portfolio and the positions table
        table = app.query_one(PositionsTable)
        assert await wait_until(pilot, lambda: "XAU-USD" in table.positions, timeout=10)
        await pilot.press("P")
        assert await wait_until(pilot, lambda: isinstance(app.screen, PortfolioScreen) and app.screen.paints > 0)
        doc = app.portfolio().doc
        [xau] = doc["positions"]
        assert (xau["venue"], xau["underlying"], xau["side"], xau["size"]) == ("oraclex", "XAU", "long", D("2"))
        assert xau["unrealized_pnl"] == D("100.30")  # 2 x (2650.15 - 2600)
        [venue] = doc["venues"]
        assert venue["equity"] == D("800") + D("100.30")  # cash (allocation included) + uPnL
        # the feed fails: the venue turns STALE in the status bar
        oracle.failing = True
        await pilot.press("escape")
        status = app.query_one(StatusLine)
        assert await wait_until(pilot, lambda: {v.venue: v.status for v in status.venues}.get("oraclex") == "STALE",
                                timeout=10)


def test_perp_watch_opens_venue_prefixed_markets_as_tabs_with_one_key(monkeypatch, devnet, fakex):
    """The command line: `perp watch BTC fakex:BTCUSDT ETH` opens both venues' tabs, and the one
    key trades on both (one Trader per venue). (aster-devnet:BTCUSDT works the same against a
    `perp devnet` on its default port; the test's devnet runs on a free port.)"""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from perpcli.cli.main import main
    from perpcli.tui.app import WatchApp
    from tests.cli_devnet import new_key

    hexkey, address = new_key(devnet.url)
    fakex.fund(address, D(1000))
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", hexkey)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    built = []
    monkeypatch.setattr(WatchApp, "run", lambda self: built.append(self))
    out, err = io.StringIO(), io.StringIO()
    out.isatty = lambda: True  # type: ignore[method-assign]
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--url", devnet.url, "--network", "testnet", "watch", "BTC", "fakex:btcusdt", "ETH"])
    assert code == 0, err.getvalue()
    [app] = built
    assert app.initial_markets == [("devnet", "BTC"), ("devnet", "ETH"), ("fakex", "BTCUSDT")]
    assert set(app.traders) == {"devnet", "fakex"} and set(app.sources) == {"devnet", "fakex"}
    # the key was resolved once and adopted by the second venue (one warning, no "market data only")
    assert err.getvalue().count("signing with the key in PERPCLI_PRIVATE_KEY") == 1
    assert "market data only" not in err.getvalue()


async def test_an_oracle_market_as_the_first_tab_shows_its_panel_from_the_start():
    settings.configure()
    oracle = ScriptedOracle()
    app, _ = build_watch([VenueFeed(oracle, None, ["XAU"])], settings=settings.current(), stream=STREAM)
    async with app.run_test(size=SIZE) as pilot:
        panel = app.market_view.oracle
        assert await wait_until(pilot, lambda: panel.display and "2,650.20" in panel.text, timeout=10)
        assert await wait_until(pilot, lambda: "2,650.15" in screen_text(app))
        assert not app.market_view.ladder.display
        assert oracle.reads >= 1
