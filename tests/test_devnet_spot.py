"""Spot trading on the devnet (devnet/spot.py): books, matching, balances moving on fills with
fees in the received token, holds, mids, and the spot websocket channels."""

from __future__ import annotations

import queue
from decimal import Decimal as D

import pytest

from perpcli.devnet.engine import ActionError, Engine
from perpcli.devnet.market import SyntheticMarket
from perpcli.devnet.records import Filled, OrderError, OrderSpec, Resting
from perpcli.devnet.server import DevnetConfig, start_in_thread
from tests.devnet_helpers import Http
from tests.support import register_secret

T0 = 1_700_000_000_000
A = "0x" + "a" * 40
B = "0x" + "b" * 40
PURR = 10000  # PURR/USDC
HYPE = 10001  # "@1"


def _engine() -> Engine:
    e = Engine(start_ms=T0)
    e.fund_spot(A, "PURR", D(1000), T0)
    e.fund_spot(B, "USDC", D(500), T0)
    return e


def _bal(e: Engine, user: str) -> dict[str, tuple[D, D]]:
    return {b.coin: (b.total, b.hold) for b in e.spot_balances(user)}


def _place(e: Engine, user: str, asset: int, is_buy: bool, px: str, sz: str, tif: str = "Gtc", t: int = T0):
    return e.place_orders(user, [OrderSpec(asset, is_buy, D(px), D(sz), False, tif)], "na", t)[0]


def test_a_spot_fill_moves_tokens_and_charges_fees_in_what_is_received():
    e = _engine()
    assert isinstance(_place(e, A, PURR, False, "0.2", "300"), Resting)
    assert _bal(e, A)["PURR"] == (D(1000), D(300))  # the ask holds its base
    res = _place(e, B, PURR, True, "0.2", "100", "Ioc", T0 + 1)
    assert res == Filled(D(100), D("0.2"), res.oid, None)
    # buyer: +100 PURR - 0.07% taker fee in PURR, -20 USDC; seller: +20 USDC - 0.04% maker fee in USDC
    assert _bal(e, B) == {"USDC": (D(480), 0), "PURR": (D("99.93"), 0)}
    assert _bal(e, A) == {"USDC": (D("19.992"), 0), "PURR": (D(900), D(200))}
    buy, sell = e.user_fills(B)[0], e.user_fills(A)[0]
    assert (buy.coin, buy.dir, buy.fee_token, buy.fee, buy.crossed) == ("PURR/USDC", "Buy", "PURR", D("0.07"), True)
    assert (sell.dir, sell.fee_token, sell.fee, sell.crossed) == ("Sell", "USDC", D("0.008"), False)
    assert e.all_mids()["PURR/USDC"] == D("0.2")  # one side empty: the last trade
    assert e.recent_trades("PURR/USDC")[0].px == D("0.2")
    assert e.candles("PURR/USDC", "1m", T0, T0 + 60_000)[0].v == D(100)
    assert e.position(B, "PURR/USDC") == 0  # spot leaves no perp position


def test_what_open_orders_hold_cannot_be_traded_or_sent_twice():
    e = _engine()
    _place(e, B, PURR, True, "0.25", "1600")  # holds 400 of 500 USDC
    assert _bal(e, B)["USDC"] == (D(500), D(400))
    refused = _place(e, B, PURR, True, "0.25", "600", t=T0 + 1)
    assert refused == OrderError("Insufficient spot balance asset=10000")
    assert e.historical_orders(B)[0].status == "insufficientSpotBalanceRejected"
    with pytest.raises(ActionError, match="Insufficient balance"):
        e.spot_send(B, A, "USDC", D(150), T0 + 2)
    with pytest.raises(ActionError, match="Insufficient balance"):
        e.usd_class_transfer(B, D(150), True, T0 + 2)
    oid = e.open_orders(B)[0].oid
    assert e.cancel(B, [(PURR, oid)], T0 + 3) == ["success"]
    assert _bal(e, B)["USDC"] == (D(500), 0)
    e.spot_send(B, A, "USDC", D(150), T0 + 4)


def test_spot_orders_follow_the_spot_rules():
    e = _engine()
    # PURR has szDecimals 0: sizes are whole, prices have 5 significant figures and up to 8 decimals
    assert _place(e, A, PURR, False, "0.21", "1.5") == OrderError("Order has invalid size.")
    assert isinstance(_place(e, A, PURR, False, "0.20001", "60"), Resting)
    assert isinstance(_place(e, A, PURR, False, "0.200011", "60"), OrderError)
    assert _place(e, A, PURR, False, "0.2", "10") == OrderError("Order must have minimum value of $10.")
    assert isinstance(_place(e, A, PURR, False, "0.5", "100"), OrderError)  # beyond the price band
    assert _place(e, B, 10007, True, "1", "20") == OrderError("Invalid asset.")
    alo = _place(e, B, PURR, True, "0.20001", "100", "Alo")  # would take A's ask
    assert isinstance(alo, OrderError) and alo.error.startswith("Post only order would have immediately matched")
    # the same user's resting ask is cancelled, not traded against, by its own bid
    e.fund_spot(A, "USDC", D(100), T0)
    ask_oid = e.open_orders(A)[0].oid
    res = _place(e, A, PURR, True, "0.20001", "60", "Ioc", T0 + 1)
    assert isinstance(res, OrderError)
    assert e.order_status(A, ask_oid).status == "selfTradeCanceled"
    assert _bal(e, A)["PURR"] == (D(1000), 0)


