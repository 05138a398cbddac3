"""The Aster adapter's keyless side and its REST client, against a scripted loopback server.

There is no offline Aster face to run tests/test_venue_contract.py against yet (the devnet's
Aster face is future work), so the adapter is checked here on the recorded shapes: what it
asks for (paths, parameters), what it makes of the answers, and how it treats weights, 429,
418, 5xx and unanswered signed requests.
"""

from __future__ import annotations

import json
import socket
from decimal import Decimal

import pytest

from perpcli.domain.errors import (
    ErrorKind,
    NetworkError,
    RateLimited,
    UsageError,
    ValidationError,
    VenueRejected,
)
from perpcli.domain.orders import Side
from perpcli.venues import registry
from perpcli.venues.aster.adapter import AsterMarketData, new_client_id
from perpcli.venues.aster.rest import AsterRest, SentNoAnswer
from perpcli.venues.base import MarketData
from tests.aster_loopback import ScriptedAster
from tests.support import invoke

D = Decimal


@pytest.fixture
def aster():
    with ScriptedAster() as server:
        yield server


def market(server: ScriptedAster) -> AsterMarketData:
    return AsterMarketData(server.url, venue="aster-devnet", network="testnet",
                           rest=AsterRest(server.url, sleep=lambda s: None))


def test_the_registry_opens_aster_as_market_data(aster):
    entry = registry.get_entry("aster-devnet")
    md = registry.open_venue(entry.config(url=aster.url, network="testnet"))
    assert isinstance(md, MarketData) and md.network == "testnet"
    assert md.capabilities.name == "aster-devnet" and md.capabilities.book_stream == "diff"
    assert md.offline().network == "testnet"
    md.close()


def test_instruments_once_per_process_and_lookup(aster):
    md = market(aster)
    assert [i.symbol for i in md.instruments()] == ["BTCUSDT", "ETHUSDT"]  # SETTLING is not listed
    assert md.instrument("BTC").symbol == "BTCUSDT" and md.instrument("ethusdt").symbol == "ETHUSDT"
    with pytest.raises(ValidationError) as e:
        md.instrument("OLDUSDT")
    assert e.value.rule == "market-closed"
    with pytest.raises(ValidationError) as e:
        md.instrument("NOPE")
    assert e.value.rule == "unknown-market"
    assert sum(1 for s in aster.seen if s[1] == "/fapi/v3/exchangeInfo") == 1


def test_prices(aster):
    md = market(aster)
    assert md.mids() == {"BTCUSDT": D("60000.1"), "ETHUSDT": D("3000.05")}
    assert md.mids(["BTC", "ETH"]) == {"BTCUSDT": D("60000.1"), "ETHUSDT": D("3000.05")}
    marks = {m.symbol: m for m in md.mark_prices()}
    assert marks["BTCUSDT"].mark_price == D("60000.5") and marks["BTCUSDT"].oracle_price == D("60001.0")
    assert md.reference_prices("BTC") == (D("60000.1"), D("60000.5"))


def test_single_market_reads_ask_for_that_symbol(aster):
    md = market(aster)
    aster.routes["/fapi/v3/ticker/bookTicker"] = (200, {"symbol": "ETHUSDT", "bidPrice": "1", "bidQty": "1",
                                                        "askPrice": "3", "askQty": "1"}, {})
    assert md.mids(["ETH"]) == {"ETHUSDT": D(2)}
    assert ("GET", "/fapi/v3/ticker/bookTicker", "symbol=ETHUSDT", None) in aster.seen


def test_book_trades_candles_funding(aster):
    md = market(aster)
    snap = md.book("BTC", depth=2)
    assert snap.sequence == 1027024 and len(snap.bids) == 2 and snap.asks[0] == (D("60000.2"), D("2"))
    assert ("GET", "/fapi/v3/depth", "symbol=BTCUSDT&limit=5", None) in aster.seen  # the next allowed limit
    trades = md.recent_trades("BTC")
    assert [t.side for t in trades] == [Side.SELL, Side.BUY] and trades[1].size == D("0.020")
    (c,) = md.candles("BTC", "1m", 1499040000000, 1499040059999)
    assert c.close == D("60005.0") and c.trades == 42
    with pytest.raises(UsageError):
        md.candles("BTC", "7m", 0, 1)
    rates = {r.symbol: r for r in md.funding()}
    assert rates["ETHUSDT"].interval_hours == 4 and rates["BTCUSDT"].interval_hours == 8
    assert rates["BTCUSDT"].next_time_ms == 1750147200000


def test_margin_rules_and_fees_from_exchange_info(aster):
    md = market(aster)
    btc = md.instrument("BTC")
    rules = md.margin_rules(btc)
    assert rules.max_leverage(D(1000)) == 125 == btc.max_leverage
    assert rules.brackets[0].mmr == D("0.004")
    fees = md.default_fees()
    assert (fees.maker, fees.taker, fees.source) == (D("0.0001"), D("0.00035"), "public schedule")


