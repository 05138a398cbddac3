"""A venue-neutral websocket session: one connection, many subscriptions, never silently stale.

WHY one module for the I/O and nothing venue-specific in it: every venue we support (Hyperliquid,
Aster, Lighter, dYdX) needs the same machinery — connect, subscribe, keep the socket alive,
notice silence, reconnect with jittered backoff, resubscribe everything, resynchronise books —
and the official SDKs get it wrong in different ways (Hyperliquid's has no reconnect at all).
What differs per venue is small and lives in a `StreamProtocol` the adapter supplies: how to
write a subscribe/unsubscribe/ping frame, and how to turn an incoming frame into domain events
routed to one subscription. The session hands those events to a `StreamSink` (the store) and
asks it whether the feed is still in sync; a gap or crossed book makes the session resync that
subscription (resubscribe, or fetch a REST snapshot through the adapter's hook).

Design choices worth knowing:
- Frame handling is synchronous and cheap (decode, apply, touch a timestamp): the receive loop
  must keep up with the venue, and anything slow (a screen) reads coalesced state from the store.
- Time comes from an injectable clock; `check_staleness()` is the whole staleness rule, called
  by a timer task, so tests drive it with a manual clock.
- Errors are never swallowed: a retryable failure reconnects (and is reported as a status with
  its reason); anything else stops the session with `failure` set and re-raised by `run()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NamedTuple, Protocol

from perpcli.domain.errors import NetworkError, OutcomeUnknown, PerpError
from perpcli.domain.events import ConnectionState, ConnectionStatus, Event
from perpcli.net.backoff import Backoff, RetryDecision, classify_exception
from perpcli.net.clock import SYSTEM_CLOCK, Clock, ManualClock, SystemClock
from perpcli.net.recorder import FrameRecorder, RecordedFrame, check_key
from perpcli.net.staleness import StalenessTracker

log = logging.getLogger("perpcli.net.stream")


class Resync(str, Enum):
    """How a subscription's state is rebuilt after a gap or a reconnect."""

    #: The venue's first message after (re)subscribing is a full snapshot (Lighter order_book,
    #: Hyperliquid userFills isSnapshot). Heal a gap by unsubscribing and subscribing again.
    RESUBSCRIBE = "resubscribe"
    #: Diffs only on the socket; the snapshot comes from REST (Binance/Aster depth, U/u/pu).
    REST_SNAPSHOT = "rest_snapshot"
    #: Every message is the full state (Hyperliquid l2Book): just wait for the next one.
    NEXT_MESSAGE = "next_message"


@dataclass(frozen=True)
class Subscription:
    """One feed on the connection.

    `key` routes incoming frames to it (built by the protocol from the frame, and by the
    adapter from the request, so both sides must agree); `params` is whatever the protocol
    needs to write the subscribe frame (the venue's subscription object; opaque here).
    `name` is a short label for statuses and logs, e.g. "l2Book:ETH".
    """

    key: Hashable
    params: Any
    name: str
    resync: Resync = Resync.RESUBSCRIBE
    #: Silence after which this feed is STALE; None = the session's default, math.inf = never
    #: (account channels are quiet for hours; only the connection's health speaks for them).
    stale_after: float | None = None
    #: True for pure event feeds with no initial snapshot (Hyperliquid orderUpdates): nothing
    #: to wait for, so the feed is live as soon as it is subscribed on a live connection.
    ready_on_subscribe: bool = False


class FrameKind(str, Enum):
    DATA = "data"  # events for one subscription
    PONG = "pong"  # answer to our app-level ping
    PING = "ping"  # the venue pings us at app level; send `reply`
    ACK = "ack"  # subscription acknowledged
    ERROR = "error"  # the venue reports an error, maybe for one subscription
    IGNORE = "ignore"  # greetings, unknown channels: counted, not fatal
    RESPONSE = "response"  # the answer to a `request` (Hyperliquid `post`), matched by request_id


class Inbound(NamedTuple):
    """What the protocol made of one incoming frame.

    A NamedTuple rather than a frozen dataclass: one is built for every frame a socket
    receives, and a frozen dataclass sets each field through object.__setattr__ (several
    times the cost of a tuple; bench/ingest.py). Immutable all the same.
    """

    kind: FrameKind
    key: Hashable | None = None
    events: tuple[Event, ...] = ()
    reply: str | None = None
    detail: str = ""
    request_id: Hashable | None = None  # RESPONSE: which request this answers
    payload: Any = None  # RESPONSE: handed back, undecoded, to the adapter that asked


