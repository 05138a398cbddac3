"""`perp --venue aster-devnet` account commands end to end: stored keys (Aster signs every
read), agents (approve, list, trade for the master, revoke), the account's totals, funding
history and order look-ups, with the same JSON contract and exit codes as Hyperliquid."""

from __future__ import annotations

import pytest

from tests.cli_devnet import devnet_fixture, new_key

devnet = devnet_fixture(seed=31)

ASTER = ("--venue", "aster-devnet")


@pytest.fixture
def aster(perp):
    def _run(*args, key=None, stdin=None):
        return perp(*ASTER, *args, key=key, stdin=stdin)

    return _run


def _store_key(aster, monkeypatch, name: str, key: str) -> None:
    monkeypatch.setenv("PERPCLI_PASSPHRASE", "pw")
    r = aster("keys", "import", name, stdin=key + "\n")
    assert r.code == 0, r.err


def test_a_stored_key_reads_its_account_and_an_address_alone_cannot(aster, devnet, monkeypatch):
    key, address = new_key(devnet.url)
    _store_key(aster, monkeypatch, "main", key)
    acct = aster("--json", "account")
    assert acct.code == 0, acct.err
    assert acct.json()["account"] == address and acct.json()["signer_role"] == "user"
    assert aster("--json", "positions").json() == []
    watched = aster("--json", "--address", address, "account")
    assert watched.code == 2 and "signs every account read" in watched.err


def test_agent_approve_list_trade_for_the_master_and_revoke(aster, devnet, monkeypatch):
    key, master = new_key(devnet.url)
    monkeypatch.setenv("PERPCLI_PASSPHRASE", "test-pass")
    a = aster("--json", "agent", "approve", "bot", "--valid-days", "2", "--yes", key=key)
    assert a.code == 0, a.err
    agent = a.json()["detail"]["agent"]
    listed = aster("--json", "agent", "list", key=key)
    assert listed.code == 0, listed.err
    [row] = listed.json()
    assert row["address"] == agent and row["name"] == "bot" and row["valid_until"] > 0
    acct = aster("--json", "--account", "bot", "account")
    assert acct.code == 0, acct.err
    assert (acct.json()["account"], acct.json()["signer"], acct.json()["signer_role"]) == (master, agent, "agent")
    buy = aster("--json", "--account", "bot", "buy", "ETH", "0.02", "--market", "--slippage", "3%", "--yes")
    assert buy.code == 0 and buy.json()["status"] == "filled", buy.err
    held = aster("--json", "positions", key=key).json()
    assert [p["market"] for p in held] == ["ETHUSDT"]  # the master's position, bought by its agent
    rv = aster("--json", "agent", "revoke", "bot", "--yes", key=key)
    assert rv.code == 0, rv.err
    gone = aster("--json", "--account", "bot", "account")
    assert gone.code == 4 and gone.json()["error"]["kind"] == "auth"
    assert aster("--json", "close", "ETH", "--yes", key=key).code == 0


def test_account_totals_fills_funding_history_and_orders(aster, devnet):
    key, _ = new_key(devnet.url)
    assert aster("--json", "leverage", "BTC", "5", "--isolated", "--yes", key=key).code == 0
    buy = aster("--json", "buy", "BTC", "0.01", "--market", "--yes", key=key)
    assert buy.code == 0, buy.err
    acct = aster("--json", "account", key=key).json()
    # the venue's own totals: margin in use, equity with the isolated wallet counted
    assert float(acct["margin_used"]) > 0 and 9_000 < float(acct["equity"]) <= 10_000
    fills = aster("--json", "fills", key=key).json()
    assert {f["oid"] for f in fills} == {buy.json()["oid"]} and len({f["trade_id"] for f in fills}) == len(fills)
    assert sum(float(f["size"]) for f in fills) == pytest.approx(0.01)  # one order, as many fills as levels
    funding = aster("--json", "funding-history", "--since", "1d", key=key)
    assert funding.code == 0, funding.err
    assert funding.json() == []  # nothing settled yet: an empty list, not a refusal
    assert aster("--json", "close", "BTC", "--yes", key=key).code == 0
