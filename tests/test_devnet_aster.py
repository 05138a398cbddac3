"""The devnet's Aster face: Aster's REST paths, signature and nonce checks, error codes, the
diff depth stream, and the CLI end to end with `--venue aster-devnet` (same engine and port as
the Hyperliquid face, each face with its own accounts)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import urllib.request
from decimal import Decimal

import pytest

from perpcli.devnet.server import start_in_thread
from perpcli.keys.signer import Signer
from perpcli.venues.aster.signing import signed_query
from tests.cli_devnet import control, info, run, wait_for_books
from tests.support import register_secret

CHAIN = 714  # the devnet runs testnet semantics


@pytest.fixture(scope="module")
def devnet():
    h = start_in_thread(port=0, seed=11, market_interval=0.2)
    wait_for_books(h.url)
    yield h
    h.stop()


def fresh_key() -> tuple[str, Signer]:
    key = "0x" + secrets.token_hex(32)
    register_secret(key)
    return key, Signer.from_hex(key)


def call(url: str, method: str, path: str, wire: str = "") -> tuple[int, object]:
    target = f"{url}{path}" + (f"?{wire}" if method == "GET" and wire else "")
    data = wire.encode() if method != "GET" else None
    req = urllib.request.Request(target, data=data, method=method,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def signed(signer: Signer, params: list[tuple[str, object]], *, nonce: int | None = None,
           user: str | None = None) -> str:
    nonce = nonce if nonce is not None else time.time_ns() // 1000
    return signed_query(signer, params, nonce=nonce, user=user or signer.address, signer_address=signer.address,
                        chain_id=CHAIN).wire


def test_public_market_data_in_aster_shapes(devnet):
    status, ex = call(devnet.url, "GET", "/fapi/v3/exchangeInfo")
    assert status == 200
    rows = {s["symbol"]: s for s in ex["symbols"]}
    assert {"BTCUSDT", "ETHUSDT", "SOLUSDT", "1000PEPEUSDT"} <= set(rows)
    filters = {f["filterType"]: f for f in rows["ETHUSDT"]["filters"]}
    assert filters["LOT_SIZE"]["stepSize"] == "0.0001" and filters["MIN_NOTIONAL"]["notional"] == "10"
    _, depth = call(devnet.url, "GET", "/fapi/v3/depth", "symbol=BTCUSDT&limit=5")
    assert len(depth["bids"]) == 5 and Decimal(depth["bids"][0][0]) < Decimal(depth["asks"][0][0])
    _, prem = call(devnet.url, "GET", "/fapi/v3/premiumIndex", "symbol=BTCUSDT")
    assert prem["symbol"] == "BTCUSDT" and Decimal(prem["markPrice"]) > 0 and prem["nextFundingTime"] > 0
    status, bad = call(devnet.url, "GET", "/fapi/v3/depth", "symbol=NOPEUSDT")
    assert status == 400 and bad == {"code": -1121, "msg": "Invalid symbol."}


def test_a_fresh_address_is_funded_when_it_reads_its_balance(devnet):
    _, signer = fresh_key()
    status, rows = call(devnet.url, "GET", "/fapi/v3/balance", signed(signer, []))
    assert status == 200, rows
    assert rows[0]["asset"] == "USDT" and Decimal(rows[0]["balance"]) == 100_000
    status, order = call(devnet.url, "POST", "/fapi/v3/order", signed(signer, [
        ("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET"), ("quantity", "0.01")]))
    assert status == 200 and order["status"] == "FILLED", order
    # the key's account on the Hyperliquid face is another account, funded on its own first read,
    # holding none of what this face traded
    state = info(devnet.url, {"type": "clearinghouseState", "user": signer.address})
    assert state["assetPositions"] == [] and Decimal(state["marginSummary"]["accountValue"]) == 100_000
    _, held = call(devnet.url, "GET", "/fapi/v3/positionRisk", signed(signer, [("symbol", "BTCUSDT")]))
    assert Decimal(held[0]["positionAmt"]) == Decimal("0.01")


def test_signature_and_nonce_rules(devnet):
    _, signer = fresh_key()
    _, other = fresh_key()
    nonce = time.time_ns() // 1000
    wire = signed(signer, [], nonce=nonce)
    assert call(devnet.url, "GET", "/fapi/v3/balance", wire)[0] == 200
    assert call(devnet.url, "GET", "/fapi/v3/balance", wire) == (400, {"code": -4225, "msg": "Nonce already used."})
    stale = signed(signer, [], nonce=nonce - 120_000_000)  # two minutes old
    assert call(devnet.url, "GET", "/fapi/v3/balance", stale)[1]["code"] == -1021
    tampered = signed(signer, [("symbol", "BTCUSDT")]).replace("BTCUSDT", "ETHUSDT")
    assert call(devnet.url, "GET", "/fapi/v3/openOrders", tampered)[1]["code"] == -1022
    # a key that is neither the user nor an agent of the user
    assert call(devnet.url, "GET", "/fapi/v3/balance", signed(other, [], user=signer.address))[1]["code"] == -2015
    # noop spends a nonce: the request it stands for can never run afterwards
    late = time.time_ns() // 1000
    assert call(devnet.url, "POST", "/fapi/v3/noop", signed(signer, [], nonce=late))[0] == 200
    order = signed(signer, [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET"), ("quantity", "0.001")],
                   nonce=late)
    assert call(devnet.url, "POST", "/fapi/v3/order", order)[1]["code"] == -4225


def test_order_errors_use_aster_codes(devnet):
    _, signer = fresh_key()
    big = signed(signer, [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET"), ("quantity", "500")])
    # ~47M notional: past every bracket that allows the default 20x (the brackets cap it first)
    assert call(devnet.url, "POST", "/fapi/v3/order", big) == (
        400, {"code": -2027, "msg": "Exceeded the maximum allowable position at current leverage."})
    assert call(devnet.url, "POST", "/fapi/v3/leverage",
                signed(signer, [("symbol", "BTCUSDT"), ("leverage", "2")]))[0] == 200
    # ~285k at 2x is within its bracket (10x there) but needs ~142k of the 100k funded
    wide = signed(signer, [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET"), ("quantity", "3")])
    assert call(devnet.url, "POST", "/fapi/v3/order", wide) == (400, {"code": -2019, "msg": "Margin is insufficient."})
    off_grid = signed(signer, [("symbol", "ETHUSDT"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC"),
                               ("quantity", "0.01"), ("price", "1000.05")])
    assert call(devnet.url, "POST", "/fapi/v3/order", off_grid)[1]["code"] == -4014
    missing = signed(signer, [("symbol", "ETHUSDT"), ("origClientOrderId", "nope")])
    assert call(devnet.url, "DELETE", "/fapi/v3/order", missing)[1]["code"] == -2013


def test_order_lifecycle_by_client_order_id(devnet):
    _, signer = fresh_key()
    _, depth = call(devnet.url, "GET", "/fapi/v3/depth", "symbol=ETHUSDT&limit=5")
    price = (Decimal(depth["bids"][0][0]) * Decimal("0.95")).quantize(Decimal("0.1"))
    place = signed(signer, [("symbol", "ETHUSDT"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC"),
                            ("quantity", "0.01"), ("price", price), ("newClientOrderId", "Mixed-Case.id:1")])
    status, row = call(devnet.url, "POST", "/fapi/v3/order", place)
    assert status == 200 and row["status"] == "NEW" and row["clientOrderId"] == "Mixed-Case.id:1"
    _, got = call(devnet.url, "GET", "/fapi/v3/order",
                  signed(signer, [("symbol", "ETHUSDT"), ("origClientOrderId", "Mixed-Case.id:1")]))
    assert got["orderId"] == row["orderId"] and got["type"] == "LIMIT" and got["timeInForce"] == "GTC"
    _, gone = call(devnet.url, "DELETE", "/fapi/v3/order",
                   signed(signer, [("symbol", "ETHUSDT"), ("origClientOrderId", "Mixed-Case.id:1")]))
    assert gone["status"] == "CANCELED"
    _, still = call(devnet.url, "GET", "/fapi/v3/order", signed(signer, [("symbol", "ETHUSDT"),
                                                                         ("orderId", row["orderId"])]))
    assert still["status"] == "CANCELED"


def test_depth_diffs_chain_and_bridge_a_snapshot(devnet):
    """Subscribe, then snapshot: the diffs chain by pu == previous u, one bridges the snapshot's
    lastUpdateId, and snapshot + diffs equals a fresh snapshot."""
    import websockets

    ws_url = "ws" + devnet.url[len("http"):] + "/ws/ethusdt@depth@100ms"

    async def scenario():
        async with websockets.connect(ws_url) as ws:
            _, snap = await asyncio.to_thread(call, devnet.url, "GET", "/fapi/v3/depth", "symbol=ETHUSDT&limit=1000")
            last = snap["lastUpdateId"]
            bids = {Decimal(p): q for p, q in snap["bids"]}
            asks = {Decimal(p): q for p, q in snap["asks"]}
            prev_u, bridged, applied = None, False, 0
            while applied < 6:
                ev = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert ev["e"] == "depthUpdate" and ev["s"] == "ETHUSDT"
                if prev_u is not None:
                    assert ev["pu"] == prev_u
                prev_u = ev["u"]
                if ev["u"] < last:
                    continue
                if not bridged:
                    assert ev["U"] <= last <= ev["u"]
                    bridged = True
                for side, levels in ((bids, ev["b"]), (asks, ev["a"])):
                    for p, q in levels:
                        if Decimal(q) == 0:
                            side.pop(Decimal(p), None)
                        else:
                            side[Decimal(p)] = q
                applied += 1
            _, fresh = await asyncio.to_thread(call, devnet.url, "GET", "/fapi/v3/depth", "symbol=ETHUSDT&limit=1000")
            # the fresh snapshot's own bridging diff is the next one; apply it, then compare
            while True:
                ev = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert ev["pu"] == prev_u
                prev_u = ev["u"]
                for side, levels in ((bids, ev["b"]), (asks, ev["a"])):
                    for p, q in levels:
                        if Decimal(q) == 0:
                            side.pop(Decimal(p), None)
                        else:
                            side[Decimal(p)] = q
                if ev["u"] >= fresh["lastUpdateId"]:
                    break
            assert ev["u"] == fresh["lastUpdateId"]
            assert sorted(bids.items(), reverse=True) == [(Decimal(p), q) for p, q in fresh["bids"]]
            assert sorted(asks.items()) == [(Decimal(p), q) for p, q in fresh["asks"]]

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_hyperliquid_ws_keeps_its_path(devnet):
    """The bare /ws stays the Hyperliquid face's: its greeting comes first."""
    import websockets

    async def scenario():
        async with websockets.connect("ws" + devnet.url[len("http"):] + "/ws") as ws:
            return await asyncio.wait_for(ws.recv(), 5)

    assert asyncio.run(scenario()) == "Websocket connection established."


