"""`perp buy --preview` and the TUI ticket show the same numbers for the same account, book and
order, over random portfolios; and so does the size they compute from the account.

The CLI side reads a venue (a fake one serving the account snapshot, marks, book, leverage
setting and fee rates, as the adapter's methods return them) through app/actions.py; the TUI
side reads the same state the way the live store holds it (the REST snapshot folded into a
ledger Account, shown through `snapshot_view`) through tui/preview.py. Both must agree to the
last digit: sizing context, plan, and every preview field.
"""

from __future__ import annotations

from decimal import Decimal as D
from types import SimpleNamespace

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from perpcli.app import actions
from perpcli.app.order_plan import OrderRequest, PriceSpec, SizeSpec, plan_order
from perpcli.domain.events import AccountSnapshot, Balance, BookSnapshot, MarkPrice, PositionSnapshot
from perpcli.domain.instrument import Instrument, MarginMode, MarginTable, MarginTier
from perpcli.domain.orders import Side
from perpcli.ledger.account import Account
from perpcli.ledger.book import OrderBook
from perpcli.ledger.fees import FeeRates
from perpcli.ledger.margin_rules import HyperliquidRules
from perpcli.tui.live import snapshot_view
from perpcli.tui.preview import compute_preview, source_inputs, ticket_context
from perpcli.venues.base import LeverageSetting, Positions

VENUE = "fake"
PUBLIC = FeeRates(D("0.00015"), D("0.00045"), "public schedule")


def inst(symbol: str, sz: int, max_lev: int, table: MarginTable | None = None) -> Instrument:
    return Instrument(VENUE, symbol, symbol, 0, D(1).scaleb(-sz), max_lev, price_sig_figs=5,
                      price_max_decimals=6 - sz, min_notional=D(10), margin_table=table)


INSTRUMENTS = {
    "BTC": inst("BTC", 5, 40, MarginTable((MarginTier(D(0), 40), MarginTier(D(150_000), 20)))),
    "ETH": inst("ETH", 4, 25),
    "SOL": inst("SOL", 2, 10),
}
PRICES = {"BTC": D(95000), "ETH": D(3200), "SOL": D(180)}


class FakeMarketData:
    """The keyless side as the CLI reads it (the adapter's methods, fixed state)."""

    venue = VENUE

    def __init__(self, marks: dict[str, D], book: BookSnapshot) -> None:
        self.marks = marks
        self.snapshot = book

    def instrument(self, market):
        return INSTRUMENTS[market]

    def reference_prices(self, market):
        b = self.snapshot
        mid = (b.bids[0][0] + b.asks[0][0]) / 2 if market == b.symbol else self.marks[market]
        return mid, self.marks[market]

    def mark_prices(self, markets=None, *, fresh=False):
        return [MarkPrice(VENUE, s, m, 1) for s, m in self.marks.items() if markets is None or s in markets]

    def book(self, market, depth=20):
        assert market == self.snapshot.symbol
        return self.snapshot

    def margin_rules(self, instrument):
        return HyperliquidRules.for_instrument(instrument)

    def default_fees(self):
        return PUBLIC


class FakeTrading:
    def __init__(self, snap: AccountSnapshot, setting: tuple[int | None, bool], fees: FeeRates) -> None:
        self.snap, self.setting, self.fees = snap, setting, fees

    def account(self, market=None):
        return self.snap

    def leverage_setting(self, market):
        return LeverageSetting(*self.setting)

    def positions(self):
        return Positions([p for p in self.snap.positions if p.size], {})

    def fee_rates(self):
        return self.fees


