"""Aster's margin on the devnet: the face publishes Binance-style maintenance brackets and the
engine values the accounts it serves by them, so the liquidation price, margin used and free
collateral the terminal computes locally (the adapter's codecs, the app's margin state, the
ledger's BracketRules) agree with the face's positionRisk, balance and account.

In-process (engine + the face's desk, no HTTP, no synthetic market): prices move only when a
test moves them, so every figure is compared exactly at one mark.
"""

from __future__ import annotations

import json
import secrets
from decimal import Decimal as D

import pytest

from perpcli.app.preview import cash_of, position_risks
from perpcli.devnet.aster.desk import AsterDesk
from perpcli.devnet.engine import Engine
from perpcli.devnet.records import OrderSpec
from perpcli.domain.instrument import MarginMode
from perpcli.keys.signer import Signer
from perpcli.ledger import margin
from perpcli.ledger.margin_rules import HyperliquidRules
from perpcli.venues.aster import codec, codec_account
from perpcli.venues.aster.signing import signed_query
from tests.support import register_secret

T0 = 1_800_000_000_000
CHAIN = 714
MAKER = "0x" + "d" * 40
PRICE_STEP = D("0.00000001")  # the face states liquidation prices to 8 decimals


class Face:
    """The engine, the Aster desk over it, and a clock the test advances."""

    def __init__(self) -> None:
        self.engine = Engine(start_ms=T0)
        self.desk = AsterDesk(self.engine, is_mainnet=False)
        self.now = T0
        self.nonce = T0 * 1000

    def quote(self, coin: str, px: D, size: D) -> None:
        """The maker's only orders on `coin`: one bid and one ask a tick around `px`, with the
        oracle at `px`, so the mark (median of oracle, bid, ask) is exactly `px`."""
        m = self.engine.market(coin)
        self.engine.fund(MAKER, D(100_000_000), self.now)
        self.engine.cancel(MAKER, [(m.asset, o.oid) for o in self.engine.open_orders(MAKER) if o.coin == coin],
                           self.now)
        self.engine.set_oracle_price(coin, px, self.now)
        tick = D(1) if px > 1000 else D("0.1")
        self.engine.place_orders(MAKER, [OrderSpec(m.asset, True, px - tick, size, False, "Gtc"),
                                         OrderSpec(m.asset, False, px + tick, size, False, "Gtc")], "na", self.now)
        self.engine.set_oracle_price(coin, px, self.now)
        assert self.engine.mark_price(coin) == px

    def call(self, signer: Signer, method: str, path: str, params=()) -> object:
        self.now += 1000
        self.nonce = max(self.nonce + 1, self.now * 1000)
        wire = signed_query(signer, list(params), nonce=self.nonce, user=signer.address,
                            signer_address=signer.address, chain_id=CHAIN).wire
        status, answer = self.desk.handle(method, "/fapi/v3/" + path, wire if method == "GET" else "",
                                          wire.encode() if method != "GET" else b"", self.now)
        assert status == 200, answer
        return answer


def fresh_signer() -> Signer:
    key = "0x" + secrets.token_hex(32)
    register_secret(key)
    return Signer.from_hex(key)


def local_view(face: Face, signer: Signer):
    """What the terminal computes from the face's answers: the adapter's codecs parse balance,
    positionRisk, exchangeInfo and the signed leverageBracket table; the app's margin state
    (cash, positions under each symbol's rules) feeds the ledger's summary."""
    balance = face.call(signer, "GET", "balance")
    rows = face.call(signer, "GET", "positionRisk")
    brackets = codec_account.leverage_brackets(face.call(signer, "GET", "leverageBracket"))
    instruments, _ = codec.instruments_from_exchange_info(face.desk.get_exchangeInfo({}, face.now), venue="aster-devnet")
    by_symbol = {i.symbol: i for i in instruments}
    snapshot = codec_account.account_snapshot(balance, rows, venue="aster-devnet", account=signer.address,
                                              time_ms=face.now)
    _, marks = codec_account.positions(rows)
    risks = position_risks(snapshot, by_symbol.get, marks.get, lambda inst: brackets[inst.symbol])
    summary = margin.summarize(cash_of(snapshot, "USDT"), risks)
    return summary, risks, {r["symbol"]: r for r in rows}, balance[0], brackets


def test_brackets_published_in_the_venue_shape():
    face = Face()
    signer = fresh_signer()
    answer = face.call(signer, "GET", "leverageBracket", [("symbol", "BTCUSDT")])
    assert answer["symbol"] == "BTCUSDT"
    rows = answer["brackets"]
    assert rows[0] == {"bracket": "1", "initialLeverage": "40", "notionalCap": "50000", "notionalFloor": "0",
                       "maintMarginRatio": "0.0125", "cum": "0"}
    assert rows[1] == {"bracket": "2", "initialLeverage": "20", "notionalCap": "250000", "notionalFloor": "50000",
                       "maintMarginRatio": "0.025", "cum": "625"}
    # every bracket starts where the previous ends, and cum keeps MM continuous at each floor
    for lower, upper in zip(rows, rows[1:], strict=False):
        assert upper["notionalFloor"] == lower["notionalCap"]
        floor = D(upper["notionalFloor"])
        assert floor * D(lower["maintMarginRatio"]) - D(lower["cum"]) == \
            floor * D(upper["maintMarginRatio"]) - D(upper["cum"])
    everything = face.call(signer, "GET", "leverageBracket")
    assert {e["symbol"] for e in everything} == set(face.desk.markets.by_symbol)


