"""The body of `perp stream`: a StreamSession on the venue's websocket, printing NDJSON."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from perpcli.app import views
from perpcli.cli import output, venue_cmd
from perpcli.domain.events import ConnectionStatus, Fill, OrderUpdate, Trade
from perpcli.net.stream import StreamSession
from perpcli.venues import live
from perpcli.venues.live import LiveModel


def _status_line(s: ConnectionStatus) -> dict[str, Any]:
    return {"event": "status", "venue": s.venue, "stream": s.stream, "state": s.state.value, "time": s.time_ms,
            "detail": s.detail}


async def run_stream(kind: str, market: str | None, *, depth: int, seconds: float) -> None:
    session = venue_cmd.session()
    md = session.market
    venue = session.venue
    symbol = md.instrument(market).symbol if market else None
    account = ""
    trading = None
    if kind in ("fills", "orders"):
        trading = session.reader()  # an account stream needs only the address
        account = trading.account_address

    stdout_closed = asyncio.Event()  # the reader went away (`perp stream ... | head`)

    def emit(doc: dict[str, Any]) -> None:
        # A closed stdout must end the command, not look like a lost connection: the stream
        # session treats a callback's exception as a network failure and would reconnect forever.
        if stdout_closed.is_set():
            return
        try:
            output.emit_ndjson(doc)
        except BrokenPipeError:
            stdout_closed.set()

    seen_orders: set[tuple] = set()  # (oid, status, remaining): what this stream already printed
    started_ms = time.time_ns() // 1_000_000

    def on_new(event: Any, backfilled: bool = False) -> None:
        mark = {"backfilled": True} if backfilled else {}
        if isinstance(event, Trade) and kind == "trades":
            emit({"event": "trade", **views.trade_row(event)})
        elif isinstance(event, Fill) and kind == "fills" and (symbol is None or event.symbol == symbol):
            emit({"event": "fill", **views.fill_row(event), **mark})
        elif isinstance(event, OrderUpdate) and kind == "orders" and (symbol is None or event.order.symbol == symbol):
            o = event.order
            if (o.oid, o.status, o.size) in seen_orders:
                return
            seen_orders.add((o.oid, o.status, o.size))
            emit({"event": "order", **views.order_row(o, venue=venue), "reason": event.reason, **mark})

    async def backfill() -> None:
        """After a reconnect: what the account did while the socket was down, from REST. Order
        updates carry no snapshot on resubscribe, so without this they would be lost."""
        if kind == "orders":
            for update in await asyncio.to_thread(trading.order_updates_since, started_ms):
                on_new(update, backfilled=True)
        elif kind == "fills":
            for fill in await asyncio.to_thread(trading.fills, started_ms):
                if fill.key not in model.fills:
                    model.fills[fill.key] = fill
                    on_new(fill, backfilled=True)

    def on_book(key: Any, book: Any) -> None:
        bids, asks = book.top(depth)
        emit({"event": "book", "venue": venue, "market": book.symbol, "time": book.time_ms,
              "bids": [[px, sz] for px, sz in bids], "asks": [[px, sz] for px, sz in asks]})

    model = LiveModel(on_new=on_new, on_book=on_book, on_status=lambda s: emit(_status_line(s)))
    feed = md.live_feed(account)  # the venue's protocol and subscriptions, as data
    # Venues that keep account events off the market socket give them their own (Aster: listenKey).
    socket = live.account_socket(feed, trading) if trading is not None else None
    if kind == "book":
        sub = feed.book(symbol)
        model.book(venue, symbol, sub.key, feed.book_sync_rule)
    elif kind == "trades":
        sub = feed.trades(symbol)
    elif socket is not None:
        sub = socket.subscription
    elif kind == "fills":
        sub = feed.fills(account)
    else:
        sub = feed.orders(account)
    if socket is not None:
        ws = live.account_session(socket, model, name=f"{venue}-{kind}", on_reconnect=backfill)
    else:
        ws = StreamSession(feed.ws_url, feed.protocol, model, name=f"{venue}-{kind}", snapshot_fetcher=feed.snapshot,
                           on_reconnect=backfill if trading is not None else None)
    await ws.subscribe(sub)
    try:
        async with ws:
            runner = ws.start()
            closed = asyncio.ensure_future(stdout_closed.wait())
            await asyncio.wait({runner, closed}, timeout=seconds if seconds > 0 else None,
                               return_when=asyncio.FIRST_COMPLETED)
            closed.cancel()
            if stdout_closed.is_set():
                raise BrokenPipeError("stdout closed")  # the entry point ends quietly (exit 0)
            if runner.done() and not runner.cancelled() and runner.exception() is not None:
                raise runner.exception()  # a non-retryable stream failure (bad URL, protocol bug)
    finally:
        session.close()
