"""The WatchSource of a venue without a book (Capabilities.kind "oracle", e.g. Ostium).

Such a venue fills every trade at its oracle's bid or ask, so there is no book to stream and
no trade tape: the tab shows the oracle's bid, mid and ask, and whether the market trades now
(and when it opens next). Quotes are read through the seam (`venues.base.OracleQuotes`) every
`poll_s`; the mid is the mark (written into the shared Store like any venue's marks, so the
preview, the account bar and the portfolio value positions the same way). The account side
(positions, orders) is LiveSource's: REST snapshots reconciled into the Store.

The health of this source is the health of the price feed: connected while quotes arrive,
STALE once the last good reading is older than `stale_after`, DOWN (with the error) when the
feed has never answered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from perpcli.domain.events import ConnectionState
from perpcli.ledger.store import Store
from perpcli.tui.live import LiveSource
from perpcli.tui.widgets.account import StreamHealth
from perpcli.venues.base import MarketData, OracleQuote, OracleQuotes, Trading

QUOTE_POLL_S = 1.0


def has_book(market_data: Any) -> bool:
    """Whether a venue streams a book (else it quotes from an oracle), from its Capabilities."""
    caps = market_data.capabilities
    return caps.kind != "oracle" and caps.book_stream != "none"


class OracleSource(LiveSource):
    """Quotes, marks and the account of a book-less venue. `await run()` in a worker."""

    has_book = False  # the app shows the oracle panel for its markets, not a ladder

    def __init__(self, market_data: MarketData, *, trading: Trading | None = None, markets: Sequence[str] = (),
                 store: Store | None = None, poll_s: float = QUOTE_POLL_S, stale_after: float = 10.0) -> None:
        if not isinstance(market_data, OracleQuotes):
            raise TypeError(f"{market_data.venue} has no book and no oracle quotes: nothing to show")
        super().__init__(market_data, trading=trading, markets=markets, store=store)
        self._quoter: OracleQuotes = market_data
        self.poll_s = poll_s
        self.stale_after = stale_after
        self._quotes: dict[str, OracleQuote] = {}
        self._last_ok = 0.0  # monotonic time of the last good reading
        self.last_error = ""

    def _attach_stream(self, protocol: Any, settings: Any) -> None:
        """No stream to attach: the quotes are polled (`run`)."""

    # ----- WatchSource: no book, no tape ------------------------------------------------------

    def book(self, symbol: str) -> None:
        return None

    def book_usable(self, symbol: str) -> bool:
        return False

    def trades(self, symbol: str, limit: int) -> list:
        return []

    def candles(self, symbol: str, interval: str, start_ms: int, end_ms: int) -> list:
        return []  # no chart for an oracle market (the tab shows the oracle panel)

    def quote(self, symbol: str) -> OracleQuote | None:
        """The last oracle reading for a market (None before the first)."""
        return self._quotes.get(symbol)

    def quote_age_ms(self) -> int | None:
        return None if not self._last_ok else int((time.monotonic() - self._last_ok) * 1000)

    def streams(self) -> list[StreamHealth]:
        age = self.quote_age_ms()
        if age is None:
            state = ConnectionState.DOWN if self.last_error else ConnectionState.CONNECTING
        elif self.last_error or age > self.stale_after * 1000:
            state = ConnectionState.STALE
        else:
            state = ConnectionState.CONNECTED
        return [StreamHealth(f"{self.venue} oracle", state, age, detail=self.last_error)]

    def ensure_market(self, symbol: str) -> None:
        if symbol not in self._wanted:
            self._wanted.append(symbol)

    # ----- the feed ---------------------------------------------------------------------------

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._account_due = asyncio.Event()
        self.store.set_instruments(self.venue, self.md.instruments())
        if self.trading is not None and self.account_address:
            self._account_due.set()
        tasks = [*self._background(), asyncio.create_task(self._poll_quotes(), name=f"tui:quotes:{self.venue}")]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _poll_quotes(self) -> None:
        while True:
            try:
                quotes = await asyncio.to_thread(self._read_quotes)
            except Exception as e:  # noqa: BLE001 - shown in the status line; keep polling
                self.last_error = str(e).splitlines()[0] if str(e) else type(e).__name__
                self._notify("status")
            else:
                self.last_error = ""
                self._last_ok = time.monotonic()
                self._quotes.update(quotes)
                for symbol in quotes:
                    self._notify(f"mark:{symbol}")
                self._notify("status")
            await asyncio.sleep(self.poll_s)

    def _read_quotes(self) -> dict[str, OracleQuote]:
        """One fresh reading of the feed, then every wanted market from it."""
        out: dict[str, OracleQuote] = {}
        for i, symbol in enumerate(list(self._wanted)):
            q = self._quoter.quote(symbol, fresh=i == 0)
            out[symbol] = q
        return out

    def _fetch_marks(self, symbols: list[str]) -> list:
        # The marks come from the same oracle feed: the mark poll reads what the quote poll read.
        return list(self.md.mark_prices(symbols or None, fresh=False)) if self._quotes else []