class StreamProtocol(Protocol):
    """The venue-specific half of a stream: frames in, frames out. Pure (no I/O, no clock)."""

    venue: str

    def subscribe_frames(self, sub: Subscription) -> Sequence[str]: ...

    def unsubscribe_frames(self, sub: Subscription) -> Sequence[str]: ...

    def ping_frame(self) -> str | None:
        """The app-level ping text, or None when the venue relies on websocket-level pings."""
        ...

    def decode(self, text: str) -> Sequence[Inbound]: ...

    def decode_snapshot(self, sub: Subscription, text: str) -> Sequence[Event]:
        """Turn a REST snapshot body (for `Resync.REST_SNAPSHOT` feeds) into events."""
        ...


class SyncVerdict(str, Enum):
    """What the sink says about a feed after applying events to it."""

    IN_SYNC = "in_sync"  # applied; the state is usable
    WAITING = "waiting"  # buffered or ignored while waiting for a snapshot: not an error
    OUT_OF_SYNC = "out_of_sync"  # gap, crossed, or checksum mismatch: resync needed


class StreamSink(Protocol):
    """Where decoded events go (the store). Synchronous: it runs inside the receive loop."""

    def begin_sync(self, key: Hashable) -> None:
        """Forget continuity for `key` (new subscription, reconnect, resync): only a fresh
        snapshot may make it usable again. Until then it must not be used to price anything."""
        ...

    def apply(self, key: Hashable, events: Sequence[Event]) -> SyncVerdict: ...

    def status(self, key: Hashable | None, status: ConnectionStatus) -> None:
        """Health of one feed (`key`) or of the whole connection (`key` is None)."""
        ...


SnapshotFetcher = Callable[[Subscription], Awaitable[str]]
ReconnectHook = Callable[[], Awaitable[None]]
Connector = Callable[[str], Any]  # returns an awaitable websocket client connection


class FeedState(str, Enum):
    SYNCING = "syncing"  # subscribed or resyncing; no usable state yet
    LIVE = "live"
    STALE = "stale"  # silent for too long, or the connection is down
    CLOSED = "closed"


# Connection states reported on every attempt, even when unchanged (each retry is news).
_EVERY_ATTEMPT = (ConnectionState.CONNECTING, ConnectionState.RECONNECTING)

_FEED_TO_CONNECTION = {
    FeedState.SYNCING: ConnectionState.RECONNECTING,  # a feed that was live once (see _set_feed_state)
    FeedState.LIVE: ConnectionState.CONNECTED,
    FeedState.STALE: ConnectionState.STALE,
    FeedState.CLOSED: ConnectionState.DOWN,
}


# Enum members bound once: a class attribute lookup on an Enum costs a dict walk each time in 3.11, and
# the receive loop makes several per frame.
_DATA = FrameKind.DATA
_PING = FrameKind.PING
_IN_SYNC = SyncVerdict.IN_SYNC
_LIVE = FeedState.LIVE
_CONNECTED = ConnectionState.CONNECTED


class HeartbeatTimeout(TimeoutError):
    """No pong arrived in time: the connection is dead even if TCP has not noticed."""


class StreamDecodeError(PerpError):
    """A frame the venue protocol could not decode.

    Retryable on purpose: after a frame we cannot read we cannot know which feed lost data, so
    the connection is restarted and every feed resynced (the frame is in the recording, if one
    is kept, for the bug report).
    """

    retryable = True


class _Dropped(Exception):
    """The server closed the connection (normal end of one connection, not of the session)."""


_CONNECTION = object()  # staleness-tracker key of the connection itself
_NO_REPLIES: tuple[str, ...] = ()


@dataclass
class StreamSettings:
    """Timings. Defaults follow hyperliquid.md §c.2: ping ≤30 s, pong within 10 s."""

    ping_interval: float = 20.0
    pong_timeout: float = 10.0
    stale_after: float = 10.0  # a feed silent this long is STALE (books: never used to price)
    staleness_check_interval: float = 1.0
    open_timeout: float = 10.0
    close_timeout: float = 2.0
    healthy_after: float = 5.0  # a connection alive this long resets the backoff
    snapshot_retry_delay: float = 0.5
    backoff: Backoff = field(default_factory=lambda: Backoff(base=0.5, factor=2.0, cap=30.0))


@dataclass
class StreamStats:
    connects: int = 0
    disconnects: int = 0
    frames_in: int = 0
    frames_out: int = 0
    ignored: int = 0
    venue_errors: int = 0
    resyncs: int = 0
    snapshots_fetched: int = 0
    decode_errors: int = 0
    last_error: str = ""


