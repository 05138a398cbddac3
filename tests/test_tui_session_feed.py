"""`perp watch` attached to a `perp session` agent: the watch's live source takes its books,
trades and account events from the agent's venue connections, opens no websocket of its own,
follows the agent's connection health, and streams on its own once the agent goes.

The agent is a real background process on a quiet devnet (the book moves when the test moves
it); the watch's LiveSource runs headless in this process, as the app runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from perpcli.config import settings
from perpcli.domain.events import ConnectionState
from perpcli.ledger.store import Store
from perpcli.net.backoff import Backoff
from perpcli.net.stream import StreamSettings
from perpcli.session import protocol
from perpcli.tui.live import LiveSource
from perpcli.tui.run import session_reach
from perpcli.venues import registry
from tests import session_helpers as sh
from tests.cli_devnet import control
from tests.test_algos_devnet import (  # noqa: F401 - fixtures, used by name
    cli,
    devnet,
    maker,
    quick_algos,
    session_key,
)

pytestmark = pytest.mark.timeout(120)

QUICK = StreamSettings(stale_after=1.0, backoff=Backoff(base=0.1, factor=2.0, cap=0.5))
# The devnet's book is quiet between the tests' orders: where a test asks whether the book stayed
# usable, only a resync or a closed stream may make it unusable, not a second of silence.
CALM = StreamSettings(stale_after=60.0, backoff=QUICK.backoff)


@pytest.fixture
def own_sockets(monkeypatch):
    """Counts the websockets this process opens itself (and refuses them while `allowed` is False)."""
    opened: list[str] = []
    state = {"allowed": False}
    from websockets.asyncio import client as ws_client

    real = ws_client.connect

    def connect(url: str, **kwargs):
        opened.append(url)
        if not state["allowed"]:
            raise AssertionError(f"the watch opened its own websocket to {url}")
        return real(url, **kwargs)

    monkeypatch.setattr(ws_client, "connect", connect)  # what net/stream.py's default connector opens
    return opened, state


def open_venue(net, venue: str = "devnet"):
    cfg = registry.get_entry(venue).config(url=net.url, network="testnet")
    return cfg, registry.open_venue(cfg)


class Watch:
    """One headless watch of these tests: its venue, its LiveSource, the session agents started for it."""

    def __init__(self, cfg, md) -> None:
        self.cfg, self.md = cfg, md
        self.source: LiveSource | None = None
        self.agents: list[dict] = []

    def start_session(self, passphrase_file) -> dict:
        """`perp session start --venues devnet` (blocking: from a test's loop, run it in a thread)."""
        self.agents.append(sh.start(passphrase_file, "--venues", "devnet"))
        return self.agents[-1]


@contextlib.asynccontextmanager
async def watching(net, passphrase_file=None, *, venue: str = "devnet", markets=("BTC",), trading=None,
                   run: bool = True, attach_every: float | None = None, stream: StreamSettings = QUICK):
    """A session agent (when `passphrase_file` is given), then a watch of `markets` on `venue` of
    the devnet: its LiveSource (`trading(md)` its account side) running as the app runs it, unless
    not `run` (the test builds the app itself). Afterwards the watch stops, every agent started
    for it is stopped (and killed), and the venue is closed."""
    w = Watch(*open_venue(net, venue))
    task = None
    try:
        if passphrase_file is not None:
            w.start_session(passphrase_file)
        settings.configure()
        if run:
            w.source = LiveSource(w.md, trading=trading(w.md) if trading else None, settings=stream, store=Store(),
                                  markets=list(markets), attach=session_reach(w.cfg))
            if attach_every is not None:
                w.source.attach_every = attach_every
            task = asyncio.create_task(w.source.run())
        yield w
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        sh.perp("session", "stop")
        for doc in w.agents:
            sh.kill(doc["pid"])
        w.md.close()


async def until(what, check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def ws_connections(net) -> int:
    return control(net.url, "status", {})["wsConnections"]


async def test_the_watch_streams_through_the_session_then_on_its_own_when_it_goes(
        perpcli_home, devnet, maker, session_key, own_sockets):  # noqa: F811 - fixtures imported above
    address, pw = session_key
    opened, sockets = own_sockets
    from perpcli.keys import sources

    async with watching(devnet, pw, trading=lambda md: md.trading(sources.resolve_reader(address=address))) as w:
        assert session_reach(w.cfg) == {"venue": "devnet", "url": devnet.url, "network": "testnet"}
        source = w.source
        await until("the book through the session", lambda: source.book_usable("BTC"))
        assert source.attached and opened == []
        assert [s.name for s in source.streams()][:2] == ["devnet via session", "devnet account"]
        # The devnet sees the agent's sockets only: its market stream and the account's (which may
        # still be connecting when the book is already usable).
        await until("the agent's two sockets", lambda: ws_connections(devnet) == 2)
        # A second watch on the same quiet book: the agent's one connection serves it too, and
        # it gets the book at once (the venue's answer to a subscription), not at the next move.
        second = LiveSource(w.md, settings=QUICK, store=Store(), markets=["BTC"], attach=session_reach(w.cfg))
        task2 = asyncio.create_task(second.run())
        await until("the second watch's book", lambda: second.book_usable("BTC"), timeout=5)
        assert ws_connections(devnet) == 2 and opened == []
        task2.cancel()
        await asyncio.gather(task2, return_exceptions=True)
        best = source.book("BTC").best_bid()[0]
        maker("buy", str(best + 10))
        await until("the new bid through the session", lambda: source.book("BTC").best_bid()[0] == best + 10)
        # A trade and the key's own fill and position, streamed through the session.
        frames_before = source.account_session.stats.frames_in
        assert cli(devnet, "buy", "BTC", "0.01", "--market", "--slippage", "1%", "--yes").code == 0
        await until("the trade", lambda: source.trades("BTC", 10))
        await until("the fill on the account stream", lambda: source.account_session.stats.frames_in > frames_before)
        acct = source.store.accounts.get(("devnet", source._account_key))
        await until("the position", lambda: acct is not None and any(p.size for p in acct.positions.values()))
        assert opened == [] and source.attached

        sockets["allowed"] = True
        sh.kill(w.agents[0]["pid"])  # the agent dies mid-watch (its socket file stays behind)
        await until("the watch on its own", lambda: not source.attached, timeout=10)
        assert "own stream: no session agent" in source.stream_note
        assert source.streams()[0].name == "devnet ws"
        await until("its own book", lambda: source.book_usable("BTC"))
        assert opened and opened[0].startswith("ws://")
        maker("buy", str(best + 20))
        await until("the book keeps moving", lambda: source.book("BTC").best_bid()[0] == best + 20)


async def test_the_agent_losing_the_venue_makes_the_attached_book_stale_until_it_is_back(
        perpcli_home, devnet, maker, session_key, own_sockets):  # noqa: F811 - fixtures imported above
    _address, pw = session_key
    opened, _ = own_sockets
    async with watching(devnet, pw) as w:
        source = w.source
        await until("the book through the session", lambda: source.book_usable("BTC"))
        control(devnet.url, "faults", {"ws_down": 1})  # the agent's socket is cut; REST still answers
        await until("the book paused", lambda: not source.book_usable("BTC"))
        assert source.session.connection_state is not ConnectionState.CONNECTED
        assert any(s.state is not ConnectionState.CONNECTED for s in source.streams())
        assert source.attached  # waiting for the agent's connection, not streaming on its own
        control(devnet.url, "faults", {"ws_down": 0})
        await until("the book back", lambda: source.book_usable("BTC"), timeout=30)
        assert source.attached and opened == []


def test_without_a_session_the_watch_streams_on_its_own(perpcli_home, devnet):  # noqa: F811
    cfg, md = open_venue(devnet)
    try:
        source = LiveSource(md, settings=QUICK, store=Store(), markets=["BTC"], attach=session_reach(cfg))
        assert not source.attached and source.streams()[0].name == "devnet ws" and source.stream_note == ""
    finally:
        md.close()


def _feed_hello_as(uid: int, path: str, hello: dict) -> bytes:
    """The agent's raw answer to a feed hello from a process running as `uid`."""
    return sh.talk_as(uid, path, protocol.frame(protocol.FRAME_JSON, json.dumps(hello).encode()), until_closed=False)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another user")
def test_another_user_gets_no_feed(perpcli_home, devnet, session_key):  # noqa: F811
    _, pw = session_key
    hello = {"v": protocol.VERSION, "op": "watch", "venue": "devnet", "url": devnet.url, "network": "testnet",
             "ws_url": devnet.url.replace("http", "ws", 1) + "/ws", "account": ""}
    with sh.running(pw, "--venues", "devnet"):
        path = protocol.socket_path()
        door = Path(tempfile.mkdtemp(prefix="perp-door-"))
        os.chmod(door, 0o755)
        os.link(path, door / "agent.sock")
        os.chmod(path, 0o666)
        try:
            nobody = _feed_hello_as(65534, str(door / "agent.sock"), hello)
            me = _feed_hello_as(os.getuid(), str(door / "agent.sock"), hello)
        finally:
            os.chmod(path, 0o600)
            shutil.rmtree(door)
    assert nobody in (b"ok:", b"error:ConnectionResetError", b"error:BrokenPipeError"), nobody
    answer = me.removeprefix(b"ok:")
    assert answer[protocol.HEADER_SIZE:] == protocol.FRAME_JSON + b'{"ok":true}', answer


def test_feed_frames_are_length_prefixed_bounded_and_told_apart_from_requests():
    f = protocol.frame(protocol.FRAME_TEXT, b'{"channel":"l2Book"}')
    assert protocol.frame_length(f[:protocol.HEADER_SIZE]) == len(f) - protocol.HEADER_SIZE
    assert protocol.is_framed(f[:1]) and not protocol.is_framed(protocol.encode({"v": 1, "op": "status"})[:1])
    with pytest.raises(ValueError):
        protocol.frame(protocol.FRAME_TEXT, b"x" * protocol.MAX_FRAME)
    with pytest.raises(ValueError):
        protocol.frame_length((protocol.MAX_FRAME + 1).to_bytes(4, "big"))
    with pytest.raises(ValueError):
        protocol.frame_length(b"\0\0\0\0")


class _Transport:
    def __init__(self) -> None:
        self.backlog = 0
        self.aborted = False

    def get_write_buffer_size(self) -> int:
        return self.backlog


class _Writer:
    def __init__(self) -> None:
        self.transport = _Transport()
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)
        self.transport.backlog += len(data)

    def close(self) -> None:
        self.closed = True


def test_a_client_gets_only_what_it_subscribed_and_a_slow_one_is_cut_off():
    from perpcli.app import feed_taps
    from perpcli.net.stream import FrameKind, Inbound

    taps = feed_taps.Taps()
    fast, slow, other = (feed_taps.Tap(_Writer()) for _ in range(3))
    for tap in (fast, slow):
        tap.keys.add(("l2Book", "BTC"))
    other.keys.add(("l2Book", "ETH"))
    taps.clients.update((fast, slow, other))
    btc = [Inbound(FrameKind.DATA, ("l2Book", "BTC"))]
    taps.forward('{"btc":1}', btc)
    taps.forward('{"pong":1}', [Inbound(FrameKind.PONG)])
    assert fast.writer.written == [protocol.frame(protocol.FRAME_TEXT, b'{"btc":1}')] == slow.writer.written
    assert other.writer.written == []
    slow.writer.transport.get_write_buffer_size = lambda: feed_taps.MAX_BACKLOG + 1
    slow.writer.transport.abort = lambda: setattr(slow.writer.transport, "aborted", True)
    taps.forward('{"btc":2}', btc)
    assert slow.closed and slow.writer.transport.aborted and len(slow.writer.written) == 1
    assert len(fast.writer.written) == 2
    taps.connection(ConnectionState.RECONNECTING, "connection lost")  # the agent's own socket dropped
    assert fast.closed and fast.writer.closed and not taps.clients
    assert fast.writer.written[-1] == protocol.frame(protocol.FRAME_JSON, b'{"down": "connection lost"}')


async def test_an_aster_book_of_diffs_streams_through_the_session(perpcli_home, devnet, session_key, own_sockets):  # noqa: F811
    """Aster's depth is diffs bridged onto a REST snapshot: the diffs come through the agent, the
    snapshot is the watch's own REST read, and the book is in sync as on its own socket."""
    _, pw = session_key
    opened, _ = own_sockets
    async with watching(devnet, pw, venue="aster-devnet", markets=["BTCUSDT"]) as w:
        source = w.source
        await until("the Aster book through the session", lambda: source.book_usable("BTCUSDT"))
        assert source.attached and opened == [] and source.session.stats.snapshots_fetched >= 1
        assert source.session.stats.frames_in > 0  # diffs, through the agent


async def test_aster_account_events_come_from_the_socket_the_agent_opens_with_its_key(
        perpcli_home, devnet, own_sockets):  # noqa: F811 - fixtures imported above
    """Aster's account events need a listenKey socket, opened with the key: attached, the agent
    opens it with the key it holds and forwards its frames; once the session is locked it holds
    no key, drops that socket, and the watch streams on its own."""
    import secrets

    from perpcli.keys.signer import Signer
    from tests.support import register_secret, run_perp

    opened, sockets = own_sockets
    hexkey = "0x" + secrets.token_hex(32)
    register_secret(hexkey)
    pw = perpcli_home / "passphrase.txt"
    pw.write_text("correct horse\n")
    os.chmod(pw, 0o600)
    assert run_perp(["--passphrase-file", str(pw), "keys", "import", "main"], input=hexkey + "\n",
                    env=sh.CHEAP_SCRYPT).code == 0
    async with watching(devnet, pw, venue="aster-devnet", markets=["BTCUSDT"],
                        trading=lambda md: md.trading(Signer.from_hex(hexkey))) as w:
        source = w.source
        await until("the account socket through the session",
                    lambda: source.account_session.connection_state is ConnectionState.CONNECTED)
        r = sh.perp("--venue", "aster-devnet", "--url", devnet.url, "--network", "testnet", "--json", "buy",
                    "BTCUSDT", "0.01", "--limit", "90000", "--yes")
        assert r.code == 0, r.err
        await until("the order update through the session", lambda: source.account_session.stats.frames_in > 0)
        assert source.attached and opened == []  # no listenKey socket of its own, no market socket

        sockets["allowed"] = True
        assert sh.perp("session", "lock").code == 0  # the key is dropped: so is its account socket
        await until("the watch on its own", lambda: not source.attached, timeout=10)
        assert "holds no key" in source.stream_note
        await until("its own account socket", lambda: source.account_session.connection_state
                    is ConnectionState.CONNECTED)
        assert any("/ws/" in url for url in opened)  # its own listenKey socket


async def test_the_terminal_says_it_streams_through_the_session_and_when_it_streams_on_its_own(
        perpcli_home, devnet, maker, session_key, own_sockets):  # noqa: F811 - fixtures imported above
    from perpcli.tui.run import build_app
    from perpcli.tui.widgets.account import StatusLine
    from tests.tui_support import wait_until

    _, pw = session_key
    _, sockets = own_sockets
    async with watching(devnet, pw, run=False) as w:
        app, source = build_app(w.md, markets=["BTC"], settings=settings.current(), stream=QUICK,
                                reach=session_reach(w.cfg))
        async with app.run_test(size=(160, 48)) as pilot:
            status = app.query_one(StatusLine)
            assert await wait_until(pilot, lambda: "devnet via session" in status.render().plain
                                    and "mid " in app.active_view.ladder.text(), timeout=10)
            sockets["allowed"] = True
            sh.perp("session", "stop")
            assert await wait_until(pilot, lambda: "devnet: own stream: no session agent" in status.render().plain,
                                    timeout=10)
            assert "devnet ws" in status.render().plain
            await app.action_quit()


async def _sampled(check, into: list[bool]) -> None:
    """Record `check()` every 10 ms until cancelled (what the screen would read, turn by turn)."""
    while True:
        into.append(check())
        await asyncio.sleep(0.01)


async def test_a_watch_started_without_a_session_attaches_when_one_starts(
        perpcli_home, devnet, maker, session_key, own_sockets):  # noqa: F811 - fixtures imported above
    _, pw = session_key
    opened, sockets = own_sockets
    sockets["allowed"] = True
    async with watching(devnet, attach_every=0.3, stream=CALM) as w:
        source = w.source
        await until("its own book", lambda: source.book_usable("BTC"))
        assert not source.attached and len(opened) == 1 and ws_connections(devnet) == 1
        own = source.session
        usable: list[bool] = []
        sampler = asyncio.create_task(_sampled(lambda: source.book_usable("BTC"), usable))
        await asyncio.to_thread(w.start_session, pw)
        await until("the watch through the session", lambda: source.attached, timeout=10)
        await asyncio.sleep(0.2)
        sampler.cancel()
        # Make before break: the book never read unusable while the watch switched over.
        assert usable and all(usable), usable.count(False)
        assert source.streams()[0].name == "devnet via session" and source.stream_note == ""
        # Its own socket is closed: the devnet sees the agent's connection alone.
        assert source.session is not own
        await until("its own socket closed", lambda: own.connection_state is ConnectionState.DOWN)
        await until("its own socket gone at the devnet", lambda: ws_connections(devnet) == 1)
        best = source.book("BTC").best_bid()[0]
        maker("buy", str(best + 10))
        await until("the book moving through the session", lambda: source.book("BTC").best_bid()[0] == best + 10)
        assert source.book_usable("BTC") and source.session.stats.frames_in > 0
        assert len(opened) == 1 and source.attached  # no socket of its own since


async def test_a_watch_falls_back_when_the_session_stops_and_attaches_again_when_it_is_back(
        perpcli_home, devnet, maker, session_key, own_sockets):  # noqa: F811 - fixtures imported above
    _, pw = session_key
    opened, sockets = own_sockets
    async with watching(devnet, pw, attach_every=0.3) as w:
        source = w.source
        await until("the book through the session", lambda: source.book_usable("BTC"))
        best = source.book("BTC").best_bid()[0]
        sockets["allowed"] = True
        await asyncio.to_thread(sh.perp, "session", "stop")
        await until("the watch on its own", lambda: not source.attached, timeout=10)
        assert source.stream_note.startswith("own stream: ")
        maker("buy", str(best + 10))
        await until("its own book moving", lambda: source.book("BTC").best_bid()[0] == best + 10
                    and source.book_usable("BTC"))
        own = source.session
        await asyncio.to_thread(w.start_session, pw)
        await until("the watch through the session again", lambda: source.attached, timeout=10)
        assert source.stream_note == "" and source.streams()[0].name == "devnet via session"
        # Its own socket closes just after the take-over (the switch is made before the break).
        await until("its own socket closed", lambda: own.connection_state is ConnectionState.DOWN)
        assert len(opened) == 1
        maker("buy", str(best + 20))
        await until("the book moving through the session", lambda: source.book("BTC").best_bid()[0] == best + 20)
        assert source.book_usable("BTC") and source.attached and len(opened) == 1


@pytest.mark.parametrize("retry", [False, True], ids=["refused", "venue-down"])
async def test_an_agent_that_refuses_is_asked_again_only_at_the_interval(perpcli_home, devnet, own_sockets, retry):  # noqa: F811
    """An agent that will not serve the venue (`retry`: not now, its own connection is down) is
    asked once per interval, never at a stream's reconnect pace; the watch streams on its own
    meanwhile and says why."""
    opened, sockets = own_sockets
    sockets["allowed"] = True
    asked: list[float] = []

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        size = protocol.frame_length(await reader.readexactly(protocol.HEADER_SIZE))
        await reader.readexactly(size)
        asked.append(time.monotonic())
        why = {"ok": False, "why": "the session does not stream devnet", "retry": retry}
        writer.write(protocol.frame(protocol.FRAME_JSON, json.dumps(why).encode()))
        await writer.drain()
        writer.close()

    every = 0.4
    async with watching(devnet, attach_every=every, stream=CALM) as w:
        source = w.source
        await until("its own book", lambda: source.book_usable("BTC"))
        os.makedirs(protocol.session_dir(), mode=0o700, exist_ok=True)
        server = await asyncio.start_unix_server(refuse, path=protocol.socket_path())
        try:
            await until("the agent asked", lambda: asked, timeout=5)
            await asyncio.sleep(6 * every)
        finally:
            server.close()
            await server.wait_closed()
        assert 2 <= len(asked) <= 8, len(asked)
        gaps = [b - a for a, b in zip(asked, asked[1:], strict=False)]
        assert min(gaps) >= every * 0.9, gaps
        assert not source.attached and len(opened) == 1 and source.book_usable("BTC")
        assert "own stream: session: the session does not stream devnet" == source.stream_note
        assert source.streams()[0].detail == source.stream_note  # what the status line shows


async def test_a_failed_attempt_to_attach_leaves_the_watch_on_its_own_stream(perpcli_home, devnet, own_sockets):  # noqa: F811
    _, sockets = own_sockets
    sockets["allowed"] = True

    async def broken() -> None:
        raise RuntimeError("boom")

    async with watching(devnet, attach_every=0.2, stream=CALM) as w:
        source = w.source
        await until("its own book", lambda: source.book_usable("BTC"))
        source._try_attach = broken
        os.makedirs(protocol.session_dir(), mode=0o700, exist_ok=True)
        Path(protocol.socket_path()).touch()  # what `available()` looks for
        await until("the reason shown", lambda: "cannot attach to the session: RuntimeError: boom" in source.stream_note)
        tries = [t for t in asyncio.all_tasks() if t.get_name() == "tui:session:devnet"]
        await asyncio.sleep(0.5)
        assert tries and not tries[0].done()  # it keeps looking, at its interval
        assert source.book_usable("BTC") and not source.attached
