"""`perp twap list` (issue 13, item 9): running TWAPs are visible with their progress — size
done, average price, share of the schedule elapsed — through the venue seam (Trading.twaps),
read from the venue's documented twapHistory and userTwapSliceFills."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from perpcli.devnet.server import start_in_thread
from perpcli.domain.orders import Side
from perpcli.venues.hyperliquid.codec import MalformedAnswer
from perpcli.venues.hyperliquid.codec_twap import twap_states
from tests.cli_devnet import new_key, run, wait_for_books

LOCAL_TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


def _state(coin="BTC", sz="0.5", side="B", executed="0.0", ntl="0.0", ts=1_700_000_000_000, minutes=30):
    return {"coin": coin, "executedNtl": ntl, "executedSz": executed, "minutes": minutes, "randomize": False,
            "reduceOnly": False, "side": side, "sz": sz, "timestamp": ts, "user": "0xabc"}


def test_codec_running_progress_comes_from_slice_fills_and_ended_from_the_last_event():
    history = [
        {"time": 1_700_000_000, "state": _state(), "status": {"status": "activated"}, "twapId": 7},
        {"time": 1_700_000_100, "state": _state("ETH", "2", "A", ts=1_700_000_100_000), "status": {"status": "activated"},
         "twapId": 8},
        {"time": 1_700_000_400, "state": _state("ETH", "2", "A", "0.5", "1500.5", ts=1_700_000_100_000),
         "status": {"status": "terminated"}, "twapId": 8},
        {"time": 1_700_000_050, "state": _state(), "status": {"status": "activated"}},  # no id: not listed
    ]
    fills = [
        {"fill": {"coin": "BTC", "px": "95000", "sz": "0.1", "side": "B"}, "twapId": 7},
        {"fill": {"coin": "BTC", "px": "96000", "sz": "0.1", "side": "B"}, "twapId": 7},
        {"fill": {"coin": "ETH", "px": "3000", "sz": "0.1", "side": "A"}, "twapId": 8},  # ended: state wins
    ]
    eth, btc = twap_states(history, fills, venue="hyperliquid")  # newest first
    assert (btc.twap_id, btc.symbol, btc.side, btc.status, btc.running) == (7, "BTC", Side.BUY, "running", True)
    assert btc.executed_size == Decimal("0.2") and btc.average_price == Decimal(95500)
    assert btc.progress == Decimal("0.4") and btc.ended_ms is None
    assert btc.ends_ms == 1_700_000_000_000 + 30 * 60_000
    assert (eth.twap_id, eth.side, eth.status, eth.running) == (8, Side.SELL, "terminated", False)
    assert eth.executed_size == Decimal("0.5") and eth.executed_notional == Decimal("1500.5")
    assert eth.ended_ms == 1_700_000_400_000


def test_codec_refuses_a_malformed_answer_by_name():
    with pytest.raises(MalformedAnswer, match="TWAP history"):
        twap_states([{"time": 1, "state": {"coin": "BTC"}, "status": {"status": "activated"}, "twapId": 1}], [],
                    venue="hyperliquid")


@pytest.fixture(scope="module")
def devnet():
    h = start_in_thread(port=0, seed=23, market_interval=0.2)
    wait_for_books(h.url)
    yield h
    h.stop()


def test_twap_list_shows_running_twaps_with_progress_and_ended_ones_with_all(devnet, monkeypatch):
    key, addr = new_key(devnet.url, fund="100000")

    def perp(*args, **kw):
        return run(devnet.url, *args, key=key, monkeypatch=monkeypatch, **kw)

    empty = perp("twap", "list")
    assert empty.code == 0 and empty.out == "" and "no running TWAPs" in empty.err
    assert perp("--json", "twap", "list").json() == []
    started = perp("--json", "twap", "buy", "btc", "0.02", "--minutes", "5", "--yes")
    assert started.code == 0, started.err
    twap_id = started.json()["detail"]["twap_id"]

    deadline = time.monotonic() + 20
    while True:  # the first slice goes at once; the devnet's timer sends it within a tick
        rows = perp("--json", "twap", "list").json()
        if rows and Decimal(rows[0]["executed_size"]) > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    (row,) = rows
    assert row["twap_id"] == twap_id and row["market"] == "BTC" and row["side"] == "buy"
    assert row["status"] == "running" and row["ended_at"] is None
    assert Decimal(row["size"]) == Decimal("0.02") and Decimal(row["executed_size"]) > 0
    assert Decimal(row["executed_pct"]) == Decimal(row["executed_size"]) / Decimal("0.02") * 100
    assert Decimal(row["average_price"]) > 0 and row["average_price"] == str(int(Decimal(row["average_price"])))
    assert 0 <= Decimal(row["time_elapsed_pct"]) < 100
    assert row["ends_at"] - row["started_at"] == 5 * 60_000

    human = perp("twap", "list")
    assert human.code == 0, human.err
    header, line = human.out.splitlines()
    cells = dict(zip(header.split("\t"), line.split("\t"), strict=True))
    assert cells["twap_id"] == str(twap_id) and cells["status"] == "running"
    import re

    assert re.fullmatch(LOCAL_TIME, cells["started_at"]) and re.fullmatch(LOCAL_TIME, cells["ends_at"])

    watch_only = run(devnet.url, "--json", "--address", addr, "twap", "list", monkeypatch=monkeypatch)
    assert watch_only.code == 0 and [r["twap_id"] for r in watch_only.json()] == [twap_id]  # a read: no key

    assert perp("twap", "cancel", "BTC", str(twap_id), "--yes").code == 0
    assert perp("--json", "twap", "list").json() == []
    (ended,) = perp("--json", "twap", "list", "--all").json()
    assert ended["status"] == "terminated" and ended["ended_at"] >= ended["started_at"]
    assert Decimal(ended["executed_size"]) >= Decimal(row["executed_size"])
    assert "ended_at" in perp("twap", "list", "--all").out.splitlines()[0]
    assert json.loads(perp("--json", "twap", "list", "--all").out)[0]["twap_id"] == twap_id
