"""The store's portfolio is recomputed per account only when that account's inputs changed,
and always equals the full recomputation (`build_portfolio`) on the same state."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from perpcli.domain.events import AccountSnapshot, Balance, BalanceUpdate, Fill, MarkPrice, PositionSnapshot
from perpcli.domain.instrument import Instrument, MarginTable
from perpcli.domain.orders import Side
from perpcli.ledger.portfolio import build_portfolio
from perpcli.ledger.store import Store

VENUES = ("hyperliquid", "aster", "fakex")
SYMBOLS = ("BTC", "ETH", "SOL", "xyz:GOLD")
ACCOUNTS = ("0xa", "0xb")


def full(store: Store):
    marks = {key: m.mark_price for key, m in store.marks.items()}
    return build_portfolio(store.accounts.values(), marks, store.instruments)


prices = st.integers(1, 2000).map(lambda n: D(n) * 25)
sizes = st.integers(1, 40).map(lambda n: D(n) / 8)
fill = st.builds(lambda v, a, s, side, px, sz: ("fill", v, a, s, side, px, sz), st.sampled_from(VENUES),
                 st.sampled_from(ACCOUNTS), st.sampled_from(SYMBOLS), st.sampled_from(Side), prices, sizes)
mark = st.builds(lambda v, s, px: ("mark", v, s, px), st.sampled_from(VENUES), st.sampled_from(SYMBOLS), prices)
cash = st.builds(lambda v, a, amount: ("cash", v, a, amount), st.sampled_from(VENUES), st.sampled_from(ACCOUNTS),
                 st.integers(0, 100_000).map(D))
snapshot = st.builds(lambda v, a, s, sz, px: ("snapshot", v, a, s, sz, px), st.sampled_from(VENUES),
                     st.sampled_from(ACCOUNTS), st.sampled_from(SYMBOLS), sizes, prices)
instruments = st.builds(lambda v, lev: ("instruments", v, lev), st.sampled_from(VENUES), st.sampled_from([3, 20, 50]))
updates = st.lists(st.one_of(mark, mark, mark, fill, fill, cash, snapshot, instruments), min_size=1, max_size=60)


def apply(store: Store, update: tuple, n: int) -> None:
    kind = update[0]
    if kind == "fill":
        _, v, a, s, side, px, sz = update
        store.apply(Fill(v, a, s, n, str(n), side, px, sz, D(0), n))
    elif kind == "mark":
        _, v, s, px = update
        store.apply(MarkPrice(v, s, px, n))
    elif kind == "cash":
        _, v, a, amount = update
        store.apply(BalanceUpdate(v, a, "USDC", n, total=amount))
    elif kind == "snapshot":
        _, v, a, s, sz, px = update
        store.reconcile(AccountSnapshot(v, a, n, balances=(Balance("USDC", D(50_000)),),
                                        positions=(PositionSnapshot(s, sz, px),)))
    else:
        _, v, lev = update
        store.set_instruments(v, [Instrument(v, s, s.split(":")[-1], 0, D("0.001"), lev,
                                             margin_table=MarginTable.single(lev)) for s in SYMBOLS])


@settings(max_examples=120, deadline=None)
@given(updates, st.lists(st.booleans(), min_size=60, max_size=60))
def test_incremental_portfolio_equals_full_recompute(sequence, reads):
    store = Store()
    for n, (update, read) in enumerate(zip(sequence, reads, strict=False)):
        apply(store, update, n)
        if read or n == len(sequence) - 1:
            assert store.portfolio() == full(store)


def test_a_mark_revalues_only_the_accounts_holding_that_market():
    store = Store()
    for v in VENUES:
        store.apply(BalanceUpdate(v, "0xa", "USDC", 0, total=D(10_000)))
        store.apply(Fill(v, "0xa", "BTC", 1, "1", Side.BUY, D(50_000), D("0.1"), D(0), 1))
        store.apply(MarkPrice(v, "BTC", D(50_000), 1))
        store.apply(MarkPrice(v, "ETH", D(3_000), 1))
    tracker = store._portfolio
    store.portfolio()
    before = tracker.recomputed
    store.apply(MarkPrice("aster", "BTC", D(50_100), 2))
    p = store.portfolio()
    assert tracker.recomputed - before == 1  # aster's account only
    store.apply(MarkPrice("aster", "ETH", D(3_100), 3))  # held nowhere
    store.portfolio()
    assert tracker.recomputed - before == 1
    store.portfolio()
    assert tracker.recomputed - before == 1  # nothing changed: nothing valued
    assert p == full(store)
