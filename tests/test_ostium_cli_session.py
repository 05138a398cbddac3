"""The issue's scripted session, through the `perp` CLI against the Ostium devnet (anvil, the
project's contracts, the keeper): approve, a market open on XAU with TP/SL -> accepted ->
executed -> a position with its liquidation price; a partial close; the TP hit by the keeper;
a limit order that rests then triggers; a closed market refused locally; a wrong leverage
reverted by the contract and mapped to an error kind; USDC read with a plain eth_call equal
to the model to the cent. Skips with one line without anvil."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime
from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from perpcli.venues.ostium import ordering, quoting
from tests.ostium_devnet import ostium_devnet_fixture, skip_without_anvil
from tests.support import invoke

skip_without_anvil()

ostium = ostium_devnet_fixture()
TUESDAY_NS = int(datetime(2026, 3, 10, 15, tzinfo=UTC).timestamp()) * 10**9  # XAU trades (perpcli's hours)


@pytest.fixture
def trader(ostium, perpcli_home, monkeypatch):
    key, address = ostium.new_key("10000")
    for name, value in ostium.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", key)
    monkeypatch.setenv("PERPCLI_VENUES_OSTIUM_DEVNET_RECEIPT_TIMEOUT_S", "20")
    monkeypatch.setattr(quoting, "time", SimpleNamespace(time_ns=lambda: TUESDAY_NS))
    return address


def perp(capsys, monkeypatch, *args):
    r = invoke(["--venue", "ostium-devnet", "--yes", "--json", *args], capsys, monkeypatch=monkeypatch)
    return r, (json.loads(r.out) if r.out.strip() else None)


def usdc_by_eth_call(rpc_url: str, owner: str) -> D:
    """balanceOf(owner) on the devnet's USDC with a bare JSON-RPC eth_call: nothing of perpcli."""
    data = "0x70a08231" + owner[2:].lower().rjust(64, "0")
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_call",
                       "params": [{"to": "0xaf88d065e77c8cc2239327c5edb3a432268e5831", "data": data}, "latest"]})
    req = urllib.request.Request(rpc_url, data=body.encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return D(int(json.loads(r.read())["result"], 16)) / 10**6


def test_open_with_tp_sl_partial_close_tp_hit_and_usdc_to_the_cent(ostium, trader, capsys, monkeypatch):
    ostium.set_price("XAU", "2650")
    r, doc = perp(capsys, monkeypatch, "buy", "XAU", "--collateral", "100", "--leverage", "10", "--market",
                  "--tp", "2800", "--sl", "2500")
    assert r.code == 0, r.err
    assert D(doc["approved"]) == D(100)  # a fresh key: the allowance was short, an exact approval went first
    assert "allowance is short" in r.err
    assert (doc["status"], doc["trade_id"], D(doc["avg_price"])) == ("filled", "5:0", D("2650.1325"))
    assert D(doc["liquidation_price"]) > 0 and D(doc["tp"]) == D(2800) and D(doc["sl"]) == D(2500)

    r, positions = perp(capsys, monkeypatch, "positions")
    [pos] = positions
    assert (pos["market"], pos["margin_mode"], D(pos["margin_used"])) == ("XAU-USD", "isolated", D(100))
    assert pos["position_id"] == doc["trade_id"]
    assert D(pos["liquidation_price"]) == D(doc["liquidation_price"])

    ostium.set_price("XAU", "2700")
    r, closed = perp(capsys, monkeypatch, "close", "XAU", "--percent", "50")
    assert r.code == 0, r.err
    assert (closed["status"], closed["type"], closed["trade_id"]) == ("filled", "close", "5:0")
    assert D(closed["usdc_to_trader"]) > D(50)

    r, account = perp(capsys, monkeypatch, "account")
    on_chain = usdc_by_eth_call(ostium.rpc_url, trader)
    assert on_chain == D(9900) + D(closed["usdc_to_trader"])  # exactly, to the micro-USDC
    wallet = D(account["withdrawable"])
    assert abs(on_chain - wallet) < D("0.005") and D(account["margin_used"]) == D(50)  # half the trade is left

    ostium.set_price("XAU", "2810")  # through the take-profit: the keeper closes the rest
    ostium.wait_until(lambda: perp(capsys, monkeypatch, "positions")[1] == [], what="the TP trigger")
    r, account = perp(capsys, monkeypatch, "account")
    after = usdc_by_eth_call(ostium.rpc_url, trader)
    assert abs(after - D(account["withdrawable"])) < D("0.005") and after > on_chain + 50  # the rest, with profit


def test_a_limit_order_rests_then_triggers(ostium, trader, capsys, monkeypatch):
    ostium.set_price("XAG", "31.2")
    r, doc = perp(capsys, monkeypatch, "buy", "XAG", "--collateral", "200", "--leverage", "5", "--limit", "30.5")
    assert r.code == 0, r.err
    assert (doc["status"], doc["order_id"]) == ("resting", "8:0")
    r, orders = perp(capsys, monkeypatch, "orders")
    assert [(o["oid"], o["status"], D(o["price"])) for o in orders] == [("8:0", "open", D("30.5"))]
    r, account = perp(capsys, monkeypatch, "account")  # the resting order holds its collateral
    assert usdc_by_eth_call(ostium.rpc_url, trader) == D(account["withdrawable"]) == D(9800)
    assert (D(account["margin_used"]), D(account["equity"])) == (D(200), D(10000))
    ostium.set_price("XAG", "30.4")
    ostium.wait_until(lambda: perp(capsys, monkeypatch, "positions")[1], what="the limit trigger")
    assert perp(capsys, monkeypatch, "orders")[1] == []


def test_closed_market_is_refused_before_any_transaction(ostium, trader, capsys, monkeypatch):
    ostium.set_open("XAU", False)
    try:
        r, doc = perp(capsys, monkeypatch, "buy", "XAU", "--collateral", "100", "--leverage", "10", "--market")
    finally:
        ostium.set_open("XAU", None)
    assert r.code == 2 and "closed now, says Ostium's oracle" in r.err
    assert doc["error"]["kind"] == "market_closed"
    monkeypatch.setattr(quoting, "time", SimpleNamespace(  # Saturday: closed by its hours, next open named
        time_ns=lambda: int(datetime(2026, 3, 14, 12, tzinfo=UTC).timestamp()) * 10**9))
    r, doc = perp(capsys, monkeypatch, "buy", "XAU", "--collateral", "100", "--leverage", "10", "--market")
    assert r.code == 2 and "opens at 2026-03-15" in r.err
    assert perp(capsys, monkeypatch, "orders")[1] == []


def test_wrong_leverage_refused_locally_and_by_the_contract_with_one_kind(ostium, trader, capsys, monkeypatch):
    r, doc = perp(capsys, monkeypatch, "buy", "XAU", "--collateral", "100", "--leverage", "500", "--market")
    assert r.code == 2 and doc["error"]["kind"] == "max_leverage"
    # The same order past the local check: the contract's WrongLeverage revert, mapped to the same kind.
    from perpcli.domain.errors import ErrorKind
    from perpcli.venues import registry
    from perpcli.venues.base import AckStatus
    from perpcli.venues.ostium import calls
    from perpcli.venues.ostium.calls import OpenTrade, OrderType
    from perpcli.venues.ostium.networks import DEVNET

    ostium.set_price("XAU", "2650")
    session_market = registry.open_venue(registry.get_entry("ostium-devnet").config(url=ostium.rpc_url))
    from perpcli.keys import sources

    trading = session_market.trading(sources.resolve_signer(None, venue="ostium-devnet"))
    bad = OpenTrade(trader=trader, pair_index=5, buy=True, collateral=D(100), leverage=D(500),
                    order_type=OrderType.MARKET, price=D(2650), slippage_pct=D(1))
    step = ordering.call("order", DEVNET.trading, calls.open_trade(bad), {"function": "openTrade"})
    ack = trading.send_order([step])
    assert ack.status is AckStatus.REJECTED and ack.error_kind is ErrorKind.MAX_LEVERAGE
    assert "WrongLeverage" in (ack.error or "")


def rpc(url: str, method: str, params: list) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read()).get("result")


