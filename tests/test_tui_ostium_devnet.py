"""`perp watch` with Ostium on its devnet (a real EVM node): an XAU market's tab shows the
oracle's bid/ask and hours beside the Hyperliquid devnet's book, and a trade opened on chain
(settled by the devnet's keeper) is a position in the table and the portfolio, netted as XAU.
Without anvil the module skips with one line saying what to install."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from decimal import Decimal as D

import pytest

from perpcli.app import display
from perpcli.config import settings
from perpcli.keys.signer import Signer
from perpcli.net.stream import StreamSettings
from perpcli.tui.run import VenueFeed, build_watch
from perpcli.tui.screens.portfolio import PortfolioScreen
from perpcli.tui.widgets.account import StatusLine
from perpcli.tui.widgets.tables import PositionsTable
from perpcli.venues import registry
from tests.ostium_devnet import control, ostium_devnet_fixture, skip_without_anvil
from tests.tui_support import screen_text, wait_until

skip_without_anvil()

ostium = ostium_devnet_fixture()
XAU = 5
SIZE = (160, 48)


@pytest.fixture(scope="module")
def devnet():
    from perpcli.devnet.server import start_in_thread
    from tests.cli_devnet import wait_for_books

    handle = start_in_thread(port=0, seed=31, market_interval=0.1)
    wait_for_books(handle.url)
    yield handle
    handle.stop()


def open_xau_long(session, tmp_path, key: str | None = None) -> tuple[Signer, object]:
    """A funded key (a fresh one, or `key`, funded here) opens a 10x XAU long with 100 USDC on
    chain; the keeper settles it."""
    from perpcli.venues.ostium import adapter, calls, events, settlement
    from perpcli.venues.ostium.calls import OpenTrade, OrderType
    from perpcli.venues.ostium.chain import FeePolicy
    from perpcli.venues.ostium.networks import DEVNET
    from perpcli.venues.ostium.nonces import EvmNonceAllocator

    if key is None:
        key, address = session.new_key("10000")
    else:
        address = Signer.from_hex(key).address
        control(session.rpc_url, "fund", {"user": address, "amount": "10000"})
    signer = Signer.from_hex(key)
    conf = adapter.OstiumSettings(fees=FeePolicy(max_fee_gwei=D(1)), receipt_timeout_s=15,
                                  price_url=session.prices_url, request_timeout_s=5)
    market = registry.open_venue(registry.get_entry("ostium-devnet").config(url=session.rpc_url, ostium=conf))
    chain = market.chain
    chain.poll_s = 0.02
    nonces = EvmNonceAllocator(DEVNET.chain_id, address, directory=tmp_path)

    def send(to: str, data: bytes):
        return chain.send_and_wait(chain.prepare(signer, to, data, nonces), nonces=nonces)

    send(DEVNET.usdc, calls.approve(DEVNET.trading_storage, D(1_000_000)))
    session.set_price("XAU", "2650")
    done = send(DEVNET.trading, calls.open_trade(OpenTrade(
        trader=address, pair_index=XAU, buy=True, collateral=D(100), leverage=D(10),
        order_type=OrderType.MARKET, price=D(2650), slippage_pct=D(1))))
    order_id = events.initiated_order_id(done.receipt.logs)
    outcome = settlement.await_outcome(chain, market.reads.contract("callbacks"), order_id,
                                       done.receipt.block_number, 10, poll_s=0.02)
    assert outcome is not None and outcome.executed
    return signer, market


async def test_ostium_tab_and_position_beside_the_hyperliquid_devnet(devnet, ostium, tmp_path):
    settings.configure()
    signer, market = open_xau_long(ostium, tmp_path)
    reader = market.trading(signer)
    [held] = reader.positions().positions
    dev_md = registry.open_venue(registry.get_entry("devnet").config(url=devnet.url))
    app, _ = build_watch([VenueFeed(dev_md, None, ["BTC"]), VenueFeed(market, reader, ["XAU"], read_only=True)],
                         settings=settings.current(), stream=StreamSettings(stale_after=5.0))
    async with app.run_test(size=SIZE) as pilot:
        assert [(v.venue, v.symbol, v.oracle) for v in app.views.values()] == [
            ("devnet", "BTC", False), ("ostium-devnet", "XAU-USD", True)]
        await app.run_action("next_market")
        panel = app.market_view.oracle
        quote = market.quote("XAU", fresh=True)
        # OPEN or CLOSED as the market's hours say now (the devnet's oracle quotes it as open always)
        hours = market.instrument("XAU").trading_hours
        state = lambda: "CLOSED" if not hours.is_open(int(time.time() * 1000)) else "OPEN"  # noqa: E731
        assert await wait_until(pilot, lambda: f" {state()} " in panel.text and "bid" in panel.text, timeout=15)
        assert quote.bid < quote.mid < quote.ask
        assert await wait_until(pilot, lambda: "XAU-USD" in screen_text(app) and "ask" in screen_text(app))
        status = app.query_one(StatusLine)
        assert await wait_until(pilot, lambda: {v.venue: v.status for v in status.venues}
                                == {"devnet": "connected", "ostium-devnet": "connected"}, timeout=15)
        table = app.query_one(PositionsTable)
        assert await wait_until(pilot, lambda: table.position_of("ostium-devnet", "XAU-USD") is not None, timeout=20)
        inst = market.instrument("XAU")
        shown_size = display.size(inst, held.size)  # on the market's lot, as every table shows sizes
        assert table.position_of("ostium-devnet", "XAU-USD").size == shown_size
        await pilot.press("P")
        assert await wait_until(pilot, lambda: isinstance(app.screen, PortfolioScreen) and app.screen.paints > 0)
        doc = app.portfolio().doc
        [xau] = doc["positions"]
        assert (xau["venue"], xau["market"], xau["underlying"], xau["side"]) == (
            "ostium-devnet", "XAU-USD", "XAU", "long")
        assert xau["size"] == shown_size and xau["entry_price"] == display.price(inst, held.entry_price)
        [exposure] = doc["exposure"]
        assert exposure["underlying"] == "XAU" and exposure["net_size"] == held.size  # nets exactly


def _send_open(market, signer, tmp_path, *, symbol: str, kind: str, price: str, collateral: str = "100"):
    """An openTrade from `signer` on chain (mined; the keeper settles it, or not, on its own)."""
    from perpcli.venues.ostium import calls, instruments
    from perpcli.venues.ostium.calls import OpenTrade, OrderType
    from perpcli.venues.ostium.networks import DEVNET
    from perpcli.venues.ostium.nonces import EvmNonceAllocator

    nonces = EvmNonceAllocator(DEVNET.chain_id, signer.address, directory=tmp_path)
    spec = instruments.spec_for_symbol(symbol)
    data = calls.open_trade(OpenTrade(trader=signer.address, pair_index=spec.pair_index, buy=True,
                                      collateral=D(collateral), leverage=D(10), order_type=OrderType[kind],
                                      price=D(price), slippage_pct=D(1) if kind == "MARKET" else D(0)))
    chain = market.chain
    return chain.send_and_wait(chain.prepare(signer, DEVNET.trading, data, nonces), nonces=nonces)


async def test_ostium_pending_and_resting_orders_liquidation_and_equity_as_the_venue_says(devnet, ostium, tmp_path):
    """A keeper-pending market order shows as pending and a limit order as resting (not filled,
    not missing); the trade shows its liquidation price; the account bar and the portfolio
    screen show the venue's own equity (`perp account`: the wallet, plus the collateral held
    by the trade and by both orders, plus PnL), not the wallet alone."""
    from perpcli.tui.widgets.account import AccountBar
    from perpcli.tui.widgets.tables import OrdersTable

    settings.configure()
    signer, market = open_xau_long(ostium, tmp_path)
    ostium.set_price("XAG", "31")
    _send_open(market, signer, tmp_path, symbol="XAU-USD", kind="LIMIT", price="2400")
    ostium.pause_keeper(True)
    try:
        _send_open(market, signer, tmp_path, symbol="XAG-USD", kind="MARKET", price="31")
        reader = market.trading(signer)
        venue = reader.account()
        assert sorted(o.status.value for o in venue.open_orders) == ["open", "pending"]
        [held] = venue.positions
        assert venue.account_value > venue.withdrawable + 290  # the trade's and both orders' collateral count
        app, _ = build_watch([VenueFeed(market, reader, ["XAU"], read_only=True)], settings=settings.current(),
                             stream=StreamSettings(stale_after=5.0))
        async with app.run_test(size=SIZE) as pilot:
            orders = app.query_one(OrdersTable)
            assert await wait_until(pilot, lambda: len(orders.orders) == 2, timeout=20)
            flags = {o.symbol: OrdersTable.cells(o)["flags"].plain for o in orders.orders.values()}
            assert flags == {"XAG-USD": "pending", "XAU-USD": ""}, flags
            assert await wait_until(pilot, lambda: "pending" in screen_text(app))  # painted, not only held
            table = app.query_one(PositionsTable)
            assert await wait_until(pilot, lambda: table.position_of("ostium-devnet", "XAU-USD") is not None
                                    and table.position_of("ostium-devnet", "XAU-USD").mark is not None, timeout=20)
            row = table.position_of("ostium-devnet", "XAU-USD")
            inst = market.instrument("XAU")
            assert row.liq_price == display.price(inst, held.liquidation_price)
            bar = app.query_one(AccountBar)
            assert await wait_until(pilot, lambda: bar.view is not None)
            assert bar.view.equity.quantize(D("0.01")) == venue.account_value.quantize(D("0.01"))
            await pilot.press("P")
            assert await wait_until(pilot, lambda: isinstance(app.screen, PortfolioScreen) and app.screen.paints > 0)
            totals = app.portfolio().doc["totals"]
            assert D(totals["equity"]).quantize(D("0.01")) == venue.account_value.quantize(D("0.01"))
            assert (D(totals["margin_used"]), D(totals["free_collateral"])) == (
                venue.margin_used.quantize(D("0.01")), venue.withdrawable.quantize(D("0.01")))
    finally:
        ostium.pause_keeper(False)


async def test_ostium_margin_used_and_free_are_perp_accounts_with_a_resting_order(devnet, ostium, tmp_path):
    """With a trade open and a limit order resting, the account bar and the portfolio screen
    show `perp account --json`'s margin used (the trade's and the order's collateral, not the
    trade's PnL) and free collateral (the wallet), to the cent, as well as its equity."""
    from perpcli.tui.viewmodel import fmt_num
    from perpcli.tui.widgets.account import AccountBar
    from tests.support import run_perp

    settings.configure()
    signer, market = open_xau_long(ostium, tmp_path)
    _send_open(market, signer, tmp_path, symbol="XAU-USD", kind="LIMIT", price="2400", collateral="150")
    ostium.set_price("XAU", "2680")  # the trade in profit: its PnL is equity, not margin used
    cli = run_perp(["--json", "--venue", "ostium-devnet", "account", "--address", signer.address], env=ostium.env())
    assert cli.code == 0, cli.err
    want = {k: D(str(cli.json()[k])) for k in ("equity", "margin_used", "withdrawable")}
    assert want["margin_used"] == 250  # 100 in the trade, 150 in the resting order
    reader = market.trading(signer)
    app, _ = build_watch([VenueFeed(market, reader, ["XAU"], read_only=True)], settings=settings.current(),
                         stream=StreamSettings(stale_after=5.0))
    cent = D("0.01")
    async with app.run_test(size=SIZE) as pilot:
        bar = app.query_one(AccountBar)
        painted = (f"margin {fmt_num(want['margin_used'], 2)}", f"free {fmt_num(want['withdrawable'], 2)}")
        assert await wait_until(pilot, lambda: all(p in screen_text(app) for p in painted), timeout=20), (
            painted, bar.view)
        assert await wait_until(pilot, lambda: bar.view.equity.quantize(cent) == want["equity"], timeout=20), (
            bar.view, want)
        assert (bar.view.margin_used.quantize(cent), bar.view.free_collateral.quantize(cent)) == (
            want["margin_used"], want["withdrawable"])
        await pilot.press("P")
        assert await wait_until(pilot, lambda: isinstance(app.screen, PortfolioScreen) and app.screen.paints > 0)
        totals = app.portfolio().doc["totals"]
        assert (D(totals["margin_used"]), D(totals["free_collateral"])) == (want["margin_used"], want["withdrawable"])
        assert D(totals["equity"]) == want["equity"]


