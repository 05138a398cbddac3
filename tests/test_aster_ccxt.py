"""Conformance: ccxt's own `aster` class (REST) and `ccxt.pro.aster` (websockets), pointed at
the devnet's Aster face and otherwise unchanged, work for what a trader's bot uses.

ccxt is an independent client of the real venue (a test-only oracle: perpcli never imports
it). Only configuration is set, as any ccxt user sets it: `urls['api']` (REST hosts -> the
face's `/aster/fapi` and `/aster/api`; websocket hosts -> `/aster/stream`, `/aster/ws`),
`v3ChainId` 714 (the devnet signs with testnet semantics), `defaultType` swap (Aster's perps),
and `builderFee` off (by default ccxt approves a fee to ccxt's own builder before the first
private call: perpcli never does, and the devnet has no builders). Where ccxt found the face
answering in another shape than the venue, the face was fixed, never this test.

Not covered: ccxt.pro's private streams. In ccxt 4.5.90, aster's watch_orders, watch_balance
and watch_my_trades refuse every call ("requires a market type": they test a variable they
never set) and watch_positions fails on the first ACCOUNT_UPDATE (handle_balance indexes a
balance cache only watch_balance creates) — against the real venue as much as here. The
face's user-data stream is tested directly in test_devnet_aster.py.
"""

from __future__ import annotations

import asyncio
import secrets
from decimal import Decimal

import ccxt
import ccxt.pro
import pytest

from perpcli.devnet.aster.markets import symbol_of
from tests.cli_devnet import devnet_fixture
from tests.support import register_secret

devnet = devnet_fixture(seed=23)

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
OPTIONS = {"builderFee": False, "v3ChainId": 714, "defaultType": "swap"}


def rest_urls(url: str) -> dict[str, str]:
    base = url + "/aster"
    return {"fapiPublic": base + "/fapi", "fapiPrivate": base + "/fapi",
            "sapiPublic": base + "/api", "sapiPrivate": base + "/api"}


def new_exchange(url: str, key: str | None = None) -> ccxt.aster:
    config = {"options": dict(OPTIONS), "timeout": 10_000}
    if key is not None:
        config["privateKey"] = key
    ex = ccxt.aster(config)
    ex.urls["api"] = rest_urls(url)
    return ex


@pytest.fixture(scope="module")
def trader(devnet) -> ccxt.aster:
    key = "0x" + secrets.token_hex(32)
    register_secret(key)
    ex = new_exchange(devnet.url, key)
    ex.load_markets()
    return ex


def test_markets_as_ccxt_parses_them(devnet):
    ex = new_exchange(devnet.url)
    markets = ex.load_markets()
    assert {BTC, ETH, "SOL/USDT:USDT", "1000PEPE/USDT:USDT"} <= set(markets)
    assert all(m["swap"] and m["linear"] and m["settle"] == "USDT" for m in markets.values())
    btc = markets[BTC]
    assert btc["id"] == "BTCUSDT" and btc["contract"] and btc["contractSize"] == 1
    assert btc["precision"]["amount"] == 0.00001  # LOT_SIZE stepSize (the engine's 5 size decimals)
    assert btc["limits"]["cost"]["min"] == 10  # MIN_NOTIONAL
    assert btc["limits"]["leverage"]["max"] is None or btc["limits"]["leverage"]["max"] >= 1


def test_public_market_data(devnet):
    ex = new_exchange(devnet.url)
    ticker = ex.fetch_ticker(BTC)
    assert ticker["symbol"] == BTC and ticker["last"] > 0 and ticker["high"] >= ticker["low"] > 0
    tickers = ex.fetch_tickers()
    assert {BTC, ETH} <= set(tickers) and all(t["last"] > 0 for t in tickers.values())

    book = ex.fetch_order_book(BTC, 20)
    assert book["symbol"] == BTC and 0 < len(book["bids"]) <= 20 and book["timestamp"] > 0
    assert book["bids"][0][0] < book["asks"][0][0]
    assert book["bids"] == sorted(book["bids"], reverse=True) and book["asks"] == sorted(book["asks"])

    trades = ex.fetch_trades(BTC, limit=50)
    assert trades and all(t["symbol"] == BTC and t["side"] in ("buy", "sell") and t["amount"] > 0 for t in trades)
    assert [t["timestamp"] for t in trades] == sorted(t["timestamp"] for t in trades)

    candles = ex.fetch_ohlcv(BTC, "1m", limit=30)
    assert 0 < len(candles) <= 30
    for t, o, h, low, c, v in candles:
        assert t % 60_000 == 0 and low <= min(o, c) <= max(o, c) <= h and v >= 0

    rate = ex.fetch_funding_rate(BTC)
    assert rate["symbol"] == BTC and rate["markPrice"] > 0 and rate["indexPrice"] > 0
    assert rate["fundingRate"] is not None and rate["nextFundingTimestamp"] > rate["timestamp"]
    rates = ex.fetch_funding_rates()
    assert {BTC, ETH} <= set(rates)
    history = ex.fetch_funding_rate_history(BTC, limit=5)
    assert len(history) == 5 and all(h["symbol"] == BTC and h["fundingRate"] is not None for h in history)
    assert ex.fetch_funding_intervals([BTC])[BTC]["interval"] == "1h"  # the devnet funds hourly


