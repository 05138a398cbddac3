"""Markets by symbol or underlying, and their rules as data, against a devnet on a free port:
`perp price GOLD` finds xyz:GOLD, `perp markets --json` shows each market's order rules, and an
order that breaks a rule exits 2 naming the rule and the nearest valid value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from perpcli.domain.errors import UsageError
from perpcli.venues import registry
from tests.cli_devnet import devnet_fixture, new_key, run

devnet = devnet_fixture(seed=11)


@pytest.fixture
def perp(devnet, monkeypatch):
    def _run(*args, key=None):
        return run(devnet.url, *args, key=key, monkeypatch=monkeypatch)

    return _run


@pytest.fixture
def md(devnet):
    market = registry.open_venue(registry.get_entry("devnet").config(url=devnet.url))
    yield market
    market.close()


@pytest.mark.parametrize("name, symbol", [
    ("GOLD", "xyz:GOLD"), ("XAU", "xyz:GOLD"), ("gold", "xyz:GOLD"), ("xyz:gold", "xyz:GOLD"), ("WTI", "xyz:CL"),
    ("CL", "xyz:CL"), ("EURUSD", "xyz:EUR"), ("TSLA", "xyz:TSLA"), ("kpepe", "kPEPE"), ("btc", "BTC"),
])
def test_adapter_resolves_symbols_underlyings_and_builder_dex_names(md, name, symbol):
    assert md.instrument(name).symbol == symbol


def test_builder_dexes_are_searched_only_for_names_the_default_dex_lacks(md):
    md.instrument("BTC")
    md.instrument("kpepe")
    assert set(md._instruments) == {""}  # no perpDexs / builder metadata calls for default-dex names
    md.instrument("GOLD")
    assert set(md._instruments) == {"", "xyz"}


def test_adapter_refuses_a_multi_unit_market_by_underlying_and_unknown_names(md):
    with pytest.raises(UsageError, match="kPEPE.*1000 PEPE"):
        md.instrument("PEPE")
    with pytest.raises(UsageError, match="unknown market 'NOPE'"):
        md.instrument("NOPE")


def test_prices_and_funding_of_a_builder_dex_market_by_its_underlying(md):
    assert set(md.mids(["XAU"])) == {"xyz:GOLD"}
    assert [r.symbol for r in md.funding(["GOLD"])] == ["xyz:GOLD"]


def test_price_by_underlying_on_the_command_line(perp):
    r = perp("--json", "price", "GOLD")
    assert r.code == 0, r.err
    row = r.json()[0]
    assert row["market"] == "xyz:GOLD" and Decimal(row["mark"]) > 0


def test_markets_json_shows_the_rules(perp):
    rows = {m["market"]: m for m in perp("--json", "markets", "--all").json()}
    btc, gold, pepe = rows["BTC"], rows["xyz:GOLD"], rows["kPEPE"]
    assert (btc["underlying"], btc["multiplier"], btc["quote"]) == ("BTC", "1", "USDC")
    assert (btc["price_sig_figs"], btc["price_max_decimals"], btc["tick_size"]) == (5, 1, None)
    assert (btc["lot_size"], btc["size_decimals"], btc["min_notional"]) == ("0.00001", 5, "10")
    assert btc["max_leverage"] == 40 and btc["trading_hours"] is None
    assert (btc["price_band_below"], btc["price_band_above"]) == ("0.8", "0.8")
    assert (gold["underlying"], gold["max_leverage"]) == ("XAU", 20)
    assert (rows["xyz:CL"]["underlying"], rows["xyz:EUR"]["underlying"], rows["xyz:TSLA"]["underlying"]) == \
        ("WTI", "EURUSD", "TSLA")
    assert (pepe["underlying"], pepe["multiplier"]) == ("PEPE", "1000")


def test_an_order_named_by_underlying_trades_the_resolved_market(perp, devnet):
    key, _ = new_key(devnet.url)
    r = perp("--json", "buy", "GOLD", "0.01", "--market", "--dry-run", key=key)
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["order"]["market"] == "xyz:GOLD"
    assert doc["requests"][0]["action"]["orders"][0]["a"] == 110000


def test_a_price_outside_the_venue_band_exits_2_with_the_edge(perp, devnet):
    key, _ = new_key(devnet.url)
    r = perp("sell", "BTC", "0.001", "--market", "--slippage", "90%", "--yes", key=key)
    assert r.code == 2, r.err
    (line,) = [x for x in r.err.splitlines() if x.startswith("perp: error:")]
    assert "rule price-band" in line and "nearest valid" in line
