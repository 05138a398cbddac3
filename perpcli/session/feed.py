"""The agent's side of the feed: `perp watch` attached to the session's venue connections.

A client opens a connection and, instead of a JSON request, writes one frame (protocol.frame)
with its hello: the venue as it reaches it (name, url, network, and the websocket URL it would
open itself) and which stream it wants (`account` empty: the venue's books and trades; else that
account's order updates and fills). The agent answers with one JSON frame: {"ok": true}, after
which the connection carries the venue's text frames (app/feed_taps.py), or a refusal
{"ok": false, "why": ..., "retry": ...}: `retry` when its connection to the venue is not up right
now (ask again, as one reconnects a socket), else the client streams on its own. Only the
agent's own uid gets this far (server.py checks the peer first, as for every request).
"""

from __future__ import annotations

import json
import socket
from typing import Any

from perpcli.session import protocol

HELLO_TIMEOUT_S = 5.0


def read_frame(sock: socket.socket) -> bytes:
    """One frame's kind byte and body, from a blocking socket."""
    size = protocol.frame_length(_exactly(sock, protocol.HEADER_SIZE))
    return _exactly(sock, size)


def _exactly(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 65536))
        if not chunk:
            raise ConnectionError("the client went away")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def attach(agent: Any, conn: socket.socket) -> bool:
    """Answer one feed client; True when the connection now belongs to the streams loop."""
    conn.settimeout(HELLO_TIMEOUT_S)
    body = read_frame(conn)
    if body[:1] != protocol.FRAME_JSON:
        return False
    hello = json.loads(body[1:])
    if not isinstance(hello, dict) or hello.get("v") != protocol.VERSION or hello.get("op") != "watch":
        return False
    refusal = _serve(agent, hello, conn)
    if refusal is None:
        return True
    why, retry = refusal
    conn.sendall(protocol.frame(protocol.FRAME_JSON, json.dumps({"ok": False, "why": why, "retry": retry}).encode()))
    return False


def _serve(agent: Any, hello: dict, conn: socket.socket) -> tuple[str, bool] | None:
    from perpcli.app.session import Session
    from perpcli.config import settings
    from perpcli.domain.errors import PerpError

    if agent.streams is None:
        return "the session streams nothing", False
    account = str(hello.get("account") or "")
    trading = None
    try:
        with agent._run_lock:  # settings and the environment are the agent's own here, not a command's
            session = Session.open(settings.current(), venue=str(hello.get("venue") or ""),
                                   url=hello.get("url") or None, network=hello.get("network") or None)
            market = session.market
            if account and getattr(market.live_feed(account), "account_socket", None) is not None:
                # The account's events need a socket opened with its key: only a key held here opens it.
                trading = _held_trading(session, account)
                if trading is None:
                    return f"the session holds no key for {account} on {session.venue}", False
    except PerpError as e:
        return f"the session cannot open this venue: {e.message}", False
    try:
        conn.settimeout(None)
        return agent.streams.attach(market, account, conn, str(hello.get("ws_url") or ""), trading)
    except Exception as e:  # noqa: BLE001 - whatever it was, the client streams on its own and says why
        return f"the session cannot stream this: {type(e).__name__}: {e}", False
    finally:
        session.close()  # the agent's shared market stays open (app/session.py share_markets)


def _held_trading(session: Any, account: str) -> Any:
    """The keyed side of the key the agent holds for `account`, or None (locked, another key)."""
    from perpcli.domain.errors import PerpError
    from perpcli.keys import sources

    try:
        trading = session.trading()
    except PerpError:
        sources.missed_key(reset=True)
        return None
    return trading if trading.account_address.lower() == account.lower() else None
