"""Guards that mean what they say (issue 13, item 3), on a devnet and on plans alone:

- a reduce-only order with no position, or on the side that would increase it, is refused
  locally (exit 2, rule reduce-only) and nothing reaches the venue;
- risk.max_leverage covers the leverage the order will actually use: the account's setting for
  the market, or the venue's default for a new position, not only an explicit --leverage;
- the price band guards the side that executes: a buy above mark or a sell below it, while a
  passive order far from the market rests;
- the README's own `perp buy SOL 25% --limit 150 --post-only` runs as written.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

import pytest

from perpcli.app import actions
from perpcli.app import order_plan as op
from perpcli.app.risk import RiskLimits
from perpcli.domain.errors import RiskRefused, ValidationError
from perpcli.domain.instrument import Instrument
from perpcli.domain.orders import Side
from tests.cli_devnet import devnet_fixture, new_key

README = Path(__file__).resolve().parent.parent / "README.md"


devnet = devnet_fixture(seed=19, coins=("BTC", "ETH", "SOL"))


def sent(devnet, address: str) -> int:
    """Signed requests the devnet has received from this address."""
    return devnet.call(lambda: devnet.devnet.desk.requests_used.get(address.lower(), 0))


# ----- reduce-only -------------------------------------------------------------------------------


def test_reduce_only_without_a_position_or_increasing_it_is_refused_before_sending(perp, devnet):
    key, addr = new_key(devnet.url)
    before = sent(devnet, addr)
    for args in (["sell", "ETH", "0.1", "--market"], ["buy", "ETH", "0.1", "--limit", "-1%"],
                 ["scale", "sell", "ETH", "0.1", "--from", "4000", "--to", "4100", "--count", "2"],
                 ["twap", "sell", "ETH", "0.1", "--minutes", "5"]):
        r = perp(*args, "--reduce-only", "--yes", key=key)
        assert r.code == 2, (args, r.err)
        assert "no open position" in r.err and "rule reduce-only" in r.err and r.err.count("\n") <= 2
    assert sent(devnet, addr) == before

    opened = perp("buy", "ETH", "0.1", "--market", "--yes", key=key)
    assert opened.code == 0, opened.err
    before = sent(devnet, addr)
    more = perp("buy", "ETH", "0.05", "--market", "--reduce-only", "--yes", key=key)
    assert more.code == 2 and "would increase the long position of 0.1" in more.err, more.err
    batch = perp("batch", "--yes", key=key, stdin=json.dumps(
        {"side": "buy", "market": "ETH", "size": "0.05", "market_order": True, "reduce_only": True}) + "\n")
    (line,) = [json.loads(x) for x in batch.out.splitlines()]
    assert line["status"] == "invalid" and line["error_kind"] == "reduce_only", line
    assert sent(devnet, addr) == before

    closing = perp("--json", "sell", "ETH", "0.05", "--market", "--reduce-only", "--yes", key=key)
    assert closing.code == 0 and closing.json()["status"] == "filled", closing.err


# ----- max_leverage ------------------------------------------------------------------------------


def test_max_leverage_covers_the_venue_default_and_the_accounts_setting(perp, devnet, monkeypatch):
    key, addr = new_key(devnet.url)
    monkeypatch.setenv("PERPCLI_RISK_MAX_LEVERAGE", "10")
    before = sent(devnet, addr)
    # A new BTC position is margined at the venue's default (20x on the devnet): above 10x.
    r = perp("buy", "BTC", "0.001", "--market", "--yes", key=key)
    assert r.code == 7 and "guard max_leverage" in r.err and "20x" in r.err, r.err
    mid = D(perp("--json", "price", "BTC").json()[0]["mid"])
    for args in (["scale", "buy", "BTC", "0.002", "--from", str(int(mid * D("0.99"))), "--to",
                  str(int(mid * D("0.98"))), "--count", "2"], ["twap", "buy", "BTC", "0.01", "--minutes", "5"]):
        r = perp(*args, "--yes", key=key)  # a ladder and a TWAP run at the standing leverage too
        assert r.code == 7 and "guard max_leverage" in r.err, (args, r.err)
    preview = perp("--json", "buy", "BTC", "0.001", "--market", "--leverage", "10", "--preview", key=key)
    assert preview.code == 0 and preview.json()["leverage"] == 10, preview.err
    assert sent(devnet, addr) == before
    # Setting the leverage with the order itself, within the limit, runs.
    ok = perp("buy", "BTC", "0.001", "--market", "--leverage", "5", "--yes", key=key)
    assert ok.code == 0, ok.err

    # The account's own setting counts too: 30x set while the limit allowed it...
    monkeypatch.setenv("PERPCLI_RISK_MAX_LEVERAGE", "40")
    assert perp("leverage", "ETH", "25", "--yes", key=key).code == 0
    monkeypatch.setenv("PERPCLI_RISK_MAX_LEVERAGE", "20")
    before = sent(devnet, addr)
    r = perp("sell", "ETH", "0.01", "--limit", "+1%", "--yes", key=key)
    assert r.code == 7 and "25x" in r.err and "guard max_leverage" in r.err, r.err
    assert sent(devnet, addr) == before
    # ...while an order that only reduces adds no exposure at any leverage.
    closing = perp("sell", "BTC", "0.001", "--market", "--reduce-only", "--yes", key=key)
    assert closing.code == 0, closing.err


# ----- price band --------------------------------------------------------------------------------


def test_the_price_band_guards_only_the_side_that_executes(perp, devnet):
    key, addr = new_key(devnet.url)
    for args in (["buy", "BTC", "0.001", "--limit", "-20%"], ["sell", "BTC", "0.001", "--limit", "+20%"]):
        r = perp("--json", *args, "--yes", key=key)
        assert r.code == 0 and r.json()["status"] == "resting", (args, r.err)  # passive: it rests
    before = sent(devnet, addr)
    for args, where in ((["buy", "BTC", "0.001", "--limit", "+20%"], "above"),
                        (["sell", "BTC", "0.001", "--limit", "-20%"], "below")):
        r = perp(*args, "--yes", key=key)
        assert r.code == 7 and "guard price_band" in r.err and f"% {where} mark" in r.err, (args, r.err)
    assert sent(devnet, addr) == before


def test_the_readme_says_the_band_is_for_orders_that_execute():
    text = " ".join(README.read_text().split())
    assert "a price band (5% from mark) on the side that executes" in text
    assert "a passive order far from the market rests" in text


# ----- the README's example ----------------------------------------------------------------------


def test_the_readmes_percent_post_only_example_runs_as_written(perp, devnet):
    line = next(x for x in README.read_text().splitlines() if x.startswith("perp buy SOL 25%"))
    command = shlex.split(re.sub(r"\s+#.*$", "", line))
    assert command == ["perp", "buy", "SOL", "25%", "--limit", "150", "--post-only"]
    key, _ = new_key(devnet.url, fund="100000")  # what `perp devnet` credits a new address
    r = perp("--json", *command[1:], "--yes", key=key)
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["status"] == "resting" and doc["price"] == "150" and D(doc["size"]) > 0


# ----- the same rules on a plan (what the TUI ticket checks) -------------------------------------

SOL = Instrument(venue="hl", symbol="SOL", underlying="SOL", asset_id=2, lot_size=D("0.01"), max_leverage=20,
                 price_sig_figs=5, price_max_decimals=4, min_notional=D(10))
CTX = op.MarketContext(instrument=SOL, mid=D(180), mark=D(180), current_leverage=20, position_size=D(0))


def plan(side: str, ctx: op.MarketContext = CTX, **kw) -> op.OrderPlan:
    req = op.OrderRequest(market="SOL", side=Side(side), size=op.SizeSpec("base", D(1)),
                          price=op.PriceSpec("limit", limit=kw.pop("limit", D(150))), **kw)
    return op.plan_order("hl", req, ctx, new_cloid=lambda: "0x" + "2" * 32)


def test_a_plan_knows_its_leverage_and_the_sense_of_reduce_only():
    assert plan("buy").leverage_used == 20
    assert plan("buy", leverage=3).leverage_used == 3
    with pytest.raises(RiskRefused, match="margined at 20x"):
        actions.check_risk(RiskLimits(max_leverage=10), plan("buy"))
    actions.check_risk(RiskLimits(max_leverage=10), plan("buy", leverage=10))
    with pytest.raises(ValidationError, match="no open position") as e:
        plan("sell", reduce_only=True)
    assert e.value.rule == "reduce-only"
    short = replace(CTX, position_size=D(-2))
    with pytest.raises(ValidationError, match="increase the short"):
        plan("sell", short, reduce_only=True, limit=D(190))
    assert plan("buy", short, reduce_only=True).main.reduce_only
    unknown = replace(CTX, position_size=None)  # not read: the venue decides
    assert plan("sell", unknown, reduce_only=True, limit=D(190)).main.reduce_only


def test_the_band_passes_a_passive_price_and_stops_an_aggressive_one():
    limits = RiskLimits(price_band_pct=D(5))
    actions.check_risk(limits, plan("buy", limit=D(150)))  # 16.7% under mark: rests
    actions.check_risk(limits, plan("sell", limit=D(210)))  # 16.7% over mark: rests
    for side, px in (("buy", D(190)), ("sell", D(170))):
        with pytest.raises(RiskRefused) as e:
            actions.check_risk(limits, plan(side, limit=px))
        assert e.value.guard == "price_band"