async def test_an_ostium_tab_asks_for_collateral_and_flatten_closes_through_the_keeper(ostium, tmp_path):
    """With a key, an Ostium tab's ticket takes collateral x leverage (no reduce-only or post-only
    there), and F flattens the venue its own way: the resting order cancelled, the trade closed
    at market and settled by the keeper."""
    from perpcli.tui.collateral_trader import CollateralTrader
    from perpcli.tui.widgets.ticket import Ticket

    settings.configure()
    signer, market = open_xau_long(ostium, tmp_path)
    _send_open(market, signer, tmp_path, symbol="XAU-USD", kind="LIMIT", price="2400")
    trading = market.trading(signer)
    app, _ = build_watch([VenueFeed(market, trading, ["XAU"])], settings=settings.current(),
                         stream=StreamSettings(stale_after=5.0))
    assert isinstance(app.traders["ostium-devnet"], CollateralTrader)
    async with app.run_test(size=SIZE) as pilot:
        ticket = app.query_one(Ticket)
        assert await wait_until(pilot, lambda: "enter the collateral (USDC)" in str(ticket._preview_shown),
                                timeout=15)
        assert ticket.collateral and ticket.query_one("#ticket-leverage").display
        assert not ticket.query_one("#ticket-flags").display
        table = app.query_one(PositionsTable)
        assert await wait_until(pilot, lambda: table.position_of("ostium-devnet", "XAU-USD") is not None, timeout=20)
        await pilot.press("F", "y")
        assert await wait_until(pilot, lambda: app.last_action_result is not None, timeout=40)
        what, results, error = app.last_action_result
        assert (what, error) == ("flatten", None)
        assert sorted(r.status for r in results) == ["canceled", "filled"], results
    assert not trading.positions().positions and not trading.open_orders()