def test_spot_books_survive_save_and_load():
    e = _engine()
    _place(e, A, PURR, False, "0.2", "300")
    again = Engine.from_json(e.to_json())
    assert again.to_json() == e.to_json()
    assert again.spot_balances(A) == e.spot_balances(A)
    assert isinstance(_place(again, B, PURR, True, "0.2", "50", "Ioc", T0 + 1), Filled)


def test_the_synthetic_market_quotes_and_trades_spot_pairs():
    e = Engine(start_ms=T0)
    market = SyntheticMarket(e, seed=2)
    for i in range(60):
        market.step(T0 + i * 500)
    for coin in ("PURR/USDC", "@1"):
        book = e.l2_book(coin)
        assert book.bids and book.asks and book.bids[0].px < book.asks[0].px
        assert e.recent_trades(coin)
    # the perps' flow is unchanged by the spot pairs (their own random generator)
    solo = Engine(start_ms=T0)
    perps_only = SyntheticMarket(solo, seed=2, coins=[m.name for m in solo.markets.perps])
    for i in range(60):
        perps_only.step(T0 + i * 500)
    assert [t.px for t in solo.recent_trades("BTC")] == [t.px for t in e.recent_trades("BTC")]


@pytest.fixture(scope="module")
def devnet():
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, tick_interval=0.05))
    yield handle
    handle.stop()


def test_official_sdk_trades_spot_and_reads_it(devnet):
    pytest.importorskip("hyperliquid")
    import eth_account
    from hyperliquid.exchange import Exchange
    from hyperliquid.info import Info

    maker_key, taker_key = "0x" + "3c" * 32, "0x" + "4d" * 32
    register_secret(maker_key)
    register_secret(taker_key)
    maker_w, taker_w = eth_account.Account.from_key(maker_key), eth_account.Account.from_key(taker_key)
    devnet.call(devnet.devnet.engine.fund_spot, maker_w.address.lower(), "HYPE", D(50), devnet.devnet.engine.now_ms)
    http = Http(devnet.url)
    http.control("fund", {"user": taker_w.address.lower(), "amount": "10000"})
    info = Info(devnet.url, skip_ws=False)
    try:
        got: queue.Queue = queue.Queue()
        info.subscribe({"type": "l2Book", "coin": "@1"}, lambda m: got.put(("book", m)))
        info.subscribe({"type": "activeAssetCtx", "coin": "@1"}, lambda m: got.put(("ctx", m)))
        maker, taker = Exchange(maker_w, devnet.url), Exchange(taker_w, devnet.url)
        assert taker.usd_class_transfer(1000, False)["status"] == "ok"  # perp -> spot USDC
        rest = maker.order("@1", False, 10, 38.5, {"limit": {"tif": "Gtc"}})
        assert "resting" in rest["response"]["data"]["statuses"][0], rest
        fill = taker.order("@1", True, 4, 39.0, {"limit": {"tif": "Ioc"}})
        assert fill["response"]["data"]["statuses"][0]["filled"]["avgPx"] == "38.5", fill
        spot = info.spot_user_state(taker_w.address)
        balances = {b["coin"]: b for b in spot["balances"]}
        assert D(balances["HYPE"]["total"]) == D(4) - D(4) * D("0.0007")
        assert D(balances["USDC"]["total"]) == D(1000) - D(154)
        maker_spot = {b["coin"]: b for b in info.spot_user_state(maker_w.address)["balances"]}
        assert maker_spot["HYPE"]["hold"] == "6.0"
        assert info.all_mids()["@1"] == "38.5"
        assert [o["coin"] for o in info.open_orders(maker_w.address)] == ["@1"]
        fills = info.user_fills(taker_w.address)
        assert fills[0]["coin"] == "@1" and fills[0]["dir"] == "Buy" and fills[0]["feeToken"] == "HYPE"
        ctxs = info.spot_meta_and_asset_ctxs()[1]
        hype = next(c for c in ctxs if c["coin"] == "@1")
        assert hype["markPx"] == "38.5" and hype["dayNtlVlm"] == "154.0"
        seen = {}
        while len(seen) < 2:
            kind, msg = got.get(timeout=5)
            seen[kind] = msg
        assert seen["book"]["channel"] == "l2Book" and seen["book"]["data"]["coin"] == "@1"
        assert seen["ctx"]["channel"] == "activeSpotAssetCtx" and seen["ctx"]["data"]["coin"] == "@1"
        assert set(seen["ctx"]["data"]["ctx"]) >= {"markPx", "midPx", "prevDayPx", "dayNtlVlm", "circulatingSupply"}
    finally:
        info.disconnect_websocket()
        http.close()