def _default_connector(url: str, **kwargs: Any) -> Any:
    # Imported here: websockets is only needed by sessions that really connect (not replays).
    from websockets.asyncio.client import connect

    return connect(url, **kwargs)


class StreamSession:
    """One websocket connection multiplexing many subscriptions, kept alive and in sync.

    Use as `async with StreamSession(...) as s:` (starts in the background, closes cleanly),
    or call `start()` / `aclose()`, or `await run()` to own the loop.
    """

    def __init__(
        self,
        url: str,
        protocol: StreamProtocol,
        sink: StreamSink,
        *,
        name: str = "",
        settings: StreamSettings | None = None,
        clock: Clock = SYSTEM_CLOCK,
        snapshot_fetcher: SnapshotFetcher | None = None,
        on_reconnect: ReconnectHook | None = None,
        recorder: FrameRecorder | None = None,
        connector: Callable[..., Any] = _default_connector,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.url = url
        self.protocol = protocol
        self.sink = sink
        self.name = name or f"{protocol.venue}-ws"
        self.settings = settings or StreamSettings()
        self.clock = clock
        self._now = time.monotonic if isinstance(clock, SystemClock) else clock.monotonic
        self.snapshot_fetcher = snapshot_fetcher
        self.on_reconnect = on_reconnect
        self.recorder = recorder
        self._connector = connector
        self._sleep = sleep
        self.stats = StreamStats()
        # Each session counts its own failures, even when several share one settings object.
        self.backoff = dataclasses.replace(self.settings.backoff, attempt=0)
        self.subscriptions: dict[Hashable, Subscription] = {}
        self.feed_states: dict[Hashable, FeedState] = {}
        self._was_live: set[Hashable] = set()  # feeds that have been LIVE: a later sync is a recovery
        self.connection_state = ConnectionState.DOWN
        self.tracker = StalenessTracker(self.settings.stale_after)
        self.failure: BaseException | None = None
        self._ws: Any = None
        self._runner: asyncio.Task[None] | None = None
        self._conn_tasks: set[asyncio.Task[Any]] = set()
        self._snapshot_tasks: dict[Hashable, asyncio.Task[None]] = {}
        self._closing = False
        self._started = False
        self._connected_event = asyncio.Event()
        self._pong = asyncio.Event()
        self._resync_pending: set[Hashable] = set()
        self._helper_failed: asyncio.Future[None] | None = None
        self._requests: dict[Hashable, asyncio.Future[Any]] = {}
        # The connection is judged on any frame (pongs included), so its silence limit must
        # leave room for one ping round trip. Without an app-level ping (the websocket library
        # pings, and closes the socket when a pong is missing) no frame proves the link alive:
        # a quiet socket (Aster's user-data stream between account events) is not a stale
        # one, so only each feed's own silence limit applies.
        self._connection_stale_after = max(
            self.settings.stale_after, self.settings.ping_interval + self.settings.pong_timeout
        ) if self.protocol.ping_frame() is not None else math.inf

    # ----------------------------------------------------------------- subscriptions

    async def subscribe(self, sub: Subscription) -> None:
        """Add a feed. Sent now if connected, and again after every reconnect."""
        if sub.key in self.subscriptions:
            return
        if self._started:
            self._check_feed(sub)
        if self.recorder is not None:
            check_key(sub.key)  # fail now, not in the middle of a resync, if it cannot be recorded
        self.subscriptions[sub.key] = sub
        self._set_feed_state(sub.key, FeedState.SYNCING, "waiting for the connection")
        if self._ws is not None:
            await self._start_feed(sub)

    async def unsubscribe(self, key: Hashable) -> None:
        sub = self.subscriptions.pop(key, None)
        if sub is None:
            return
        self._cancel_snapshot(key)
        self._resync_pending.discard(key)
        self.tracker.forget(key)
        self._set_feed_state(key, FeedState.CLOSED)
        self.feed_states.pop(key, None)
        self._was_live.discard(key)
        if self._ws is not None:
            try:
                for frame in self.protocol.unsubscribe_frames(sub):
                    await self._send(frame)
            except Exception as exc:
                if classify_exception(exc) is RetryDecision.GIVE_UP:
                    raise
                # The connection is going away; the feed is gone from the list either way.

    async def resend(self, key: Hashable) -> None:
        """Subscribe a feed again at the venue (unsubscribe, subscribe) without resetting its
        state here: the venue's answer to a new subscription (its snapshot) then also reaches a
        newcomer sharing this connection (the session agent's attached clients). Nothing while
        disconnected: the next connection subscribes every feed anyway."""
        sub = self.subscriptions.get(key)
        if sub is not None and self._ws is not None:
            await self._resubscribe(sub)

    def _check_feed(self, sub: Subscription) -> None:
        if sub.resync is Resync.REST_SNAPSHOT and self.snapshot_fetcher is None:
            raise ValueError(f"{sub.name}: a REST-snapshot feed needs a snapshot_fetcher")

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> asyncio.Task[None]:
        """Run the session in a background task (misconfigured feeds raise here, at once)."""
        for sub in self.subscriptions.values():
            self._check_feed(sub)
        if self._runner is None:
            self._runner = asyncio.create_task(self.run(), name=f"stream:{self.name}")
        return self._runner

    async def __aenter__(self) -> StreamSession:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._connected_event.wait(), timeout)

    async def aclose(self) -> None:
        """Stop reconnecting, cancel every task, close the socket. Safe to call twice."""
        self._closing = True
        runner, self._runner = self._runner, None
        if runner is not None and not runner.done():
            runner.cancel()
        if runner is not None:
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await runner
                except Exception:
                    pass  # already stored in self.failure and logged by run()
        await self._teardown_connection()
        for key in list(self.subscriptions):
            self._set_feed_state(key, FeedState.CLOSED)
        self._set_connection_state(ConnectionState.DOWN, "closed")
        if self.recorder is not None:
            self.recorder.flush()

    async def run(self) -> None:
        """Connect, serve, and reconnect until closed or a non-retryable error (re-raised)."""
        backoff = self.backoff
        for sub in self.subscriptions.values():
            self._check_feed(sub)
        self._started = True
        try:
            while not self._closing:
                failure: Exception | None = None
                try:
                    await self._serve_one_connection()
                    reason, decision = "closed by the server", RetryDecision.RETRY
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # classified below; nothing is swallowed
                    decision = classify_exception(exc)
                    reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
                    failure = exc
                self.stats.last_error = reason
                await self._teardown_connection()
                if self._closing:
                    break
                if decision is RetryDecision.GIVE_UP:
                    assert failure is not None
                    self.failure = failure
                    log.error("%s: giving up: %s", self.name, reason)
                    self._set_connection_state(ConnectionState.DOWN, reason)
                    raise failure
                delay = backoff.cap if decision is RetryDecision.RETRY_SLOWLY else backoff.next_delay()
                log.warning("%s: connection lost (%s); reconnecting in %.2fs", self.name, reason, delay)
                self._set_connection_state(ConnectionState.RECONNECTING, f"{reason}; retry in {delay:.2f}s")
                await self._sleep(delay)
        finally:
            # Also on cancellation: leave no task or socket behind.
            await self._teardown_connection()

    # ----------------------------------------------------------------- one connection

    async def _serve_one_connection(self) -> None:
        # "reconnecting" only once something failed: a first attempt is just connecting.
        first = self.stats.connects == 0 and not self.stats.last_error
        self._set_connection_state(ConnectionState.CONNECTING if first else ConnectionState.RECONNECTING, "connecting")
        app_ping = self.protocol.ping_frame() is not None
        ws = await self._connector(
            self.url,
            open_timeout=self.settings.open_timeout,
            close_timeout=self.settings.close_timeout,
            # The venue's app-level ping when it has one, else websocket-level pings.
            ping_interval=None if app_ping else self.settings.ping_interval,
            ping_timeout=None if app_ping else self.settings.pong_timeout,
        )
        self._ws = ws
        self._helper_failed = asyncio.get_running_loop().create_future()
        self.stats.connects += 1
        now = self.clock.monotonic()
        self.tracker.watch(_CONNECTION, now, self._connection_stale_after)
        if self.recorder is not None:
            self.recorder.record("connect", self.url)
        self._set_connection_state(ConnectionState.CONNECTED, "connected")
        self._connected_event.set()
        self._resync_pending.clear()
        for sub in list(self.subscriptions.values()):
            await self._start_feed(sub)
        if self.on_reconnect is not None and self.stats.connects > 1:
            self._spawn(self._run_reconnect_hook(), "reconcile")
        vital = [self._spawn(self._receive(ws), "receive"), self._spawn(self._heartbeat(), "heartbeat")]
        self._spawn(self._watchdog(now), "watchdog")
        # A helper (snapshot fetch, resubscribe, watchdog) that fails ends the connection too.
        done, _ = await asyncio.wait([*vital, self._helper_failed], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, _Dropped):
                raise exc

    def _spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(f"{self.name}:{name}")
        self._conn_tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        """Forget a finished connection task. Its exception, if any, is read here so asyncio
        never warns about it: the receive loop or heartbeat that failed first already ended the
        connection with that reason (see `_serve_one_connection`), later ones are consequences."""
        self._conn_tasks.discard(task)
        self._helper_done(task)

    def _helper_done(self, task: asyncio.Task[Any]) -> None:
        """Route a failed helper's exception to `_serve_one_connection` (never lost, never
        an "exception was never retrieved" warning)."""
        if task.cancelled() or (exc := task.exception()) is None:
            return
        failed = self._helper_failed
        if failed is not None and not failed.done():
            failed.set_exception(exc)

    async def _teardown_connection(self) -> None:
        """Cancel this connection's tasks, close its socket, and mark every feed stale."""
        ws, self._ws = self._ws, None
        me = asyncio.current_task()
        tasks = [t for t in (*self._conn_tasks, *self._snapshot_tasks.values()) if t is not me]
        self._conn_tasks.clear()
        self._snapshot_tasks.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
            for task in tasks:
                if not task.cancelled():
                    task.exception()  # retrieved on purpose: the first failure was reported
        failed, self._helper_failed = self._helper_failed, None
        if failed is not None:
            if failed.done():
                failed.exception()
            else:
                failed.cancel()
        self._fail_requests(OutcomeUnknown(f"{self.name}: connection lost before the answer came"))
        if ws is None:
            return
        self._connected_event.clear()
        self.stats.disconnects += 1
        with contextlib.suppress(Exception):
            await ws.close()
        if self.recorder is not None:
            self.recorder.record("disconnect", self.stats.last_error)
        self.tracker.mark_all_stale(self.clock.monotonic())
        if self._closing:
            return  # closed on purpose (Ctrl-C, end of --seconds): aclose reports every feed CLOSED
        for key in self.subscriptions:
            self._set_feed_state(key, FeedState.STALE, "connection lost")

    async def _start_feed(self, sub: Subscription) -> None:
        """(Re)subscribe one feed and begin its resync."""
        self.sink.begin_sync(sub.key)
        self.tracker.watch(sub.key, self.clock.monotonic(), sub.stale_after)
        self._set_feed_state(sub.key, FeedState.SYNCING, "subscribing")
        for frame in self.protocol.subscribe_frames(sub):
            await self._send(frame)
        if sub.resync is Resync.REST_SNAPSHOT:
            self._schedule_snapshot(sub)
        elif sub.ready_on_subscribe:
            self._set_feed_state(sub.key, FeedState.LIVE, "subscribed")

    async def _run_reconnect_hook(self) -> None:
        assert self.on_reconnect is not None
        try:
            await self.on_reconnect()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The stream stays useful without the reconcile; report it loudly, do not drop data.
            self.stats.last_error = f"reconcile failed: {type(exc).__name__}: {exc}"
            log.warning("%s: %s", self.name, self.stats.last_error)

    # ----------------------------------------------------------------- sending

    async def _send(self, text: str) -> None:
        ws = self._ws
        if ws is None:
            return
        if self.recorder is not None:
            self.recorder.record("out", text)
        self.stats.frames_out += 1
        await ws.send(text)

    # ----------------------------------------------------------------- requests

    async def request(self, frame: str, request_id: Hashable, *, timeout: float = 10.0) -> Any:
        """Send a request over the socket (Hyperliquid `post`) and wait for its answer.

        The error says whether the request left, because for an order that decides everything:
        - NetworkError: not connected within `timeout`, or the send failed: nothing left.
        - OutcomeUnknown: it was sent, but the connection dropped or `timeout` passed before the
          answer; the caller must settle it (by client order id) before reporting.
        """
        if request_id in self._requests:
            raise ValueError(f"request id {request_id!r} is already in flight")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if self._ws is None:
            try:
                await asyncio.wait_for(self._connected_event.wait(), timeout)
            except TimeoutError:
                raise NetworkError(f"{self.name}: not connected; nothing was sent") from None
        ws = self._ws
        if ws is None:
            raise NetworkError(f"{self.name}: not connected; nothing was sent")
        waiter: asyncio.Future[Any] = loop.create_future()
        self._requests[request_id] = waiter
        try:
            if self.recorder is not None:
                self.recorder.record("out", frame)
            try:
                # websockets raises before writing anything when the connection is closing.
                await ws.send(frame)
            except Exception as exc:
                raise NetworkError(f"{self.name}: send failed ({type(exc).__name__}); nothing was sent") from exc
            self.stats.frames_out += 1
            try:
                return await asyncio.wait_for(waiter, max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise OutcomeUnknown(f"{self.name}: no answer within {timeout:g}s") from None
        finally:
            if self._requests.get(request_id) is waiter:
                del self._requests[request_id]

    def _fail_requests(self, exc: Exception) -> None:
        requests, self._requests = self._requests, {}
        for waiter in requests.values():
            if not waiter.done():
                waiter.set_exception(exc)

    # ----------------------------------------------------------------- receiving

    async def _receive(self, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosedOK

        try:
            async for message in ws:
                text = message if isinstance(message, str) else message.decode("utf-8")
                replies = self.handle_frame(text)
                for reply in replies:
                    await self._send(reply)
        except ConnectionClosedOK as exc:
            raise _Dropped(str(exc)) from None
        raise _Dropped("closed")

    def handle_frame(self, text: str) -> Sequence[str]:
        """Process one inbound frame; returns frames to send back (venue pings).

        Synchronous and public: replays and tests drive the exact path the socket uses.
        This is the per-frame hot path (budget: <= 20% over the raw websockets receive), so the
        staleness bookkeeping of `StalenessTracker.touch` is inlined here.
        """
        now = self._now()
        if self.recorder is not None:
            self.recorder.record("in", text)
        self.stats.frames_in += 1
        tracker = self.tracker
        last = tracker.last
        stale = tracker.stale
        last[_CONNECTION] = now
        if stale and _CONNECTION in stale:
            stale.discard(_CONNECTION)
        if self.connection_state is not _CONNECTED and self._ws is not None:
            self._set_connection_state(ConnectionState.CONNECTED, "receiving again")
        try:
            inbounds = self.protocol.decode(text)
        except Exception as exc:
            self.stats.decode_errors += 1
            raise StreamDecodeError(f"cannot decode a frame: {type(exc).__name__}: {exc}") from exc
        replies: Sequence[str] = _NO_REPLIES
        subscriptions = self.subscriptions
        for inbound in inbounds:
            if inbound.kind is _DATA:
                key = inbound.key
                if key not in subscriptions:
                    self.stats.ignored += 1  # an unsubscribed feed's last frames, or an unknown one
                    continue
                last[key] = now
                if stale and key in stale:
                    stale.discard(key)
                verdict = self.sink.apply(key, inbound.events)
                if verdict is _IN_SYNC:
                    if self.feed_states.get(key) is not _LIVE:
                        self._resync_pending.discard(key)
                        self._set_feed_state(key, FeedState.LIVE)
                else:
                    self._not_in_sync(key, verdict)
            elif inbound.kind is _PING:
                if inbound.reply is not None:
                    replies = [*replies, inbound.reply]
            else:
                self._control(inbound)
        return replies

    def _control(self, inbound: Inbound) -> None:
        kind = inbound.kind
        if kind is FrameKind.PONG:
            self._pong.set()
        elif kind is FrameKind.RESPONSE:
            waiter = self._requests.pop(inbound.request_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(inbound.payload)
            else:
                self.stats.ignored += 1  # an answer nobody waits for any more (timed out)
        elif kind is FrameKind.ERROR:
            self.stats.venue_errors += 1
            self.stats.last_error = f"venue error: {inbound.detail}"
            log.warning("%s: venue error: %s", self.name, inbound.detail)
            if inbound.key is not None and inbound.key in self.subscriptions:
                self._request_resync(inbound.key, f"venue error: {inbound.detail}")
        elif kind is not FrameKind.ACK:
            self.stats.ignored += 1

    def _not_in_sync(self, key: Hashable, verdict: SyncVerdict) -> None:
        if verdict is SyncVerdict.OUT_OF_SYNC:
            self._request_resync(key, "out of sync")
        elif self.feed_states.get(key) is not FeedState.SYNCING:
            self._set_feed_state(key, FeedState.SYNCING, "waiting for a snapshot")

    # ----------------------------------------------------------------- resync

    def _request_resync(self, key: Hashable, reason: str) -> None:
        """Rebuild one feed's state. Idempotent while a resync is already under way, so a
        burst of out-of-sync diffs causes one resubscribe or one snapshot fetch, not hundreds."""
        sub = self.subscriptions[key]
        self.sink.begin_sync(key)
        self._set_feed_state(key, FeedState.SYNCING, reason)
        if key in self._resync_pending:
            return
        self._resync_pending.add(key)
        self.stats.resyncs += 1
        log.info("%s: resync %s (%s)", self.name, sub.name, reason)
        if sub.resync is Resync.REST_SNAPSHOT:
            self._schedule_snapshot(sub)
        elif sub.resync is Resync.RESUBSCRIBE and self._ws is not None:
            self._spawn(self._resubscribe(sub), "resubscribe")
        # NEXT_MESSAGE: the next full-state message heals it.

    async def _resubscribe(self, sub: Subscription) -> None:
        for frame in self.protocol.unsubscribe_frames(sub):
            await self._send(frame)
        for frame in self.protocol.subscribe_frames(sub):
            await self._send(frame)

    def _schedule_snapshot(self, sub: Subscription) -> None:
        if sub.key in self._snapshot_tasks or self._ws is None:
            return
        task = asyncio.ensure_future(self._fetch_snapshot(sub))
        task.set_name(f"{self.name}:snapshot:{sub.name}")
        task.add_done_callback(self._helper_done)
        self._snapshot_tasks[sub.key] = task

    def _cancel_snapshot(self, key: Hashable) -> None:
        task = self._snapshot_tasks.pop(key, None)
        if task is not None:
            task.cancel()

    async def _fetch_snapshot(self, sub: Subscription) -> None:
        """Fetch REST snapshots until one is accepted; buffered diffs then bridge onto it."""
        assert self.snapshot_fetcher is not None
        try:
            while sub.key in self.subscriptions and self._ws is not None:
                try:
                    text = await self.snapshot_fetcher(sub)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if classify_exception(exc) is RetryDecision.GIVE_UP:
                        raise
                    self.stats.last_error = f"snapshot {sub.name}: {type(exc).__name__}: {exc}"
                    log.warning("%s: %s", self.name, self.stats.last_error)
                    await self._sleep(self.settings.snapshot_retry_delay)
                    continue
                if sub.key not in self.subscriptions or self._ws is None:
                    return
                self.stats.snapshots_fetched += 1
                if self.recorder is not None:
                    self.recorder.record("snapshot", text, key=sub.key)
                try:
                    events = self.protocol.decode_snapshot(sub, text)
                except Exception as exc:
                    # A garbled REST body (a proxy's error page, a truncated answer) is worth
                    # another try; it is counted, logged and left in the recording.
                    self.stats.decode_errors += 1
                    self.stats.last_error = f"snapshot {sub.name}: cannot decode: {type(exc).__name__}: {exc}"
                    log.warning("%s: %s", self.name, self.stats.last_error)
                    await self._sleep(self.settings.snapshot_retry_delay)
                    continue
                verdict = self.sink.apply(sub.key, events)
                if verdict is SyncVerdict.IN_SYNC:
                    self.tracker.touch(sub.key, self.clock.monotonic())
                    self._set_feed_state(sub.key, FeedState.LIVE)
                    return
                if verdict is SyncVerdict.WAITING:
                    return  # loaded; the next diff bridges it (or reports a gap, which resyncs)
                # Rejected (crossed, or the diffs we hold do not bridge it): fetch a newer one.
                await self._sleep(self.settings.snapshot_retry_delay)
        finally:
            # Synchronously, so a gap reported right after this returns schedules a new fetch.
            if self._snapshot_tasks.get(sub.key) is asyncio.current_task():
                del self._snapshot_tasks[sub.key]
            self._resync_pending.discard(sub.key)

    # ----------------------------------------------------------------- replay

    def replay(self, frames: Iterable[RecordedFrame], clock: ManualClock | None = None) -> int:
        """Feed a recording through the same path the socket uses; returns frames replayed.

        Use on a session that is not running, with the same subscriptions as the recorded one.
        Connection boundaries restart every feed's sync exactly as a live reconnect does, and
        recorded REST snapshots are applied where they were applied live, so the sink ends in
        the same state. Nothing is sent; resync requests only flag the feeds. Pass the session's
        ManualClock as `clock` to replay the recorded timing (staleness ages) as well.
        """
        if self._runner is not None:
            raise RuntimeError("replay needs a session that is not connected")
        count = 0
        for frame in frames:
            if clock is not None and frame.mono >= clock.monotonic():
                clock.set(frame.mono)
            direction = frame.direction
            if direction == "in":
                self.handle_frame(frame.text)
            elif direction == "snapshot":
                sub = self.subscriptions.get(frame.key)
                if sub is not None:
                    verdict = self.sink.apply(sub.key, self.protocol.decode_snapshot(sub, frame.text))
                    if verdict is SyncVerdict.IN_SYNC:
                        self._set_feed_state(sub.key, FeedState.LIVE)
                    self._resync_pending.discard(sub.key)
            elif direction == "connect":
                self._resync_pending.clear()
                now = self.clock.monotonic()
                self.tracker.watch(_CONNECTION, now, self._connection_stale_after)
                for sub in self.subscriptions.values():
                    self.sink.begin_sync(sub.key)
                    self.tracker.watch(sub.key, now, sub.stale_after)
                    self._set_feed_state(sub.key, FeedState.SYNCING, "subscribing")
                    if sub.ready_on_subscribe:
                        self._set_feed_state(sub.key, FeedState.LIVE, "subscribed")
            elif direction == "disconnect":
                self.tracker.mark_all_stale(self.clock.monotonic())
                for key in self.subscriptions:
                    self._set_feed_state(key, FeedState.STALE, "connection lost")
            count += 1
        return count

    # ----------------------------------------------------------------- liveness

    async def _heartbeat(self) -> None:
        """Ping every `ping_interval`; a pong missing after `pong_timeout` kills the connection.

        WHY app-level: Hyperliquid closes a socket with no traffic for 60 s and can die without
        a TCP reset; only an answered ping proves the venue is still listening to us.
        """
        ping = self.protocol.ping_frame()
        if ping is None:
            await asyncio.Event().wait()  # websocket-level pings (set up in connect) do the job
            return
        while True:
            await self._sleep(self.settings.ping_interval)
            self._pong.clear()
            await self._send(ping)
            try:
                await asyncio.wait_for(self._pong.wait(), self.settings.pong_timeout)
            except TimeoutError:
                raise HeartbeatTimeout(f"no pong within {self.settings.pong_timeout:g}s") from None

    async def _watchdog(self, connected_at: float) -> None:
        """Run the staleness rule on a timer; reset the backoff once the link proved healthy."""
        healthy = False
        while True:
            await self._sleep(self.settings.staleness_check_interval)
            now = self.check_staleness()
            if not healthy and now - connected_at >= self.settings.healthy_after:
                healthy = True
                self.backoff.reset()

    def check_staleness(self) -> float:
        """Apply the staleness rule at the clock's current time; returns that time."""
        now = self.clock.monotonic()
        for change in self.tracker.check(now):
            if change.key is _CONNECTION:
                if self._ws is not None:
                    self._set_connection_state(
                        ConnectionState.STALE, f"no message for {change.age:.1f}s", age=change.age
                    )
            elif change.key in self.subscriptions:
                self._set_feed_state(change.key, FeedState.STALE, f"no message for {change.age:.1f}s")
        return now

    def age(self, key: Hashable | None = None) -> float:
        """Seconds since the last message of a feed (or of the connection when key is None)."""
        return self.tracker.age(_CONNECTION if key is None else key, self.clock.monotonic())

    # ----------------------------------------------------------------- statuses

    def _status(self, stream: str, state: ConnectionState, detail: str, age: float | None) -> ConnectionStatus:
        return ConnectionStatus(
            venue=self.protocol.venue,
            stream=stream,
            state=state,
            time_ms=int(self.clock.epoch() * 1000),
            last_message_age_ms=None if age is None or age == float("inf") else int(age * 1000),
            detail=detail,
        )

    def _set_connection_state(self, state: ConnectionState, detail: str = "", age: float | None = None) -> None:
        """Record and report the connection's health; every reconnect attempt is reported."""
        if state is self.connection_state and state not in _EVERY_ATTEMPT:
            return
        self.connection_state = state
        if age is None:
            age = self.tracker.age(_CONNECTION, self.clock.monotonic())
        self.sink.status(None, self._status(self.name, state, detail, age))

    def _set_feed_state(self, key: Hashable, state: FeedState, detail: str = "") -> None:
        if self.feed_states.get(key) is state:
            return
        self.feed_states[key] = state
        sub = self.subscriptions.get(key)
        name = sub.name if sub is not None else str(key)
        age = self.tracker.age(key, self.clock.monotonic())
        shown = _FEED_TO_CONNECTION[state]
        if state is FeedState.SYNCING and key not in self._was_live:
            shown = ConnectionState.CONNECTING  # its first sync: nothing was lost
        elif state is FeedState.LIVE:
            self._was_live.add(key)
        self.sink.status(key, self._status(name, shown, detail or state.value, age))

