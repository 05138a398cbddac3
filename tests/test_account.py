"""Order lifecycle (the one transition table), fills, PnL, funding and reconcile."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from perpcli.domain.events import (
    AccountSnapshot,
    Balance,
    BalanceUpdate,
    Fill,
    FundingPayment,
    OrderUpdate,
    PositionSnapshot,
)
from perpcli.domain.instrument import MarginMode, MarginTable
from perpcli.domain.orders import (
    TRANSITIONS,
    IllegalTransition,
    Order,
    OrderIntent,
    OrderStatus,
    Side,
    can_transition,
    transition,
)
from perpcli.ledger.account import (
    Account,
    BalanceMismatch,
    OrderMismatch,
    OrderMissingLocally,
    OrderNotAtVenue,
    PositionMismatch,
)

S = OrderStatus
V, A = "hyperliquid", "0xabc"


# ----- the transition table ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        [S.PENDING, S.OPEN, S.PARTIALLY_FILLED, S.PARTIALLY_FILLED, S.FILLED],
        [S.PENDING, S.UNKNOWN, S.OPEN, S.CANCELED],
        [S.PENDING, S.REJECTED],
        [S.PENDING, S.UNKNOWN, S.FILLED],
        [S.PENDING, S.OPEN, S.TRIGGERED, S.FILLED],
        [S.PENDING, S.FILLED],  # IOC filled before any ack
    ],
)
def test_legal_paths(path):
    status = path[0]
    for nxt in path[1:]:
        status = transition(status, nxt)
    assert status is path[-1]


@pytest.mark.parametrize(
    "current,new",
    [
        (S.FILLED, S.OPEN),
        (S.CANCELED, S.FILLED),
        (S.REJECTED, S.OPEN),
        (S.PARTIALLY_FILLED, S.OPEN),
        (S.OPEN, S.PENDING),
        (S.OPEN, S.REJECTED),
        (S.OPEN, S.UNKNOWN),
    ],
)
def test_illegal_transitions_raise(current, new):
    assert not can_transition(current, new)
    with pytest.raises(IllegalTransition):
        transition(current, new)


def test_table_is_complete_and_terminal_states_are_final():
    assert set(TRANSITIONS) == set(OrderStatus)
    for status in OrderStatus:
        assert transition(status, status) is status  # re-delivery is a no-op
        if status.is_terminal:
            assert not TRANSITIONS[status]


# ----- helpers ----------------------------------------------------------------------------------


def _fill(tid, side, px, sz, *, oid=1, cloid=None, fee="0", symbol="BTC", t=1):
    return Fill(V, A, symbol, tid, oid, side, D(px), D(sz), D(fee), t, cloid=cloid)


def _order(status, *, size="1", orig="1", oid=1, cloid=None, px="100", side=Side.BUY, symbol="BTC"):
    return Order(V, symbol, side, D(px), D(size), D(orig), status, oid=oid, cloid=cloid)


def _update(order, t=1):
    return OrderUpdate(V, A, order, t)


def _account(cash="1000"):
    acct = Account(V, A)
    acct.apply(BalanceUpdate(V, A, "USDC", 0, total=D(cash)))
    return acct


# ----- orders through the account ---------------------------------------------------------------


def test_submission_unknown_then_settled_by_cloid_then_filled():
    acct = _account()
    intent = OrderIntent(V, "BTC", Side.BUY, D(2), price=D(100), cloid="0x01")
    assert acct.track_submission(intent, time_ms=5).status is S.PENDING
    assert acct.mark_unknown("0x01").status is S.UNKNOWN
    assert acct.apply(_update(_order(S.OPEN, size="2", orig="2", oid=77, cloid="0x01")))
    assert acct.order(cloid="0x01").status is S.OPEN and acct.order(oid=77).cloid == "0x01"
    assert acct.apply(_fill(1, Side.BUY, "100", "0.5", oid=77))  # fill carries only the oid
    o = acct.order(oid=77)
    assert o.status is S.PARTIALLY_FILLED and o.size == D("1.5")
    acct.apply(_fill(2, Side.BUY, "100", "1.5", oid=77))
    assert acct.order(oid=77).status is S.FILLED and acct.order(oid=77).size == 0
    assert acct.open_orders() == []
    # a stale "open" arriving late is refused and recorded, not applied
    assert not acct.apply(_update(_order(S.OPEN, size="2", orig="2", oid=77, cloid="0x01")))
    assert acct.order(oid=77).status is S.FILLED
    assert len(acct.anomalies) == 1 and "filled" in acct.anomalies[0].reason


def test_venue_open_with_reduced_size_means_partially_filled():
    acct = _account()
    acct.apply(_update(_order(S.OPEN, size="0.4", orig="1", oid=9)))
    assert acct.order(oid=9).status is S.PARTIALLY_FILLED
    acct.apply(_update(_order(S.CANCELED, size="0.4", orig="1", oid=9)))
    assert acct.order(oid=9).status is S.CANCELED


def test_orders_need_a_cloid_to_be_tracked():
    with pytest.raises(ValueError):
        Account(V, A).track_submission(OrderIntent(V, "BTC", Side.BUY, D(1), price=D(1)), time_ms=0)


# ----- fills and PnL ----------------------------------------------------------------------------


def test_fills_are_deduplicated_by_trade_and_order_id():
    acct = _account()
    f = _fill(10, Side.BUY, "100", "1", oid=5, fee="0.05")
    assert acct.apply(f)
    version = acct.version
    assert not acct.apply(f)  # replayed after a reconnect
    assert acct.version == version
    assert acct.position("BTC").size == D(1) and acct.cash == D("999.95")
    # same trade id, other order (our two sides of a self-cross) is a different fill
    assert acct.apply(_fill(10, Side.SELL, "100", "1", oid=6))
    assert acct.position("BTC").size == 0


def test_entry_price_realised_and_unrealised_pnl_and_fees():
    acct = _account()
    acct.apply(_fill(1, Side.BUY, "100", "2", fee="0.1"))
    acct.apply(_fill(2, Side.BUY, "110", "2", fee="0.1"))
    pos = acct.position("BTC")
    assert pos.size == D(4) and pos.entry_price == D(105)
    assert pos.unrealized_pnl(D(120)) == D(60)
    acct.apply(_fill(3, Side.SELL, "115", "1", fee="0.05"))
    pos = acct.position("BTC")
    assert pos.entry_price == D(105) and pos.realized_pnl == D(10) and pos.fees_paid == D("0.25")
    assert acct.cash == D(1000) + D(10) - D("0.25")
    acct.apply(_fill(4, Side.SELL, "90", "5"))  # close 3 at -15 each, open 2 short at 90
    pos = acct.position("BTC")
    assert pos.size == D(-2) and pos.entry_price == D(90) and pos.realized_pnl == D(10) - D(45)
    assert pos.unrealized_pnl(D(80)) == D(20)


def test_funding_and_balance_updates():
    acct = _account()
    acct.apply(_fill(1, Side.BUY, "100", "1"))
    pay = FundingPayment(V, A, "BTC", D("-0.5"), D("0.0000125"), D(1), 3_600_000)
    assert acct.apply(pay) and not acct.apply(pay)  # deduplicated by (symbol, time)
    assert acct.position("BTC").funding == D("-0.5") and acct.cash == D("999.5")
    assert acct.apply(BalanceUpdate(V, A, "USDC", 9, delta=D(100)))
    assert acct.cash == D("1099.5")
    assert not acct.apply(BalanceUpdate(V, A, "USDC", 10, total=D("1099.5")))


def test_margin_summary_from_the_account():
    acct = _account("10000")
    acct.apply(_fill(1, Side.BUY, "50000", "1"))
    s = acct.margin_summary({"BTC": D(51_000)}, {"BTC": MarginTable.single(50)})
    assert s.account_value == D(11_000) and s.total_notional == D(51_000)


def test_margin_summary_asks_the_venues_rules():
    from perpcli.ledger.margin_rules import Bracket, BracketRules

    acct = _account("10000")
    acct.apply(_fill(1, Side.BUY, "50000", "1"))
    brackets = BracketRules((Bracket(D(0), 125, D("0.004"), D(0)), Bracket(D(50_000), 100, D("0.005"), D(50))))
    marks, tables = {"BTC": D(50_000)}, {"BTC": MarginTable.single(50)}
    hyperliquid = acct.margin_summary(marks, tables)
    binance = acct.margin_summary(marks, tables, {"BTC": brackets})
    # cross long 1 @ 50,000 on a 10,000 wallet (fee already paid from it): MM is bracket 2's now
    # (50,000 × 0.5% − 50), but at the liquidation price (~40,160) the notional is in bracket 1
    wallet = acct.cash
    assert binance.positions[0].liquidation_price == (wallet + 0 - D(50_000)) / (D("0.004") - 1)
    assert hyperliquid.positions[0].liquidation_price == (wallet - D(50_000)) / (D("0.01") - 1)
    assert binance.cross_maintenance_margin == D(200) and hyperliquid.cross_maintenance_margin == D(500)


def test_unknown_event_type_is_a_bug():
    with pytest.raises(TypeError):
        Account(V, A).apply(object())


# ----- reconcile --------------------------------------------------------------------------------


def test_reconcile_reports_every_difference_then_adopts_the_venue():
    acct = _account("1000")
    acct.apply(_fill(1, Side.BUY, "100", "2"))
    acct.apply(_update(_order(S.OPEN, oid=1, size="1", orig="1")))  # venue will not list it
    acct.apply(_update(_order(S.OPEN, oid=2, size="3", orig="3", px="90")))  # venue: other size
    acct.track_submission(OrderIntent(V, "ETH", Side.SELL, D(1), price=D(5), cloid="0xaa"), time_ms=1)
    acct.mark_unknown("0xaa")
    snapshot = AccountSnapshot(
        V,
        A,
        2,
        balances=(Balance("USDC", D("990")),),
        positions=(
            PositionSnapshot("BTC", D(3), D("101")),
            PositionSnapshot("SOL", D(-1), D(20), MarginMode.ISOLATED, 5, D(4), D(-1)),
        ),
        open_orders=(
            _order(S.OPEN, oid=2, size="2", orig="3", px="90"),
            _order(S.OPEN, oid=3, size="1", orig="1", px="95"),
        ),
    )
    found = acct.reconcile(snapshot)
    assert BalanceMismatch("USDC", D(1000), D(990)) in found
    assert PositionMismatch("BTC", D(2), D(3), D(100), D(101)) in found
    assert PositionMismatch("SOL", D(0), D(-1), None, D(20)) in found
    assert any(isinstance(d, OrderMissingLocally) and d.order.oid == 3 for d in found)
    assert any(isinstance(d, OrderNotAtVenue) and d.order.oid == 1 for d in found)
    assert OrderMismatch("o:2", "size", D(3), D(2)) in found
    assert len(found) == 6
    # adopted: the venue's numbers, our cumulative stats, the unsettled order kept
    assert acct.cash == D(990)
    assert acct.position("BTC").size == D(3) and acct.position("BTC").entry_price == D(101)
    sol = acct.position("SOL")
    assert sol.margin_mode is MarginMode.ISOLATED and sol.isolated_margin == D(5)  # 4 used - (-1) uPnL
    assert {o.oid for o in acct.open_orders()} == {2, 3}
    assert acct.order(oid=2).status is S.PARTIALLY_FILLED
    assert acct.order(cloid="0xaa").status is S.UNKNOWN
    assert acct.reconcile(snapshot) == []  # nothing left to report


def test_reconcile_within_money_tolerance_is_quiet():
    acct = _account("1000.0000004")
    assert acct.reconcile(AccountSnapshot(V, A, 1, balances=(Balance("USDC", D(1000)),))) == []


def test_a_fill_replayed_after_the_snapshot_that_holds_it_is_not_counted_twice():
    """Hyperliquid re-sends recent fills when userFills is subscribed; when the REST snapshot was
    adopted first, those fills are already in its positions (the TUI showed the demo's positions
    doubled until the next reconcile)."""
    acct = _account("1000")
    acct.reconcile(AccountSnapshot(V, A, 5_000, balances=(Balance("USDC", D("990")),),
                                   positions=(PositionSnapshot("BTC", D(2), D(100)),)))
    assert not acct.apply(_fill(7, Side.BUY, "100", "2", t=4_000))  # in the snapshot already
    assert acct.position("BTC").size == D(2) and acct.cash == D("990")
    assert acct.apply(_fill(8, Side.BUY, "101", "1", t=5_001))  # after it: a new trade
    assert acct.position("BTC").size == D(3)