def test_cli_end_to_end_on_aster_devnet(devnet, monkeypatch):
    key, signer = fresh_key()

    def perp(*args):
        return run(devnet.url, "--venue", "aster-devnet", "--json", *args, key=key, monkeypatch=monkeypatch)

    acct = perp("account")
    assert acct.code == 0, acct.err
    assert "100000" in acct.out
    r = perp("buy", "ETH", "0.01", "--limit", "-3%", "--cloid", "perp-e2e-1", "--yes")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["status"] == "resting" and doc["cloid"] == "perp-e2e-1"
    orders = perp("orders").json()
    assert [o["cloid"] for o in orders] == ["perp-e2e-1"]
    c = perp("cancel", "--cloid", "perp-e2e-1", "--yes")
    assert c.code == 0, c.err
    assert perp("orders").json() == []
    m = perp("buy", "ETH", "0.01", "--market", "--slippage", "3%", "--yes")
    assert m.code == 0, m.err
    assert m.json()["status"] == "filled"
    pos = perp("positions").json()
    assert len(pos) == 1 and Decimal(pos[0]["size"]) == Decimal("0.01")
    funded = control(devnet.url, "fund", {"user": signer.address, "amount": "5"})
    assert funded["faces"] == ["hyperliquid", "aster"]  # `perp devnet fund` credits this face's account too
    bal = call(devnet.url, "GET", "/fapi/v3/balance", signed(signer, []))[1]
    assert Decimal(bal[0]["balance"]) > Decimal("100004")
    lev = perp("leverage", "BTC", "1", "--yes")
    assert lev.code == 0, lev.err
    big = perp("buy", "BTC", "2", "--market", "--slippage", "3%", "--yes")
    assert big.code == 3 and big.err.startswith("perp: error:") and "Margin is insufficient" in big.err


