"""Hyperliquid stream protocol (pure) and the live model under dropped connections (devnet)."""

from __future__ import annotations

import asyncio
import json
import secrets
from decimal import Decimal

import pytest

from perpcli.domain.events import BookSnapshot, Fill, MarkPrice
from perpcli.domain.orders import OrderIntent, OrderType, Side, TimeInForce
from perpcli.keys.nonces import NonceAllocator
from perpcli.keys.signer import Signer
from perpcli.net.stream import FrameKind, Resync, StreamSession, StreamSettings
from perpcli.venues.hyperliquid import stream as hl
from perpcli.venues.hyperliquid.adapter import HyperliquidMarketData, new_cloid
from perpcli.venues.hyperliquid.endpoints import endpoint
from perpcli.venues.live import LiveModel

# ----- pure protocol ---------------------------------------------------------------------------


def test_frames_out():
    p = hl.HyperliquidProtocol("devnet", "0xABC")
    sub = hl.book_subscription("BTC")
    assert json.loads(p.subscribe_frames(sub)[0]) == {"method": "subscribe",
                                                      "subscription": {"type": "l2Book", "coin": "BTC"}}
    assert json.loads(p.unsubscribe_frames(sub)[0])["method"] == "unsubscribe"
    assert json.loads(p.ping_frame()) == {"method": "ping"}
    assert sub.resync is Resync.NEXT_MESSAGE
    assert hl.fills_subscription("0xABC").key == ("userFills", "0xabc")
    assert hl.fills_subscription("0xABC").resync is Resync.RESUBSCRIBE


def test_frames_in():
    p = hl.HyperliquidProtocol("devnet", "0xabc")
    assert p.decode("Websocket connection established.")[0].kind is FrameKind.IGNORE
    assert p.decode('{"channel":"pong"}')[0].kind is FrameKind.PONG
    assert p.decode('{"channel":"subscriptionResponse","data":{}}')[0].kind is FrameKind.ACK
    err = p.decode('{"channel":"error","data":"Invalid subscription {\\"type\\":\\"l2Book\\",\\"coin\\":\\"X\\"}"}')[0]
    assert err.kind is FrameKind.ERROR and err.key == ("l2Book", "X")
    book = p.decode('{"channel":"l2Book","data":{"coin":"BTC","time":5,"levels":[[{"px":"100.0","sz":"1","n":1}],'
                    '[{"px":"101","sz":"2","n":1}]]}}')[0]
    assert book.kind is FrameKind.DATA and book.key == ("l2Book", "BTC")
    snap = book.events[0]
    assert isinstance(snap, BookSnapshot) and snap.bids == ((Decimal(100), Decimal(1)),) and snap.time_ms == 5
    fills = p.decode(json.dumps({"channel": "userFills", "data": {"user": "0xABC", "isSnapshot": True, "fills": [
        {"coin": "BTC", "px": "100", "sz": "1", "side": "B", "time": 1, "startPosition": "0", "dir": "Open Long",
         "closedPnl": "0", "hash": "0x", "oid": 9, "crossed": True, "fee": "0.1", "tid": 7, "feeToken": "USDC"}]}}))[0]
    assert fills.key == ("userFills", "0xabc") and isinstance(fills.events[0], Fill)
    assert p.decode('{"channel":"trades","data":[]}')[0].kind is FrameKind.IGNORE
    assert p.decode('{"channel":"somethingNew","data":{}}')[0].kind is FrameKind.IGNORE


