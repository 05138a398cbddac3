"""The session's streamed marks: a trailing stop prices from the venue's mark feed (Hyperliquid's
activeAssetCtx) while that feed is fresh, and reads the venue's REST mark whenever it is not.

On a quiet devnet (market_interval=0): the mark moves only when the test moves the oracle, and a
couple of seconds without a move make the feed silent (stream.stale_after_seconds is 2 here).
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from perpcli.app.algos import host as algo_host
from perpcli.app.algos.streams import LiveStreams
from perpcli.domain.errors import NetworkError
from perpcli.net.stream import StreamSettings
from tests.cli_devnet import control, info, new_key, run
from tests.test_algos_devnet import devnet, doc, maker, quick_algos, wait_for  # noqa: F401 - fixtures

pytestmark = pytest.mark.timeout(120)


def rest_mark(url: str, coin: str = "BTC") -> D:
    meta, ctxs = info(url, {"type": "metaAndAssetCtxs"})
    (ctx,) = [c for a, c in zip(meta["universe"], ctxs, strict=False) if a["name"] == coin]
    return D(ctx["markPx"])


def open_market(url: str):
    from perpcli.app.session import Session
    from perpcli.config import settings

    return Session.open(settings.current(), url=url, network="testnet")


@pytest.fixture
def streams():
    s = LiveStreams(StreamSettings(stale_after=2.0))
    s.start()
    yield s
    s.close()


def test_a_streamed_mark_is_given_only_while_its_feed_is_fresh(perpcli_home, devnet, streams):  # noqa: F811
    session = open_market(devnet.url)
    try:
        market = session.market
        wait_for("the streamed mark", lambda: streams.mark(market, "BTC") == rest_mark(devnet.url))
        (health,) = streams.health()  # what `perp session status` shows of the mark feed
        assert [(m["market"], m["state"], m["mark"]) for m in health["marks"]] == [
            ("BTC", "connected", str(rest_mark(devnet.url)))]
        wait_for("a silent feed set aside", lambda: streams.mark(market, "BTC") is None, timeout=10)
        control(devnet.url, "oracle", {"coin": "BTC", "px": "96000"})
        moved = rest_mark(devnet.url)
        wait_for("the moved mark, streamed", lambda: streams.mark(market, "BTC") == moved)
        control(devnet.url, "faults", {"ws_down": 1})
        try:
            wait_for("a mark feed that is down set aside", lambda: streams.mark(market, "BTC") is None)
        finally:
            control(devnet.url, "faults", {"ws_down": 0})
    finally:
        session.close()


def test_a_session_trail_follows_a_streamed_mark_move(perpcli_home, devnet, maker, streams, monkeypatch):  # noqa: F811
    """The venue's REST mark is made unreadable: the trail can only follow the mark and fire
    from the stream (and pauses, never guesses, while the stream has no fresh mark)."""
    key, address = new_key(devnet.url)
    assert run(devnet.url, "buy", "BTC", "0.02", "--market", "--yes", key=key, monkeypatch=monkeypatch).code == 0
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", key)
    def no_rest_marks(self, *args, **kwargs):
        raise NetworkError("REST marks are off in this test")

    session = open_market(devnet.url)
    monkeypatch.setattr(type(session.market), "mark_prices", no_rest_marks)
    h = algo_host.Host(owner="process", poll_s=0.05)
    h.streams = streams
    spec = {"kind": "trail", "market": "BTC", "side": "sell", "size": "0.02", "distance": "0.1", "slippage": "1"}
    reach = {"venue": session.venue, "url": devnet.url, "network": "testnet", "vault_address": None, "account": None}
    session.close()
    run_ = h.launch(spec, reach)
    try:
        wait_for("the first stop, from the streamed mark", lambda: doc(run_.id)["detail"]["stop"])
        assert run_.link.mark_streamed
        control(devnet.url, "oracle", {"coin": "BTC", "px": "96000"})  # mark 95050: a new best
        wait_for("the stop to follow", lambda: D(doc(run_.id)["detail"]["extreme_mark"]) == 95050)
        control(devnet.url, "oracle", {"coin": "BTC", "px": "94000"})  # mark 94950: 0.1% under the best
        wait_for("the trail to close the position", lambda: run_.algo.finished)
    finally:
        h.stop("cancel")
    d = doc(run_.id)
    assert d["status"] == "done" and d["detail"]["triggered"] and D(d["filled"]) == D("0.02")
    assert D(d["detail"]["stop"]) == D("95050") * D("0.999")
    pos = info(devnet.url, {"type": "clearinghouseState", "user": address})["assetPositions"]
    assert pos == [] or D(pos[0]["position"]["szi"]) == 0
