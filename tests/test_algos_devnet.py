"""Algos end to end on the devnet: in the foreground and in a `perp session` agent.

Each test gets its own quiet devnet (no synthetic flow) and a maker key that sets the touch, so
the book moves exactly when the test moves it. Session tests run `perp` as real processes (the
agent is a forked background process); foreground ones run the CLI in this process.
"""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal as D

import pytest

from perpcli.app.algos import journal, views
from perpcli.devnet.server import start_in_thread
from tests import session_helpers as sh
from tests.cli_devnet import control, info, new_key, run
from tests.support import run_perp

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(autouse=True)
def quick_algos(perpcli_home, monkeypatch):
    """Algos read the devnet five times a second (the default, once a second, suits a venue's
    request budget; a loopback devnet has none worth saving)."""
    from perpcli.config import settings

    monkeypatch.setenv("PERPCLI_SESSION_ALGO_POLL_MS", "200")  # inherited by the session agent too
    settings.configure()


@pytest.fixture
def devnet():
    h = start_in_thread(port=0, seed=29, market_interval=0)
    yield h
    h.stop()


@pytest.fixture
def maker(devnet):
    """`maker(side, px, size)`: an order from a well-funded market maker, as its own process (it
    may run beside a foreground algo in this one)."""
    key, _ = new_key(devnet.url, "5000000")

    def quote(side: str, px: str | None, size: str = "0.1", *extra: str):
        r = run_perp(["--url", devnet.url, "--network", "testnet", "--json", side, "BTC", size,
                      *(["--limit", px] if px else []), *extra, "--yes"], env={"PERPCLI_PRIVATE_KEY": key})
        assert r.code == 0, r.err
        return r.json()

    quote("buy", "94900")
    quote("buy", "94950")
    quote("sell", "95050")
    quote("sell", "95100")
    return quote


