"""Hyperliquid codec: venue JSON (shapes from the protocol reference) -> domain types."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from perpcli.domain.instrument import MarginMode
from perpcli.domain.orders import OrderStatus, OrderType, Side
from perpcli.venues.base import AckStatus
from perpcli.venues.hyperliquid import codec

META = json.loads("""{"universe":[
   {"name":"BTC","szDecimals":5,"maxLeverage":50},
   {"name":"HPOS","szDecimals":0,"maxLeverage":3,"onlyIsolated":true},
   {"name":"LOOM","szDecimals":1,"maxLeverage":3,"isDelisted":true,"marginMode":"strictIsolated","onlyIsolated":true},
   {"name":"ETH","szDecimals":4,"maxLeverage":25,"marginTableId":51}],
 "marginTables":[[50,{"description":"","marginTiers":[{"lowerBound":"0.0","maxLeverage":50}]}],
                 [51,{"description":"tiered 10x","marginTiers":[{"lowerBound":"0.0","maxLeverage":10},
                                                                 {"lowerBound":"3000000.0","maxLeverage":5}]}]],
 "collateralToken":0}""")

CTX = {"dayNtlVlm": "1169046.29406", "funding": "0.0000125", "impactPxs": ["14.3047", "14.3444"],
       "markPx": "14.3161", "midPx": "14.314", "openInterest": "688.11", "oraclePx": "14.32",
       "premium": "0.00031774", "prevDayPx": "15.322"}


def test_instruments_keep_delisted_indices_and_rules():
    insts, delisted = codec.instruments_from_meta(META, venue="hyperliquid")
    assert [i.asset_id for i in insts] == [0, 1, 2, 3]
    assert delisted == {"LOOM"}
    btc = insts[0]
    assert btc.lot_size == Decimal("0.00001") and btc.price_max_decimals == 1 and btc.price_sig_figs == 5
    assert btc.min_notional == 10
    assert insts[1].only_isolated and insts[2].only_isolated
    eth = insts[3]
    assert eth.margin_tiers.tier_for(Decimal("4000000")).max_leverage == 5


def test_hip3_asset_ids_and_underlying():
    meta = {"universe": [{"name": "xyz:GOLD", "szDecimals": 2, "maxLeverage": 20}]}
    insts, _ = codec.instruments_from_meta(meta, venue="hyperliquid", dex_index=1)
    assert insts[0].asset_id == 110000 and insts[0].underlying == "XAU" and insts[0].aliases == ("GOLD",)
    assert codec.asset_id(2, 3) == 120003
    assert codec.perp_dex_names([None, {"name": "xyz"}, {"name": "abc"}]) == ["", "xyz", "abc"]


def test_canonical_underlyings_multipliers_quote_and_band():
    meta = {"universe": [{"name": n, "szDecimals": 0, "maxLeverage": 10}
                         for n in ("xyz:GOLD", "xyz:CL", "xyz:EUR", "xyz:TSLA", "kPEPE")]}
    insts, _ = codec.instruments_from_meta(meta, venue="hyperliquid", dex_index=1)
    got = {i.symbol: (i.underlying, i.multiplier) for i in insts}
    assert got == {"xyz:GOLD": ("XAU", 1), "xyz:CL": ("WTI", 1), "xyz:EUR": ("EURUSD", 1),
                   "xyz:TSLA": ("TSLA", 1), "kPEPE": ("PEPE", 1000)}
    default, _ = codec.instruments_from_meta(META, venue="hyperliquid")
    btc = default[0]
    assert (btc.underlying, btc.multiplier, btc.aliases, btc.quote) == ("BTC", 1, (), "USDC")
    assert btc.price_band is not None and btc.price_band.bounds(Decimal(100)) == (Decimal(20), Decimal(180))
    other = codec.instruments_from_meta({**meta, "collateralToken": 2}, venue="hyperliquid",
                                        token_names=["USDC", "PURR", "USDH"])[0]
    assert {i.quote for i in other} == {"USDH"}
    assert codec.instruments_from_meta({**meta, "collateralToken": 2}, venue="hyperliquid")[0][0].quote == "token 2"


def test_book_snapshot():
    data = {"coin": "BTC", "time": 1754450974231,
            "levels": [[{"px": "113377.0", "sz": "7.6699", "n": 17}, {"px": "113376.0", "sz": "1", "n": 1}],
                       [{"px": "113397.0", "sz": "0.11543", "n": 3}]]}
    b = codec.book_snapshot(data, venue="hyperliquid")
    assert b.bids[0] == (Decimal("113377"), Decimal("7.6699"))
    assert b.asks == ((Decimal("113397"), Decimal("0.11543")),)
    assert b.time_ms == 1754450974231


def test_funding_rates_with_prediction_and_apr():
    predicted = [["BTC", [["BinPerp", {"fundingRate": "0.0001", "nextFundingTime": 1}],
                          ["HlPerp", {"fundingRate": "0.00002", "nextFundingTime": 1700000000000}]]]]
    rates = codec.funding_rates(META, [CTX, CTX, CTX, CTX], predicted)
    assert [r.symbol for r in rates] == ["BTC", "HPOS", "ETH"]  # delisted LOOM dropped
    btc = rates[0]
    assert btc.rate == Decimal("0.0000125") and btc.apr == Decimal("0.0000125") * 8760
    assert btc.predicted_rate == Decimal("0.00002") and btc.next_time_ms == 1700000000000
    assert rates[1].predicted_rate is None


def test_account_snapshot_positions_and_cash():
    state = json.loads("""{"assetPositions":[
   {"position":{"coin":"ETH","cumFunding":{"allTime":"514.085417","sinceChange":"0.0","sinceOpen":"0.0"},
                "entryPx":"2986.3","leverage":{"type":"isolated","value":20,"rawUsd":"-95.059824"},
                "liquidationPx":"2866.26936529","marginUsed":"4.967826","maxLeverage":50,
                "positionValue":"100.02765","returnOnEquity":"-0.0026789","szi":"0.0335","unrealizedPnl":"-0.0134"},
    "type":"oneWay"}],
 "crossMaintenanceMarginUsed":"0.0",
 "crossMarginSummary":{"accountValue":"13104.514502","totalMarginUsed":"0.0","totalNtlPos":"0.0","totalRawUsd":"13104.514502"},
 "marginSummary":{"accountValue":"13109.482328","totalMarginUsed":"4.967826","totalNtlPos":"100.02765","totalRawUsd":"13009.454678"},
 "time":1708622398623,"withdrawable":"13104.514502"}""")
    snap = codec.account_snapshot(state, venue="hyperliquid", account="0xabc")
    p = snap.positions[0]
    assert p.size == Decimal("0.0335") and p.margin_mode is MarginMode.ISOLATED and p.leverage == 20
    assert p.isolated_margin == Decimal("4.967826") and p.liquidation_price == Decimal("2866.26936529")
    assert snap.account_value == Decimal("13109.482328")
    assert snap.balances[0].total == Decimal("13109.482328") + Decimal("0.0134")
    assert snap.withdrawable == Decimal("13104.514502") and snap.margin_used == Decimal("4.967826")


def test_order_acks_resting_filled_error_and_partial():
    resp = {"status": "ok", "response": {"type": "order", "data": {"statuses": [
        {"resting": {"oid": 77738308, "cloid": "0x" + "11" * 16}},
        {"filled": {"totalSz": "0.02", "avgPx": "1891.4", "oid": 77747314}},
        {"filled": {"totalSz": "0.01", "avgPx": "1891.4", "oid": 5}},
        {"error": "Order must have minimum value of $10."},
        "waitingForFill"]}}}
    reqs = [("0x" + "11" * 16, Decimal(1)), (None, Decimal("0.02")), (None, Decimal("0.05")), (None, Decimal(1)),
            (None, Decimal(1))]
    acks = codec.order_acks(resp, reqs)
    assert [a.status for a in acks] == [AckStatus.RESTING, AckStatus.FILLED, AckStatus.PARTIALLY_FILLED,
                                        AckStatus.REJECTED, AckStatus.ACCEPTED]
    assert acks[0].oid == "77738308" and acks[1].avg_price == Decimal("1891.4")
    assert "minimum value" in acks[3].error


def test_order_acks_batch_level_error_applies_to_all():
    one = {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"error": "Invalid TP/SL price."}]}}}
    acks = codec.order_acks(one, [("0x1", Decimal(1)), ("0x2", Decimal(1))])
    assert all(a.status is AckStatus.REJECTED and a.error == "Invalid TP/SL price." for a in acks)
    err = {"status": "err", "response": "User or API Wallet 0xabc does not exist."}
    acks = codec.order_acks(err, [("0x1", Decimal(1))])
    assert acks[0].status is AckStatus.REJECTED and "does not exist" in acks[0].error


def test_status_ack_settles_states():
    row = {"coin": "BTC", "limitPx": "29792.0", "oid": 91490942, "side": "A", "sz": "0.0", "origSz": "0.5",
           "timestamp": 1, "cloid": "0xaa"}
    filled = codec.status_ack({"status": "order", "order": {"order": row, "status": "filled", "statusTimestamp": 2}})
    assert filled.status is AckStatus.FILLED and filled.filled == Decimal("0.5") and filled.oid == "91490942"
    open_row = dict(row, sz="0.3")
    part = codec.status_ack({"status": "order", "order": {"order": open_row, "status": "open", "statusTimestamp": 2}})
    assert part.status is AckStatus.PARTIALLY_FILLED and part.filled == Decimal("0.2")
    canc = codec.status_ack({"status": "order", "order": {"order": dict(row, sz="0.5"), "status": "marginCanceled",
                                                            "statusTimestamp": 2}})
    assert canc.status is AckStatus.CANCELED and canc.error == "marginCanceled"
    assert codec.status_ack({"status": "unknownOid"}) is None


def test_frontend_open_order_trigger():
    row = {"children": [], "coin": "INJ", "isPositionTpsl": False, "isTrigger": True, "limitPx": "9.2037",
           "oid": 3184595907, "orderType": "Take Profit Market", "origSz": "12.5", "reduceOnly": True, "side": "A",
           "sz": "12.5", "tif": None, "timestamp": 1700126022555, "triggerCondition": "Price above 10.004",
           "triggerPx": "10.004", "cloid": None}
    o = codec.order(row, venue="hyperliquid")
    assert o.order_type is OrderType.TAKE_PROFIT_MARKET and o.trigger_price == Decimal("10.004")
    assert o.side is Side.SELL and o.reduce_only and o.status is OrderStatus.OPEN and o.tif is None


def test_fill_and_ws_user_fills_snapshot():
    f = {"closedPnl": "0.0", "coin": "AVAX", "crossed": False, "dir": "Open Long", "hash": "0xa1", "oid": 90542681,
         "px": "18.435", "side": "B", "startPosition": "26.86", "sz": "93.53", "time": 1681222254710, "fee": "0.01",
         "feeToken": "USDC", "tid": 118906512037719, "cloid": "0x" + "ab" * 16}
    ch, events, snap = codec.ws_events({"channel": "userFills", "data": {"user": "0xABC", "fills": [f],
                                                                          "isSnapshot": True}}, venue="hl")
    assert ch == "userFills" and snap
    fill = events[0]
    assert fill.account == "0xabc" and fill.price == Decimal("18.435") and not fill.is_taker
    assert fill.key == ("hl", "AVAX", 118906512037719, "90542681")


def test_ws_order_updates_and_unknown_channel():
    msg = {"channel": "orderUpdates", "data": [{"order": {"coin": "BTC", "side": "B", "limitPx": "100", "sz": "0",
                                                          "oid": 1, "timestamp": 5, "origSz": "1"},
                                                "status": "filled", "statusTimestamp": 9}]}
    _, ev, _ = codec.ws_events(msg, venue="hl", account="0x1")
    assert ev[0].status is OrderStatus.FILLED and ev[0].time_ms == 9
    assert codec.ws_events({"channel": "pong"}, venue="hl") == ("pong", [], False)


def test_key_role():
    agent = codec.key_role("0xAA", {"role": "agent", "data": {"user": "0xBB"}},
                           [{"name": "bot", "address": "0xaa", "validUntil": 123}])
    assert agent.role == "agent" and agent.account == "0xbb" and agent.agent_name == "bot" and agent.registered
    assert codec.key_role("0xaa", {"role": "user"}).account == "0xaa"
    missing = codec.key_role("0xaa", {"role": "missing"})
    assert not missing.registered


def test_candles():
    rows = [{"T": 1681924499999, "c": "29258.0", "h": "29309.0", "i": "15m", "l": "29250.0", "n": 189,
             "o": "29295.0", "s": "BTC", "t": 1681923600000, "v": "0.98639"}]
    c = codec.candles(rows)[0]
    assert c.high == Decimal("29309") and c.trades == 189 and c.interval == "15m"


# ----- malformed answers: MalformedAnswer (exit 5 for reads), never data, never a crash ---------


REQ = [("0x" + "ab" * 16, Decimal("0.01"))]


@pytest.mark.parametrize("resp", [
    {}, {"status": "ok"}, {"status": "ok", "response": {"type": "order"}},
    {"status": "ok", "response": {"type": "order", "data": {"statuses": []}}},
    {"status": "ok", "response": {"type": "order", "data": {"statuses": "x"}}},
    {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"weird": 1}]}}},
    {"status": "ok", "response": {"type": "order", "data": {"statuses": ["filled"]}}},
    {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"resting": {"oid": "x"}}]}}},
    {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"filled": {"oid": 1, "totalSz": "NaN",
                                                                                    "avgPx": "1"}}]}}},
    {"status": "ok", "response": {"type": "cancel", "data": {"statuses": ["success"]}}},
    {"status": 5, "response": "x"}, [1, 2],
])
def test_malformed_order_answers_are_malformed_not_rejections(resp):
    with pytest.raises(codec.MalformedAnswer):
        codec.order_acks(resp, REQ)


def test_well_formed_order_answers_still_decode():
    ok = {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"resting": {"oid": 7}}]}}}
    assert codec.order_acks(ok, REQ)[0].status is AckStatus.RESTING
    err = {"status": "err", "response": "Insufficient margin"}
    assert codec.order_acks(err, REQ)[0].status is AckStatus.REJECTED
    batch_error = {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"error": "bad"}]}}}
    assert [a.error for a in codec.order_acks(batch_error, REQ * 2)] == ["bad", "bad"]


@pytest.mark.parametrize("resp", [{}, {"status": "ok"}, {"status": "ok", "response": "x"},
                                  {"status": "ok", "response": {"type": "order"}}])
def test_malformed_action_and_cancel_answers(resp):
    with pytest.raises(codec.MalformedAnswer):
        codec.action_result(resp)
    with pytest.raises(codec.MalformedAnswer):
        codec.cancel_errors(resp, 1)


def test_book_numbers_must_be_finite_and_not_negative():
    good = {"coin": "BTC", "time": 1, "levels": [[{"px": "100", "sz": "1", "n": 1}], [{"px": "101", "sz": "1", "n": 1}]]}
    assert codec.book_answer(good, venue="hl").bids[0][0] == Decimal(100)
    for side, field, value in [(0, "px", "NaN"), (1, "sz", "-1"), (1, "px", "Infinity"), (0, "sz", "1e999999999")]:
        bad = json.loads(json.dumps(good))
        bad["levels"][side][0][field] = value
        with pytest.raises(codec.MalformedAnswer, match=rf"^hl: malformed l2Book: {field}: "):
            codec.book_snapshot(bad, venue="hl")
    crossed = json.loads(json.dumps(good))
    crossed["levels"][0][0]["px"] = "101"
    assert codec.book_snapshot(crossed, venue="hl")  # streams: the book's own crossed check resyncs
    with pytest.raises(codec.MalformedAnswer, match="crossed"):
        codec.book_answer(crossed, venue="hl")


def test_malformed_reads_name_the_venue_and_what():
    with pytest.raises(codec.MalformedAnswer, match=r"^hl: malformed metaAndAssetCtxs: markPx: 'NaN'"):
        codec.mark_prices({"universe": [{"name": "BTC"}]}, [{"markPx": "NaN"}], venue="hl", time_ms=0)
    with pytest.raises(codec.MalformedAnswer, match="metaAndAssetCtxs"):
        codec.meta_and_ctxs({}, venue="hl")
    with pytest.raises(codec.MalformedAnswer, match="missing field 'coin'"):
        codec.trades([{"px": "1"}], venue="hl")
    assert codec.MalformedAnswer("x").exit_code == 5


def test_well_formed_action_answers_still_decode():
    assert codec.action_result({"status": "ok", "response": {"type": "default"}}) == (True, None, {})
    twap = {"status": "ok", "response": {"type": "twapOrder", "data": {"status": {"running": {"twapId": 3}}}}}
    assert codec.action_result(twap) == (True, None, {"twap_id": 3})
    assert codec.action_result({"status": "err", "response": "nope"}) == (False, "nope", {})
