"""The venue protocol, checked against every adapter that can run offline (today: the devnet,
through the Hyperliquid adapter). A new adapter joins by adding a fixture entry."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from perpcli.domain.events import BookSnapshot, Fill, OrderUpdate
from perpcli.domain.instrument import Instrument
from perpcli.domain.orders import OrderIntent, OrderType, Side, TimeInForce
from perpcli.keys.nonces import NonceAllocator
from perpcli.keys.signer import Signer
from perpcli.venues import registry
from perpcli.venues.base import AckStatus, CancelTarget, MarketData, Trading
from perpcli.venues.capabilities import Capabilities
from tests.cli_devnet import new_key, wait_for_books


@pytest.fixture(scope="module", params=["devnet"])
def venue(request):
    from perpcli.devnet.server import start_in_thread

    h = start_in_thread(port=0, seed=21, market_interval=0.2)
    wait_for_books(h.url)
    cfg = registry.get_entry(request.param).config(url=h.url)
    md = registry.open_venue(cfg)
    yield h, md
    md.close()
    h.stop()


def test_market_data_side(venue):
    _, md = venue
    assert isinstance(md, MarketData)
    assert isinstance(md.capabilities, Capabilities)
    insts = md.instruments()
    assert insts and all(isinstance(i, Instrument) for i in insts)
    btc = md.instrument("BTC")
    mids = md.mids(["BTC"])
    assert mids["BTC"] > 0
    book = md.book("BTC", 5)
    assert isinstance(book, BookSnapshot) and book.bids[0][0] < book.asks[0][0] and len(book.bids) <= 5
    assert isinstance(md.recent_trades("BTC"), list)
    now = int(time.time() * 1000)
    assert isinstance(md.candles("BTC", "1m", now - 600_000, now), list)
    assert [r.symbol for r in md.funding(["BTC"])] == [btc.symbol]


def test_book_stream_yields_snapshots(venue):
    _, md = venue

    async def first_book():
        stream = md.stream_book("BTC")
        try:
            async for event in stream:
                if isinstance(event, BookSnapshot):
                    return event
        finally:
            await stream.aclose()

    snap = asyncio.run(asyncio.wait_for(first_book(), 15))
    assert snap.symbol == "BTC" and snap.bids and snap.asks


def test_trading_side_and_account_stream(venue, tmp_path):
    h, md = venue
    key, addr = new_key(h.url)
    signer = Signer.from_hex(key)
    t = md.trading(signer, nonces=NonceAllocator(signer.address, directory=tmp_path))
    assert isinstance(t, Trading)
    assert t.resolve_account().role == "user" and t.account_address == addr and t.signer_address == addr
    assert t.account().account_value == Decimal(10000)
    mid = md.mids(["ETH"])["ETH"]
    limit = OrderIntent(venue=md.venue, symbol="ETH", side=Side.BUY, size=Decimal("0.01"),
                        price=(mid * Decimal("0.97")).quantize(Decimal(1)), tif=TimeInForce.GTC,
                        cloid="0x" + "77" * 16)

    async def run():
        stream = t.stream_account()
        events = []

        async def consume():
            async for ev in stream:
                events.append(ev)
                if any(isinstance(e, Fill) for e in events) and any(isinstance(e, OrderUpdate) for e in events):
                    return

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.5)  # subscribed
        loop = asyncio.get_running_loop()
        ack = (await loop.run_in_executor(None, t.submit, [limit]))[0]
        assert ack.status is AckStatus.RESTING
        assert (await loop.run_in_executor(None, lambda: t.order_status(cloid=limit.cloid))).oid == ack.oid
        market = OrderIntent(venue=md.venue, symbol="ETH", side=Side.BUY, size=Decimal("0.01"),
                             order_type=OrderType.MARKET, price=(mid * Decimal("1.03")).quantize(Decimal(1)),
                             tif=TimeInForce.IOC, cloid="0x" + "78" * 16)
        filled = (await loop.run_in_executor(None, t.submit, [market]))[0]
        assert filled.status is AckStatus.FILLED
        await asyncio.wait_for(task, 15)
        await stream.aclose()
        return ack, events

    ack, events = asyncio.run(run())
    assert any(isinstance(e, OrderUpdate) and e.order.cloid == "0x" + "77" * 16 for e in events)
    assert t.cancel(CancelTarget("ETH", oid=ack.oid)).ok
    assert t.set_leverage("ETH", 3, cross=True).ok
    assert t.transfer("usd_class", Decimal(1), to_perp=False).ok
