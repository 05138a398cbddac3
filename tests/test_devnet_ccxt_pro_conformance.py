"""ccxt.pro's `hyperliquid` class: every watch method, and its websocket order actions, on a devnet.

Same oracle as test_devnet_ccxt_conformance.py, over the devnet's websocket: subscriptions,
snapshots, pushes and `post` actions as ccxt.pro parses them. The client is pinned to the
devnet's loopback URLs (REST and websocket); nothing reaches the internet.
"""

from __future__ import annotations

import asyncio

import pytest

ccxt = pytest.importorskip("ccxt")
ccxtpro = pytest.importorskip("ccxt.pro")

import eth_account  # noqa: E402

from perpcli.devnet.server import DevnetConfig, start_in_thread  # noqa: E402
from tests.support import register_secret  # noqa: E402

pytestmark = pytest.mark.timeout(120)

KEY = "0x" + "ae" * 32
MAKER_KEY = "0x" + "bf" * 32
register_secret(KEY)
register_secret(MAKER_KEY)
BTC, SOL = "BTC/USDC:USDC", "SOL/USDC:USDC"
WAIT = 10.0


@pytest.fixture(scope="module")
def devnet():
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, tick_interval=0.05))
    yield handle
    handle.stop()


async def _client(devnet, key: str):
    wallet = eth_account.Account.from_key(key)
    ex = ccxtpro.hyperliquid({"walletAddress": wallet.address, "privateKey": key, "enableRateLimit": False})
    ex.set_sandbox_mode(True)  # Testnet signing, as a default devnet verifies
    ws = devnet.url.replace("http://", "ws://") + "/ws"
    for side in ("api", "test"):
        ex.urls[side] = {"public": devnet.url, "private": devnet.url, "ws": {"public": ws}}
    fetch = ex.fetch

    async def loopback_only(target, *args, **kwargs):
        assert target.startswith(devnet.url), f"ccxt.pro tried to reach {target}"
        return await fetch(target, *args, **kwargs)

    ex.fetch = loopback_only
    await ex.fetch_balance()  # first look at itself: funded on an auto-funding devnet
    await ex.load_markets()
    return ex


async def _wait(coro):
    return await asyncio.wait_for(coro, WAIT)


async def test_public_watch_methods(devnet):
    ex = await _client(devnet, KEY)
    maker = await _client(devnet, MAKER_KEY)
    try:
        await maker.create_order(BTC, "limit", "buy", 0.01, 94_000)
        await maker.create_order(BTC, "limit", "sell", 0.01, 96_000)
        book = await _wait(ex.watch_order_book(BTC))
        assert book["bids"][0][0] == 94_000 and book["asks"][0][0] == 96_000
        await ex.un_watch_order_book(BTC)
        ticker = await _wait(ex.watch_ticker(BTC))
        assert ticker["symbol"] == BTC
        await ex.un_watch_ticker(BTC)
        tickers = await _wait(ex.watch_tickers([BTC, SOL]))
        assert set(tickers) <= {BTC, SOL} and tickers
        await ex.un_watch_tickers([BTC, SOL])
        trades_task = asyncio.ensure_future(ex.watch_trades(BTC))
        candles_task = asyncio.ensure_future(ex.watch_ohlcv(BTC, "1m"))
        await asyncio.sleep(0.3)
        await ex.create_order(BTC, "market", "buy", 0.001, 96_000)
        trades = await _wait(trades_task)
        assert trades[-1]["price"] == 96_000 and trades[-1]["symbol"] == BTC
        candles = await _wait(candles_task)
        assert candles[-1][4] == 96_000
        await ex.un_watch_trades(BTC)
        await ex.un_watch_ohlcv(BTC, "1m")
    finally:
        await ex.close()
        await maker.close()


async def test_private_watch_methods_and_ws_orders(devnet):
    ex = await _client(devnet, KEY)
    maker = await _client(devnet, MAKER_KEY)
    try:
        await maker.create_order(SOL, "limit", "sell", 5, 182)
        balance = await _wait(ex.watch_balance())
        assert balance["USDC"]["total"] is not None
        orders_task = asyncio.ensure_future(ex.watch_orders(SOL))
        await asyncio.sleep(0.3)
        placed = await _wait(ex.create_order_ws(SOL, "limit", "buy", 1, 170))
        orders = await _wait(orders_task)
        assert any(o["id"] == placed["id"] for o in orders)
        edited = await _wait(ex.edit_order_ws(placed["id"], SOL, "limit", "buy", 1, 171))
        await _wait(ex.cancel_order_ws(edited["id"], SOL))
        batch = await _wait(ex.create_orders_ws([
            {"symbol": SOL, "type": "limit", "side": "buy", "amount": 1, "price": 169},
            {"symbol": SOL, "type": "limit", "side": "buy", "amount": 1, "price": 168},
        ]))
        await _wait(ex.cancel_orders_ws([o["id"] for o in batch], SOL))
        fills_task = asyncio.ensure_future(ex.watch_my_trades(SOL))
        positions_task = asyncio.ensure_future(ex.watch_positions([SOL]))
        await asyncio.sleep(0.3)
        await ex.create_order(SOL, "market", "buy", 1, 182)
        fills = await _wait(fills_task)
        assert fills[-1]["symbol"] == SOL and fills[-1]["price"] == 182
        positions = await _wait(positions_task)
        assert any(p["symbol"] == SOL for p in positions)
        liquidations = asyncio.ensure_future(ex.watch_my_liquidations_for_symbols([SOL]))
        await asyncio.sleep(0.3)
        assert not liquidations.done()  # subscribed, and nobody was liquidated
        liquidations.cancel()
        await ex.un_watch_my_trades()  # ccxt: from all markets only
        await ex.un_watch_orders()
        await ex.un_watch_positions()
        # watch_balance and watch_positions share one clearinghouseState subscription, so the
        # second unwatch meets the venue's own answer to a double unsubscribe.
        with pytest.raises(ccxt.ExchangeError, match="Already unsubscribed"):
            await ex.un_watch_balance()
    finally:
        await ex.close()
        await maker.close()