@contextlib.contextmanager
def watch_beside_a_session(ostium, perpcli_home, monkeypatch, *, hexkey: str):
    """`hexkey` stored as the keystore key a running `perp session` agent holds for the Ostium
    devnet, the watch's venue settings pointed at it, and the keystore's decrypt refused in this
    process: yields the watch's Session and the account side `perp watch --venue ostium-devnet`
    builds (asserted to be the agent's: nothing is unlocked here)."""
    from perpcli.app.session import Session
    from perpcli.cli import output
    from perpcli.cli.commands.watch import _account_side
    from perpcli.keys import keystore
    from perpcli.tui import session_trading
    from tests import session_helpers as sh

    address, pw = sh.stored_key(perpcli_home, hexkey=hexkey)
    for name, value in ostium.env().items():
        monkeypatch.setenv(name, value)

    def no_decrypt(*a, **k):
        raise AssertionError("the watch decrypted the key")

    monkeypatch.setattr(keystore, "decrypt", no_decrypt)
    with sh.running(pw, "--venues", "ostium-devnet"):
        settings.configure()
        session = Session.open(settings.current(), venue="ostium-devnet")
        try:
            trading = _account_side(session, False, output)
            assert isinstance(trading, session_trading.SessionCollateral)
            assert trading.account_address.lower() == address.lower()
            yield session, trading
        finally:
            session.close()