def test_weights_are_reported_and_429_beyond_the_limit():
    h = start_in_thread(port=0, market_interval=0, aster_weight_limit=25)
    try:
        used = []
        for _ in range(2):
            with urllib.request.urlopen(f"{h.url}/fapi/v3/depth?symbol=BTCUSDT&limit=5", timeout=10) as r:
                used.append(r.headers["X-MBX-USED-WEIGHT-1M"])
        assert used == ["10", "20"]  # depth weighs 10
        status, body = call(h.url, "GET", "/fapi/v3/depth", "symbol=BTCUSDT&limit=5")
        assert status == 429 and body["code"] == -1003
        assert call(h.url, "GET", "/fapi/v3/ping")[0] == 200  # weight 1 still fits
    finally:
        h.stop()


def test_combined_streams_and_subscribe_on_the_aster_path(devnet):
    import websockets

    base = "ws" + devnet.url[len("http"):]
    _, signer = fresh_key()

    async def scenario():
        seen: set[str] = set()
        async with websockets.connect(base + "/stream?streams=btcusdt@markPrice@1s/btcusdt@bookTicker") as ws:
            while seen != {"btcusdt@markPrice@1s", "btcusdt@bookTicker"}:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert msg["data"]["s"] == "BTCUSDT"
                seen.add(msg["stream"])
        async with websockets.connect(base + "/aster/ws") as ws:
            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["ethusdt@aggTrade"], "id": 7}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"result": None, "id": 7}
            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["nopeusdt@aggTrade"], "id": 8}))
            refused = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert refused["id"] == 8 and refused["error"]["code"] == 2
            order = signed(signer, [("symbol", "ETHUSDT"), ("side", "BUY"), ("type", "MARKET"), ("quantity", "0.01")])
            status, row = await asyncio.to_thread(call, devnet.url, "POST", "/fapi/v3/order", order)
            assert status == 200 and row["status"] == "FILLED", row
            while True:
                ev = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if ev.get("e") == "aggTrade" and ev["m"] is False and Decimal(ev["q"]) >= Decimal("0.0001"):
                    assert ev["s"] == "ETHUSDT"
                    return

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_stop_orders_rest_as_aster_types(devnet):
    _, signer = fresh_key()
    _, prem = call(devnet.url, "GET", "/fapi/v3/premiumIndex", "symbol=ETHUSDT")
    mark = Decimal(prem["markPrice"])
    buy = signed(signer, [("symbol", "ETHUSDT"), ("side", "BUY"), ("type", "MARKET"), ("quantity", "0.02")])
    assert call(devnet.url, "POST", "/fapi/v3/order", buy)[1]["status"] == "FILLED"
    stop = (mark * Decimal("0.9")).quantize(Decimal("0.1"))
    sl = signed(signer, [("symbol", "ETHUSDT"), ("side", "SELL"), ("type", "STOP_MARKET"), ("stopPrice", stop),
                         ("closePosition", "true"), ("newClientOrderId", "sl-1")])
    status, row = call(devnet.url, "POST", "/fapi/v3/order", sl)
    assert status == 200, row
    assert (row["type"], row["status"], row["closePosition"], row["origQty"]) == ("STOP_MARKET", "NEW", True, "0.02")
    assert Decimal(row["stopPrice"]) == stop
    _, rows = call(devnet.url, "GET", "/fapi/v3/openOrders", signed(signer, [("symbol", "ETHUSDT")]))
    assert [(r["clientOrderId"], r["type"]) for r in rows] == [("sl-1", "STOP_MARKET")]
    nothing = signed(signer, [("symbol", "BTCUSDT"), ("side", "SELL"), ("type", "TAKE_PROFIT_MARKET"),
                              ("stopPrice", "200000"), ("closePosition", "true")])
    assert call(devnet.url, "POST", "/fapi/v3/order", nothing)[1]["code"] == -2022  # no BTC position to close
    done = call(devnet.url, "DELETE", "/fapi/v3/allOpenOrders", signed(signer, [("symbol", "ETHUSDT")]))
    assert done[0] == 200 and call(devnet.url, "GET", "/fapi/v3/openOrders", signed(signer, []))[1] == []