class StoreSource:
    """The TUI's WatchSource over the same state, held as the live store holds it."""

    venue = VENUE

    def __init__(self, md: FakeMarketData, snap: AccountSnapshot, setting, fees: FeeRates) -> None:
        acct = Account(VENUE, snap.account)
        acct.reconcile(snap)
        self.md, self.view, self.setting, self.fee_rates = md, snapshot_view(acct), setting, fees
        self.order_book = OrderBook(VENUE, md.snapshot.symbol)
        self.order_book.apply_snapshot(md.snapshot)

    def instrument(self, symbol):
        return INSTRUMENTS[symbol]

    def book(self, symbol):
        return self.order_book if symbol == self.order_book.symbol else None

    def book_usable(self, symbol):
        return self.book(symbol) is not None and self.order_book.is_usable

    def mark(self, symbol):
        return MarkPrice(VENUE, symbol, self.md.marks[symbol], 1)

    def account(self):
        return self.view

    def leverage(self, symbol):
        return self.setting

    def margin_rules(self, symbol):
        return HyperliquidRules.for_instrument(INSTRUMENTS[symbol])

    def fees(self):
        return self.fee_rates


def book_around(symbol: str, mid: D, spread_ticks: int) -> BookSnapshot:
    tick = D(1) if mid > 10_000 else D("0.1") if mid > 1000 else D("0.01")
    bid, ask = mid - tick * spread_ticks, mid + tick * spread_ticks
    size = D("0.5") if symbol == "BTC" else D(5) if symbol == "ETH" else D(100)
    bids = tuple((bid - tick * i, size * (i + 1)) for i in range(10))
    asks = tuple((ask + tick * i, size * (i + 1)) for i in range(10))
    return BookSnapshot(VENUE, symbol, bids, asks, 1)


