"""Aster codec on recorded shapes (the v3 docs' and ccxt's printed answers): exchangeInfo filters
to order rules, books and diffs, trades, marks and funding, candles, positions, balances, orders,
fills, income, order answers, error codes and leverage brackets."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from perpcli.domain.errors import ErrorKind, ValidationError
from perpcli.domain.events import BalanceUpdate, Fill, OrderUpdate
from perpcli.domain.instrument import MarginMode, MarginTable
from perpcli.domain.market_lookup import find_market
from perpcli.domain.orders import OrderStatus, OrderType, Side, TimeInForce
from perpcli.ledger.margin import PositionRisk
from perpcli.venues.aster import codec as C
from perpcli.venues.aster import codec_account as A
from perpcli.venues.aster import errors as E
from perpcli.venues.base import AckStatus

D = Decimal
VENUE = "aster"


def loads(text: str):
    return json.loads(text, parse_float=Decimal)


EXCHANGE_INFO = loads("""{
 "timezone": "UTC", "serverTime": 1758215451058,
 "rateLimits": [
  {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
  {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
  {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300}],
 "symbols": [
  {"symbol": "BTCUSDT", "pair": "BTCUSDT", "contractType": "PERPETUAL", "status": "TRADING",
   "baseAsset": "BTC", "quoteAsset": "USDT", "marginAsset": "USDT", "pricePrecision": "2",
   "quantityPrecision": "3", "maintMarginPercent": "0.4000", "requiredMarginPercent": "0.8000",
   "filters": [
    {"minPrice": "556.80", "maxPrice": "4529764", "filterType": "PRICE_FILTER", "tickSize": "0.10"},
    {"stepSize": "0.001", "filterType": "LOT_SIZE", "maxQty": "1000", "minQty": "0.001"},
    {"stepSize": "0.001", "filterType": "MARKET_LOT_SIZE", "maxQty": "120", "minQty": "0.001"},
    {"limit": "200", "filterType": "MAX_NUM_ORDERS"},
    {"notional": "5", "filterType": "MIN_NOTIONAL"},
    {"multiplierDown": "0.9500", "multiplierUp": "1.0500", "multiplierDecimal": "4", "filterType": "PERCENT_PRICE"}],
   "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
   "timeInForce": ["GTC", "IOC", "FOK", "GTX", "HIDDEN"]},
  {"symbol": "1000PEPEUSDT", "contractType": "PERPETUAL", "status": "TRADING", "baseAsset": "1000PEPE",
   "quoteAsset": "USDT", "marginAsset": "USDT", "requiredMarginPercent": "5.0000",
   "filters": [
    {"filterType": "PRICE_FILTER", "tickSize": "0.0000001", "minPrice": "0.0000001", "maxPrice": "200"},
    {"filterType": "LOT_SIZE", "stepSize": "1", "minQty": "1", "maxQty": "50000000"},
    {"filterType": "MIN_NOTIONAL", "minNotional": "5"}]},
  {"symbol": "TSLAUSDT", "contractType": "PERPETUAL", "status": "PENDING_TRADING", "baseAsset": "TSLA",
   "quoteAsset": "USDT", "marginAsset": "USDT",
   "filters": [{"filterType": "PRICE_FILTER", "tickSize": "0.01"}, {"filterType": "LOT_SIZE", "stepSize": "0.01"}]},
  {"symbol": "ASTERUSDT", "contractType": "SPOT_LIKE", "baseAsset": "ASTER", "quoteAsset": "USDT", "filters": []},
  {"symbol": "NOBASE", "contractType": "PERPETUAL", "baseAsset": null, "filters": []}
 ]}""")


def test_exchange_info_filters_become_order_rules():
    insts, halted = C.instruments_from_exchange_info(EXCHANGE_INFO, venue=VENUE)
    assert [i.symbol for i in insts] == ["BTCUSDT", "1000PEPEUSDT", "TSLAUSDT"]  # perps with a base only
    assert halted == {"TSLAUSDT"}
    btc = insts[0]
    assert (btc.tick_size, btc.lot_size, btc.min_notional, btc.quote) == (D("0.10"), D("0.001"), D("5"), "USDT")
    assert btc.max_leverage == 125 and btc.underlying == "BTC" and btc.multiplier == 1
    assert btc.price_band is not None and btc.price_band.bounds(D(100)) == (D("95.0000"), D("105.0000"))
    assert btc.is_valid_price(D("60000.1")) and not btc.is_valid_price(D("60000.15"))
    with pytest.raises(ValidationError):
        btc.validate_order(D("60000.1"), D("0.00001"))
    pepe = insts[1]
    assert (pepe.underlying, pepe.multiplier, pepe.aliases) == ("PEPE", D(1000), ("1000PEPE",))
    assert pepe.min_notional == D(5) and pepe.max_leverage == 20 and pepe.price_band is None
    assert insts[2].max_leverage == C.DEFAULT_MAX_LEVERAGE and insts[2].min_notional == 0
    assert [i.asset_id for i in insts] == [0, 1, 2]


def test_users_find_aster_markets_by_what_they_track():
    insts, _ = C.instruments_from_exchange_info(EXCHANGE_INFO, venue=VENUE)
    assert find_market("BTC", insts).symbol == "BTCUSDT"
    assert find_market("btcusdt", insts).symbol == "BTCUSDT"
    assert find_market("1000pepe", insts).symbol == "1000PEPEUSDT"
    assert find_market("TSLA", insts).symbol == "TSLAUSDT"


@pytest.mark.parametrize(("base", "expected"), [
    ("BTC", ("BTC", D(1), ())),
    ("1000PEPE", ("PEPE", D(1000), ("1000PEPE",))),
    ("1000000MOG", ("MOG", D(1_000_000), ("1000000MOG",))),
    ("1MBABYDOGE", ("BABYDOGE", D(1_000_000), ("1MBABYDOGE",))),
    ("1INCH", ("1INCH", D(1), ())),  # a name that starts with 1 but is not a multiplier
    ("XAU", ("XAU", D(1), ())),
])
def test_canonical_underlying(base, expected):
    assert C.canonical_underlying(base) == expected


def test_rate_limits_per_minute():
    assert C.rate_limits(EXCHANGE_INFO) == {"REQUEST_WEIGHT": 2400, "ORDERS": 1200}


def test_depth_snapshot_and_diff():
    depth = loads('{"lastUpdateId": 1027024, "E": 1589436922972, "T": 1589436922959,'
                  ' "bids": [["4.00000000", "431.00000000"]], "asks": [["4.00000200", "12.00000000"]]}')
    snap = C.book_snapshot(depth, venue=VENUE, symbol="BTCUSDT")
    assert snap.sequence == 1027024 and snap.time_ms == 1589436922959
    assert snap.bids == ((D("4.00000000"), D("431.00000000")),) and snap.asks[0][0] == D("4.00000200")
    event = loads('{"e": "depthUpdate", "E": 123456789, "T": 123456788, "s": "BTCUSDT", "U": 157, "u": 160,'
                  ' "pu": 149, "b": [["0.0024", "10"]], "a": [["0.0026", "0"]]}')
    diff = C.depth_diff(event, venue=VENUE)
    assert (diff.first_seq, diff.last_seq, diff.prev_seq, diff.time_ms) == (157, 160, 149, 123456788)
    assert diff.asks == ((D("0.0026"), D(0)),)  # absolute size; 0 deletes the level


def test_book_ticker_and_mids():
    rest = loads('[{"symbol": "BTCUSDT", "bidPrice": "60000.1", "bidQty": "1", "askPrice": "60000.3",'
                 ' "askQty": "2", "time": 1}, {"symbol": "DEADUSDT", "bidPrice": "0", "bidQty": "0",'
                 ' "askPrice": "0", "askQty": "0"}]')
    assert C.mids(rest) == {"BTCUSDT": D("60000.2")}
    ws = loads('{"e": "bookTicker", "u": 400900217, "E": 1568014460893, "T": 1568014460891, "s": "BNBUSDT",'
               ' "b": "25.35190000", "B": "31.21000000", "a": "25.36520000", "A": "40.66000000"}')
    assert C.book_ticker(ws) == (D("25.35190000"), D("31.21000000"), D("25.36520000"), D("40.66000000"))


def test_agg_trades_taker_side():
    rows = loads('[{"a": 26129, "p": "0.01633102", "q": "4.70443515", "f": 27781, "l": 27781,'
                 ' "T": 1498793709153, "m": true}, {"a": 26130, "p": "0.02", "q": "1", "f": 1, "l": 1,'
                 ' "T": 1498793709154, "m": false}]')
    trades = C.agg_trades(rows, venue=VENUE, symbol="BTCUSDT")
    assert [t.side for t in trades] == [Side.SELL, Side.BUY]
    assert trades[0].trade_id == 26129 and trades[0].price == D("0.01633102")
    event = loads('{"e": "aggTrade", "E": 123456789, "s": "BTCUSDT", "a": 5933014, "p": "0.001", "q": "100",'
                  ' "f": 100, "l": 105, "T": 123456785, "m": true}')
    assert C.agg_trade_event(event, venue=VENUE).side is Side.SELL


def test_mark_prices_and_funding():
    premium = loads('[{"symbol": "BTCUSDT", "markPrice": "106729.84047826", "indexPrice": "106775.72673913",'
                    ' "estimatedSettlePrice": "106708.84997006", "lastFundingRate": "0.00010000",'
                    ' "interestRate": "0.00010000", "nextFundingTime": 1750147200000, "time": 1750146970000},'
                    ' {"symbol": "INJUSDT", "markPrice": "12.5", "indexPrice": "12.49",'
                    ' "lastFundingRate": "-0.00020000", "nextFundingTime": 1750147200000, "time": 1}]')
    mark = C.mark_price(premium[0], venue=VENUE)
    assert (mark.mark_price, mark.oracle_price, mark.funding_rate) == (
        D("106729.84047826"), D("106775.72673913"), D("0.00010000"))
    info = loads('[{"symbol": "INJUSDT", "interestRate": "0.00010000", "time": 1756197479000,'
                 ' "fundingIntervalHours": 4, "fundingFeeCap": 0.03, "fundingFeeFloor": -0.03}]')
    rates = {r.symbol: r for r in C.funding_rates(premium, C.funding_intervals(info))}
    assert rates["BTCUSDT"].interval_hours == 8 and rates["INJUSDT"].interval_hours == 4
    assert rates["INJUSDT"].apr == D("-0.00020000") * 6 * 365
    assert rates["BTCUSDT"].next_time_ms == 1750147200000
    ws = loads('{"e": "markPriceUpdate", "E": 1562305380000, "s": "BTCUSDT", "p": "11794.15000000",'
               ' "i": "11784.62659091", "P": "11784.25641265", "r": "0.00038167", "T": 1562306400000}')
    m = C.mark_price(ws, venue=VENUE)
    assert (m.symbol, m.mark_price, m.oracle_price, m.funding_rate, m.time_ms) == (
        "BTCUSDT", D("11794.15000000"), D("11784.62659091"), D("0.00038167"), 1562305380000)


def test_klines():
    rows = loads('[[1499040000000, "0.01634790", "0.80000000", "0.01575800", "0.01577100", "148976.11427815",'
                 ' 1499644799999, "2434.19055334", 308, "1756.87402397", "28.46694368", "17928899.62484339"]]')
    (c,) = C.candles(rows, symbol="BTCUSDT", interval="1m")
    assert (c.open_ms, c.close_ms, c.open, c.high, c.low, c.close, c.volume, c.trades) == (
        1499040000000, 1499644799999, D("0.01634790"), D("0.80000000"), D("0.01575800"), D("0.01577100"),
        D("148976.11427815"), 308)
    event = loads('{"e": "kline", "E": 1, "s": "BTCUSDT", "k": {"t": 1, "T": 60000, "s": "BTCUSDT", "i": "1m",'
                  ' "o": "1", "c": "2", "h": "3", "l": "0.5", "v": "10", "n": 4, "x": false}}')
    assert C.kline_event(event).close == D(2)


def test_floats_are_refused():
    with pytest.raises(ValueError):
        C.D(0.1)


# ----- account ---------------------------------------------------------------------------------

ORDER_NEW = loads('{"avgPrice": "0.00000", "clientOrderId": "perp-1", "cumQuote": "0", "executedQty": "0",'
                  ' "orderId": 1917641, "origQty": "0.40", "origType": "LIMIT", "price": "60000", "reduceOnly": false,'
                  ' "side": "BUY", "positionSide": "BOTH", "status": "NEW", "stopPrice": "0", "closePosition": false,'
                  ' "symbol": "BTCUSDT", "timeInForce": "GTX", "type": "LIMIT", "updateTime": 1579276756075,'
                  ' "workingType": "CONTRACT_PRICE", "priceProtect": false}')


def test_order_and_ack_from_a_new_limit():
    o = A.order(ORDER_NEW, venue=VENUE)
    assert (o.oid, o.cloid, o.side, o.price, o.size, o.orig_size, o.status, o.tif) == (
        "1917641", "perp-1", Side.BUY, D("60000"), D("0.40"), D("0.40"), OrderStatus.OPEN, TimeInForce.ALO)
    ack = A.order_ack(ORDER_NEW, cloid="perp-1")
    assert (ack.status, ack.oid, ack.filled, ack.avg_price) == (AckStatus.RESTING, "1917641", 0, None)


def test_stop_market_close_position_is_reduce_only_trigger():
    row = dict(ORDER_NEW, type="STOP_MARKET", origType="STOP_MARKET", price="0", stopPrice="58000",
               closePosition=True, timeInForce="GTC", side="SELL")
    o = A.order(row, venue=VENUE)
    assert o.order_type is OrderType.STOP_MARKET and o.trigger_price == D(58000) and o.reduce_only


@pytest.mark.parametrize(("status", "executed", "ack_status"), [
    ("FILLED", "0.40", AckStatus.FILLED),
    ("PARTIALLY_FILLED", "0.10", AckStatus.PARTIALLY_FILLED),
    ("EXPIRED", "0", AckStatus.CANCELED),  # a GTX that would have taken, an IOC with nothing
    ("EXPIRED", "0.10", AckStatus.PARTIALLY_FILLED),  # an IOC remainder
    ("CANCELED", "0", AckStatus.CANCELED),
])
def test_order_acks(status, executed, ack_status):
    row = dict(ORDER_NEW, status=status, executedQty=executed, avgPrice="60001.5" if executed != "0" else "0")
    ack = A.order_ack(row, cloid="perp-1")
    assert ack.status is ack_status and ack.filled == D(executed)
    assert ack.avg_price == (D("60001.5") if executed != "0" else None)


def test_refusals_and_batches():
    ack = A.order_ack({"code": -2019, "msg": "Margin is insufficient."}, cloid="c1")
    assert (ack.status, ack.error_kind, ack.cloid) == (AckStatus.REJECTED, ErrorKind.INSUFFICIENT_MARGIN, "c1")
    acks = A.batch_acks([ORDER_NEW, {"code": -4164, "msg": "Order's notional must be no smaller than 5.0"}],
                        ["perp-1", "perp-2"])
    assert [a.status for a in acks] == [AckStatus.RESTING, AckStatus.REJECTED]
    assert acks[1].error_kind is ErrorKind.MIN_NOTIONAL
    assert [a.status for a in A.batch_acks([ORDER_NEW], ["a", "b"])] == [AckStatus.UNKNOWN] * 2
    assert A.order_ack("garbage", cloid="x").status is AckStatus.UNKNOWN


@pytest.mark.parametrize(("code", "kind"), [
    (-2019, ErrorKind.INSUFFICIENT_MARGIN), (-4014, ErrorKind.PRICE_TICK), (-4023, ErrorKind.SIZE_LOT),
    (-4164, ErrorKind.MIN_NOTIONAL), (-2022, ErrorKind.REDUCE_ONLY), (-1121, ErrorKind.UNKNOWN_MARKET),
    (-1022, ErrorKind.AUTH), (-4225, ErrorKind.NONCE), (-1003, ErrorKind.RATE_LIMITED),
    (-2013, ErrorKind.ORDER_NOT_FOUND), (-2021, ErrorKind.INVALID_TRIGGER), (-4046, ErrorKind.MARGIN_MODE),
    (-5022, ErrorKind.POST_ONLY_WOULD_CROSS), (-9999, ErrorKind.OTHER), ("-2019", ErrorKind.OTHER),
])
def test_error_codes(code, kind):
    assert E.kind_of(code) is kind


def test_unknown_outcome_codes():
    assert E.outcome_unknown(503) and E.outcome_unknown(400, -1006) and E.outcome_unknown(400, -1007)
    assert not E.outcome_unknown(400, -2019)
    assert E.refusal({"code": 200, "msg": "success"}) is None


POSITION_RISK = loads("""[
 {"symbol": "BTCUSDT", "positionAmt": "-0.250", "entryPrice": "60000.0", "markPrice": "59000.00000000",
  "unRealizedProfit": "250.00000000", "liquidationPrice": "63350.21", "leverage": "20", "maxNotionalValue": "25000",
  "marginType": "isolated", "isolatedMargin": "1000.00000000", "isAutoAddMargin": "false", "positionSide": "BOTH",
  "notional": "-14750", "isolatedWallet": "750", "updateTime": 1},
 {"symbol": "INJUSDT", "positionAmt": "0.0", "entryPrice": "0.0", "markPrice": "0.00000000",
  "unRealizedProfit": "0.00000000", "liquidationPrice": "0", "leverage": "10", "maxNotionalValue": "25000",
  "marginType": "cross", "isolatedMargin": "0.00000000", "isAutoAddMargin": "false", "positionSide": "BOTH",
  "notional": "0", "isolatedWallet": "0", "updateTime": 0}]""")


def test_positions_and_leverage_settings():
    pos, marks = A.positions(POSITION_RISK)
    (p,) = pos
    assert (p.symbol, p.size, p.entry_price, p.margin_mode, p.leverage, p.isolated_margin, p.liquidation_price) == (
        "BTCUSDT", D("-0.250"), D("60000.0"), MarginMode.ISOLATED, 20, D("1000.00000000"), D("63350.21"))
    assert marks == {"BTCUSDT": D("59000.00000000")}
    assert A.leverage_settings(POSITION_RISK) == {"BTCUSDT": (20, False), "INJUSDT": (10, True)}


BALANCES = loads('[{"accountAlias": "SgsR", "asset": "USDT", "balance": "1000.50000000",'
                 ' "crossWalletBalance": "900.5", "crossUnPnl": "-12.25000000", "availableBalance": "870.1",'
                 ' "maxWithdrawAmount": "850.00000000", "marginAvailable": true, "updateTime": 1617939110373},'
                 ' {"asset": "CDL", "balance": "0.00000000", "crossUnPnl": "0", "maxWithdrawAmount": "0"}]')


def test_account_snapshot():
    snap = A.account_snapshot(BALANCES, POSITION_RISK, venue=VENUE, account="0xabc", time_ms=5,
                              open_order_rows=[ORDER_NEW])
    assert [b.asset for b in snap.balances] == ["USDT"] and snap.balances[0].total == D("1000.50000000")
    assert snap.account_value == D("988.25") and snap.withdrawable == D("850.00000000")
    assert len(snap.positions) == 1 and snap.open_orders[0].oid == "1917641"


def test_user_trades_and_income():
    rows = loads('[{"buyer": false, "commission": "-0.07819010", "commissionAsset": "USDT", "id": 698759,'
                 ' "maker": false, "orderId": 25851813, "price": "7819.01", "qty": "0.002", "quoteQty": "15.63802",'
                 ' "realizedPnl": "-0.91539999", "side": "SELL", "positionSide": "SHORT", "symbol": "BTCUSDT",'
                 ' "time": 1569514978020}]')
    (f,) = A.fills(rows, venue=VENUE, account="0xabc")
    assert (f.trade_id, f.oid, f.side, f.price, f.size, f.fee, f.closed_pnl, f.is_taker) == (
        698759, "25851813", Side.SELL, D("7819.01"), D("0.002"), D("-0.07819010"), D("-0.91539999"), True)
    income = loads('[{"symbol": "ETHUSDT", "incomeType": "FUNDING_FEE", "income": "0.00134317", "asset": "USDT",'
                   ' "time": "1621584000000", "info": "FUNDING_FEE", "tranId": "4480321991774044580", "tradeId": ""},'
                   ' {"symbol": "ETHUSDT", "incomeType": "COMMISSION", "income": "-0.01000000", "asset": "USDT",'
                   ' "time": 1621584000001, "tranId": "1", "tradeId": "2"},'
                   ' {"symbol": "ETHUSDT", "incomeType": "FUNDING_FEE", "income": "-0.00034317", "asset": "USDT",'
                   ' "time": 1621612800000, "tranId": "3", "tradeId": ""}]')
    assert A.income_total(income, "FUNDING_FEE") == D("0.00100000")
    assert A.income_total(income, "COMMISSION") == D("-0.01000000")


BRACKETS = loads("""[{"symbol": "BTCUSDT", "brackets": [
 {"bracket": 2, "initialLeverage": 100, "notionalCap": 250000, "notionalFloor": 50000, "maintMarginRatio": 0.005, "cum": 50.0},
 {"bracket": 1, "initialLeverage": 125, "notionalCap": 50000, "notionalFloor": 0, "maintMarginRatio": 0.004, "cum": 0.0},
 {"bracket": 3, "initialLeverage": 50, "notionalCap": 1000000, "notionalFloor": 250000, "maintMarginRatio": 0.01, "cum": 1300.0}]},
 {"symbol": "TRUTHUSDT", "brackets": [
 {"bracket": "1", "initialLeverage": "50", "notionalCap": "5000", "notionalFloor": "0", "maintMarginRatio": "0.01", "cum": "0.0"},
 {"bracket": "2", "initialLeverage": "20", "notionalCap": "10000", "notionalFloor": "5000", "maintMarginRatio": "0.025", "cum": "75.0"}]}]""")


def test_leverage_brackets_become_bracket_rules():
    rules = A.leverage_brackets(BRACKETS)
    btc = rules["BTCUSDT"]
    assert [b.floor for b in btc.brackets] == [0, 50000, 250000]  # sorted by floor
    assert btc.max_leverage(D(60000)) == 100 and btc.max_leverage(D(10)) == 125
    assert rules["TRUTHUSDT"].max_leverage(D(6000)) == 20
    assert A.leverage_brackets(BRACKETS[1]).keys() == {"TRUTHUSDT"}  # one symbol asked: one object


def test_bracket_liquidation_price_matches_the_binance_one_way_formula():
    """Worked example: isolated long 1 BTC at 60000, 1000 USDT isolated wallet, mark 60000.

    Binance/Aster one-way: LP = (WB + cum − side·Q·EP) / (Q·mmr − side·Q) with the bracket of
    Q·LP: (1000 + 50 − 60000) / (0.005 − 1) = 59246.231155..., notional 59246 is in bracket 2
    (50k–250k: mmr 0.005, cum 50)."""
    btc = A.leverage_brackets(BRACKETS)["BTCUSDT"]
    position = PositionRisk(symbol="BTCUSDT", size=D(1), entry_price=D(60000), mark_price=D(60000), leverage=60,
                            margin_table=MarginTable.single(100), mode=MarginMode.ISOLATED,
                            isolated_margin=D(1000), rules=btc)
    lp = btc.liquidation_price(position, equity=D(1000))
    expected = (D(1000) + D(50) - D(60000)) / (D("0.005") - D(1))
    assert abs(lp - expected) < D("1e-18")
    assert btc.maintenance_margin(position) == D(60000) * D("0.005") - D(50)


def test_user_stream_order_trade_update_and_account_update():
    msg = loads('{"e": "ORDER_TRADE_UPDATE", "E": 1568879465651, "T": 1568879465650, "o": {"s": "BTCUSDT",'
                ' "c": "perp-7", "S": "SELL", "o": "LIMIT", "f": "GTC", "q": "0.002", "p": "7000", "ap": "7000",'
                ' "sp": "0", "x": "TRADE", "X": "PARTIALLY_FILLED", "i": 8886774, "l": "0.001", "z": "0.001",'
                ' "L": "7000", "N": "USDT", "n": "0.0028", "T": 1568879465650, "t": 42, "b": "0", "a": "9.91",'
                ' "m": true, "R": false, "wt": "CONTRACT_PRICE", "ot": "LIMIT", "ps": "BOTH", "cp": false, "rp": "0"}}')
    update, fill = A.user_events(msg, venue=VENUE, account="0xabc")
    assert isinstance(update, OrderUpdate) and isinstance(fill, Fill)
    assert (update.order.oid, update.order.status, update.order.size, update.reason) == (
        "8886774", OrderStatus.PARTIALLY_FILLED, D("0.001"), "TRADE")
    assert (fill.trade_id, fill.price, fill.size, fill.fee, fill.is_taker, fill.cloid) == (
        42, D(7000), D("0.001"), D("0.0028"), False, "perp-7")
    acct = loads('{"e": "ACCOUNT_UPDATE", "E": 1564745798939, "T": 1564745798938, "a": {"m": "ORDER",'
                 ' "B": [{"a": "USDT", "wb": "122624.12345678", "cw": "100.12345678", "bc": "50.12345678"}],'
                 ' "P": [{"s": "BTCUSDT", "pa": "0", "ep": "0.00000", "cr": "200", "up": "0", "mt": "isolated",'
                 ' "iw": "0.00000000", "ps": "BOTH"}]}}')
    (bal,) = A.user_events(acct, venue=VENUE, account="0xabc")
    assert isinstance(bal, BalanceUpdate) and bal.total == D("122624.12345678") and bal.reason == "ORDER"
    assert A.user_events({"e": "listenKeyExpired", "E": 1}, venue=VENUE, account="0xabc") == []


def test_depth_levels_share_price_decimals_and_the_cache_stays_bounded(monkeypatch):
    from perpcli.venues.aster import codec

    monkeypatch.setattr(codec, "_NUMBERS", {})
    monkeypatch.setattr(codec, "_NUMBERS_KEPT", 3)
    first = codec._levels([["100.10", "1.5"], ["99.9", "0"]])
    assert first == ((D("100.10"), D("1.5")), (D("99.9"), D("0")))
    again = codec._levels([["100.10", "2"]])
    assert again[0][0] is first[0][0] and str(again[0][0]) == "100.10"  # the same price text, one Decimal
    assert codec._levels([[D("7.5"), 3]]) == ((D("7.5"), D(3)),)  # numbers already parsed pass through
    for px in ("1", "2", "3", "4"):
        codec._levels([[px, "1"]])
    assert len(codec._NUMBERS) <= 3
    with pytest.raises(ValueError):
        codec._levels([[1.5, "1"]])  # a float never becomes a price
