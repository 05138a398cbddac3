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


def test_margin_used_and_free_count_what_orders_hold_as_the_venue_does():
    """Margin used is the trades' collateral plus what resting/pending orders hold (not the
    trades' PnL), free is the wallet: `perp account`'s figures, at any mark."""
    mark = D("2660")
    snap = venue_snapshot([trade("1.886", "2650.13", "500", mark), trade("0.5", "2700", "135", mark)])
    acct = Account("ostium-devnet", "0xabc")
    acct.reconcile(in_margin_model_terms(snap))
    assert acct.reserved == IN_ORDERS
    for at in (mark, D("2600")):
        summary = acct.margin_summary({"XAU-USD": at}, {}, {"XAU-USD": RULES})
        assert (summary.margin_used, summary.withdrawable) == (snap.margin_used, snap.withdrawable)


def test_reserved_order_collateral_is_used_not_free_and_still_equity():
    """The model alone: cash held by open orders moves from free to margin used, equity unchanged;
    a per-trade isolated position's margin used is its collateral, a Hyperliquid one's adds uPnL."""
    from perpcli.domain.instrument import MarginTable, MarginTier
    from perpcli.ledger.margin_rules import HyperliquidRules

    table = MarginTable((MarginTier(D(0), 50),))
    ostium = margin.PositionRisk("XAU-USD", D(1), D(2650), D(2700), 10, table, MarginMode.ISOLATED, D(265), RULES)
    before = margin.summarize(D(1000), [ostium])
    after = margin.summarize(D(1000), [ostium], reserved=D(100))
    assert before.margin_used == D(265) and before.withdrawable == D(735)
    assert after.margin_used == D(365) and after.withdrawable == D(635)
    assert after.account_value == before.account_value == D(1050)
    assert margin.summarize(D(50), [ostium], reserved=D(100)).withdrawable == 0  # never below zero
    hl = margin.PositionRisk("BTC", D(1), D(2650), D(2700), 10, table, MarginMode.ISOLATED, D(265),
                             HyperliquidRules(table))
    assert margin.summarize(D(1000), [hl]).margin_used == D(315)