def clocked_perp(args: list[str]) -> str:
    """`python -c` source running `perp ARGS` with the order path's clock on a Tuesday (XAU open by
    perpcli's hours whatever day the test runs)."""
    return ("import sys, types; import perpcli.venues.ostium.quoting as o; "
            f"o.time = types.SimpleNamespace(time_ns=lambda: {TUESDAY_NS}); sys.argv = ['perp', *{args!r}]; "
            "from perpcli.cli.entry import run; run()")


def approve_directly(ostium, amount: D) -> None:
    """A USDC allowance sent with the adapter itself (the key in PERPCLI_PRIVATE_KEY)."""
    from perpcli.keys import sources
    from perpcli.venues import registry
    from perpcli.venues.ostium import calls
    from perpcli.venues.ostium.networks import DEVNET

    market = registry.open_venue(registry.get_entry("ostium-devnet").config(url=ostium.rpc_url))
    trading = market.trading(sources.resolve_signer(None, venue="ostium-devnet"))
    assert trading.send(ordering.call("approve", DEVNET.usdc, calls.approve(DEVNET.trading_storage, amount),
                                      {"function": "approve"})).ok


def test_two_processes_buying_with_one_key_at_once_both_fill(ostium, trader, capsys, monkeypatch):
    import subprocess
    import sys

    from tests.support import REPO

    ostium.set_price("XAU", "2650")
    approve_directly(ostium, D(1000))
    args = ["--venue", "ostium-devnet", "--yes", "--json", "buy", "XAU", "--collateral", "100", "--leverage", "10",
            "--market"]
    procs = [subprocess.Popen([sys.executable, "-c", clocked_perp(args)], cwd=str(REPO), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    docs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        docs.append(json.loads(out))
    assert sorted(d["nonce"] for d in docs) == [1, 2]  # after the approval's 0: no clash, no gap
    assert sorted(d["trade_id"] for d in docs) == ["5:0", "5:1"] and {d["status"] for d in docs} == {"filled"}
    assert sorted(p["position_id"] for p in perp(capsys, monkeypatch, "positions")[1]) == ["5:0", "5:1"]


def test_killed_after_broadcast_on_a_real_chain_settles_by_hash_without_resending(ostium, trader, capsys, monkeypatch):
    """anvil stops mining; `perp buy` broadcasts and is killed waiting for its receipt. `perp
    orders` reports it unknown by hash; once mined (and settled by the keeper) the next command
    reports it filled, and the chain holds exactly one openTrade from this key."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.support import REPO

    ostium.set_price("XAU", "2650")
    args = ["--venue", "ostium-devnet", "--yes", "--json", "buy", "XAU", "--collateral", "100", "--leverage", "10",
            "--market"]
    clocked = clocked_perp(args)
    approve_directly(ostium, D(1000))  # mined normally, so the one transaction held back is the openTrade
    rpc(ostium.node_url, "evm_setAutomine", [False])
    try:
        proc = subprocess.Popen([sys.executable, "-c", clocked], cwd=str(REPO), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                if int(rpc(ostium.node_url, "eth_getTransactionCount", [trader, "pending"]), 16) > \
                        int(rpc(ostium.node_url, "eth_getTransactionCount", [trader, "latest"]), 16):
                    break
                time.sleep(0.05)
            time.sleep(0.3)
            assert proc.poll() is None, proc.communicate(timeout=5)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=10)
        r, orders = perp(capsys, monkeypatch, "orders")
        [row] = orders
        assert row["status"] == "unknown" and row["oid"].startswith("0x") and row["market"] == "XAU-USD"
        held_hash = row["oid"]
    finally:
        rpc(ostium.node_url, "evm_setAutomine", [True])
    rpc(ostium.node_url, "evm_mine", [])
    ostium.wait_until(lambda: perp(capsys, monkeypatch, "positions")[1], what="the keeper")
    r, doc = perp(capsys, monkeypatch, "tpsl", "XAU", "--tp", "2800")
    assert r.code == 0, r.err
    assert f"earlier transaction {held_hash}" in r.err and "filled" in r.err and "trade 5:0" in r.err
    latest = int(rpc(ostium.node_url, "eth_getTransactionCount", [trader, "latest"]), 16)
    assert latest == 3  # the approval, the killed open (once), the TP update: nothing was sent again
    assert perp(capsys, monkeypatch, "orders")[1] == []
