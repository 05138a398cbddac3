"""The session agent's websocket streams: algos price from them, and pause while they cannot vouch.

End to end on a quiet devnet (the book moves only when the test moves it), with the agent as a
real background process. The devnet's `ws_down` fault takes its websocket endpoint down while
REST keeps answering: only an algo that prices from the stream notices.
"""

from __future__ import annotations

import time
from decimal import Decimal as D

import pytest

from perpcli.app.algos import journal, views
from perpcli.app.algos.streams import LiveStreams
from perpcli.session import client
from tests import session_helpers as sh
from tests.cli_devnet import control
from tests.test_algos_devnet import (  # noqa: F401 - fixtures, used by name
    cli,
    devnet,
    doc,
    maker,
    open_orders,
    quick_algos,
    session_key,
    wait_for,
    working_price,
)

pytestmark = pytest.mark.timeout(180)

def messages(aid: str) -> list[str]:
    return [x["message"] for x in views.logs(journal.find(aid))]


def stream_of(status: dict) -> dict:
    (venue,) = status["streams"]
    return venue


def test_a_session_chase_follows_the_stream_pauses_while_it_is_down_and_resumes(
        perpcli_home, devnet, maker, session_key):  # noqa: F811 - fixtures imported above
    address, pw = session_key
    # The devnet pushes a book only when it changes: a second without a move makes it STALE.
    doc0 = sh.start(pw, "--venues", "devnet", env={"PERPCLI_STREAM_STALE_AFTER_SECONDS": "1"})
    try:
        assert sh.status()["streams"] == []  # a stream opens for the first market an algo trades
        aid = cli(devnet, "chase", "buy", "BTC", "0.05", "--yes").json()["id"]
        wait_for("the chase at the bid", lambda: working_price(aid) == 94950)
        s = stream_of(sh.status())
        assert s["venue"] == "devnet" and s["state"] == "connected" and s["url"].startswith("ws://")
        assert [(b["market"], b["state"], b["usable"]) for b in s["books"]] == [("BTC", "connected", True)]
        assert s["books"][0]["age_ms"] is not None
        (acct,) = s["accounts"]  # the live account model, fed by the account stream
        assert acct["account"].lower() == address.lower() and acct["state"] in ("connected", "stale")
        wait_for("the child in the live account model", lambda: stream_of(sh.status())["accounts"][0]["open_orders"] == 1)
        human = sh.perp("session", "status")
        # One line per venue; the book may already be STALE (quiet for over a second) by now.
        assert human.code == 0 and "devnet connected" in human.out
        assert ", BTC connected" in human.out or ", BTC stale" in human.out

        time.sleep(2.0)  # a quiet book: STALE, yet checked against the venue's REST book, so no pause
        quiet = stream_of(sh.status())["books"][0]
        assert quiet["state"] == "stale" and quiet["age_ms"] >= 1000
        assert doc(aid)["status"] == "running" and not any(m.startswith("paused") for m in messages(aid))

        control(devnet.url, "oracle", {"coin": "BTC", "px": "95010"})
        maker("buy", "94980")
        wait_for("the chase to follow the streamed touch", lambda: working_price(aid) == 94980)

        control(devnet.url, "faults", {"ws_down": 1})  # the stream goes; REST still answers
        wait_for("a pause", lambda: doc(aid)["status"] == "paused")
        pause = [m for m in messages(aid) if m.startswith("paused:")]
        assert pause and "no fresh market data" in pause[0] and "devnet BTC stream" in pause[0]
        assert stream_of(sh.status())["state"] != "connected"
        maker("buy", "95000")  # the touch moves while the stream is down: nothing may follow it
        time.sleep(1.5)  # several algo steps (every 0.2 s)
        (child,) = open_orders(devnet.url, address)
        assert D(child["limitPx"]) == D(94980)
        assert sum(m.startswith("chase: buy") for m in messages(aid)) == 2
        assert doc(aid)["status"] == "paused"
        listed = client.request({"op": "algo", "action": "list"})  # what the TUI's algos screen asks
        assert [(a["id"], a["kind"], a["status"]) for a in listed["algos"]] == [(aid, "chase", "paused")]

        control(devnet.url, "faults", {"ws_down": 0})
        wait_for("the resume", lambda: doc(aid)["status"] == "running", timeout=60)
        assert any(m.startswith("resumed after: no fresh market data") for m in messages(aid))
        wait_for("the chase at the touch it missed", lambda: working_price(aid) == 95000)
        assert stream_of(sh.status())["state"] == "connected"
        maker("sell", None, "0.3", "--market", "--slippage", "1%")
        wait_for("the fill", lambda: doc(aid)["status"] == "done")
        assert D(doc(aid)["filled"]) == D("0.05")
        assert sum(m.startswith("chase: buy") for m in messages(aid)) == 3
        wait_for("the fill in the live account model", lambda: (lambda a: (a["open_orders"], a["positions"]))(
            stream_of(sh.status())["accounts"][0]) == (0, 1))
        assert stream_of(sh.status())["accounts"][0]["reconnects"] >= 1  # the account stream came back too
    finally:
        sh.perp("session", "stop")
        sh.kill(doc0["pid"])


class _NoStreamMarket:
    venue = "oracle-venue"

    def live_feed(self, account: str = ""):
        raise RuntimeError("no websocket market stream")


class _RestBook:
    def __init__(self, bid: str, ask: str) -> None:
        self.bids, self.asks = [(D(bid), D(1))], [(D(ask), D(1))]


class _RestMarket:
    def __init__(self, bid: str, ask: str) -> None:
        self.answer = _RestBook(bid, ask)

    def book(self, symbol: str, depth: int = 20):
        return self.answer


def test_a_silent_stream_is_used_only_where_the_venue_rest_book_agrees():
    from perpcli.app.algos.streams import NotFresh, _verified

    touch = (D(94950), D(95050))
    assert _verified(_RestMarket("94950", "95050"), "BTC", touch, "devnet") == touch
    with pytest.raises(NotFresh, match="stream stale: its touch 94950/95050 is not the venue's 94980/95050"):
        _verified(_RestMarket("94980", "95050"), "BTC", touch, "devnet")


def test_a_venue_without_a_stream_is_read_over_rest():
    streams = LiveStreams()
    streams.start()
    try:
        assert streams.touch(_NoStreamMarket(), "BTC") is None
        assert streams.health() == []
    finally:
        streams.close()


def test_status_says_each_stream_state_and_age_on_one_line():
    from perpcli.cli.commands.session import _stream_line

    v = {"venue": "aster", "state": "reconnecting", "age_ms": 4200,
         "books": [{"market": "BTC", "state": "stale", "age_ms": 12000}, {"market": "ETH", "state": "down",
                                                                        "age_ms": None}],
         "marks": [{"market": "BTC", "state": "stale", "age_ms": 12000, "mark": "95012.5"},
                   {"market": "ETH", "state": "down", "age_ms": None, "mark": None}],
         "accounts": [{"account": "0xabcdef0123456789", "state": "connected", "open_orders": 2, "positions": 1}]}
    assert _stream_line(v) == ("aster reconnecting 4200 ms, BTC stale 12000 ms, ETH down no message yet, "
                               "BTC mark 95012.5 stale 12000 ms, ETH mark - down no message yet, "
                               "account 0xabcdef01 connected (2 open orders, 1 positions)")
