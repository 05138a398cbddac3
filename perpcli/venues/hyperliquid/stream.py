"""Hyperliquid over the venue-neutral websocket session: the protocol object and subscriptions.

What is Hyperliquid-specific (hyperliquid.md §c): subscribe/unsubscribe frames carry the
subscription object; `{"method":"ping"}` is answered by a `pong` channel; the server greets
with a plain-text line; every message is `{"channel", "data"}`. Routing keys are built the same
way from a subscription and from a frame so the session can deliver each frame to its feed:
- l2Book:       ("l2Book", coin)        every message is the full book -> resync = next message
- trades:       ("trades", coin)
- userFills:    ("userFills", user)     first message isSnapshot -> resync = resubscribe
- orderUpdates: ("orderUpdates",)       messages carry no user: one account per connection
- userEvents:   ("user",)               channel name differs from the subscription type
- activeAssetCtx: ("activeAssetCtx", coin)  a perp's mark and funding, pushed as they move

Pure apart from json: no I/O, no clock. Fills are re-delivered in snapshots after every
reconnect; consumers dedupe by `Fill.key` (see perpcli/app/live.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Hashable, Sequence

from perpcli.ledger.book import SyncRule
from perpcli.net.stream import FrameKind, Inbound, Resync, Subscription
from perpcli.venues.hyperliquid import codec
from perpcli.venues.hyperliquid.codec_book import decode_l2book_lazy

PING = '{"method":"ping"}'


def book_subscription(coin: str) -> Subscription:
    return Subscription(("l2Book", coin), {"type": "l2Book", "coin": coin}, f"l2Book:{coin}", Resync.NEXT_MESSAGE)


def trades_subscription(coin: str) -> Subscription:
    return Subscription(("trades", coin), {"type": "trades", "coin": coin}, f"trades:{coin}", Resync.NEXT_MESSAGE)


def marks_subscription(coin: str) -> Subscription:
    return Subscription(("activeAssetCtx", coin), {"type": "activeAssetCtx", "coin": coin}, f"activeAssetCtx:{coin}",
                        Resync.NEXT_MESSAGE)


def fills_subscription(user: str) -> Subscription:
    user = user.lower()
    return Subscription(("userFills", user), {"type": "userFills", "user": user}, "userFills", Resync.RESUBSCRIBE)


def order_updates_subscription(user: str) -> Subscription:
    return Subscription(("orderUpdates",), {"type": "orderUpdates", "user": user.lower()}, "orderUpdates",
                        Resync.RESUBSCRIBE)


class HyperliquidFeed:
    """The venue's `LiveFeed`: where to connect, how to speak, and what to subscribe to."""

    book_sync_rule = SyncRule.SNAPSHOTS_ONLY  # every l2Book message is the whole book
    snapshot = None  # so a resync is simply the next message: no REST snapshot to fetch
    account_socket = None  # account channels ride the market socket

    def __init__(self, ws_url: str, venue: str, account: str = "") -> None:
        self.ws_url = ws_url
        self.protocol = HyperliquidProtocol(venue, account)

    def book(self, symbol: str) -> Subscription:
        return book_subscription(symbol)

    def trades(self, symbol: str) -> Subscription:
        return trades_subscription(symbol)

    def marks(self, symbol: str) -> Subscription:
        """The market's mark and funding as they move (MarkPrice events; LiveFeed.marks)."""
        return marks_subscription(symbol)

    def fills(self, account: str) -> Subscription:
        return fills_subscription(account)

    def orders(self, account: str) -> Subscription:
        return order_updates_subscription(account)


class HyperliquidProtocol:
    """The `StreamProtocol` for Hyperliquid-compatible servers (mainnet, testnet, devnet)."""

    def __init__(self, venue: str = "hyperliquid", account: str = "") -> None:
        self.venue = venue
        self.account = account.lower()

    def subscribe_frames(self, sub: Subscription) -> Sequence[str]:
        return [json.dumps({"method": "subscribe", "subscription": sub.params}, separators=(",", ":"))]

    def unsubscribe_frames(self, sub: Subscription) -> Sequence[str]:
        return [json.dumps({"method": "unsubscribe", "subscription": sub.params}, separators=(",", ":"))]

    def ping_frame(self) -> str | None:
        return PING

    def decode_snapshot(self, sub: Subscription, text: str) -> Sequence[object]:
        return []  # no Hyperliquid feed needs a REST snapshot: books are full, fills re-snapshot

    def decode(self, text: str) -> Sequence[Inbound]:
        if not text.startswith("{"):
            return [Inbound(FrameKind.IGNORE, detail=text[:80])]  # "Websocket connection established."
        if text.startswith('{"channel":"l2Book"'):
            snap = decode_l2book_lazy(text, venue=self.venue)  # levels parsed when read
            return [Inbound(FrameKind.DATA, ("l2Book", snap.symbol), (snap,))]
        msg = json.loads(text)
        channel = msg.get("channel")
        if channel == "pong":
            return [Inbound(FrameKind.PONG)]
        if channel == "subscriptionResponse":
            return [Inbound(FrameKind.ACK)]
        if channel == "error":
            return [Inbound(FrameKind.ERROR, key=_key_of_error(str(msg.get("data", ""))),
                            detail=str(msg.get("data", "")))]
        data = msg.get("data")
        if channel == "l2Book":
            snap = codec.book_snapshot(data, venue=self.venue)
            return [Inbound(FrameKind.DATA, ("l2Book", snap.symbol), (snap,))]
        if channel == "trades":
            trades = codec.trades(data or [], venue=self.venue)
            if not trades:
                return [Inbound(FrameKind.IGNORE)]
            return [Inbound(FrameKind.DATA, ("trades", trades[0].symbol), tuple(trades))]
        if channel == "activeAssetCtx":
            mark = codec.active_asset_ctx(data, venue=self.venue)
            return [Inbound(FrameKind.DATA, ("activeAssetCtx", mark.symbol), (mark,))]
        if channel in ("userFills", "orderUpdates", "user"):
            _, events, _ = codec.ws_events(msg, venue=self.venue, account=self.account)
            if channel == "userFills":
                key: Hashable = ("userFills", str(data.get("user", self.account)).lower())
            elif channel == "orderUpdates":
                key = ("orderUpdates",)
            else:
                key = ("user",)
            return [Inbound(FrameKind.DATA, key, tuple(events))]
        return [Inbound(FrameKind.IGNORE, detail=str(channel))]


def _key_of_error(text: str) -> Hashable | None:
    """The venue's errors echo the subscription object; find which feed it was, if any."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        sub = json.loads(text[start:])
    except ValueError:
        return None
    if not isinstance(sub, dict):
        return None
    t = sub.get("type")
    if t in ("l2Book", "trades", "activeAssetCtx"):
        return (t, sub.get("coin"))
    if t == "userFills":
        return ("userFills", str(sub.get("user", "")).lower())
    if t == "orderUpdates":
        return ("orderUpdates",)
    return None


def iterate(ws_url: str, venue: str, subs: Sequence[Subscription], *, account: str = "",
            books: bool = False) -> AsyncIterator[object]:
    """Domain events from live subscriptions (see `perpcli.venues.live.iterate`); every l2Book
    subscription is a book feed when `books`."""
    from perpcli.venues.live import iterate as live_iterate

    feed = HyperliquidFeed(ws_url, venue, account)
    book_keys = {sub.key: sub.key[1] for sub in subs if sub.key[0] == "l2Book"} if books else None
    return live_iterate(feed, venue, subs, books=book_keys)
