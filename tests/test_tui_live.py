"""The live source's read model: the store's Account as the panels see it, and its change feed as topics."""

from __future__ import annotations

from decimal import Decimal as D

from perpcli.domain.events import BalanceUpdate, BookSnapshot, Fill, FundingPayment, MarkPrice, Trade
from perpcli.domain.orders import Side
from perpcli.ledger.account import Account
from perpcli.ledger.store import Store
from perpcli.tui.live import snapshot_view


def test_account_view_carries_cash_positions_and_funding_paid():
    acct = Account("devnet", "0xabc")
    acct.apply(BalanceUpdate("devnet", "0xabc", "USDC", 1, total=D("1000")))
    acct.apply(Fill("devnet", "0xabc", "ETH", 1, 11, Side.SELL, D("3000"), D("0.5"), D("0.6"), 2))
    acct.apply(FundingPayment("devnet", "0xabc", "ETH", D("-0.25"), D("0.0001"), D("-0.5"), 3))
    view = snapshot_view(acct)
    (pos,) = view.positions
    assert (pos.symbol, pos.size, pos.entry_price) == ("ETH", D("-0.5"), D("3000"))
    assert pos.funding_since_open == D("0.25")  # the panels' convention: > 0 paid
    (cash,) = view.balances
    assert cash.asset == "USDC" and cash.total == acct.cash


from perpcli.venues.hyperliquid.stream import HyperliquidFeed  # noqa: E402 - a real feed for the fakes


def test_store_change_feed_is_drained_into_bridge_topics():
    from perpcli.tui.live import LiveSource

    class MD:
        venue = "devnet"

        def instruments(self):
            return []

        def live_feed(self, account=""):
            return HyperliquidFeed("ws://127.0.0.1:1/ws", self.venue, account)

    src = LiveSource(MD())
    topics: list[str] = []
    src.add_listener(topics.append)
    src.store.apply(BookSnapshot("devnet", "BTC", ((D("1"), D("1")),), ((D("2"), D("1")),), 5))
    src.store.apply(BookSnapshot("devnet", "BTC", ((D("1"), D("2")),), ((D("2"), D("1")),), 6))
    src.store.apply(Trade("devnet", "BTC", Side.BUY, D("2"), D("1"), 7, 1))
    src.store.apply(MarkPrice("devnet", "ETH", D("3"), 8))
    # no loop running: drained at once, and each key once however often it changed
    assert topics.count("book:BTC") >= 1 and "trades:BTC" in topics and "mark:ETH" in topics
    assert src.book("BTC").best_bid() == (D("1"), D("2"))
    assert [t.trade_id for t in src.trades("BTC", 10)] == [1]
    src.store.apply(Trade("devnet", "BTC", Side.BUY, D("2"), D("1"), 7, 1))  # re-sent after a resubscribe
    assert [t.trade_id for t in src.trades("BTC", 10)] == [1]
    assert src.mark("ETH").mark_price == D("3")
    assert src.account() is None  # no key, no account


def test_two_venues_share_one_store_and_each_source_reports_only_its_own():
    from perpcli.tui.live import LiveSource

    class MD:
        def __init__(self, venue):
            self.venue = venue

        def instruments(self):
            return []

        def live_feed(self, account=""):
            return HyperliquidFeed("ws://127.0.0.1:1/ws", self.venue, account)

    store = Store()
    a = LiveSource(MD("devnet"), store=store)
    b = LiveSource(MD("other"), store=store)
    seen_a: list[str] = []
    seen_b: list[str] = []
    a.add_listener(seen_a.append)
    b.add_listener(seen_b.append)
    store.apply(MarkPrice("other", "SOL", D("150"), 1))
    assert seen_b == ["mark:SOL"] and seen_a == []
    assert b.mark("SOL").mark_price == D("150") and a.mark("SOL") is None


def test_marks_are_polled_for_every_position_not_only_the_open_tabs():
    """A position in a market with no tab is valued at its mark too (the positions table, the
    portfolio): the mark poll asks for the tabs' markets and every held one."""
    import asyncio

    from perpcli.domain.events import AccountSnapshot, PositionSnapshot
    from perpcli.tui.live import LiveSource

    asked: list[list[str] | None] = []

    class MD:
        venue = "devnet"

        def instruments(self):
            return []

        def live_feed(self, account=""):
            return HyperliquidFeed("ws://127.0.0.1:1/ws", self.venue, account)

        def mark_prices(self, symbols=None, *, fresh=False):
            asked.append(None if symbols is None else list(symbols))
            return [MarkPrice("devnet", s, D("100"), 1) for s in symbols or ()]

    class Trading:
        account_address = "0xabc"

    src = LiveSource(MD(), trading=Trading(), markets=["BTC"])
    src.store.reconcile(AccountSnapshot("devnet", "0xabc", 1, positions=(
        PositionSnapshot("SOL", D("2"), D("150")), PositionSnapshot("BTC", D("-1"), D("90000")))))

    async def one_poll():
        task = asyncio.create_task(src._poll_marks())
        while not asked:
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(one_poll())
    assert asked[0] == ["BTC", "SOL"]
    assert src.mark("SOL").mark_price == D("100")  # the positions table has a mark for it
