"""Cross-venue netting, totals and the position nearest liquidation."""

from __future__ import annotations

from decimal import Decimal as D

from perpcli.domain.events import BalanceUpdate, Fill
from perpcli.domain.instrument import Instrument, MarginTable
from perpcli.domain.orders import Side
from perpcli.ledger.account import Account
from perpcli.ledger.portfolio import build_portfolio, underlying_of


def _account(venue, acct, cash, fills):
    a = Account(venue, acct)
    a.apply(BalanceUpdate(venue, acct, "USDC", 0, total=D(cash)))
    for i, (symbol, side, px, sz) in enumerate(fills):
        a.apply(Fill(venue, acct, symbol, i, i, side, D(px), D(sz), D(0), i))
    return a


def _inst(venue, symbol, underlying, lev=50):
    return Instrument(venue, symbol, underlying, 0, D("0.001"), lev, margin_table=MarginTable.single(lev))


def test_underlying_guess():
    assert underlying_of("BTC") == "BTC"
    assert underlying_of("BTCUSDT") == "BTC"
    assert underlying_of("xyz:GOLD") == "GOLD"
    assert underlying_of("ETH-USD") == "ETH"
    assert underlying_of("USD") == "USD"


def test_net_exposure_equity_margin_and_closest_to_liquidation():
    hl = _account("hyperliquid", "0xa", "10000", [("BTC", Side.BUY, "50000", "1"), ("xyz:GOLD", Side.BUY, "2000", "2")])
    aster = _account("aster", "0xa", "2000", [("BTCUSDT", Side.SELL, "50100", "0.4")])
    marks = {
        ("hyperliquid", "BTC"): D(50_000),
        ("hyperliquid", "xyz:GOLD"): D(2_100),
        ("aster", "BTCUSDT"): D(50_050),
    }
    instruments = {
        ("hyperliquid", "BTC"): _inst("hyperliquid", "BTC", "BTC"),
        ("hyperliquid", "xyz:GOLD"): _inst("hyperliquid", "xyz:GOLD", "GOLD", 20),
        ("aster", "BTCUSDT"): _inst("aster", "BTCUSDT", "BTC", 20),
    }
    p = build_portfolio([hl, aster], marks, instruments)
    btc = next(e for e in p.exposures if e.underlying == "BTC")
    assert btc.net_size == D("0.6")
    assert btc.net_notional == D(50_000) - D("0.4") * D(50_050)
    assert btc.gross_notional == D(50_000) + D("0.4") * D(50_050)
    assert btc.venues == ("aster", "hyperliquid")
    assert p.exposures[0].underlying == "BTC"  # largest gross first
    gold = next(e for e in p.exposures if e.underlying == "GOLD")
    assert gold.net_size == D(2) and gold.net_notional == D(4200)
    # equity: cash + uPnL per account; margin: IM at each market's leverage (single tier = max)
    assert p.total_equity == (D(10_000) + D(200)) + (D(2000) + D(20))
    assert p.total_margin_used == D(50_000) / 50 + D(4200) / 20 + D("0.4") * D(50_050) / 20
    # the aster short (2020 equity on 20020 notional) is nearer liquidation than the HL longs
    c = p.closest_to_liquidation
    assert (c.venue, c.symbol) == ("aster", "BTCUSDT")
    assert all(c.liquidation_distance <= q.liquidation_distance for q in p.positions if q.liquidation_distance)
    gold_row = next(q for q in p.positions if q.symbol == "xyz:GOLD")
    assert gold_row.liquidation_price is None  # the account covers it to zero


def test_contracts_of_many_units_net_in_units_of_the_underlying():
    """1 kPEPE is 1000 PEPE: a 3 kPEPE long against a 2500 PEPE short nets to +500 PEPE."""
    hl = _account("hyperliquid", "0xa", "1000", [("kPEPE", Side.BUY, "0.011", "3")])
    aster = _account("aster", "0xa", "1000", [("PEPEUSDT", Side.SELL, "0.000011", "2500")])
    marks = {("hyperliquid", "kPEPE"): D("0.011"), ("aster", "PEPEUSDT"): D("0.000011")}
    kpepe = Instrument("hyperliquid", "kPEPE", "PEPE", 3, D(1), 10, multiplier=D(1000))
    instruments = {("hyperliquid", "kPEPE"): kpepe, ("aster", "PEPEUSDT"): _inst("aster", "PEPEUSDT", "PEPE", 10)}
    p = build_portfolio([hl, aster], marks, instruments)
    (pepe,) = p.exposures
    assert pepe.underlying == "PEPE" and pepe.net_size == D(500)
    assert pepe.net_notional == D("0.033") - D("0.0275")
    assert {q.symbol: q.units for q in p.positions} == {"kPEPE": D(3000), "PEPEUSDT": D(-2500)}


def test_positions_without_a_mark_are_listed_not_guessed():
    hl = _account("hyperliquid", "0xa", "1000", [("ETH", Side.BUY, "2000", "1")])
    p = build_portfolio([hl], {})
    assert p.positions == () and p.accounts[0].unmarked == ("ETH",)
    assert p.closest_to_liquidation is None and p.total_equity == D(1000)


def test_a_live_account_is_valued_at_live_marks_as_a_venue_book():
    """perp watch's portfolio: cash and positions from the store, equity and margin from the
    margin model at this moment's marks (the figures the preview uses), then the same Book."""
    from perpcli.app.portfolio import book_of, live_venue_book
    from perpcli.domain.events import AccountSnapshot, Balance, PositionSnapshot
    from perpcli.ledger.margin_rules import HyperliquidRules

    insts = {"BTC": _inst("hl", "BTC", "BTC", lev=20), "ETH": _inst("hl", "ETH", "ETH", lev=20)}
    snap = AccountSnapshot("hl", "0xa", 5, balances=(Balance("USDC", D("10000")),),
                           positions=(PositionSnapshot("BTC", D("0.5"), D("50000"), leverage=10),
                                      PositionSnapshot("ETH", D("-2"), D("3000"), leverage=5)))
    marks = {"BTC": D("52000"), "ETH": D("3100")}
    book = live_venue_book("hl", snap, instrument_of=insts.get, mark_of=marks.get,
                           rules_of=HyperliquidRules.for_instrument, quote="USDC",
                           apr_of=lambda s: D("0.1") if s == "BTC" else None, read_ms=1234)
    upnl = D("0.5") * 2000 + D("-2") * 100  # +1000 on BTC, -200 on ETH
    assert book.unrealized_pnl == upnl and book.equity == D("10000") + upnl
    assert book.margin_used == D("0.5") * 52000 / 10 + 2 * D("3100") / 5  # initial margin at the marks
    assert book.free_collateral == book.equity - book.margin_used
    assert book.snapshot.time_ms == 1234 and book.age_ms(2234) == 1000
    btc, eth = book.positions
    assert (btc.notional, btc.funding_apr, eth.notional, eth.units) == (D("26000"), D("0.1"), D("-6200"), D("-2"))
    assert btc.liquidation_price is not None and btc.liquidation_price < D("52000")  # a long: below the mark
    whole = book_of([book], 9)
    assert [(e.underlying, e.net_size) for e in whole.exposures] == [("BTC", D("0.5")), ("ETH", D("-2"))]