def test_local_model_agrees_with_position_risk_cross_and_isolated_across_brackets():
    face = Face()
    face.quote("BTC", D(95_000), D(50))
    face.quote("ETH", D(3_200), D(500))
    trader = fresh_signer()
    face.call(trader, "POST", "leverage", [("symbol", "BTCUSDT"), ("leverage", "5")])
    # ~304k of BTC: the third bracket (250k-1M, 10x, 5%, cum 6875), cross at 5x
    face.call(trader, "POST", "order", [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET"),
                                        ("quantity", "3.2")])
    face.call(trader, "POST", "marginType", [("symbol", "ETHUSDT"), ("marginType", "ISOLATED")])
    face.call(trader, "POST", "leverage", [("symbol", "ETHUSDT"), ("leverage", "10")])
    face.call(trader, "POST", "order", [("symbol", "ETHUSDT"), ("side", "SELL"), ("type", "MARKET"),
                                        ("quantity", "6")])
    # the marks move a little, so uPnL and the brackets' MM both count
    face.quote("BTC", D(94_100), D(50))
    face.quote("ETH", D(3_230), D(500))

    summary, risks, rows, balance, brackets = local_view(face, trader)
    account = face.call(trader, "GET", "account")
    acct_rows = {p["symbol"]: p for p in account["positions"]}
    by_symbol = {p.symbol: p for p in summary.positions}

    btc, eth = by_symbol["BTCUSDT"], by_symbol["ETHUSDT"]
    assert btc.mode is MarginMode.CROSS and eth.mode is MarginMode.ISOLATED
    # the BTC position sits in the third bracket; its liquidation notional in the second
    assert brackets["BTCUSDT"].bracket(btc.notional).floor == 250_000
    assert 50_000 <= D(rows["BTCUSDT"]["liquidationPrice"]) * D("3.2") < 250_000

    for symbol, row in by_symbol.items():
        assert D(rows[symbol]["liquidationPrice"]) == row.liquidation_price.quantize(PRICE_STEP), symbol
        assert D(acct_rows[symbol]["maintMargin"]) == row.maintenance_margin, symbol
    # margin used: cross = initial margin at the position's leverage; isolated = its margin + uPnL
    assert D(acct_rows["BTCUSDT"]["initialMargin"]) == btc.margin_used
    assert D(rows["ETHUSDT"]["isolatedMargin"]) == eth.margin_used
    assert D(account["totalMaintMargin"]) == sum((r.maintenance_margin for r in summary.positions), D(0))
    # free collateral: cross value less cross initial margin; withdrawable: never the uPnL
    assert D(balance["availableBalance"]) == summary.cross_account_value - summary.cross_margin_used
    assert D(balance["maxWithdrawAmount"]) == summary.withdrawable

    # the same positions under Hyperliquid's tiers liquidate elsewhere: the face used brackets
    hl = [margin.PositionRisk(r.symbol, r.size, r.entry_price, r.mark_price, r.leverage, r.margin_table, r.mode,
                              r.isolated_margin, HyperliquidRules(r.margin_table)) for r in risks]
    hl_liq = {p.symbol: p.liquidation_price for p in margin.summarize(D(balance["balance"]), hl).positions}
    assert hl_liq["BTCUSDT"] != btc.liquidation_price


def test_the_engine_liquidates_an_aster_account_by_its_brackets():
    """1 BTC isolated at 10x (95k: the second bracket, 2.5% MM, cum 625) liquidates near 87.05k
    by the brackets, 86.58k by Hyperliquid's tiers. At 86.8k the Aster account is liquidated
    and the same key's identical position on the Hyperliquid face (its other account) is not."""
    face = Face()
    face.quote("BTC", D(95_000), D(5))
    trader = fresh_signer()
    face.call(trader, "POST", "marginType", [("symbol", "BTCUSDT"), ("marginType", "ISOLATED")])
    face.call(trader, "POST", "leverage", [("symbol", "BTCUSDT"), ("leverage", "10")])
    face.call(trader, "POST", "order", [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET"),
                                        ("quantity", "1")])
    mine = face.desk.account(trader.address)  # the key's account on the Aster face
    other = trader.address.lower()  # the same key's account on the Hyperliquid face
    engine = face.engine
    assert engine.position(other, "BTC") == 0  # the Aster trade is not on the Hyperliquid account
    engine.fund(other, D(100_000), face.now)
    engine.update_leverage(other, 0, False, 10, face.now)
    engine.place_orders(other, [OrderSpec(0, True, engine.market_order_px("BTC", True, D("0.05")), D(1), False,
                                          "Ioc")], "na", face.now)
    summary, *_ = local_view(face, trader)
    (row,) = summary.positions
    assert D(87_000) < row.liquidation_price < D(87_100)
    assert engine.position(other, "BTC") == 1 and engine.position(mine, "BTC") == 1

    face.quote("BTC", D(86_800), D(5))
    assert engine.position(mine, "BTC") == 0  # liquidated by its brackets
    assert engine.position(other, "BTC") == 1  # Hyperliquid's tiers: still above its 86.58k
    rows = face.call(trader, "GET", "positionRisk", [("symbol", "BTCUSDT")])
    assert rows[0]["positionAmt"] == "0"
    # a saved devnet loads each face's accounts with their own rules
    loaded = Engine.from_json(json.loads(json.dumps(engine.to_json())))
    assert loaded._accounts[mine].margin_venue == "aster" and loaded._accounts[other].margin_venue == ""


@pytest.mark.parametrize("max_leverage", [40, 25, 20, 10])
def test_bracket_ladder_shape(max_leverage):
    from perpcli.devnet.margin_rules import aster_brackets, max_notional_at

    rules = aster_brackets(max_leverage)
    levs = [b.max_leverage for b in rules.brackets]
    assert levs[0] == max_leverage and levs[-1] == 1 and levs == sorted(levs, reverse=True)
    assert max_notional_at(rules, max_leverage) == rules.brackets[1].floor
    assert max_notional_at(rules, max_leverage + 1) == 0
