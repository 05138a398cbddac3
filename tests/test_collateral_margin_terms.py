"""A collateral venue's account (Ostium: the wallet as the balance, each trade's collateral as
its isolated margin) read through the shared margin model as the TUI reads it (the store's
Account, then ledger/margin.py at live marks): its equity is the venue's own, with the
collateral held by trades and by resting/pending orders, and two trades on one market both
count."""

from __future__ import annotations

from decimal import Decimal as D

from perpcli.app.collateral import in_margin_model_terms
from perpcli.domain.events import AccountSnapshot, Balance, PositionSnapshot
from perpcli.domain.instrument import MarginMode
from perpcli.ledger import margin
from perpcli.ledger.account import Account
from perpcli.ledger.margin_rules import PerTradeIsolatedRules

RULES = PerTradeIsolatedRules(max_leverage_value=100, liquidation_threshold=D("0.9"), default_leverage_value=10)
WALLET, IN_ORDERS = D("8900"), D("100")


def trade(size: str, entry: str, collateral: str, mark: D, fees: str = "0") -> PositionSnapshot:
    return PositionSnapshot("XAU-USD", D(size), D(entry), MarginMode.ISOLATED, 10, isolated_margin=D(collateral),
                            unrealized_pnl=D(size) * (mark - D(entry)), funding_since_open=D(fees))


def venue_snapshot(trades: list[PositionSnapshot]) -> AccountSnapshot:
    """As the Ostium adapter reports it (venues/ostium/trading.py `account`)."""
    used = sum((t.isolated_margin for t in trades), D(0)) + IN_ORDERS
    equity = WALLET + IN_ORDERS + sum((t.isolated_margin + t.unrealized_pnl - t.funding_since_open for t in trades),
                                      D(0))
    return AccountSnapshot("ostium-devnet", "0xabc", 0, balances=(Balance("USDC", WALLET),), positions=tuple(trades),
                           account_value=equity, withdrawable=WALLET, margin_used=used)


def live_equity(snapshot: AccountSnapshot, mark: D) -> margin.MarginSummary:
    acct = Account("ostium-devnet", "0xabc")
    acct.reconcile(snapshot)
    return margin.summarize(acct.cash, acct.margin_inputs({"XAU-USD": mark}, {}, {"XAU-USD": RULES}))


def test_equity_counts_the_collateral_in_trades_and_orders():
    mark = D("2660")
    snap = venue_snapshot([trade("1.886", "2650.13", "500", mark, fees="0.05")])
    assert live_equity(snap, mark).account_value < snap.account_value - 500  # the wallet alone, as before
    summary = live_equity(in_margin_model_terms(snap), mark)
    assert summary.account_value == snap.account_value
    [row] = summary.positions  # each trade liquidates at a loss of 90% of its collateral
    assert row.liquidation_price == D("2650.13") - D("0.9") * 500 / D("1.886")


def test_two_trades_on_one_market_both_count_and_equity_moves_with_the_mark():
    mark = D("2660")
    snap = venue_snapshot([trade("1.886", "2650.13", "500", mark), trade("0.5", "2700", "135", mark)])
    translated = in_margin_model_terms(snap)
    assert live_equity(translated, mark).account_value == snap.account_value
    later = D("2600")  # uPnL is linear in size: the combined position is exact at any mark
    moved = venue_snapshot([trade("1.886", "2650.13", "500", later), trade("0.5", "2700", "135", later)])
    assert live_equity(translated, later).account_value == moved.account_value