position = st.tuples(
    st.sampled_from(sorted(INSTRUMENTS)),
    st.integers(-300, 300).filter(bool),  # size in lots of 0.001 BTC / 0.01 ETH / 1 SOL
    st.integers(-50, 50),  # entry off the price, in 0.2%
    st.integers(1, 10),  # leverage
    st.booleans(),  # isolated
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cash=st.integers(500, 200_000),
    positions=st.lists(position, max_size=3, unique_by=lambda p: p[0]),
    market=st.sampled_from(sorted(INSTRUMENTS)),
    moves=st.tuples(st.integers(-30, 30), st.integers(-30, 30), st.integers(-30, 30)),
    spread=st.integers(1, 5),
    setting=st.sampled_from([(None, True), (3, True), (10, False), (1, True)]),
    own_fees=st.booleans(),
    side=st.sampled_from([Side.BUY, Side.SELL]),
    kind=st.sampled_from(["market", "rest", "cross", "post"]),
    size_kind=st.sampled_from(["base", "pct", "risk"]),
    lots=st.integers(1, 200),
    order_leverage=st.sampled_from([None, None, 2, 5]),
)
def test_cli_preview_and_tui_ticket_agree(cash, positions, market, moves, spread, setting, own_fees, side, kind,
                                          size_kind, lots, order_leverage):
    unit = {"BTC": D("0.001"), "ETH": D("0.01"), "SOL": D(1)}
    marks = {s: (p * (1 + D(m) / 1000)).quantize(D("0.1")) for (s, p), m in zip(PRICES.items(), moves, strict=True)}
    snaps = []
    for symbol, n, off, lev, isolated in positions:
        size = unit[symbol] * n
        entry = (PRICES[symbol] * (1 + D(off) / 500)).quantize(D("0.1"))
        mode = MarginMode.ISOLATED if isolated else MarginMode.CROSS
        position_upnl = size * (marks[symbol] - entry)
        # as the codec reports it: an isolated position's margin used is its allocation + uPnL
        iso = (abs(size) * entry / lev).quantize(D("0.000001")) + position_upnl if isolated else None
        snaps.append(PositionSnapshot(symbol, size, entry, mode, lev, iso, unrealized_pnl=position_upnl))
    upnl = sum((p.unrealized_pnl for p in snaps), D(0))
    snap = AccountSnapshot(VENUE, "0xabc", 1, balances=(Balance("USDC", D(cash)), Balance("spot:HYPE", D(3))),
                           positions=tuple(snaps), account_value=D(cash) + upnl)
    fees = FeeRates(D("0.0001"), D("0.0004"), "account") if own_fees else PUBLIC
    book = book_around(market, marks[market], spread)
    md = FakeMarketData(marks, book)
    trading = FakeTrading(snap, setting, fees)
    source = StoreSource(md, snap, setting, fees)

    best_bid, best_ask = book.bids[0][0], book.asks[0][0]
    if kind == "market":
        price = PriceSpec("market")
    else:
        limit = {"rest": best_bid if side is Side.BUY else best_ask,
                 "cross": best_ask if side is Side.BUY else best_bid,
                 "post": best_bid if side is Side.BUY else best_ask}[kind]
        price = PriceSpec("limit", limit=limit)
    stop = marks[market] * (D("0.97") if side is Side.BUY else D("1.03"))
    size = {"base": SizeSpec("base", unit[market] * lots), "pct": SizeSpec("pct", D(lots % 100 + 1)),
            "risk": SizeSpec("risk", D(lots % 5 + 1) / 2)}[size_kind]
    req = OrderRequest(market=market, side=side, size=size, price=price, post_only=kind == "post",
                       sl=INSTRUMENTS[market].round_price(stop, "down") if size_kind == "risk" else None,
                       leverage=order_leverage)

    ids = iter(range(10**6))

    def cloid():
        return f"0x{next(ids):032x}"

    session = SimpleNamespace(venue=VENUE, market=md)
    # --- the CLI: sizing context and preview read over the venue's methods
    cli_ctx = actions.market_context(session, market, need_account=size_kind != "base", trading=trading)
    # --- the TUI: the same from the store
    inputs = source_inputs(source, INSTRUMENTS[market], marks[market], instrument_of=INSTRUMENTS.get,
                           mark_of=marks.get)
    tui_ctx = ticket_context(inputs, source.order_book.mid())
    if size_kind != "base":
        assert (cli_ctx.free_collateral, cli_ctx.equity) == (tui_ctx.free_collateral, tui_ctx.equity)
    # What the guards check (the leverage the order will use, the position a reduce-only acts
    # on) is the same whether or not the CLI read the whole account to size the order.
    assert (cli_ctx.current_leverage, cli_ctx.position_size) == (tui_ctx.current_leverage, tui_ctx.position_size)
    try:
        cli_plan = plan_order(VENUE, req, cli_ctx, new_cloid=cloid)
    except Exception as e:  # noqa: BLE001 - then the ticket must refuse it the same way
        try:
            plan_order(VENUE, req, tui_ctx, new_cloid=cloid)
        except Exception as f:  # noqa: BLE001
            assert (type(e), str(e)) == (type(f), str(f))
            event("both refuse the order")
            return
        raise AssertionError(f"the CLI refused what the ticket accepts: {e}") from e
    tui_plan = plan_order(VENUE, req, tui_ctx, new_cloid=cloid)
    assert [i.size for i in tui_plan.intents] == [i.size for i in cli_plan.intents]
    assert tui_plan.main.price == cli_plan.main.price

    try:
        cli = actions.preview(session, trading, cli_plan)
    except Exception as e:  # noqa: BLE001 - a book too thin to price: the ticket says the same
        try:
            compute_preview(tui_plan, inputs)
        except Exception as f:  # noqa: BLE001
            assert (type(e), str(e)) == (type(f), str(f))
            event("both cannot price the order")
            return
        raise AssertionError(f"the CLI could not preview what the ticket does: {e}") from e
    event("previewed")
    tui = compute_preview(tui_plan, inputs)
    assert tui.to_json(limit_price=tui_plan.main.price) == cli
    assert cli["fee_source"] == fees.source
    assert cli["liquidity"] == ("maker" if kind in ("rest", "post") else "taker")