def test_balance_leverage_and_margin_mode(trader):
    balance = trader.fetch_balance()
    assert balance["USDT"]["total"] == 100_000 and balance["USDT"]["free"] == 100_000  # a fresh key, funded
    answer = trader.set_leverage(10, BTC)
    assert answer["leverage"] == 10 and answer["symbol"] == "BTCUSDT"
    assert answer["maxNotionalValue"] == "1000000"  # the brackets allow 10x up to 1M
    assert trader.set_margin_mode("isolated", ETH)["code"] == 200
    assert trader.fetch_margin_modes([ETH])[ETH]["marginMode"] == "isolated"
    with pytest.raises(ccxt.ExchangeError, match="-4046"):  # already isolated: the venue's refusal
        trader.set_margin_mode("isolated", ETH)
    assert trader.set_margin_mode("cross", ETH)["code"] == 200
    with pytest.raises(ccxt.BadRequest):
        trader.set_leverage(41, BTC)  # beyond the market's first bracket


def test_orders_lifecycle(trader):
    bid = trader.fetch_order_book(BTC, 5)["bids"][0][0]
    price = float(trader.price_to_precision(BTC, bid * 0.9))
    resting = trader.create_order(BTC, "limit", "buy", 0.001, price, {"clientOrderId": "ccxt-rest-1"})
    assert resting["status"] == "open" and resting["clientOrderId"] == "ccxt-rest-1"
    assert resting["price"] == price and resting["amount"] == 0.001 and resting["filled"] == 0
    assert [o["id"] for o in trader.fetch_open_orders(BTC)] == [resting["id"]]

    lower = float(trader.price_to_precision(BTC, bid * 0.85))
    edited = trader.edit_order(resting["id"], BTC, "limit", "buy", 0.002, lower)  # ccxt: cancel, then place
    assert edited["status"] == "open" and edited["price"] == lower and edited["amount"] == 0.002
    assert trader.fetch_order(resting["id"], BTC)["status"] == "canceled"
    assert [o["id"] for o in trader.fetch_open_orders(BTC)] == [edited["id"]]
    canceled = trader.cancel_order(edited["id"], BTC)
    assert canceled["status"] == "canceled"
    assert trader.fetch_open_orders(BTC) == []
    with pytest.raises(ccxt.OrderNotFound):
        trader.cancel_order(edited["id"], BTC)

    bought = trader.create_order(BTC, "market", "buy", 0.01)
    assert bought["status"] == "closed" and bought["filled"] == 0.01 and bought["average"] > 0
    reduced = trader.create_order(BTC, "market", "sell", 0.004, None, {"reduceOnly": True})
    assert reduced["status"] == "closed" and reduced["reduceOnly"] is True and reduced["filled"] == 0.004
    with pytest.raises(ccxt.ExchangeError, match="-2022"):  # reduce-only that would grow the long
        trader.create_order(BTC, "market", "buy", 0.001, None, {"reduceOnly": True})

    stop_px = float(trader.price_to_precision(BTC, bid * 0.8))
    stop = trader.create_order(BTC, "market", "sell", 0.006, None, {"stopPrice": stop_px, "reduceOnly": True})
    assert stop["status"] == "open" and stop["triggerPrice"] == stop_px and stop["reduceOnly"] is True
    assert stop["info"]["type"] == "STOP_MARKET"
    limit_stop = trader.create_order(BTC, "limit", "sell", 0.006, float(trader.price_to_precision(BTC, bid * 0.79)),
                                     {"triggerPrice": stop_px, "reduceOnly": True})
    assert limit_stop["info"]["type"] == "STOP" and limit_stop["triggerPrice"] == stop_px
    assert {o["id"] for o in trader.fetch_open_orders(BTC)} == {stop["id"], limit_stop["id"]}
    trader.cancel_order(limit_stop["id"], BTC)

    mine = trader.fetch_my_trades(BTC)
    assert {t["order"] for t in mine} >= {bought["id"], reduced["id"]}
    assert all(t["fee"]["currency"] == "USDT" and t["fee"]["cost"] > 0 for t in mine)
    assert sum(t["amount"] for t in mine if t["order"] == bought["id"]) == pytest.approx(0.01)

    (position,) = trader.fetch_positions([BTC])
    assert position["side"] == "long" and position["contracts"] == pytest.approx(0.006)
    assert position["marginMode"] == "cross" and position["leverage"] == 10
    assert position["maintenanceMarginPercentage"] == 0.0125  # the first bracket, from leverageBracket


