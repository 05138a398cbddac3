"""The TUI's live data path with an Aster key: books on the market socket, the account's
orders, fills and positions on the listenKey socket (a second session into the same store),
and a listenKey expiry that neither loses an account event nor makes the books unusable."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from decimal import Decimal

import pytest

from perpcli.domain.events import ConnectionState
from perpcli.domain.instrument import Rounding
from perpcli.domain.orders import OrderIntent, Side
from perpcli.keys.nonces import MicrosecondNonceAllocator
from perpcli.keys.signer import Signer
from perpcli.net.stream import StreamSettings
from perpcli.tui.live import LiveSource
from perpcli.venues import registry
from perpcli.venues.base import AckStatus, CancelTarget
from tests.cli_devnet import control, devnet_fixture
from tests.support import register_secret

devnet = devnet_fixture(seed=29, market_interval=0.1)


@pytest.fixture
def source(devnet, tmp_path):
    key = "0x" + secrets.token_hex(32)
    register_secret(key)
    signer = Signer.from_hex(key)
    md = registry.open_venue(registry.get_entry("aster-devnet").config(url=devnet.url))
    trading = md.trading(signer, nonces=MicrosecondNonceAllocator(signer.address, directory=tmp_path))
    src = LiveSource(md, trading=trading, markets=["ETHUSDT"], settings=StreamSettings(stale_after=3.0))
    yield src, trading
    md.close()


async def _until(pred, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        assert loop.time() < deadline
        await asyncio.sleep(0.05)


def test_orders_fills_and_positions_arrive_on_the_account_socket(devnet, source):
    src, t = source
    assert src.account_session is not None  # Aster's account events have their own socket
    inst = t.market.instrument("ETH")

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        runner = asyncio.create_task(src.run())
        try:
            await _until(lambda: src.account() is not None and src.book_usable("ETHUSDT"))
            health = {h.name: h.state for h in src.streams()}
            assert health["aster-devnet account"] is ConnectionState.CONNECTED
            bid = src.book("ETHUSDT").best_bid()[0]
            price = inst.round_price(bid * Decimal("0.95"), Rounding.DOWN)
            rest = OrderIntent(venue=t.venue, symbol=inst.symbol, side=Side.BUY, size=inst.round_size(
                Decimal(150) / price, Rounding.UP), price=price, cloid="tui-rest")
            assert (await loop.run_in_executor(None, t.submit, [rest]))[0].status is AckStatus.RESTING
            await _until(lambda: any(o.cloid == "tui-rest" for o in src.account().open_orders), timeout=5)
            # The key expires: the account socket comes back with a new one; the books never
            # stop being usable meanwhile (the account socket does not price orders).
            control(devnet.url, "aster_expire_listen_key", {"user": t.account_address})
            for _ in range(20):
                assert src.book_usable("ETHUSDT")
                await asyncio.sleep(0.05)
            ask = src.book("ETHUSDT").best_ask()[0]
            size = inst.round_size(Decimal(150) / ask, Rounding.UP)
            take = OrderIntent(venue=t.venue, symbol=inst.symbol, side=Side.BUY, size=size,
                               price=inst.round_price(ask * Decimal("1.01"), Rounding.UP), cloid="tui-take")
            assert (await loop.run_in_executor(None, t.submit, [take]))[0].status is AckStatus.FILLED
            await _until(lambda: any(p.symbol == inst.symbol and p.size == size for p in src.account().positions),
                         timeout=5)
            await _until(lambda: {h.name: h.state for h in src.streams()}["aster-devnet account"]
                         is ConnectionState.CONNECTED)
            assert src.account_session.stats.connects >= 2  # the expired key's socket was replaced
            await loop.run_in_executor(None, t.cancel, CancelTarget("ETH", cloid="tui-rest"))
            await _until(lambda: not any(o.cloid == "tui-rest" for o in src.account().open_orders), timeout=5)
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    asyncio.run(scenario())


async def test_demo_app_shows_aster_tabs_beside_hyperliquid_with_the_aster_account(devnet, tmp_path):
    """`perp demo`'s screen: Hyperliquid's markets, then the Aster face's in their own tabs, each
    venue with its own source, trader and account (the demo's Aster order shows on the Aster side)."""
    from perpcli.cli.demo_setup import ASTER_DEMO_CLIENT_ID, seed_aster
    from perpcli.config import settings
    from perpcli.tui.run import DEMO_ASTER_MARKETS, VenueFeed, build_app
    from tests.tui_support import wait_until

    key = "0x" + secrets.token_hex(32)
    register_secret(key)
    signer = Signer.from_hex(key)
    control(devnet.url, "fund", {"user": signer.address, "amount": "10000"})
    assert seed_aster(devnet, signer.address, Decimal(10000)) == ["SOLUSDT", "ETHUSDT"]
    settings.configure()
    hl = registry.open_venue(registry.get_entry("devnet").config(url=devnet.url, network="testnet"))
    aster = registry.open_venue(registry.get_entry("aster-devnet").config(url=devnet.url, network="testnet"))
    try:
        app, _ = build_app(hl, markets=["BTC"], trading=hl.trading(signer), settings=settings.current(),
                           others=[VenueFeed(aster, aster.trading(signer), DEMO_ASTER_MARKETS)])
        async with app.run_test(size=(160, 48)) as pilot:
            assert await wait_until(pilot, lambda: len(app.views) == 3, timeout=10)
            assert [(v.venue, v.symbol) for v in app.views.values()] == [
                ("devnet", "BTC"), ("aster-devnet", "ETHUSDT"), ("aster-devnet", "SOLUSDT")]
            assert set(app.traders) == {"devnet", "aster-devnet"}
            src = app.sources["aster-devnet"]
            assert await wait_until(pilot, lambda: src.account() is not None, timeout=10)
            snap = src.account()
            assert [o.cloid for o in snap.open_orders] == [ASTER_DEMO_CLIENT_ID]
            assert [p.symbol for p in snap.positions] == ["SOLUSDT"]
    finally:
        hl.close()
        aster.close()
