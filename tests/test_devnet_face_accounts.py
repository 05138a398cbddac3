"""One key on the devnet's two faces is two accounts, as one key on two venues is.

The same key buys BTC through the Hyperliquid face and sells BTCUSDT through the Aster face:
each venue shows only its own position, `perp portfolio` over both nets them by underlying and
adds the two accounts up once, and `perp devnet fund` credits the key on both faces. The books
are shared (one engine): a maker account quotes them and nothing else moves the prices, so
every figure is compared exactly.
"""

from __future__ import annotations

import io
import json
import socket
from contextlib import redirect_stderr, redirect_stdout
from decimal import Decimal as D

import pytest

from perpcli.devnet.records import OrderSpec
from tests.cli_devnet import info, new_key, run
from tests.support import Result

MAKER = "0x" + "d" * 40


@pytest.fixture(scope="module")
def devnet():
    """A devnet without the synthetic market: one maker quotes BTC a dollar each side of the
    oracle, deep enough that the test's orders leave the mark where it was."""
    from perpcli.devnet.server import start_in_thread

    h = start_in_thread(port=0, seed=5, market_interval=0, history_days=0)

    def quote() -> None:
        engine, now = h.devnet.engine, h.devnet.now_ms()
        px = engine.oracle_price("BTC")
        engine.fund(MAKER, D(100_000_000), now)
        engine.place_orders(MAKER, [OrderSpec(0, True, px - 1, D(50), False, "Gtc"),
                                    OrderSpec(0, False, px + 1, D(50), False, "Gtc")], "na", now)

    h.call(quote)
    yield h
    h.stop()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def perp(monkeypatch, url: str, key: str, *args: str) -> Result:
    """`perp ARGS` with both devnet venues configured at `url` (no --url: several venues)."""
    from perpcli.cli.main import main

    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", key)
    monkeypatch.setenv("PERPCLI_VENUES_DEVNET_URL", url)
    monkeypatch.setenv("PERPCLI_VENUES_ASTER_DEVNET_URL", url)
    monkeypatch.setenv("PERPCLI_VENUES_OSTIUM_DEVNET_URL", _closed_port_url())  # no Ostium chain here
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return Result(code, out.getvalue(), err.getvalue())


def aster(url: str, key: str, monkeypatch, *args: str) -> Result:
    return run(url, "--venue", "aster-devnet", "--json", *args, key=key, monkeypatch=monkeypatch)


def test_each_face_shows_only_its_own_position_and_the_portfolio_nets_them(monkeypatch, devnet):
    key, address = new_key(devnet.url, fund="10000")
    bought = run(devnet.url, "--json", "buy", "BTC", "0.01", "--market", "--slippage", "3%", "--yes", key=key,
                 monkeypatch=monkeypatch)
    assert bought.code == 0, bought.err
    sold = aster(devnet.url, key, monkeypatch, "sell", "BTCUSDT", "0.004", "--market", "--slippage", "3%", "--yes")
    assert sold.code == 0, sold.err

    hl = run(devnet.url, "--json", "positions", key=key, monkeypatch=monkeypatch)
    assert hl.code == 0, hl.err
    assert [(p["market"], D(p["size"])) for p in hl.json()] == [("BTC", D("0.01"))]
    ast = aster(devnet.url, key, monkeypatch, "positions")
    assert ast.code == 0, ast.err
    assert [(p["market"], D(p["size"])) for p in ast.json()] == [("BTCUSDT", D("-0.004"))]

    res = perp(monkeypatch, devnet.url, key, "--json", "portfolio", "--venues", "devnet,aster-devnet")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    by_venue = {v["venue"]: v for v in doc["venues"]}
    assert set(by_venue) == {"devnet", "aster-devnet"}
    assert all(v["status"] == "ok" and v["account"] == address and v["positions"] == 1 for v in by_venue.values())
    sides = sorted((p["venue"], p["market"], p["side"], D(p["size"])) for p in doc["positions"])
    assert sides == [("aster-devnet", "BTCUSDT", "short", D("0.004")), ("devnet", "BTC", "long", D("0.01"))]
    [btc] = [e for e in doc["exposure"] if e["underlying"] == "BTC"]
    assert D(btc["net_size"]) == D("0.006")
    # each venue row is that face's own account, and the totals add the two up once
    for venue, flags in (("devnet", ()), ("aster-devnet", ("--venue", "aster-devnet"))):
        acct = run(devnet.url, *flags, "--json", "account", key=key, monkeypatch=monkeypatch)
        assert acct.code == 0, acct.err
        assert D(acct.json()["equity"]) == D(by_venue[venue]["equity"]), venue
    totals = doc["totals"]
    assert totals["partial"] is False
    for field in ("equity", "margin_used", "unrealized_pnl"):
        assert D(totals[field]) == sum(D(v[field]) for v in by_venue.values()), field
    # both accounts started at 10000 and paid their own fees: nothing is counted twice
    assert D(19_900) < D(totals["equity"]) < D(20_000)