def test_batch_orders_and_cancel_all(trader):
    bid = trader.fetch_order_book(ETH, 5)["bids"][0][0]
    prices = [float(trader.price_to_precision(ETH, bid * f)) for f in (0.9, 0.91)]
    placed = trader.create_orders([{"symbol": ETH, "type": "limit", "side": "buy", "amount": 0.01, "price": p}
                                   for p in prices])
    assert [o["status"] for o in placed] == ["open", "open"] and [o["price"] for o in placed] == prices
    assert {o["id"] for o in trader.fetch_open_orders(ETH)} == {o["id"] for o in placed}
    trader.cancel_all_orders(ETH)
    assert trader.fetch_open_orders(ETH) == []
    assert {trader.fetch_order(o["id"], ETH)["status"] for o in placed} == {"canceled"}


def test_position_past_the_first_bracket(trader):
    """ccxt reads the face's brackets: an isolated position above 50k takes the second
    bracket's rate, and ccxt reports the face's liquidation price (computed there from the same
    brackets)."""
    trader.cancel_all_orders(BTC)
    for held in trader.fetch_positions([BTC]):
        trader.create_order(BTC, "market", "sell" if held["side"] == "long" else "buy", held["contracts"], None,
                            {"reduceOnly": True})
    trader.set_margin_mode("isolated", BTC)
    trader.create_order(BTC, "market", "buy", 0.7)  # ~66k notional at 10x
    (position,) = trader.fetch_positions([BTC])
    assert position["marginMode"] == "isolated" and position["notional"] > 50_000
    assert position["maintenanceMarginPercentage"] == 0.025
    # isolated: the liquidation price depends on the position's own wallet, not the mark
    raw = trader.fapiPrivateGetV3PositionRisk({"symbol": "BTCUSDT"})[0]
    liq = Decimal(raw["liquidationPrice"])
    assert Decimal(str(position["liquidationPrice"])) == liq
    entry = Decimal(str(position["entryPrice"]))
    assert entry * Decimal("0.85") < liq < entry * Decimal("0.95")  # ~10% margin, 2.5% kept
    assert position["collateral"] == float(position["info"]["isolatedMargin"])
    trader.create_order(BTC, "market", "sell", position["contracts"], None, {"reduceOnly": True})
    assert trader.fetch_positions([BTC]) == []
    trader.set_margin_mode("cross", BTC)


def test_pro_websockets_watch_book_trades_ticker(devnet):
    """ccxt.pro's aster: partial-book (`@depth20`), aggTrade and 24h-ticker streams on the
    face's combined-stream endpoint."""
    ws_base = devnet.url.replace("http://", "ws://") + "/aster"

    async def session():
        ex = ccxt.pro.aster({"options": dict(OPTIONS)})
        ex.urls["api"] = {**rest_urls(devnet.url),
                          "ws": {"public": {"swap": ws_base + "/stream", "spot": ws_base + "/stream"},
                                 "private": {"swap": ws_base + "/ws", "spot": ws_base + "/ws"}}}
        try:
            book = await asyncio.wait_for(ex.watch_order_book(BTC), 10)
            assert book["symbol"] == BTC and 0 < len(book["bids"]) <= 20 and 0 < len(book["asks"]) <= 20
            assert book["bids"][0][0] < book["asks"][0][0]
            book = await asyncio.wait_for(ex.watch_order_book(BTC), 10)  # and it keeps coming
            assert book["bids"][0][0] < book["asks"][0][0]
            trades = await asyncio.wait_for(ex.watch_trades(BTC), 10)
            assert trades and all(t["symbol"] == BTC and t["price"] > 0 for t in trades)
            ticker = await asyncio.wait_for(ex.watch_ticker(ETH), 10)
            assert ticker["symbol"] == ETH and ticker["last"] > 0
        finally:
            await ex.close()

    asyncio.run(session())


def test_face_symbol_names_match_ccxt_ids(devnet):
    ex = new_exchange(devnet.url)
    ex.load_markets()
    assert ex.market_id(BTC) == symbol_of("BTC") and ex.market_id("1000PEPE/USDT:USDT") == symbol_of("kPEPE")