def _fresh_key() -> str:
    """A new private key (hex), registered for the leak check."""
    import secrets

    from tests.support import register_secret

    hexkey = "0x" + secrets.token_hex(32)
    register_secret(hexkey)
    return hexkey


async def test_an_ostium_tab_flattens_through_the_session_agent_without_a_passphrase(
        ostium, perpcli_home, tmp_path, monkeypatch):
    """With a `perp session` holding the key, an Ostium tab asks nothing and decrypts nothing:
    its account is read from the address, and F's cancel and close (with the keeper's
    settlement) run whole in the agent, which signs them."""
    from perpcli.tui.collateral_trader import CollateralTrader
    from tests import session_helpers as sh

    hexkey = _fresh_key()
    signer, market = open_xau_long(ostium, tmp_path, key=hexkey)
    _send_open(market, signer, tmp_path, symbol="XAU-USD", kind="LIMIT", price="2400")
    with watch_beside_a_session(ostium, perpcli_home, monkeypatch, hexkey=hexkey) as (session, trading):
        served = sh.status()["commands_served"]
        app, _ = build_watch([VenueFeed(session.market, trading, ["XAU"])], settings=settings.current(),
                             stream=StreamSettings(stale_after=5.0))
        assert isinstance(app.traders["ostium-devnet"], CollateralTrader)
        async with app.run_test(size=SIZE) as pilot:
            table = app.query_one(PositionsTable)
            assert await wait_until(pilot, lambda: table.position_of("ostium-devnet", "XAU-USD") is not None,
                                    timeout=20)
            assert "orders signed by the session: ostium-devnet" in screen_text(app)
            source = app.traders["ostium-devnet"].source
            assert await wait_until(pilot, lambda: len(source.account().open_orders) == 1, timeout=20)
            [resting] = source.account().open_orders
            [cancelled] = await asyncio.to_thread(app.traders["ostium-devnet"].cancel, [resting])  # c
            assert (cancelled.status, cancelled.oid) == ("canceled", resting.oid), cancelled
            await pilot.press("F", "y")
            assert await wait_until(pilot, lambda: app.last_action_result is not None, timeout=40)
            what, results, error = app.last_action_result
            assert (what, error) == ("flatten", None)
            assert [r.status for r in results] == ["filled"], results
        assert sh.status()["commands_served"] == served + 2  # the cancel and the flatten, signed there
    assert not trading.positions().positions and not trading.open_orders()


