"""Aster's account socket: the listenKey user-data stream behind the venue-neutral `AccountSocket`.

Aster (like Binance) keeps account events off the market socket. A signed `POST listenKey`
returns a key (a new one, or the live one extended); `<ws>/ws/<key>` then carries the account's
ORDER_TRADE_UPDATE and ACCOUNT_UPDATE events. The key lives 60 minutes: a `PUT listenKey`
every 30 keeps it. When the venue lets it lapse anyway it says `listenKeyExpired` and the
socket goes quiet for good.

All of that lives in the connector StreamSession calls for each connection, so a reconnect
is also the re-creation of the key: every connection POSTs for its key, keeps it alive while
connected, and is closed when the key expired (or a keepalive failed), which makes the session
reconnect with a fresh key and run its reconnect hook, which reconciles over REST what the
socket missed meanwhile. The key never appears in the session's URL, statuses or logs: it is
a credential for reading the account.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from perpcli.venues.base import AccountSocket

log = logging.getLogger("perpcli.venues.aster")

KEEPALIVE_S = 30 * 60.0  # the key lives 60 min; a PUT every 30 keeps it


def _default_connect(url: str, **kwargs: Any) -> Any:
    from websockets.asyncio.client import connect

    return connect(url, **kwargs)


class ListenKeyConnector:
    """StreamSession's `connector` for the user-data stream of one account.

    `trading` is the keyed side (AsterTrading): `listen_key()` and `keep_listen_key_alive()`
    are its signed calls, run in a worker thread so the loop keeps reading other sockets.
    """

    def __init__(self, trading: Any, ws_base: str, *, keepalive_s: float | None = None,
                 connect: Callable[..., Any] = _default_connect) -> None:
        from perpcli.venues.aster.stream import ws_endpoint

        self.trading = trading
        self.ws_base = ws_endpoint(ws_base)
        self.keepalive_s = keepalive_s
        self._connect = connect
        self._current: _KeptAlive | None = None
        self.keys_created = 0  # connections opened with a key from POST listenKey

    async def __call__(self, url: str, **kwargs: Any) -> _KeptAlive:
        from perpcli.domain.errors import NetworkError, OutcomeUnknown

        try:
            key = await asyncio.to_thread(self.trading.listen_key)
        except OutcomeUnknown as e:  # POST listenKey is idempotent: an unanswered one is retried
            raise NetworkError(f"listenKey: {e}") from None
        self.keys_created += 1
        ws = await self._connect(f"{self.ws_base}/{key}", **kwargs)
        interval = self.keepalive_s if self.keepalive_s is not None else self.trading.listen_key_keepalive_s
        kept = _KeptAlive(ws, self.trading, interval)
        self._current = kept
        return kept

    def expired(self) -> None:
        """The venue said the key expired: end this connection (the session reconnects with a
        new key). Called from the protocol's decode, inside the event loop."""
        current = self._current
        if current is not None:
            log.info("aster user stream: listenKey expired; reconnecting with a new key")
            current.end("listenKey expired")


class _KeptAlive:
    """One user-data connection and the keepalive task that lives exactly as long as it."""

    def __init__(self, ws: Any, trading: Any, interval: float) -> None:
        self.ws = ws
        self._trading = trading
        self._interval = interval
        self._task = asyncio.ensure_future(self._keepalive())
        self._closing: asyncio.Task[None] | None = None

    def __aiter__(self) -> Any:
        return self.ws.__aiter__()

    async def send(self, text: str) -> None:
        await self.ws.send(text)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self.ws.close()

    def end(self, reason: str) -> None:
        """Close from inside the loop without waiting (the receive loop then ends, as on a drop)."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self.close())

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await asyncio.to_thread(self._trading.keep_listen_key_alive)
            except Exception as e:  # noqa: BLE001 - a key that cannot be kept is replaced
                log.warning("aster user stream: keepalive failed (%s); reconnecting with a new key", e)
                self.end("keepalive failed")
                return


def account_socket(trading: Any, ws_base: str, venue: str) -> AccountSocket:
    """The `AccountSocket` of `trading`'s account: listenKey connector, protocol, subscription."""
    from perpcli.venues.aster.stream import AsterUserProtocol, user_subscription, ws_endpoint

    connector = ListenKeyConnector(trading, ws_base)
    protocol = AsterUserProtocol(venue, trading.account_address, on_expired=connector.expired,
                                 on_order=trading.note_order)
    return AccountSocket(ws_url=ws_endpoint(ws_base) + "/<listenKey>", protocol=protocol, connector=connector,
                         subscription=user_subscription())
