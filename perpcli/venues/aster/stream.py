"""Aster over the venue-neutral websocket session: the protocol object and subscriptions.

What is Aster-specific (Binance USD-M's market streams): one connection to `<ws>/ws`, feeds
added with `{"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": n}` and
acknowledged with `{"result": null, "id": n}`; events arrive bare on /ws and wrapped as
`{"stream", "data"}` on /stream (both are read); stream names use the lower-case symbol; the
server pings at websocket level (no app-level ping). Routing keys:
- ("depth", SYMBOL)     `depthUpdate` diffs with U/u/pu; the snapshot comes from REST
                        (GET /fapi/v3/depth), and the book follows the PREV_CHAIN rule: the
                        first diff must bridge the snapshot's lastUpdateId, then every `pu`
                        equals the previous `u`, else resync (STALE until a fresh snapshot).
- ("aggTrade", SYMBOL)  trades; no snapshot, live on subscribe.
- ("markPrice", SYMBOL) mark, index and funding every second.

Pure apart from json: no I/O, no clock.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

from perpcli.domain.errors import UsageError
from perpcli.ledger.book import SyncRule
from perpcli.net.stream import FrameKind, Inbound, Resync, Subscription
from perpcli.venues.aster import codec

DEPTH_SNAPSHOT_LIMIT = 1000  # the docs' sync recipe: GET /depth?limit=1000
# One decoder for every frame (json.loads with parse_float builds a new one per call).
_DECODER = json.JSONDecoder(parse_float=Decimal)


def depth_subscription(symbol: str) -> Subscription:
    return Subscription(("depth", symbol), f"{symbol.lower()}@depth@100ms", f"depth:{symbol}", Resync.REST_SNAPSHOT)


def trades_subscription(symbol: str) -> Subscription:
    return Subscription(("aggTrade", symbol), f"{symbol.lower()}@aggTrade", f"aggTrade:{symbol}",
                        Resync.NEXT_MESSAGE, ready_on_subscribe=True)


def mark_subscription(symbol: str) -> Subscription:
    return Subscription(("markPrice", symbol), f"{symbol.lower()}@markPrice@1s", f"markPrice:{symbol}",
                        Resync.NEXT_MESSAGE, ready_on_subscribe=True)


def ws_endpoint(base: str) -> str:
    """The raw-stream endpoint subscriptions are added to (a base already ending in /ws is it)."""
    base = base.rstrip("/")
    return base if base.endswith("/ws") else base + "/ws"


class AsterFeed:
    """The venue's `LiveFeed`: where to connect, how to speak, what to subscribe to, and the
    REST snapshot a diff book resyncs from."""

    book_sync_rule = SyncRule.PREV_CHAIN

    def __init__(self, ws_base: str, venue: str, snapshot: Callable[[Subscription], Awaitable[str]]) -> None:
        self.ws_base = ws_base
        self.ws_url = ws_endpoint(ws_base)
        self.protocol = AsterProtocol(venue)
        self.snapshot = snapshot

    def book(self, symbol: str) -> Subscription:
        return depth_subscription(symbol)

    def trades(self, symbol: str) -> Subscription:
        return trades_subscription(symbol)

    def marks(self, symbol: str) -> Subscription:
        return mark_subscription(symbol)

    def fills(self, account: str) -> Subscription:
        raise UsageError("Aster's account events come on their own socket (the listenKey user-data stream): "
                         "see account_socket")

    def orders(self, account: str) -> Subscription:
        return self.fills(account)

    def account_socket(self, trading: Any) -> Any:
        """The listenKey user-data socket of `trading`'s account (user_stream.py)."""
        from perpcli.venues.aster.user_stream import account_socket

        return account_socket(trading, self.ws_base, self.protocol.venue)


USER_KEY = ("user",)


def user_subscription() -> Subscription:
    """The listenKey stream: the URL names it, so there is nothing to subscribe; account
    events are quiet for hours, so only the connection's health speaks for it."""
    return Subscription(USER_KEY, None, "user", Resync.RESUBSCRIBE, stale_after=math.inf, ready_on_subscribe=True)


