"""ccxt's `hyperliquid` class, unchanged, through its unified methods against a devnet.

ccxt is how many traders and bots reach the venue; its parsers read fields perpcli never
looks at, so a shape the devnet gets wrong fails here. It is a test-only oracle: perpcli never
imports it. The exchange object is pointed at the devnet's loopback URL only (the API host
is overridden before the first call), so nothing here reaches the internet. A call the real
venue would refuse too is asserted as refused, with the reason.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

ccxt = pytest.importorskip("ccxt")

import eth_account  # noqa: E402

from perpcli.devnet.server import DevnetConfig, start_in_thread  # noqa: E402
from tests.support import register_secret  # noqa: E402

pytestmark = pytest.mark.timeout(120)

KEY = "0x" + "8d" * 32
MAKER_KEY = "0x" + "9e" * 32
register_secret(KEY)
register_secret(MAKER_KEY)
BTC, ETH, SOL = "BTC/USDC:USDC", "ETH/USDC:USDC", "SOL/USDC:USDC"


def _exchange(url: str, key: str):
    """A ccxt hyperliquid client that can only talk to `url` (testnet signing, as the devnet)."""
    wallet = eth_account.Account.from_key(key)
    ex = ccxt.hyperliquid(
        {
            "walletAddress": wallet.address,
            "privateKey": key,
            "enableRateLimit": False,
            "timeout": 10_000,
            "options": {
                "fetchMarkets": {"types": ["spot", "swap", "hip3"], "hip3": {"limit": 10, "dexes": ["xyz"]}},
            },
        }
    )
    ex.set_sandbox_mode(True)  # sign for Testnet, as a default devnet verifies
    ex.urls["api"] = {"public": url, "private": url}
    ex.urls["test"] = {"public": url, "private": url}
    ex.hostname = "127.0.0.1"
    fetch = ex.fetch

    def loopback_only(target, *args, **kwargs):
        assert target.startswith(url), f"ccxt tried to reach {target}"
        return fetch(target, *args, **kwargs)

    ex.fetch = loopback_only
    return ex


@pytest.fixture(scope="module")
def devnet():
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, tick_interval=0.05))
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def ex(devnet):
    client = _exchange(devnet.url, KEY)
    client.fetch_balance()  # a wallet's first look at itself: the devnet funds it (auto-fund)
    client.load_markets()
    return client


@pytest.fixture(scope="module")
def maker(devnet, ex):
    """Resting liquidity on BTC and SOL from a second ccxt wallet."""
    client = _exchange(devnet.url, MAKER_KEY)
    client.fetch_balance()
    client.load_markets()
    for symbol, bid, ask, size in ((BTC, 94_000, 96_000, 0.05), (SOL, 178, 182, 20)):
        client.create_order(symbol, "limit", "buy", size, bid)
        client.create_order(symbol, "limit", "sell", size, ask)
    return client


def _refused(call, match: str) -> None:
    with pytest.raises(ccxt.BaseError) as err:
        call()
    assert match in str(err.value), err.value


# -- public ----------------------------------------------------------------------------------


def test_markets_and_currencies(ex):
    markets = ex.markets
    assert markets[BTC]["swap"] and markets[BTC]["precision"]["amount"] is not None
    assert any(m["spot"] for m in markets.values())
    assert any(s.startswith("XYZ-") or "xyz" in s.lower() for s in markets)  # the HIP-3 dex is listed
    assert "USDC" in ex.fetch_currencies()


def test_public_market_data(ex, maker):
    assert ex.fetch_time() > 0
    assert ex.fetch_status()["status"] == "ok"
    tickers = ex.fetch_tickers([BTC, ETH])
    assert tickers[BTC]["last"] is not None or tickers[BTC]["close"] is not None
    book = ex.fetch_order_book(BTC)
    assert book["bids"][0][0] == 94_000 and book["asks"][0][0] == 96_000
    assert ex.fetch_l2_order_book(SOL)["asks"][0] == [182.0, 20.0]
    assert isinstance(ex.fetch_trades(SOL), list)
    since = int(time.time() * 1000) - 3_600_000
    assert isinstance(ex.fetch_ohlcv(BTC, "1m", since=since), list)
    rate = ex.fetch_funding_rate(BTC)
    assert rate["symbol"] == BTC and rate["fundingRate"] is not None
    rates = ex.fetch_funding_rates([BTC, ETH])
    assert set(rates) == {BTC, ETH}
    assert isinstance(ex.fetch_funding_rate_history(BTC, since=since), list)
    assert ex.fetch_open_interest(BTC)["symbol"] == BTC
    assert BTC in ex.fetch_open_interests([BTC, ETH])


# -- account and trading ---------------------------------------------------------------------


def test_balance_fee_and_margin_settings(ex):
    balance = ex.fetch_balance()
    assert balance["USDC"]["total"] == 100_000
    assert ex.fetch_trading_fee(BTC)["taker"] is not None
    ex.set_margin_mode("isolated", ETH, {"leverage": 5})
    ex.set_leverage(7, ETH, {"marginMode": "cross"})
    spot = ex.fetch_balance({"type": "spot"})
    assert isinstance(spot["total"], dict)


def test_orders_lifecycle(ex, maker):
    order = ex.create_order(BTC, "limit", "buy", 0.001, 90_000)
    oid = order["id"]
    assert ex.fetch_order(oid, BTC)["status"] == "open"
    assert [o["id"] for o in ex.fetch_open_orders(BTC)] == [oid]
    edited = ex.edit_order(oid, BTC, "limit", "buy", 0.002, 90_500)
    assert edited["id"] and ex.fetch_order(edited["id"], BTC)["price"] == 90_500
    ex.cancel_order(edited["id"], BTC)
    assert ex.fetch_open_orders(BTC) == []
    batch = ex.create_orders(
        [
            {"symbol": BTC, "type": "limit", "side": "buy", "amount": 0.001, "price": 89_000},
            {"symbol": BTC, "type": "limit", "side": "buy", "amount": 0.001, "price": 89_100},
        ]
    )
    ids = [o["id"] for o in batch]
    ex.edit_orders([{"id": ids[0], "symbol": BTC, "type": "limit", "side": "buy", "amount": 0.001, "price": 89_200}])
    ex.cancel_orders([o["id"] for o in ex.fetch_open_orders(BTC)], BTC)
    ex.create_order(BTC, "limit", "buy", 0.001, 88_000)
    ex.cancel_orders_for_symbols([{"symbol": BTC, "id": ex.fetch_open_orders(BTC)[0]["id"]}])
    assert ex.fetch_open_orders(BTC) == []
    statuses = {o["status"] for o in ex.fetch_orders(BTC)}
    assert "canceled" in statuses
    assert all(o["status"] == "canceled" for o in ex.fetch_canceled_orders(BTC))
    assert isinstance(ex.fetch_closed_orders(BTC), list)
    assert isinstance(ex.fetch_canceled_and_closed_orders(BTC), list)


def test_market_orders_positions_and_margin(ex, maker):
    fill = ex.create_order(SOL, "market", "buy", 1, 181)
    assert fill["id"] and ex.fetch_order(fill["id"], SOL)["status"] == "closed"
    trades = ex.fetch_my_trades(SOL)
    assert trades and trades[-1]["symbol"] == SOL and trades[-1]["fee"]["cost"] is not None
    pos = ex.fetch_position(SOL)
    assert pos["contracts"] == 1 and pos["side"] == "long"
    assert any(p["symbol"] == SOL for p in ex.fetch_positions([SOL]))
    stop = ex.create_order(SOL, "market", "sell", 1, 150, {"stopLossPrice": 150, "reduceOnly": True})
    assert stop["id"]
    ex.cancel_order(stop["id"], SOL)
    ex.create_order(SOL, "limit", "sell", 1, 178, {"reduceOnly": True})
    assert ex.fetch_positions([SOL]) == [] or ex.fetch_position(SOL)["contracts"] in (0, None)
    assert isinstance(ex.fetch_my_liquidations(), list)


def test_isolated_margin_add_and_reduce(ex, maker):
    ex.set_margin_mode("isolated", SOL, {"leverage": 5})
    ex.create_order(SOL, "market", "buy", 1, 181)
    ex.add_margin(SOL, 5)
    ex.reduce_margin(SOL, 2)
    pos = ex.fetch_position(SOL)
    assert pos["marginMode"] == "isolated"
    ex.create_order(SOL, "market", "sell", 1, 178, {"reduceOnly": True})


def test_transfers_withdraw_and_history(ex):
    someone = "0x" + "3d" * 20
    ex.transfer("USDC", 10, "swap", "spot")
    ex.transfer("USDC", 4, "spot", "swap")
    ex.withdraw("USDC", 5, someone)
    since = int(time.time() * 1000) - 3_600_000
    ledger = ex.fetch_ledger(since=since)
    kinds = [(entry["type"], entry["amount"]) for entry in ledger]
    assert ("transfer", 10) in kinds and ("transfer", 4) in kinds and ("withdraw", 5) in kinds
    withdrawals = ex.fetch_withdrawals(since=since)
    assert withdrawals and withdrawals[-1]["amount"] == 5
    assert isinstance(ex.fetch_deposits(since=0), list)
    assert isinstance(ex.fetch_funding_history(SOL, since=since), list)
    assert ex.fetch_balance()["USDC"]["total"] < 100_000 - 5  # the withdrawal (and its fee) left


def test_builder_fee_is_approved_and_charged(ex, maker):
    """ccxt approves its builder before its first order and attaches it to every order: the
    devnet charges it on fills and shows builderFee, which ccxt adds into the fee it reports."""
    assert ex.options.get("approvedBuilderFee") is True
    ex.create_order(SOL, "market", "buy", 1, 182)
    raw = ex.fetch_my_trades(SOL)[-1]["info"]
    assert Decimal(raw["builderFee"]) > 0
    ex.create_order(SOL, "market", "sell", 1, 178, {"reduceOnly": True})


def test_cancel_all_orders_after_needs_traded_volume(ex):
    """Refused on the venue too: scheduleCancel needs $1,000,000 traded first."""
    _refused(lambda: ex.cancel_all_orders_after(60_000), "Cannot set scheduled cancel time until enough volume traded")


def test_order_helper_methods(ex, maker):
    """ccxt's createLimit/Market/ReduceOnly/Stop/Trigger and TP/SL helpers, each one order."""
    limit = ex.create_limit_order(BTC, "buy", 0.001, 91_000)
    ex.cancel_order(limit["id"], BTC)
    ex.create_market_order(SOL, "buy", 1, 182)
    stop = ex.create_stop_order(SOL, "market", "sell", 1, 170, 170, {"reduceOnly": True})
    trigger = ex.create_trigger_order(SOL, "market", "sell", 1, 171, 171, {"reduceOnly": True})
    ex.cancel_orders([stop["id"], trigger["id"]], SOL)
    ex.create_reduce_only_order(SOL, "limit", "sell", 1, 178)
    assert ex.fetch_positions([SOL]) == []
    bracket = ex.create_order_with_take_profit_and_stop_loss(SOL, "limit", "buy", 1, 182, 190, 170)
    assert bracket["id"]
    ex.create_order(SOL, "market", "sell", 1, 178, {"reduceOnly": True})
    open_ids = [o["id"] for o in ex.fetch_open_orders(SOL)]
    if open_ids:
        ex.cancel_orders(open_ids, SOL)