def test_perp_devnet_flag_sets_the_aster_weight_limit():
    import os
    import signal
    import subprocess
    import sys

    from tests.support import REPO

    proc = subprocess.Popen(
        [sys.executable, "-m", "perpcli", "devnet", "--port", "0", "--market-interval", "0", "--history-days", "0",
         "--aster-weight-limit", "15"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = proc.stdout.readline().strip()
        assert call(url, "GET", "/fapi/v3/depth", "symbol=BTCUSDT&limit=5")[0] == 200
        assert call(url, "GET", "/fapi/v3/depth", "symbol=BTCUSDT&limit=5")[0] == 429
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0


def test_the_adapter_reads_the_full_bracket_table_with_a_key(devnet):
    """Keyless, the adapter knows only exchangeInfo's first bracket; with a key it reads the
    signed leverageBracket table, so a position past the first bracket is valued right."""
    from perpcli.venues.aster.adapter import AsterMarketData

    keyless = AsterMarketData(devnet.url, venue="aster-devnet", network="testnet")
    inst = keyless.instrument("BTCUSDT")
    (only,) = keyless.margin_rules(inst).brackets
    assert (only.floor, only.max_leverage) == (0, 40)
    keyed = AsterMarketData(devnet.url, venue="aster-devnet", network="testnet")
    keyed.trading(fresh_key()[1])
    rules = keyed.margin_rules(keyed.instrument("BTCUSDT"))
    assert [b.max_leverage for b in rules.brackets] == [40, 20, 10, 5, 2, 1]
    assert rules.bracket(Decimal(300_000)).mmr == Decimal("0.05") and rules.bracket(Decimal(300_000)).cum == 6875
    keyless.close()
    keyed.close()


def test_user_data_stream_carries_orders_balance_and_positions(devnet):
    """listenKey, then `/ws/<listenKey>`: a fill arrives as ORDER_TRADE_UPDATE (TRADE) and an
    ACCOUNT_UPDATE with the new wallet balance and the position it moved (`P`)."""
    import websockets

    _, signer = fresh_key()
    status, answer = call(devnet.url, "POST", "/fapi/v3/listenKey", signed(signer, []))
    assert status == 200, answer
    ws_url = "ws" + devnet.url[len("http"):] + "/aster/ws/" + answer["listenKey"]

    async def scenario():
        async with websockets.connect(ws_url) as ws:
            order = signed(signer, [("symbol", "ETHUSDT"), ("side", "SELL"), ("type", "MARKET"), ("quantity", "0.05")])
            status, placed = await asyncio.to_thread(call, devnet.url, "POST", "/fapi/v3/order", order)
            assert status == 200 and placed["status"] == "FILLED", placed
            seen: dict[str, dict] = {}
            while "ACCOUNT_UPDATE" not in seen:
                ev = json.loads(await asyncio.wait_for(ws.recv(), 10))
                seen.setdefault(ev["e"], ev)
            return placed, seen

    placed, seen = asyncio.run(asyncio.wait_for(scenario(), 30))
    trade = seen["ORDER_TRADE_UPDATE"]["o"]
    assert (trade["x"], trade["i"], trade["s"]) == ("TRADE", placed["orderId"], "ETHUSDT")
    update = seen["ACCOUNT_UPDATE"]["a"]
    _, balance = call(devnet.url, "GET", "/fapi/v3/balance", signed(signer, []))
    assert update["B"][0]["a"] == "USDT" and Decimal(update["B"][0]["wb"]) == Decimal(balance[0]["balance"])
    (moved,) = update["P"]
    assert (moved["s"], moved["pa"], moved["mt"], moved["ps"]) == ("ETHUSDT", "-0.05", "cross", "BOTH")
    assert Decimal(moved["ep"]) == Decimal(placed["avgPrice"])
