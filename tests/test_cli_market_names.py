"""Market names in any case, in every command that takes one (issue 13, item 9): `btc` and
`xyz:gold` designate BTC and xyz:GOLD, and every result names the market as the venue spells
it — the same record whatever case the trader typed."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from tests.cli_devnet import devnet_fixture, new_key, run

devnet = devnet_fixture(seed=17, coins=("BTC", "xyz:GOLD"))


@pytest.fixture
def perp(devnet, monkeypatch):
    def _run(*args, key=None):
        r = run(devnet.url, "--json", *args, key=key, monkeypatch=monkeypatch)
        assert r.code == 0, (args, r.err)
        return r.json()

    return _run


@pytest.mark.parametrize("args", [
    ["book", "xyz:gold", "--depth", "1"], ["book", "XYZ:gold", "--depth", "1"], ["trades", "xyz:gold"],
    ["candles", "xyz:gold", "--count", "1"], ["funding", "xyz:gold"], ["price", "xyz:gold"],
])
def test_market_data_in_any_case(perp, args):
    if args[0] == "candles":  # a candle exists once the devnet printed a gold trade (slow on a loaded machine)
        deadline = time.monotonic() + 20
        while not perp("trades", "xyz:GOLD") and time.monotonic() < deadline:
            time.sleep(0.2)
    doc = perp(*args)
    rows = doc if isinstance(doc, list) else [doc]
    assert rows or args[0] == "trades"  # a fresh devnet may not have printed a gold trade yet
    assert all(r["market"] == "xyz:GOLD" for r in rows), rows


def test_trading_commands_in_any_case_report_the_venues_spelling(perp, devnet):
    key, _ = new_key(devnet.url)
    placed = perp("buy", "xyz:gold", "1", "--limit", "2000", "--yes", key=key)
    assert placed["market"] == "xyz:GOLD" and placed["status"] == "resting"
    assert [o["market"] for o in perp("orders", "--market", "XYZ:Gold", key=key)] == ["xyz:GOLD"]
    assert perp("cancel", "--market", "xyz:gold", "--yes", key=key)[0]["market"] == "xyz:GOLD"
    assert perp("leverage", "btc", "3", "--yes", key=key)["detail"]["market"] == "BTC"
    dry = {
        "twap": perp("--dry-run", "twap", "buy", "btc", "0.01", "--minutes", "5", key=key)["action"],
        "twap_cancel": perp("--dry-run", "twap", "cancel", "btc", "7", key=key)["action"],
        "margin": perp("--dry-run", "margin", "xyz:gold", "add", "10", key=key)["action"],
        "leverage": perp("--dry-run", "leverage", "xyz:gold", "2", key=key)["action"],
    }
    assert {k: a["detail"]["market"] for k, a in dry.items()} == {
        "twap": "BTC", "twap_cancel": "BTC", "margin": "xyz:GOLD", "leverage": "xyz:GOLD"}
    scale = perp("--dry-run", "scale", "buy", "btc", "0.002", "--from", "90000", "--to", "89000", "--count", "2",
                 key=key)
    assert {o["market"] for o in scale["orders"]} == {"BTC"}
    bought = perp("buy", "btc", "0.001", "--market", "--yes", key=key)
    assert bought["market"] == "BTC" and Decimal(bought["filled"]) == Decimal("0.001")
    closed = perp("close", "BTC".lower(), "--yes", key=key)
    assert closed["market"] == "BTC" and closed["side"] == "sell"


def test_a_typed_name_is_confirmed_as_the_venue_spells_it(devnet, monkeypatch):
    """The confirmation question names the market the order goes to, not what was typed. Off a
    terminal and without --yes the command refuses with that question (with a session too: the
    agent asks nothing, it answers what the command says)."""
    key, _ = new_key(devnet.url)
    asked = []
    for args in (["twap", "buy", "btc", "0.01", "--minutes", "5"], ["twap", "cancel", "xyz:gold", "1"],
                 ["margin", "xyz:gold", "add", "1"], ["leverage", "btc", "2"]):
        r = run(devnet.url, *args, key=key, monkeypatch=monkeypatch)
        assert r.code == 2 and "without --yes" in r.err, (args, r.err)
        asked.append(r.err.split("refusing to ", 1)[1])
    assert "BTC" in asked[0] and "xyz:GOLD" in asked[1] and "xyz:GOLD" in asked[2] and "BTC" in asked[3], asked
    assert not any("btc" in q or "xyz:gold" in q for q in asked), asked