def _ostium_market(session):
    """The devnet's Ostium venue as a watch opens it, polling the chain briskly."""
    from perpcli.venues.ostium import adapter
    from perpcli.venues.ostium.chain import FeePolicy

    conf = adapter.OstiumSettings(fees=FeePolicy(max_fee_gwei=D(1)), receipt_timeout_s=15,
                                  price_url=session.prices_url, request_timeout_s=5)
    market = registry.open_venue(registry.get_entry("ostium-devnet").config(url=session.rpc_url, ostium=conf))
    market.chain.poll_s = 0.02
    return market


async def _type_into(pilot, app, selector: str, text: str) -> None:
    """Focus a ticket field, clear it and type `text` into it, key by key."""
    field = app.query_one(selector)
    app.screen.set_focus(field)
    await pilot.pause()
    field.value = ""
    await pilot.press(*text)


async def test_the_ticket_opens_an_xau_trade_with_the_clis_liquidation_price_and_refuses_a_bad_one(
        ostium, tmp_path, capsys, monkeypatch):
    """An Ostium tab's ticket, driven by keys: 200 USDC x 10 at market on XAU previews the very
    liquidation price `perp buy --preview --json` reports; leverage above the pair's maximum (and
    above risk.max_leverage) is refused on the preview and by Enter, with nothing sent; then Place,
    confirmed (2,000 USD is above risk.confirm_above_notional), opens the trade, the keeper fills
    it, and it is a row in the positions table."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from perpcli.app.collateral import TradeResult
    from perpcli.tui.screens.confirm import ConfirmScreen
    from perpcli.tui.viewmodel import fmt_num
    from perpcli.tui.widgets.ticket import Ticket
    from perpcli.venues.ostium import quoting
    from tests.support import invoke

    tuesday_ns = int(datetime(2026, 3, 10, 15, tzinfo=UTC).timestamp()) * 10**9  # XAU open by perpcli's hours
    monkeypatch.setattr(quoting, "time", SimpleNamespace(time_ns=lambda: tuesday_ns))
    key, address = ostium.new_key("10000")
    for name, value in {**ostium.env(), "PERPCLI_PRIVATE_KEY": key}.items():
        monkeypatch.setenv(name, value)
    ostium.set_price("XAU", "2650")  # and there it stays: the devnet's prices move only when a test sets them
    # What the CLI previews for the same inputs (asked before the app runs: textual holds stdout then).
    cli = invoke(["--venue", "ostium-devnet", "--json", "buy", "XAU", "--collateral", "200", "--leverage", "10",
                  "--market", "--preview"], capsys, monkeypatch=monkeypatch)
    assert cli.code == 0, cli.err
    liq = D(json.loads(cli.out)["liquidation_price"])
    settings.configure()
    market = _ostium_market(ostium)
    trading = market.trading(Signer.from_hex(key))
    app, _ = build_watch([VenueFeed(market, trading, ["XAU"])], settings=settings.current(),
                         stream=StreamSettings(stale_after=5.0))
    async with app.run_test(size=SIZE) as pilot:
        ticket = app.query_one(Ticket)
        place = ticket.query_one("#ticket-place")
        flow = app.collateral_ticket
        assert await wait_until(pilot, lambda: ticket.collateral, timeout=15)
        ticket.set_type("market")
        await _type_into(pilot, app, "#ticket-size", "200")

        def quoted(leverage: str):
            return lambda: flow.shown is not None and flow.shown["leverage"] == D(leverage) and \
                flow.shown["collateral"] == D(200)

        # above the pair's 100x: the venue's own rule, said on the ticket; Enter sends nothing
        await _type_into(pilot, app, "#ticket-leverage", "500")
        assert await wait_until(pilot, lambda: "outside this pair's" in str(ticket._preview_shown), timeout=15)
        assert place.disabled
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: app.last_action_result is not None, timeout=15)
        what, results, error = app.last_action_result
        assert (what, results) == ("open", None) and "outside this pair's" in error
        # within the pair's range but above risk.max_leverage (20): the guard refuses on the preview
        await _type_into(pilot, app, "#ticket-leverage", "30")
        assert await wait_until(pilot, quoted("30"), timeout=15)
        assert "refused:" in str(ticket._preview_shown) and "guard max_leverage" in str(ticket._preview_shown)
        assert place.disabled
        assert market.chain.nonce(address) == 0  # nothing sent

        await _type_into(pilot, app, "#ticket-leverage", "10")
        assert await wait_until(pilot, quoted("10"), timeout=15)
        assert not place.disabled and "refused" not in str(ticket._preview_shown)
        assert flow.shown["liquidation_price"] == liq
        assert f"liq {fmt_num(liq)}" in str(ticket._preview_shown)  # painted as the CLI says it

        app.last_action_result = None
        app.screen.set_focus(ticket.query_one("#ticket-size"))
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=15)
        assert f"liquidation {fmt_num(liq)}" in app.screen.question.plain
        await pilot.press("y")
        assert await wait_until(pilot, lambda: app.last_action_result is not None, timeout=40)
        what, results, error = app.last_action_result
        assert (what, error) == ("open", None)
        [opened] = results
        assert isinstance(opened, TradeResult) and (opened.status, opened.trade_id) == ("filled", "5:0"), opened
        assert opened.approved == D(200)  # a fresh key: the allowance was short, an approval went first
        table = app.query_one(PositionsTable)
        assert await wait_until(pilot, lambda: table.position_of("ostium-devnet", "XAU-USD") is not None, timeout=20)
    [held] = trading.positions().positions
    assert held.isolated_margin <= D(200) and held.leverage == D(10)


async def test_the_ticket_opens_through_the_session_agent_without_a_passphrase(
        ostium, perpcli_home, tmp_path, monkeypatch):
    """With a `perp session` holding the key, the ticket's open runs whole in the agent (quoted
    again there with the held key, guarded, approved, awaited): the watch decrypts nothing. BTC
    trades around the clock by perpcli's hours, so the agent (a process of its own, whose clock
    no test can pin) opens it on any day."""
    from perpcli.tui.widgets.ticket import Ticket
    from tests import session_helpers as sh

    hexkey = _fresh_key()
    control(ostium.rpc_url, "fund", {"user": Signer.from_hex(hexkey).address, "amount": "10000"})
    with watch_beside_a_session(ostium, perpcli_home, monkeypatch, hexkey=hexkey) as (session, trading):
        served = sh.status()["commands_served"]
        app, _ = build_watch([VenueFeed(session.market, trading, ["BTC"])], settings=settings.current(),
                             stream=StreamSettings(stale_after=5.0))
        async with app.run_test(size=SIZE) as pilot:
            ticket = app.query_one(Ticket)
            flow = app.collateral_ticket
            assert await wait_until(pilot, lambda: ticket.collateral, timeout=15)
            ticket.set_type("market")
            await _type_into(pilot, app, "#ticket-size", "100")
            await _type_into(pilot, app, "#ticket-leverage", "10")
            assert await wait_until(pilot, lambda: flow.shown is not None and flow.shown["leverage"] == D(10)
                                    and not ticket.query_one("#ticket-place").disabled, timeout=15)
            assert flow.shown["market"] == "BTC-USD" and flow.shown["liquidation_price"] > 0
            await pilot.press("enter")  # 1,000 USD: not above risk.confirm_above_notional, no question
            assert await wait_until(pilot, lambda: app.last_action_result is not None, timeout=40)
            what, results, error = app.last_action_result
            assert (what, error) == ("open", None)
            [opened] = results
            assert (opened.status, opened.market, opened.trade_id) == ("filled", "BTC-USD", "0:0"), opened
            table = app.query_one(PositionsTable)
            assert await wait_until(pilot, lambda: table.position_of("ostium-devnet", "BTC-USD") is not None,
                                    timeout=20)
        assert sh.status()["commands_served"] == served + 1  # the open, signed there
    [held] = trading.positions().positions
    assert held.symbol == "BTC-USD" and held.leverage == D(10)
