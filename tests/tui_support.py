"""An in-memory WatchSource and Trader for TUI tests that need no network.

The fake keeps real ledger books (perpcli.ledger.book.OrderBook) and domain events, so the
app under test reads exactly the types the live store serves; only the wiring is fake.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from perpcli.domain.events import (
    AccountSnapshot,
    Balance,
    BookSnapshot,
    ConnectionState,
    MarkPrice,
    PositionSnapshot,
    Trade,
)
from perpcli.domain.instrument import Instrument
from perpcli.domain.orders import Order, OrderStatus, Side
from perpcli.ledger.book import OrderBook
from perpcli.ledger.fees import FeeRates
from perpcli.ledger.margin_rules import HyperliquidRules
from perpcli.tui.widgets.account import StreamHealth

D = Decimal


def instrument(symbol: str, sz_decimals: int = 4, max_leverage: int = 50) -> Instrument:
    return Instrument(venue="fake", symbol=symbol, underlying=symbol, asset_id=0,
                      lot_size=D(1).scaleb(-sz_decimals), max_leverage=max_leverage,
                      price_sig_figs=5, price_max_decimals=6 - sz_decimals, min_notional=D(10))


class FakeSource:
    venue = "fake"

    def __init__(self, symbols=("BTC", "ETH")) -> None:
        self.instruments = {s: instrument(s) for s in symbols}
        self.books = {s: OrderBook("fake", s) for s in symbols}
        self._trades = {s: deque(maxlen=500) for s in symbols}
        self.marks: dict[str, MarkPrice] = {}
        self.snapshot: AccountSnapshot | None = None
        self.health = [StreamHealth("l2Book", ConnectionState.CONNECTED, 10)]
        self.listeners = []
        self.leverages: dict[str, tuple[int | None, bool]] = {}
        self.ensured: list[str] = []
        self.fee_rates = FeeRates(D("0.00015"), D("0.00045"), "public schedule")  # Hyperliquid's base tier

    # WatchSource
    def markets(self):
        return list(self.instruments)

    def instrument(self, symbol):
        return self.instruments[symbol]

    def book(self, symbol):
        return self.books.get(symbol)

    def book_usable(self, symbol):
        return self.books[symbol].is_usable and all(h.state is ConnectionState.CONNECTED for h in self.health)

    def trades(self, symbol, limit):
        return list(self._trades[symbol])[:limit]

    def mark(self, symbol):
        return self.marks.get(symbol)

    def account(self):
        return self.snapshot

    def leverage(self, symbol):
        return self.leverages.get(symbol, (None, True))

    def margin_rules(self, symbol):
        return HyperliquidRules.for_instrument(self.instruments[symbol])

    def fees(self):
        return self.fee_rates

    def streams(self):
        return list(self.health)

    def add_listener(self, fn):
        self.listeners.append(fn)

    def ensure_market(self, symbol):
        self.ensured.append(symbol)

    # driving it
    def _notify(self, topic):
        for fn in self.listeners:
            fn(topic)

    def push_book(self, symbol, bids, asks, time_ms=1):
        snap = BookSnapshot("fake", symbol, tuple((D(p), D(s)) for p, s in bids),
                            tuple((D(p), D(s)) for p, s in asks), time_ms)
        self.books[symbol].apply_snapshot(snap)
        self._notify(f"book:{symbol}")

    def push_trade(self, symbol, side, price, size, time_ms, tid):
        self._trades[symbol].appendleft(Trade("fake", symbol, side, D(price), D(size), time_ms, tid))
        self._notify(f"trades:{symbol}")

    def push_mark(self, symbol, price):
        self.marks[symbol] = MarkPrice("fake", symbol, D(price), 1)
        self._notify(f"mark:{symbol}")

    def set_account(self, *, equity="10000", positions=(), orders=(), margin_used="0", withdrawable=None):
        self.snapshot = AccountSnapshot(
            "fake", "0xabc", 1, balances=(Balance("USDC", D(equity)),), positions=tuple(positions),
            open_orders=tuple(orders), account_value=D(equity), margin_used=D(margin_used),
            withdrawable=D(withdrawable if withdrawable is not None else equity),
        )
        self._notify("account")

    def set_health(self, state, age_ms=10):
        self.health = [StreamHealth("l2Book", state, age_ms)]
        self._notify("status")


def order(oid, symbol="BTC", side=Side.BUY, price="100", size="1") -> Order:
    return Order("fake", symbol, side, D(price), D(size), D(size), OrderStatus.OPEN, oid=oid)


def position(symbol="BTC", size="1", entry="100", lev=10, liq=None) -> PositionSnapshot:
    return PositionSnapshot(symbol, D(size), D(entry), leverage=lev,
                            liquidation_price=D(liq) if liq else None)


class FakeTrader:
    """Records what the app asked for; answers like app.actions would."""

    def __init__(self, source: FakeSource | None = None, confirm_above=D(10**9)) -> None:
        self.calls: list[tuple] = []
        self.source = source
        self.confirm_above = confirm_above
        self._n = 0

    def new_cloid(self):
        self._n += 1
        return "0x" + f"{self._n:032x}"

    def check_risk(self, plan):
        pass

    def needs_confirmation(self, notional):
        return notional > self.confirm_above

    def place(self, plan):
        self.calls.append(("place", plan))
        return []

    def cancel(self, orders):
        self.calls.append(("cancel", list(orders)))
        return []

    def cancel_all(self):
        self.calls.append(("cancel_all",))
        return []

    def close(self, symbol):
        self.calls.append(("close", symbol))
        return []

    def flatten(self):
        self.calls.append(("flatten",))
        return []


def screen_text(app) -> str:
    """The terminal as plain text lines, rebuilt from Textual's SVG screenshot (cells are 12.2 px)."""
    import html
    import re

    svg = app.export_screenshot()
    lines: dict[int, dict[int, str]] = {}
    pattern = r'<text[^>]*x="([\d.]+)"[^>]*clip-path="url\(#terminal-\d+-line-(\d+)\)"[^>]*>([^<]*)</text>'
    for x, line, content in re.findall(pattern, svg):
        col = round(float(x) / 12.2)
        row = lines.setdefault(int(line), {})
        for i, ch in enumerate(html.unescape(content).replace("\xa0", " ")):
            row[col + i] = ch
    out = []
    for n in range(max(lines, default=-1) + 1):
        row = lines.get(n, {})
        out.append("".join(row.get(c, " ") for c in range(max(row, default=-1) + 1)).rstrip())
    return "\n".join(out)


async def wait_until(pilot, condition, timeout: float = 5.0, step: float = 0.02) -> bool:
    """Let the app run until `condition()` holds (the machine may be busy: never a fixed sleep)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        await pilot.pause(step)