def test_client_ids_and_addresses(aster):
    md = market(aster)
    cid = new_client_id()
    assert md.check_client_id(cid) == cid and len(cid) <= 36 and cid != new_client_id()
    for bad in ("", "x" * 37, "has space", "ü"):
        with pytest.raises(ValidationError):
            md.check_client_id(bad)
    assert md.check_address("0x21cF8Ae13Bb72632562c6Fff438652Ba1a151bb0") == "0x21cf8ae13bb72632562c6fff438652ba1a151bb0"
    with pytest.raises(ValidationError):
        md.check_address("0x1234")


# --- the REST client ---------------------------------------------------------------------------


def test_public_reads_retry_5xx_and_429_then_succeed(aster):
    slept = []
    rest = AsterRest(aster.url, sleep=slept.append)
    aster.routes["/fapi/v3/ping"] = [(502, b"bad gateway", {}), (429, {"code": -1003, "msg": "slow down"},
                                                                     {"Retry-After": "3"}), (200, {}, {})]
    assert rest.public("/fapi/v3/ping") == {}
    assert [s[1] for s in aster.seen] == ["/fapi/v3/ping"] * 3
    assert 3.0 in slept


def test_weight_headers_are_tracked_and_paced(aster):
    slept = []
    now = [100.0]
    rest = AsterRest(aster.url, sleep=slept.append, clock=lambda: now[0])
    aster.routes["/fapi/v3/ping"] = (200, {}, {"X-MBX-USED-WEIGHT-1M": "2399", "X-MBX-ORDER-COUNT-1M": "7"})
    rest.public("/fapi/v3/ping")
    assert (rest.used_weight, rest.order_count) == (2399, 7)
    now[0] = 110.0
    rest.public("/fapi/v3/depth", {"symbol": "BTCUSDT"})  # weight 10 would cross 2400: wait for the minute
    assert slept == [50.0]


def test_ban_is_rate_limited_and_never_retried(aster):
    rest = AsterRest(aster.url, sleep=lambda s: None)
    aster.routes["/fapi/v3/ping"] = (418, {"code": -1003, "msg": "banned until 1"}, {"Retry-After": "120"})
    with pytest.raises(RateLimited) as e:
        rest.public("/fapi/v3/ping")
    assert "banned" in e.value.message and "120" in e.value.message
    assert len(aster.seen) == 1  # 418 is not retried... by the loop: the ban is final for now


def test_signed_requests_are_sent_once_and_unknown_outcomes_say_so(aster):
    rest = AsterRest(aster.url, sleep=lambda s: None)
    wire = "symbol=BTCUSDT&nonce=1767225600000000&user=0xA&signer=0xB&signature=0x00"
    for status, payload in [(503, {"code": -1000, "msg": "busy"}), (400, {"code": -1007, "msg": "Timeout"}),
                            (502, b"<html>")]:
        aster.routes["/fapi/v3/order"] = (status, payload, {})
        with pytest.raises(SentNoAnswer):
            rest.signed("POST", "/fapi/v3/order", wire)
    assert [s[0] for s in aster.seen] == ["POST"] * 3
    assert aster.seen[0][3] == wire  # the form body is the signed string, unchanged
    aster.routes["/fapi/v3/order"] = (400, {"code": -2019, "msg": "Margin is insufficient."}, {})
    with pytest.raises(VenueRejected) as e:
        rest.signed("POST", "/fapi/v3/order", wire)
    assert e.value.error_kind is ErrorKind.INSUFFICIENT_MARGIN
    aster.routes["/fapi/v3/openOrders"] = (200, [], {})
    assert rest.signed("GET", "/fapi/v3/openOrders", wire) == []
    assert aster.seen[-1] == ("GET", "/fapi/v3/openOrders", wire, None)


def test_a_closed_port_is_a_network_error_before_sending():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    rest = AsterRest(f"http://127.0.0.1:{port}", sleep=lambda s: None, retries=1)
    with pytest.raises(NetworkError):
        rest.public("/fapi/v3/ping")
    with pytest.raises(NetworkError) as e:
        rest.signed("POST", "/fapi/v3/order", "a=1&signature=0x")
    assert not isinstance(e.value, SentNoAnswer) and "nothing was sent" in e.value.message


# --- through the CLI ----------------------------------------------------------------------------


def test_perp_price_and_book_on_aster(aster, capsys, monkeypatch):
    r = invoke(["--venue", "aster", "--url", aster.url, "--network", "mainnet", "--json", "price", "BTC"], capsys,
               monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    rows = [json.loads(line) for line in r.out.splitlines()]
    flat = rows[0] if isinstance(rows[0], dict) else rows[0][0]
    assert flat["market"] == "BTCUSDT" and D(str(flat["mid"])) == D("60000.1")
    r = invoke(["--venue", "aster", "--url", aster.url, "--network", "mainnet", "--json", "book", "BTC", "--depth",
                "2"], capsys, monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    assert "60000.2" in r.out
