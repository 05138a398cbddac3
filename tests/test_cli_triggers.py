"""Trigger prices are shown (issue 13, item 1): a stop's result, a bracket's children, `perp
orders` (human and --json) carry the trigger price beside the limit/worst price, and the TP/SL
children of a bracket whose entry rests are listed with their parent."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from perpcli.app import views
from perpcli.domain.orders import OrderType, Side
from perpcli.venues.hyperliquid import codec
from tests.cli_devnet import devnet_fixture, new_key, run

devnet = devnet_fixture(seed=17)


@pytest.fixture
def perp(devnet, monkeypatch):
    def _run(*args, key=None):
        return run(devnet.url, *args, key=key, monkeypatch=monkeypatch)

    return _run


def table(out: str) -> list[dict[str, str]]:
    """Piped human output: a tab-separated header and rows."""
    header, *lines = out.splitlines()
    names = header.split("\t")
    return [dict(zip(names, line.split("\t"), strict=True)) for line in lines]


def test_a_stop_shows_its_trigger_and_its_worst_price_apart(perp, devnet):
    key, _ = new_key(devnet.url)
    mid = D(perp("--json", "price", "BTC").json()[0]["mid"])
    trigger = int(mid * D("1.02"))
    r = perp("--json", "buy", "BTC", "0.01", "--stop", str(trigger), "--yes", key=key)
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["type"] == "stop_market" and D(doc["trigger_price"]) == trigger
    assert D(doc["price"]) > trigger  # the worst price it may fill at once triggered (10% beyond)
    human = perp("sell", "BTC", "0.01", "--stop", str(int(mid * D("0.98"))), "--yes", key=key)
    assert human.code == 0, human.err
    (row,) = table(human.out)
    assert row["trigger_price"] == str(int(mid * D("0.98"))) and D(row["price"]) < int(mid * D("0.98"))


def test_a_resting_brackets_children_are_listed_with_their_parent(perp, devnet):
    key, _ = new_key(devnet.url)
    mid = D(perp("--json", "price", "BTC").json()[0]["mid"])
    tp, sl = int(mid * D("1.03")), int(mid * D("0.97"))
    placed = perp("--json", "buy", "BTC", "0.01", "--limit", "-1%", "--tp", str(tp), "--sl", str(sl), "--yes", key=key)
    assert placed.code == 0, placed.err
    doc = placed.json()
    assert doc["status"] == "resting"
    assert [D(c["trigger_price"]) for c in doc["children"]] == [tp, sl]
    assert all(D(c["price"]) < D(c["trigger_price"]) for c in doc["children"])  # a sell's worst price

    rows = perp("--json", "orders", key=key).json()
    parent, *children = rows
    assert parent["oid"] == doc["oid"] and parent["parent_oid"] is None and parent["trigger_price"] is None
    assert [(c["type"], D(c["trigger_price"]), c["parent_oid"]) for c in children] == [
        ("take_profit_market", tp, doc["oid"]), ("stop_market", sl, doc["oid"])]
    assert [c["cloid"] for c in children] == [c["cloid"] for c in doc["children"]]

    human = table(perp("orders", key=key).out)
    assert [r["oid"] for r in human] == [r["oid"] for r in rows]
    assert [r["trigger_price"] for r in human] == ["-", str(tp), str(sl)]
    assert [r["parent_oid"] for r in human] == ["-", doc["oid"], doc["oid"]]

    # Cancelling everything cancels the parent; the venue takes its children with it.
    gone = perp("--json", "cancel", "--all", "--yes", key=key)
    assert gone.code == 0, gone.err
    assert [c["status"] for c in gone.json()] == ["canceled"]
    assert perp("--json", "orders", key=key).json() == []


def test_the_codec_lists_waiting_children_after_their_parent():
    child = {"coin": "BTC", "side": "A", "limitPx": "89100.0", "sz": "0.01", "origSz": "0.01", "oid": 11,
             "isTrigger": True, "triggerPx": "99000.0", "orderType": "Take Profit Market", "reduceOnly": True,
             "tif": None, "timestamp": 1, "children": []}
    parent = {"coin": "BTC", "side": "B", "limitPx": "93000.0", "sz": "0.01", "origSz": "0.01", "oid": 12,
              "isTrigger": False, "triggerPx": "0.0", "orderType": "Limit", "reduceOnly": False, "tif": "Gtc",
              "timestamp": 1, "children": [child]}
    lone = {**child, "oid": 13, "children": []}
    orders = codec.open_orders([lone, parent], venue="hyperliquid")
    assert [(o.oid, o.parent_oid) for o in orders] == [("13", None), ("12", None), ("11", "12")]
    kid = orders[2]
    assert kid.order_type is OrderType.TAKE_PROFIT_MARKET and kid.side is Side.SELL
    assert kid.trigger_price == D(99000) and kid.price == D(89100)
    # Listing keeps each child under its parent even when the venue lists it elsewhere.
    shuffled = [orders[2], orders[0], orders[1]]
    assert [o.oid for o in views.with_children_after_parents(shuffled)] == ["13", "12", "11"]
    row = views.order_row(kid, venue="hyperliquid")
    assert row["trigger_price"] == D(99000) and row["price"] == D(89100) and row["parent_oid"] == "12"


async def test_the_tui_orders_table_shows_trigger_and_worst_price_and_waiting_children():
    from textual.app import App, ComposeResult

    from perpcli.domain.orders import Order, OrderStatus
    from perpcli.tui.widgets.tables import OrdersTable

    class Host(App):
        def compose(self) -> ComposeResult:
            yield OrdersTable()

    stop = Order("devnet", "BTC", Side.BUY, D(106700), D("0.01"), D("0.01"), OrderStatus.OPEN, oid="1",
                 order_type=OrderType.STOP_MARKET, tif=None, trigger_price=D(97000))
    child = Order("devnet", "BTC", Side.SELL, D(89100), D("0.01"), D("0.01"), OrderStatus.OPEN, oid="3",
                  order_type=OrderType.TAKE_PROFIT_MARKET, tif=None, reduce_only=True, trigger_price=D(99000),
                  parent_oid="2")
    async with Host().run_test() as pilot:
        table = pilot.app.query_one(OrdersTable)
        table.set_orders([stop, child])
        await pilot.pause()
        columns = [str(c.label) for c in table.columns.values()]
        rows = {table.get_row(k)[columns.index("oid")]: dict(zip(columns, map(str, table.get_row(k)), strict=True))
                for k in table.rows}
        assert (rows["1"]["trigger"], rows["1"]["price"]) == ("97,000", "106,700")
        assert (rows["3"]["trigger"], rows["3"]["price"]) == ("99,000", "89,100")
        assert "waits" in rows["3"]["flags"] and "RO" in rows["3"]["flags"]