def test_marks_in():
    p = hl.HyperliquidProtocol("devnet")
    sub = hl.HyperliquidFeed("ws://x", "devnet").marks("xyz:GOLD")
    assert json.loads(p.subscribe_frames(sub)[0])["subscription"] == {"type": "activeAssetCtx", "coin": "xyz:GOLD"}
    frame = p.decode(json.dumps({"channel": "activeAssetCtx", "data": {"coin": "xyz:GOLD", "ctx": {
        "markPx": "2031.5", "oraclePx": "2030", "midPx": "2031.6", "funding": "0.0000125", "openInterest": "7.5",
        "prevDayPx": "2000", "dayNtlVlm": "0", "premium": "0", "impactPxs": None, "dayBaseVlm": "0"}}}))[0]
    assert frame.kind is FrameKind.DATA and frame.key == sub.key
    (mark,) = frame.events
    assert isinstance(mark, MarkPrice) and (mark.venue, mark.symbol, mark.mark_price, mark.oracle_price) == (
        "devnet", "xyz:GOLD", Decimal("2031.5"), Decimal(2030))
    err = p.decode('{"channel":"error","data":"Invalid subscription {\\"type\\":\\"activeAssetCtx\\",'
                   '\\"coin\\":\\"NOPE\\"}"}')[0]
    assert err.kind is FrameKind.ERROR and err.key == ("activeAssetCtx", "NOPE")


def test_live_model_dedupes_fills():
    p = hl.HyperliquidProtocol("devnet", "0xabc")
    model = LiveModel()
    seen = []
    model._on_new = seen.append
    frame = json.dumps({"channel": "userFills", "data": {"user": "0xabc", "isSnapshot": True, "fills": [
        {"coin": "BTC", "px": "100", "sz": "1", "side": "B", "time": 1, "startPosition": "0", "dir": "x",
         "closedPnl": "0", "hash": "0x", "oid": 9, "crossed": True, "fee": "0.1", "tid": 7, "feeToken": "USDC"}]}})
    for _ in range(3):  # a snapshot re-delivered after each reconnect
        inbound = p.decode(frame)[0]
        model.apply(inbound.key, inbound.events)
    assert len(model.fills) == 1 and model.fill_deliveries == 3 and len(seen) == 1


# ----- live: the devnet drops every websocket every second while we trade ----------------------


@pytest.fixture
def quiet_devnet():
    from perpcli.devnet.server import start_in_thread

    h = start_in_thread(port=0, seed=5, market_interval=0)  # no synthetic flow: only our orders move the book
    yield h
    h.stop()


def _trader(url: str, key_hex: str, home) -> tuple:
    md = HyperliquidMarketData(endpoint(url, "testnet"), venue="devnet")
    signer = Signer.from_hex(key_hex)
    from tests.cli_devnet import control

    control(url, "fund", {"user": signer.address, "amount": "100000"})
    return md, md.trading(signer, nonces=NonceAllocator(signer.address, directory=home))


def _intent(side: Side, size: str, price: Decimal, *, market: bool = False) -> OrderIntent:
    return OrderIntent(venue="devnet", symbol="BTC", side=side, size=Decimal(size),
                       order_type=OrderType.MARKET if market else OrderType.LIMIT, price=price,
                       tif=TimeInForce.IOC if market else TimeInForce.GTC, cloid=new_cloid())


async def _until(pred, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.02)