def wait_for(what, check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def doc(algo_id: str) -> dict:
    return views.doc(journal.find(algo_id))


def working_price(algo_id: str) -> D | None:
    w = doc(algo_id)["working"]
    return D(w[0]["price"]) if w and w[0]["state"] == "open" else None


def open_orders(url: str, user: str) -> list[dict]:
    return info(url, {"type": "openOrders", "user": user})


def aster_orders(devnet, user: str) -> list:
    """The key's open orders on the Aster face: its own account there (the Hyperliquid face's
    account of the same key is another one), read off the engine without a signature."""
    return devnet.call(devnet.devnet.engine.open_orders, devnet.devnet.aster.desk.account(user))


def aster_position(devnet, user: str, coin: str) -> D:
    return devnet.call(devnet.devnet.engine.position, devnet.devnet.aster.desk.account(user), coin)


def only_algo() -> str:
    (rep,) = journal.all_journals()
    return rep.algo_id


# ----- foreground ---------------------------------------------------------------------------


def test_chase_follows_the_touch_through_price_moves_and_fills(perpcli_home, devnet, maker, monkeypatch):
    key, address = new_key(devnet.url)

    def market_moves():
        aid = wait_for("an algo", lambda: journal.all_journals() and only_algo())
        wait_for("the chase at the bid", lambda: working_price(aid) == 94950)
        control(devnet.url, "oracle", {"coin": "BTC", "px": "95010"})
        maker("buy", "94980")  # the touch moves up: the chase follows it
        wait_for("the chase at the new bid", lambda: working_price(aid) == 94980)
        maker("buy", "95000")
        wait_for("the chase at the next bid", lambda: working_price(aid) == 95000)
        maker("sell", None, "0.3", "--market", "--slippage", "1%")  # a taker sweeps the bids: ours fills

    mover = threading.Thread(target=market_moves, daemon=True)
    mover.start()
    r = run(devnet.url, "--json", "chase", "buy", "BTC", "0.05", "--max-distance", "0.3%", "--yes", key=key,
            monkeypatch=monkeypatch)
    mover.join(5)
    assert r.code == 0, r.err
    out = r.json()
    assert out["status"] == "done" and D(out["filled"]) == D("0.05") and D(out["avg_price"]) == D(95000)
    assert out["detail"]["cap"] == "95234"  # 94950 + 0.3%, rounded down onto the grid
    logs = [line["message"] for line in views.logs(journal.find(out["id"]))]
    placed = [m for m in logs if m.startswith("chase: buy")]
    assert len(placed) == 3 and sum("cancel chase" in m for m in logs) == 2
    assert open_orders(devnet.url, address) == []
    pos = info(devnet.url, {"type": "clearinghouseState", "user": address})["assetPositions"]
    assert D(pos[0]["position"]["szi"]) == D("0.05")


def test_trail_fires_when_the_mark_falls_its_distance_from_the_best(perpcli_home, devnet, maker, monkeypatch):
    key, address = new_key(devnet.url)
    assert run(devnet.url, "buy", "BTC", "0.02", "--market", "--yes", key=key, monkeypatch=monkeypatch).code == 0

    def market_moves():
        aid = wait_for("an algo", lambda: journal.all_journals() and only_algo())
        wait_for("the first stop", lambda: doc(aid)["detail"]["stop"])
        control(devnet.url, "oracle", {"coin": "BTC", "px": "96000"})  # mark 95050: a new best
        wait_for("the stop to follow", lambda: D(doc(aid)["detail"]["extreme_mark"]) == 95050)
        control(devnet.url, "oracle", {"coin": "BTC", "px": "94000"})  # mark 94950: 0.1% under the best

    threading.Thread(target=market_moves, daemon=True).start()
    r = run(devnet.url, "--json", "trail", "sell", "BTC", "0.02", "--distance", "0.1%", "--yes", key=key,
            monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    out = r.json()
    assert out["status"] == "done" and out["detail"]["triggered"] and D(out["filled"]) == D("0.02")
    assert D(out["detail"]["stop"]) == D("95050") * D("0.999")
    pos = info(devnet.url, {"type": "clearinghouseState", "user": address})["assetPositions"]
    assert pos == [] or D(pos[0]["position"]["szi"]) == 0


def test_aster_bracket_without_a_session_places_the_legs_and_says_nothing_watches_them(
        perpcli_home, devnet, maker, monkeypatch):
    key, _ = new_key(devnet.url)
    r = run(devnet.url, "--venue", "aster-devnet", "--json", "buy", "BTC", "0.01", "--market", "--tp", "95040",
            "--sl", "94000", "--yes", key=key, monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    out = r.json()
    assert out["status"] == "filled"
    assert [(c["type"], c["status"], c["trigger_price"]) for c in out["children"]] == [
        ("take_profit_market", "resting", "95040"), ("stop_market", "resting", "94000")]
    assert "NOT watched after this process exits" in out["note"] and "perp session" in out["note"]
    assert "NOT watched" in r.err
    (rep,) = journal.all_journals()
    assert views.status_of(rep) == "unwatched" and rep.start["spec"]["kind"] == "oco"
    orders = run(devnet.url, "--venue", "aster-devnet", "--json", "orders", key=key, monkeypatch=monkeypatch).json()
    assert sorted(o["type"] for o in orders) == ["stop_market", "take_profit_market"]
    assert all(o["reduce_only"] for o in orders)
    # No session runs it: `perp algo cancel` takes its legs down from this process, from the journal.
    c = run(devnet.url, "--venue", "aster-devnet", "--json", "algo", "cancel", rep.algo_id, "--yes", key=key,
            monkeypatch=monkeypatch)
    assert c.code == 0, c.err
    assert c.json()["status"] == "canceled" and c.json()["working"] == []
    assert run(devnet.url, "--venue", "aster-devnet", "--json", "orders", key=key, monkeypatch=monkeypatch).json() == []


# ----- in a session -------------------------------------------------------------------------


@pytest.fixture
def session_key(perpcli_home, devnet):
    address, pw = sh.stored_key(perpcli_home)
    control(devnet.url, "fund", {"user": address, "amount": "100000"})
    return address, pw


def cli(devnet, *args):
    return sh.perp("--url", devnet.url, "--network", "testnet", "--json", *args)


def test_a_chase_in_the_session_outlives_its_terminal_and_resumes_without_a_duplicate(
        perpcli_home, devnet, maker, session_key):
    address, pw = session_key
    doc0 = sh.start(pw, "--venues", "devnet")
    try:
        r = cli(devnet, "chase", "buy", "BTC", "0.05", "--yes")
        assert r.code == 0, r.err  # returns at once: the agent runs it, not this process
        started = r.json()
        aid = started["id"]
        assert started["status"] == "running" and started["owner"] == "session"
        assert "runs in the session" in r.err
        wait_for("the chase at the bid", lambda: working_price(aid) == 94950)
        control(devnet.url, "oracle", {"coin": "BTC", "px": "95010"})
        maker("buy", "94980")
        wait_for("the chase to follow", lambda: working_price(aid) == 94980)
        (child,) = open_orders(devnet.url, address)
        listed = cli(devnet, "algo", "list")
        assert listed.code == 0 and [a["id"] for a in listed.json()] == [aid]
        assert sh.status()["algos_running"] == 1

        stop = sh.perp("--json", "session", "stop", "--on-stop", "leave")
        assert stop.code == 0, stop.err
        sh.kill(doc0["pid"])
        assert doc(aid)["status"] == "suspended"
        assert [o["oid"] for o in open_orders(devnet.url, address)] == [child["oid"]]  # left working

        doc0 = sh.start(pw, "--venues", "devnet")
        wait_for("the resume", lambda: any("resumed" in x["message"] for x in views.logs(journal.find(aid))))
        time.sleep(1.0)  # a few steps of the resumed chase
        orders = open_orders(devnet.url, address)
        assert [(o["oid"], o["cloid"]) for o in orders] == [(child["oid"], child["cloid"])]  # adopted, not doubled
        maker("sell", None, "0.3", "--market", "--slippage", "1%")
        wait_for("the fill", lambda: doc(aid)["status"] == "done")
        assert D(doc(aid)["filled"]) == D("0.05")
        placed = [x for x in views.logs(journal.find(aid)) if x["message"].startswith("chase: buy")]
        assert len(placed) == 2  # the first child and the one that followed the touch: nothing more
    finally:
        sh.perp("session", "stop")
        sh.kill(doc0["pid"])


def test_session_stop_cancels_algo_orders_by_default_and_a_stale_venue_pauses_them(
        perpcli_home, devnet, maker, session_key):
    address, pw = session_key
    doc0 = sh.start(pw, "--venues", "devnet")
    try:
        aid = cli(devnet, "chase", "buy", "BTC", "0.05", "--yes").json()["id"]
        wait_for("the chase at the bid", lambda: working_price(aid) == 94950)
        control(devnet.url, "faults", {"rate_5xx": 1.0})  # the venue stops answering reads (its orders)
        wait_for("a pause", lambda: doc(aid)["status"] == "paused")
        assert any(x["message"].startswith("paused: venue call failed") for x in views.logs(journal.find(aid)))
        control(devnet.url, "faults", {"rate_5xx": 0.0})
        wait_for("the resume", lambda: doc(aid)["status"] == "running")
        assert any(x["message"].startswith("resumed after") for x in views.logs(journal.find(aid)))
        assert len(open_orders(devnet.url, address)) == 1

        assert sh.perp("session", "stop").code == 0  # --on-stop cancel is the default
        sh.kill(doc0["pid"])
        assert open_orders(devnet.url, address) == []
        doc0 = sh.start(pw, "--venues", "devnet")
        wait_for("a fresh child after the restart", lambda: len(open_orders(devnet.url, address)) == 1)
        cancel = cli(devnet, "algo", "cancel", aid, "--yes")
        assert cancel.code == 0, cancel.err
        assert cancel.json()["status"] == "canceled"
        assert open_orders(devnet.url, address) == []
        logs = sh.perp("algo", "logs", aid)
        assert "suspended: the session stopped (--on-stop cancel)" in logs.out
    finally:
        sh.perp("session", "stop")
        sh.kill(doc0["pid"])


def test_a_stop_that_cannot_cancel_says_which_orders_are_left_working(perpcli_home, devnet, maker, session_key):
    """Locked first: the agent holds no key to cancel with, so `session stop` (cancel, the
    default) names the algo and its order, and exits 4 (the key), instead of saying it stopped
    as if its orders were gone."""
    address, pw = session_key
    doc0 = sh.start(pw, "--venues", "devnet")
    try:
        aid = cli(devnet, "chase", "buy", "BTC", "0.05", "--yes").json()["id"]
        wait_for("the chase at the bid", lambda: working_price(aid) == 94950)
        [resting] = open_orders(devnet.url, address)
        assert sh.perp("session", "lock").code == 0
        stop = sh.perp("--json", "session", "stop")
        assert stop.code == 4, (stop.code, stop.err)
        [left] = json.loads(stop.out)["not_cancelled"]
        assert left["id"] == aid and left["cloids"] == [resting["cloid"]] and left["exit_code"] == 4
        assert f"algo {aid} (chase buy 0.05 BTC): not cancelled, may still be working" in stop.err
        hint = f"perp --venue devnet --url {devnet.url} --network testnet cancel --cloid {resting['cloid']}"
        assert f"`{hint}`" in stop.err
        assert [o["cloid"] for o in open_orders(devnet.url, address)] == [resting["cloid"]]  # as it said
        cancel = sh.perp(*hint.split()[1:], "--yes", "--passphrase-file", str(pw))  # the line's own command
        assert cancel.code == 0, cancel.err
        assert open_orders(devnet.url, address) == []
    finally:
        sh.perp("session", "stop")
        sh.kill(doc0["pid"])


def test_a_client_side_twap_slices_in_the_session(perpcli_home, devnet, maker, session_key):
    address, pw = session_key
    maker("sell", "95060", "1")
    doc0 = sh.start(pw, "--venues", "devnet")
    try:
        # 20 slices of 0.01 a minute: one every 3 s (the shortest schedule the command takes is a
        # minute; more slices would put the next one too close to the cancel below)
        r = cli(devnet, "twap", "buy", "BTC", "0.2", "--minutes", "1", "--slices", "20", "--client", "--yes")
        assert r.code == 0, r.err
        aid = r.json()["id"]
        assert r.json()["detail"] == {"slices_due": 1, "slices": 20, "interval_s": 3}
        assert D(r.json()["filled"]) == D("0.01")  # the first slice went at once
        wait_for("the second slice", lambda: D(doc(aid)["filled"]) == D("0.02"), timeout=10)
        cancel = cli(devnet, "algo", "cancel", aid, "--yes")
        assert cancel.json()["status"] == "canceled" and D(cancel.json()["filled"]) == D("0.02")
        fills = info(devnet.url, {"type": "userFills", "user": address})
        assert sorted(D(f["sz"]) for f in fills) == [D("0.01"), D("0.01")]
    finally:
        sh.perp("session", "stop")
        sh.kill(doc0["pid"])


def test_native_twap_stays_the_default_where_the_venue_has_one(perpcli_home, devnet, maker, monkeypatch):
    key, _ = new_key(devnet.url)
    r = run(devnet.url, "--json", "twap", "buy", "BTC", "0.01", "--minutes", "5", "--yes", key=key,
            monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    assert r.json()["action"] == "twap" and journal.all_journals() == []


def test_aster_bracket_in_a_session_cancels_the_other_leg(perpcli_home, devnet, maker, session_key):
    address, pw = session_key
    doc0 = sh.start(pw, "--venues", "devnet")
    try:
        r = sh.perp("--venue", "aster-devnet", "--url", devnet.url, "--network", "testnet", "--json", "buy", "BTC",
                    "0.01", "--market", "--tp", "95040", "--sl", "94000", "--yes")
        assert r.code == 0, r.err
        out = r.json()
        assert [c["status"] for c in out["children"]] == ["resting", "resting"]
        assert "runs in the session" in out["note"]
        aid = only_algo()
        # The agent follows the account on its listenKey socket, opened with the key it holds.
        wait_for("the Aster account stream", lambda: [
            a["state"] for v in sh.status()["streams"] if v["venue"] == "aster-devnet" for a in v["accounts"]
        ] == ["connected"])
        control(devnet.url, "oracle", {"coin": "BTC", "px": "96000"})  # mark 95050: the TP fires
        wait_for("one-cancels-other", lambda: doc(aid)["status"] == "done")
        assert doc(aid)["reason"] == "tp executed"
        assert aster_orders(devnet, address) == []  # the SL went with it
        assert aster_position(devnet, address, "BTC") == 0
        legs = doc(aid)["detail"]["legs"]
        assert legs["tp"]["state"] == "done" and D(legs["tp"]["filled"]) == D("0.01")
        assert legs["sl"]["state"] == "done" and D(legs["sl"]["filled"]) == 0
    finally:
        sh.perp("session", "stop")
        sh.kill(doc0["pid"])


def test_a_session_adopts_a_bracket_whose_entry_rested_without_one(perpcli_home, devnet, maker, session_key):
    address, pw = session_key
    aster = ("--venue", "aster-devnet", "--url", devnet.url, "--network", "testnet", "--passphrase-file", str(pw),
             "--json")
    r = sh.perp(*aster, "buy", "BTC", "0.01", "--limit", "94990", "--tp", "95040", "--sl", "94000", "--yes")
    assert r.code == 0, r.err
    out = r.json()
    assert out["status"] == "resting" and "children" not in out
    assert "the entry rests" in out["note"] and "start `perp session`" in out["note"]
    aid = only_algo()
    assert doc(aid)["status"] == "unwatched"
    doc0 = sh.start(pw, "--venues", "devnet")
    try:
        wait_for("the adoption", lambda: doc(aid)["status"] == "running")
        maker("sell", None, "0.05", "--market", "--slippage", "1%")  # fills the entry (the best bid)
        wait_for("the legs", lambda: len(aster_orders(devnet, address)) == 2)
        assert doc(aid)["detail"]["phase"] == "legs"
        assert sorted(o.order_type for o in aster_orders(devnet, address)) == ["Stop Market", "Take Profit Market"]
    finally:
        sh.perp("session", "stop")
        sh.kill(doc0["pid"])


def test_a_session_that_expires_cancels_its_algo_orders_before_dropping_the_key(
        perpcli_home, devnet, maker, session_key):
    import os

    from perpcli.session import protocol

    address, pw = session_key
    doc0 = sh.start(pw, "--venues", "devnet", "--for", "6s")
    try:
        aid = cli(devnet, "chase", "buy", "BTC", "0.05", "--yes").json()["id"]
        wait_for("the chase at the bid", lambda: working_price(aid) == 94950)
        wait_for("the end of the session", lambda: not os.path.exists(protocol.socket_path()), timeout=20)
        assert open_orders(devnet.url, address) == []
        assert doc(aid)["status"] == "suspended"
    finally:
        sh.kill(doc0["pid"])