def test_devnet_fund_credits_the_address_on_both_faces(monkeypatch, devnet):
    key, address = new_key(devnet.url, fund=None)
    res = perp(monkeypatch, devnet.url, key, "--url", devnet.url, "--json", "devnet", "fund", address, "1234")
    assert res.code == 0, res.err
    assert json.loads(res.out)["faces"] == ["hyperliquid", "aster"]
    state = info(devnet.url, {"type": "clearinghouseState", "user": address})
    assert D(state["marginSummary"]["accountValue"]) == 1234  # funded, so not auto-funded on this read
    acct = aster(devnet.url, key, monkeypatch, "account")
    assert acct.code == 0, acct.err
    assert D(acct.json()["equity"]) == 1234
    human = perp(monkeypatch, devnet.url, key, "--url", devnet.url, "devnet", "fund", address, "1")
    assert human.code == 0 and "its Hyperliquid and Aster accounts" in human.err


def test_a_fresh_key_reading_its_aster_account_is_funded_there_alone(monkeypatch, devnet):
    key, address = new_key(devnet.url, fund=None)
    acct = aster(devnet.url, key, monkeypatch, "account")
    assert acct.code == 0, acct.err
    assert D(acct.json()["equity"]) == 100_000  # auto-funded on its first read of its own state
    # the Hyperliquid face's account of the key is not the one that read: still unseen
    assert not devnet.call(devnet.devnet.engine.account_exists, address)


def test_a_state_saved_when_the_faces_shared_accounts_loads_as_the_hyperliquid_faces():
    """Before the faces had their own accounts, an address the Aster face had served was saved
    as one account marked `margin_venue: "aster"`. It loads as the Hyperliquid face's account,
    valued by Hyperliquid's tiers; the Aster face starts without an account for it."""
    from perpcli.devnet.aster.desk import AsterDesk
    from perpcli.devnet.engine import Engine

    t0 = 1_800_000_000_000
    user = "0x" + "ab" * 20
    engine = Engine(start_ms=t0)
    engine.fund(user, D(1000), t0)
    state = json.loads(json.dumps(engine.to_json()))
    [saved] = [a for a in state["accounts"] if a["address"] == user]
    saved["margin_venue"] = "aster"  # how such an account was saved
    loaded = Engine.from_json(state)
    assert loaded._accounts[user].margin_venue == "" and loaded.perp_balance(user) == 1000
    aster_id = AsterDesk(loaded).account(user)
    assert not loaded.account_exists(aster_id)
    # saved again, each face's account keeps its own rules
    loaded.fund(aster_id, D(5), t0)
    again = Engine.from_json(json.loads(json.dumps(loaded.to_json())))
    assert again._accounts[aster_id].margin_venue == "aster" and again._accounts[user].margin_venue == ""


def test_an_agent_acts_only_on_the_face_that_approved_it():
    """An API wallet approved on one venue is unknown to another: the Hyperliquid face's agent
    cannot sign for the key's Aster account, and one registered on the Aster face acts there
    alone (listed under its own address)."""
    import secrets
    from urllib.parse import urlencode

    from perpcli.devnet.aster.desk import AsterDesk
    from perpcli.devnet.engine import Engine
    from perpcli.keys.signer import Signer
    from perpcli.venues.aster.signing import agent_approval_params, sign_agent_approval, signed_query
    from tests.support import register_secret

    def signer() -> Signer:
        key = "0x" + secrets.token_hex(32)
        register_secret(key)
        return Signer.from_hex(key)

    now = 1_800_000_000_000
    engine = Engine(start_ms=now)
    desk = AsterDesk(engine, is_mainnet=False)
    owner, hl_agent, aster_agent = signer(), signer(), signer()
    nonces = iter(range(now * 1000, now * 1000 + 100))

    def signed_get(path: str, who: Signer):
        wire = signed_query(who, [], nonce=next(nonces), user=owner.address, signer_address=who.address,
                            chain_id=714).wire
        return desk.handle("GET", path, wire, b"", now)

    engine.approve_agent(owner.address, hl_agent.address, "", now)  # the Hyperliquid face's approveAgent
    assert signed_get("/fapi/v3/balance", hl_agent)[1]["code"] == -2015
    fields = agent_approval_params(user=owner.address, nonce=next(nonces), agent_name="bot",
                                   agent_address=aster_agent.address, expired_ms=now + 86_400_000)
    body = urlencode(fields) + "&signature=" + sign_agent_approval(owner, fields)
    assert desk.handle("POST", "/fapi/v3/registerAndApproveAgent", "", body.encode(), now) == \
        (200, {"code": 200, "msg": "success"})
    status, rows = signed_get("/fapi/v3/balance", aster_agent)
    assert status == 200 and rows[0]["asset"] == "USDT"
    assert [a["agentAddress"] for a in signed_get("/fapi/v3/agent", owner)[1]] == [aster_agent.address.lower()]
    # the Hyperliquid face resolves its own agent to the key, and knows nothing of the Aster one
    assert engine.resolve_signer(hl_agent.address, now) == owner.address.lower()
    assert engine.resolve_signer(aster_agent.address, now) is None