def test_book_and_fills_survive_dropped_connections(quiet_devnet, tmp_path):
    from tests.cli_devnet import control

    url = quiet_devnet.url
    md, maker = _trader(url, "0x" + secrets.token_hex(32), tmp_path)
    _, taker = _trader(url, "0x" + secrets.token_hex(32), tmp_path)
    mark = md.mark_price("BTC").mark_price.quantize(Decimal(1))
    ladder = [_intent(Side.SELL, "0.01", mark + 10 * i) for i in range(1, 11)]
    ladder += [_intent(Side.BUY, "0.01", mark - 10 * i) for i in range(1, 11)]
    assert all(a.status.value == "resting" for a in maker.submit(ladder))

    model = LiveModel()
    book_key = hl.book_subscription("BTC").key
    model.book("devnet", "BTC", book_key)
    settings = StreamSettings(ping_interval=5, pong_timeout=3, stale_after=5)
    settings.backoff.base = 0.05
    settings.backoff.cap = 0.2

    async def scenario() -> None:
        ws = StreamSession(quiet_devnet.ws_url, hl.HyperliquidProtocol("devnet", taker.account_address), model,
                           settings=settings)
        await ws.subscribe(hl.book_subscription("BTC"))
        await ws.subscribe(hl.fills_subscription(taker.account_address))
        loop = asyncio.get_running_loop()
        async with ws:
            await ws.wait_connected(5)
            control(url, "faults", {"drop_ws_every": 1.0})
            checked = 0
            for i in range(4):
                side = Side.BUY if i % 2 == 0 else Side.SELL
                worst = mark * (Decimal("1.05") if side is Side.BUY else Decimal("0.95"))
                acks = await loop.run_in_executor(None, taker.submit, [_intent(side, "0.004", worst.quantize(1),
                                                                               market=True)])
                assert acks[0].status.value == "filled", acks
                before = ws.stats.connects
                await _until(lambda b=before: ws.stats.connects > b and model.usable(book_key), 10)
                rest = await loop.run_in_executor(None, md.book, "BTC", 20)
                live = model.books[book_key]
                bids, asks = live.top(20)
                assert (bids, asks) == (rest.bids, rest.asks), f"book differs after reconnect {ws.stats.connects}"
                checked += 1
            control(url, "faults", {"drop_ws_every": 0})
            want = {f.key for f in await loop.run_in_executor(None, taker.fills)}
            await _until(lambda: set(model.fills) >= want, 10)
            assert checked == 4 and ws.stats.connects >= 5

    asyncio.run(scenario())
    rest_fills = taker.fills()
    assert set(model.fills) == {f.key for f in rest_fills}  # every fill, exactly once
    assert len(model.fills) == len(rest_fills) >= 4
    assert model.fill_deliveries > len(model.fills)  # snapshots re-sent them; the model kept one each


# ----- tampered book frames: never data, always a resync -----------------------------------------


def _book_frame(bid_px: str, bid_sz: str = "1", ask_px: str = "101", t: int = 5) -> str:
    levels = [[{"px": bid_px, "sz": bid_sz, "n": 1}], [{"px": ask_px, "sz": "2", "n": 1}]]
    return json.dumps({"channel": "l2Book", "data": {"coin": "BTC", "time": t, "levels": levels}},
                      separators=(",", ":"))


def _book_session():
    model = LiveModel()
    sub = hl.book_subscription("BTC")
    model.book("devnet", "BTC", sub.key)
    session = StreamSession("ws://127.0.0.1:9/ws", hl.HyperliquidProtocol("devnet"), model, name="t")
    asyncio.run(session.subscribe(sub))
    session.handle_frame(_book_frame("100"))
    assert model.books[sub.key].is_usable
    return session, model, sub.key


@pytest.mark.parametrize(("px", "sz"), [("NaN", "1"), ("-100", "1"), ("100", "-1"), ("Infinity", "1"),
                                         ("1e3", "sNaN"), ("100", "-0.5e1")])
def test_non_finite_or_negative_level_prices_nothing(px, sz):
    """A frame with such a level makes the book MALFORMED when read (it prices nothing and
    keeps no tampered level, never raising out of its own checks); the next good frame, the
    whole book again, makes it usable."""
    from perpcli.ledger.book import ResyncReason

    session, model, key = _book_session()
    session.handle_frame(_book_frame(px, sz, t=6))
    book = model.books[key]
    assert not book.is_usable and book.resync_reason is ResyncReason.MALFORMED
    snapshot = book.to_snapshot()
    assert all(p.is_finite() and p >= 0 and s.is_finite() and s >= 0 for p, s in snapshot.bids + snapshot.asks)
    session.handle_frame(_book_frame("100", t=7))
    assert book.is_usable


def test_crossed_frame_makes_the_book_unusable_and_resyncs():
    session, model, key = _book_session()
    before = session.stats.resyncs
    session.handle_frame(_book_frame("102", t=6))
    assert not model.books[key].is_usable
    assert session.stats.resyncs == before + 1