class AsterProtocol:
    """The `StreamProtocol` for Aster-compatible servers (mainnet, testnet, a local face)."""

    def __init__(self, venue: str = "aster") -> None:
        self.venue = venue
        self._ids = itertools.count(1)

    def subscribe_frames(self, sub: Subscription) -> Sequence[str]:
        if sub.key == USER_KEY:
            return []
        return [json.dumps({"method": "SUBSCRIBE", "params": [sub.params], "id": next(self._ids)})]

    def unsubscribe_frames(self, sub: Subscription) -> Sequence[str]:
        if sub.key == USER_KEY:
            return []
        return [json.dumps({"method": "UNSUBSCRIBE", "params": [sub.params], "id": next(self._ids)})]

    def ping_frame(self) -> str | None:
        return None  # the server pings at websocket level; the client library answers

    def decode_snapshot(self, sub: Subscription, text: str) -> Sequence[object]:
        from decimal import Decimal

        symbol = sub.key[1]  # type: ignore[index]
        depth = json.loads(text, parse_float=Decimal)
        return [codec.book_snapshot(depth, venue=self.venue, symbol=symbol)]

    def decode(self, text: str) -> Sequence[Inbound]:
        msg: Any = _DECODER.decode(text)
        if not isinstance(msg, dict):
            return [Inbound(FrameKind.IGNORE, detail=text[:80])]
        if "stream" in msg and isinstance(msg.get("data"), dict):
            msg = msg["data"]  # combined-stream wrapper
        if "id" in msg and "e" not in msg:
            if msg.get("code") is not None or msg.get("error") is not None:
                return [Inbound(FrameKind.ERROR, detail=str(msg.get("msg") or msg.get("error")))]
            return [Inbound(FrameKind.ACK)]
        kind = msg.get("e")
        if kind == "depthUpdate":
            diff = codec.depth_diff(msg, venue=self.venue)
            return [Inbound(FrameKind.DATA, ("depth", diff.symbol), (diff,))]
        if kind == "aggTrade":
            trade = codec.agg_trade_event(msg, venue=self.venue)
            return [Inbound(FrameKind.DATA, ("aggTrade", trade.symbol), (trade,))]
        if kind == "markPriceUpdate":
            mark = codec.mark_price(msg, venue=self.venue)
            return [Inbound(FrameKind.DATA, ("markPrice", mark.symbol), (mark,))]
        return [Inbound(FrameKind.IGNORE, detail=str(kind))]


class AsterUserProtocol(AsterProtocol):
    """The listenKey stream of one account: order and account updates; `on_expired` is called
    when the venue says the key expired (a new one must be created and connected)."""

    def __init__(self, venue: str, account: str, on_expired: Callable[[], None] | None = None,
                 on_order: Callable[[str, str, str | None], None] | None = None) -> None:
        super().__init__(venue)
        self.account = account
        self._on_expired = on_expired
        self._on_order = on_order  # (symbol, oid, cloid) of each order event: where REST finds it later

    def decode(self, text: str) -> Sequence[Inbound]:
        from decimal import Decimal

        from perpcli.venues.aster import codec_account

        msg: Any = json.loads(text, parse_float=Decimal)
        if isinstance(msg, dict) and "stream" in msg and isinstance(msg.get("data"), dict):
            msg = msg["data"]
        kind = msg.get("e") if isinstance(msg, dict) else None
        if kind in ("ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"):
            events = codec_account.user_events(msg, venue=self.venue, account=self.account)
            if self._on_order is not None:
                for ev in events:
                    if isinstance(ev, codec_account.OrderUpdate):
                        self._on_order(ev.order.symbol, ev.order.oid, ev.order.cloid)
            return [Inbound(FrameKind.DATA, USER_KEY, tuple(events))]
        if kind == "listenKeyExpired":
            if self._on_expired is not None:
                self._on_expired()
            return [Inbound(FrameKind.IGNORE, detail="listenKeyExpired")]
        if kind in ("ACCOUNT_CONFIG_UPDATE", "MARGIN_CALL"):
            return [Inbound(FrameKind.IGNORE, detail=str(kind))]  # leverage/margin reads come from REST
        return super().decode(text)


def iterate(feed: AsterFeed, venue: str, subs: Sequence[Subscription], *, books: bool = False) -> Any:
    """Domain events from live subscriptions (see `perpcli.venues.live.iterate`): a depth
    subscription is a book feed synced onto the REST snapshot (U/u/pu) when `books`."""
    from perpcli.venues.live import iterate as live_iterate

    book_keys = {sub.key: sub.key[1] for sub in subs if sub.key[0] == "depth"} if books else None  # type: ignore[index]
    return live_iterate(feed, venue, subs, books=book_keys)
