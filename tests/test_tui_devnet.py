"""`perp watch` end to end: the real app, live source and trader against a devnet on a free port.

Markets load and books stream; an order placed from the ticket reaches the devnet and the
orders table; the cancel hotkey removes it; a market order opens a position whose liquidation
price is the margin model's; a dropped socket shows STALE, then recovers without a restart.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal as D

import pytest

from perpcli.app import display
from perpcli.config import settings
from perpcli.devnet.server import start_in_thread
from perpcli.domain.events import ConnectionState
from perpcli.domain.instrument import Rounding
from perpcli.domain.orders import Side
from perpcli.keys.signer import Signer
from perpcli.ledger import margin
from perpcli.net.backoff import Backoff
from perpcli.net.stream import StreamSettings
from perpcli.tui.risk_view import cash_of, position_risks
from perpcli.tui.run import build_app
from perpcli.tui.widgets.account import AccountBar, StatusLine
from perpcli.tui.widgets.ladder import LadderWidget
from perpcli.tui.widgets.tables import OrdersTable, PositionsTable
from perpcli.tui.widgets.ticket import Ticket
from perpcli.venues.hyperliquid.adapter import HyperliquidMarketData
from perpcli.venues.hyperliquid.endpoints import endpoint
from tests.support import register_secret
from tests.tui_support import wait_until

KEY = "0x" + "7e" * 32
register_secret(KEY)
SIZE = (160, 48)


@pytest.fixture(scope="module")
def devnet():
    handle = start_in_thread(market_interval=0.1, seed=7)
    yield handle
    handle.stop()


def make(devnet, *, stream: StreamSettings | None = None):
    settings.configure()
    md = HyperliquidMarketData(endpoint(devnet.url, "testnet"), venue="devnet")
    trading = md.trading(Signer.from_hex(KEY))
    devnet.call(devnet.devnet.control, "fund", {"user": trading.signer_address, "amount": "50000"})
    app, source = build_app(md, markets=["BTC", "ETH"], trading=trading, settings=settings.current(),
                            stream=stream or StreamSettings(stale_after=2.0))
    return app, source, md, trading


def ladder_of(app) -> LadderWidget:
    return app.active_view.ladder


async def test_markets_load_books_stream_and_an_order_round_trips(devnet):
    app, source, md, trading = make(devnet)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: "mid " in ladder_of(app).text(), timeout=10)
        assert [v.symbol for v in app.views.values()] == ["BTC", "ETH"]
        first = source.store.key_version(("book", "devnet", "BTC"))
        assert await wait_until(pilot, lambda: source.store.key_version(("book", "devnet", "BTC")) > first + 2)
        assert source.sink.book_messages > 2
        assert await wait_until(pilot, lambda: source.account() is not None, timeout=10)
        # A resting sell 1% above the best ask (inside the 5% price band around mark), from the ticket.
        book = source.book("BTC")
        inst = source.instrument("BTC")
        price = inst.round_price(book.best_ask()[0] * D("1.01"), Rounding.UP)
        ticket = app.query_one(Ticket)
        ticket.set_side(Side.SELL)
        ticket.set_size("0.001")
        ticket.set_price(price)
        await pilot.pause(0.1)
        ticket.submit()
        table = app.query_one(OrdersTable)
        assert await wait_until(pilot, lambda: table.row_count == 1, timeout=10), app.last_action_result
        (order,) = table.orders.values()
        assert order.price == price and order.size == D("0.001")
        venue_orders = trading.open_orders()
        assert [(o.oid, o.price) for o in venue_orders] == [(order.oid, price)]
        # Cancel it with the hotkey.
        await pilot.press("o", "c")
        assert await wait_until(pilot, lambda: table.row_count == 0, timeout=10), app.last_action_result
        assert trading.open_orders() == []
        # Two more, then cancel-all: the venue's own list is cancelled, not the table's.
        for _ in range(2):
            ticket.submit()
        assert await wait_until(pilot, lambda: len(trading.open_orders()) == 2, timeout=10), app.last_action_result
        await pilot.press("C")
        assert await wait_until(pilot, lambda: trading.open_orders() == [] and table.row_count == 0, timeout=10)


async def test_a_market_order_opens_a_position_with_the_models_liquidation_price(devnet):
    app, source, md, trading = make(devnet)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: source.book_usable("ETH") and source.account() is not None
                                and source.mark("ETH") is not None, timeout=10)
        await pilot.press("]")
        ticket = app.query_one(Ticket)
        assert await wait_until(pilot, lambda: ticket.market == "ETH")
        ticket.set_side(Side.SELL)  # a short always has a liquidation price (a long this small has none)
        ticket.set_type("market")
        ticket.set_size("0.2")
        assert await wait_until(pilot, lambda: app.last_preview is not None and app.last_preview.market == "ETH")
        previewed = app.last_preview.liquidation_price
        assert previewed is not None
        ticket.submit()
        positions = app.query_one(PositionsTable)
        assert await wait_until(pilot, lambda: "ETH" in positions.positions, timeout=10), app.last_action_result
        shown = positions.positions["ETH"]
        assert shown.size == D("-0.2")
        # What the table shows is the ledger model over the venue's snapshot...
        snap = trading.account()
        risks = position_risks(snap, source.instrument, lambda s: source.mark(s).mark_price,
                               lambda i: source.margin_rules(i.symbol))
        model = margin.summarize(cash_of(snap, "USDC"), risks)
        (row,) = [p for p in model.positions if p.symbol == "ETH"]
        assert shown.liq_price == display.price(source.instrument("ETH"), row.liquidation_price)  # on the grid
        # ...which agrees with the devnet's own figure and with the preview shown before sending.
        (venue_pos,) = [p for p in snap.positions if p.symbol == "ETH"]
        assert abs(shown.liq_price - venue_pos.liquidation_price) / venue_pos.liquidation_price < D("0.001")
        assert abs(shown.liq_price - previewed) / previewed < D("0.01")
        # "margin ratio" is one figure: the account bar's is the one `perp account` prints.
        from tests.cli_devnet import run

        bar = app.query_one(AccountBar).view
        res = await asyncio.to_thread(run, devnet.url, "--json", "--address", trading.account_address, "account")
        assert res.code == 0, res.err
        cli_ratio = D(json.loads(res.out)["margin_ratio"])
        assert bar is not None and bar.margin_ratio > 0
        # marks move between the two reads; the CLI prints 4 decimals
        assert abs(cli_ratio - bar.margin_ratio) <= D("0.0001") + bar.margin_ratio * D("0.05")
        # close it again so other tests start flat
        await pilot.press("x")
        assert await wait_until(pilot, lambda: "ETH" not in positions.positions, timeout=10), app.last_action_result


async def test_a_dropped_socket_shows_stale_then_recovers(devnet):
    slow = Backoff(base=2.0, factor=1.0, cap=2.0, jitter=0.0, min_delay=2.0)
    app, source, md, trading = make(devnet, stream=StreamSettings(stale_after=2.0, backoff=slow))
    async with app.run_test(size=SIZE) as pilot:
        status = app.query_one(StatusLine)
        assert await wait_until(pilot, lambda: source.book_usable("BTC"), timeout=10)
        connects = source.session.stats.connects
        devnet.call(lambda: [c.drop() for c in list(devnet.devnet.server.ws_connections)])
        assert await wait_until(pilot, lambda: "STALE" in status.render().plain, timeout=5)
        assert "STALE" in ladder_of(app).text()  # the book is flagged, never used to price
        assert not source.book_usable("BTC")
        assert await wait_until(pilot, lambda: source.session.stats.connects > connects
                                and source.book_usable("BTC"), timeout=10)
        assert await wait_until(pilot, lambda: "STALE" not in status.render().plain, timeout=5)
        assert source.session.connection_state is ConnectionState.CONNECTED
        assert "mid " in ladder_of(app).text()


async def test_fresh_key_watches_with_its_account_on_a_default_devnet(devnet):
    """`perp watch` checks the key (userRole) before it opens: on an auto-funding devnet that
    first look funds a never-seen key, so the terminal opens with trading and a balance."""
    fresh = "0x" + "7f" * 32
    register_secret(fresh)
    settings.configure()
    md = HyperliquidMarketData(endpoint(devnet.url, "testnet"), venue="devnet")
    trading = md.trading(Signer.from_hex(fresh))
    trading.require_registered()  # what `perp watch` does first; exit 4 before auto-fund-on-read
    app, source = build_app(md, markets=["BTC"], trading=trading, settings=settings.current())
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: source.account() is not None, timeout=10)
        assert cash_of(source.account(), "USDC") == D(100_000)
