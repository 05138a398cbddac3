"""Numbers a trader can trust: every figure at the precision its kind deserves (issue 13, item 2).

The walk runs every command that prints numbers, in --json and in human form, against a devnet
account whose positions were opened by several fills at different prices (so the venue's entry
prices and the local model's averages, margins and ratios are all results of division), and
fails on any decimal longer than its field allows: a price off the market's grid, a size off
its lot, USD past the cent, a booked amount past the collateral's 6 decimals, a ratio past 4, a
rate past 8, and anything else past 8 decimals. The field kinds are this test's own table, not
the code's, so a field the code forgets to round is caught.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal as D

import pytest

from perpcli.app import display
from perpcli.app.order_plan import OrderRequest, PriceSpec, SizeSpec, plan_order
from perpcli.app.preview import PreviewInputs, preview, sizing_context
from perpcli.devnet.server import start_in_thread
from perpcli.domain import order_rules as rules
from perpcli.domain.events import AccountSnapshot, Balance, BookSnapshot, PositionSnapshot
from perpcli.domain.instrument import Instrument
from perpcli.domain.orders import Side
from perpcli.ledger.book import OrderBook
from perpcli.ledger.fees import FeeRates
from perpcli.ledger.margin_rules import HyperliquidRules
from perpcli.venues.hyperliquid.adapter import HyperliquidMarketData
from perpcli.venues.hyperliquid.endpoints import endpoint
from tests.cli_devnet import new_key, run, wait_for_books

PRICE = {"price", "entry_price", "mark_price", "liquidation_price", "avg_price", "trigger_price", "limit_price",
         "expected_price", "worst_price", "entry_after", "mark", "bid", "ask", "open", "high", "low", "close"}
MID = {"mid", "mid_price"}
SIZE = {"size", "orig_size", "filled", "position_after", "open_interest", "position_size", "bid_size", "ask_size"}
USD = {"equity", "margin_used", "withdrawable", "notional", "unrealized_pnl", "margin_required", "margin_change",
       "free_collateral", "free_collateral_after"}
AMOUNT = {"fee", "est_fee", "closed_pnl", "amount"}
RATIO = {"leverage", "margin_ratio", "account_leverage_after"}
RATE = {"slippage", "fee_rate", "rate", "predicted_rate", "apr", "predicted_apr", "funding_rate"}
ANY_PLACES = 8
DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
LONG_DECIMAL = re.compile(r"[0-9]\.[0-9]{9,}")  # in human output: more than 8 decimals is an artefact


def places(text: str) -> int:
    return len(text.partition(".")[2])


def on_half_steps(inst: Instrument, d: D) -> bool:
    """Between two valid prices of the grid (a mid of a one-tick spread), or on it."""
    step = rules.price_step(inst, d)
    return step is None or (d * 2) % step == 0


def offences(doc, instrument_of, market: str | None = None, path: str = "") -> list[str]:
    """Every decimal string in `doc` longer than its field allows, as 'path=value (why)'."""
    out: list[str] = []
    if isinstance(doc, list):
        for i, x in enumerate(doc):
            out += offences(x, instrument_of, market, f"{path}[{i}]")
        return out
    if not isinstance(doc, dict):
        return out
    market = doc.get("market") if isinstance(doc.get("market"), str) else market
    inst = instrument_of(market) if market else None
    for key, value in doc.items():
        where = f"{path}.{key}"
        if isinstance(value, (dict, list)):
            out += offences(value, instrument_of, market, where)
            continue
        if not isinstance(value, str) or not DECIMAL.fullmatch(value):
            continue
        d = D(value)
        if key in PRICE and inst is not None and d > 0 and not inst.is_valid_price(d):
            out.append(f"{where}={value} (not a valid {market} price)")
        elif key in MID and inst is not None and d > 0 and not on_half_steps(inst, d):
            out.append(f"{where}={value} (not on the half steps of {market}'s price grid)")
        elif key in SIZE and inst is not None and d % inst.lot_size != 0:
            out.append(f"{where}={value} (not a multiple of {market}'s lot {inst.lot_size})")
        limit = (2 if key in USD else 6 if key in AMOUNT else 4 if key in RATIO else 8 if key in RATE
                 else ANY_PLACES)
        if places(value) > limit:
            out.append(f"{where}={value} (more than {limit} decimals)")
    return out


@pytest.fixture(scope="module")
def devnet():
    h = start_in_thread(port=0, seed=13, market_interval=0.2)
    wait_for_books(h.url, coins=("BTC", "ETH", "SOL"))
    yield h
    h.stop()


@pytest.fixture(scope="module")
def instrument_of(devnet):
    md = HyperliquidMarketData(endpoint(devnet.url, "testnet"), venue="devnet")
    cache: dict[str, Instrument] = {}

    def get(market: str) -> Instrument:
        if market not in cache:
            cache[market] = md.instrument(market)
        return cache[market]

    return get


def test_every_command_prints_numbers_at_their_fields_precision(devnet, instrument_of, monkeypatch):
    key, _ = new_key(devnet.url, fund="25000")

    def perp(*args: str):
        r = run(devnet.url, *args, key=key, monkeypatch=monkeypatch)
        assert r.code == 0, (args, r.err)
        return r

    # Positions opened by several fills at different prices: entries are averages, margins
    # and ratios are quotients. Odd sizes so no figure comes out round by luck.
    for _ in range(3):
        perp("buy", "BTC", "0.01371", "--market", "--yes")
        perp("sell", "ETH", "0.3337", "--market", "--yes")
        perp("buy", "SOL", "3.17", "--market", "--yes")
    mid = D(perp("--json", "price", "BTC").json()[0]["mid"])
    perp("buy", "BTC", "0.01", "--limit", "-1%", "--tp", str(int(mid * D("1.03"))), "--sl",
         str(int(mid * D("0.97"))), "--yes")
    perp("buy", "BTC", "0.01", "--stop", str(int(mid * D("1.02"))), "--yes")
    perp("sell", "SOL", "1.13", "--limit", "+2%", "--yes")

    commands = [
        ["markets", "--all"], ["price"], ["price", "BTC", "kPEPE"], ["book", "BTC"], ["book", "kPEPE"],
        ["trades", "BTC"], ["candles", "BTC", "--count", "5"], ["funding"],
        ["account"], ["positions"], ["orders"], ["fills"], ["funding-history"],
        ["buy", "BTC", "0.01377", "--market", "--preview"],
        ["sell", "ETH", "1.7777", "--market", "--preview"],
        ["buy", "SOL", "5%", "--limit", "-0.37%", "--preview"],
        ["buy", "BTC", "--risk", "0.7%", "--sl", str(int(mid * D("0.97"))), "--market", "--preview"],
        ["sell", "BTC", "0.01", "--stop", str(int(mid * D("0.95"))), "--preview"],
        ["buy", "ETH", "0.0123", "--market", "--dry-run", "--yes"],
        ["close", "SOL", "--size", "1.11", "--dry-run", "--yes"],
        ["scale", "buy", "BTC", "0.0333", "--from", str(int(mid * D("0.99"))), "--to",
         str(int(mid * D("0.98"))), "--count", "3", "--dry-run", "--yes"],
        ["sell", "BTC", "0.00777", "--market", "--yes"],
        ["buy", "ETH", "--usd", "123.45", "--market", "--yes"],
    ]
    bad: list[str] = []
    for args in commands:
        js = perp("--json", *args)
        doc = js.json() if not js.out.lstrip().startswith("{\"dry_run\"") else json.loads(js.out)
        bad += [f"perp {' '.join(args)}: {o}" for o in offences(doc, instrument_of)]
        if "--dry-run" in args:
            continue  # the human form of a dry run is the same JSON, indented
        human = perp(*args)
        bad += [f"perp {' '.join(args)} (human): {line}" for line in human.out.splitlines()
                if LONG_DECIMAL.search(line)]
    assert not bad, "\n".join(bad)


# ----- the rules themselves --------------------------------------------------------------------

BTC = Instrument("fake", "BTC", "BTC", 0, D("0.00001"), 40, price_sig_figs=5, price_max_decimals=1,
                 min_notional=D(10))
SOL = Instrument("fake", "SOL", "SOL", 2, D("0.01"), 20, price_sig_figs=5, price_max_decimals=4,
                 min_notional=D(10))
TICKED = Instrument("fake", "XAU", "XAU", 9, D("0.001"), 20, tick_size=D("0.25"))


@pytest.mark.parametrize("inst,value,want", [
    (BTC, D("94619.44061605"), D("94619")),
    (BTC, D("94771.64929704348775627201005"), D("94772")),
    (BTC, D("99999.6"), D("100000")),
    (BTC, D("9461.944"), D("9461.9")),
    (SOL, D("180.02349"), D("180.02")),
    (SOL, D("1.234567"), D("1.2346")),
    (TICKED, D("2400.13"), D("2400.25")),
    (BTC, D("95000"), D("95000")),  # a valid price is never moved
])
def test_a_price_is_shown_on_the_markets_grid(inst, value, want):
    assert display.price(inst, value) == want
    assert inst.is_valid_price(display.price(inst, value))


def test_mid_size_usd_ratio_rate_amount():
    assert display.mid(BTC, D("95019.5")) == D("95019.5")  # between two valid prices: kept
    assert display.mid(BTC, D("95019.2499")) == D("95019")
    assert display.size(BTC, D("0.0411000000000001")) == D("0.0411")
    assert display.size(BTC, D("-0.02")) == D("-0.02")
    assert display.usd(D("159.4790505")) == D("159.48")
    assert display.amount(D("0.1360125")) == D("0.136012")
    assert display.ratio(D("0.98757812754481124806")) == D("0.9876")
    assert display.rate(D("0.0003052470922583021946213357192")) == D("0.00030525")
    assert display.price(None, D("94771.64929704348775627201005")) == D("94771.64930")
    assert display.usd(None) is None and display.price(BTC, None) is None


def test_the_preview_and_the_tui_ticket_show_no_division_artefacts():
    """A market buy walking two levels fills at a VWAP with a repeating decimal; an account
    with an averaged entry; the preview's JSON and the ticket's text show neither unrounded."""
    from perpcli.tui.preview import preview_text

    book = OrderBook("fake", "BTC")
    book.apply_snapshot(BookSnapshot("fake", "BTC", ((D(94990), D("1")),),
                                     ((D(95000), D("0.01")), (D(95001), D("0.02"))), 1))
    account = AccountSnapshot("fake", "0xabc", 1, balances=(Balance("USDC", D("10000")),),
                              positions=(PositionSnapshot("BTC", D("0.0137"), D("94619.44061605"), leverage=20),))
    inputs = PreviewInputs(
        instrument=BTC, mark=D(94995), account=account, instrument_of=lambda s: BTC, mark_of=lambda s: D(94995),
        rules_of=HyperliquidRules.for_instrument, fees=FeeRates(D("0.00015"), D("0.00045"), "account"), book=book,
    )
    req = OrderRequest("BTC", Side.BUY, SizeSpec("base", D("0.03")), PriceSpec("market"))
    plan = plan_order("fake", req, sizing_context(inputs, D(94995)), new_cloid=lambda: "0x" + "1" * 32)
    p = preview(plan, inputs)
    doc = json.loads(json.dumps(p.to_json(limit_price=plan.main.price), default=str))
    assert not offences(doc, lambda m: BTC), offences(doc, lambda m: BTC)
    assert p.avg_price == D(95001)  # (0.01 x 95000 + 0.02 x 95001) / 0.03 = 95000.666..., on the grid
    text = preview_text(p).plain
    assert not LONG_DECIMAL.search(text), text
    assert BTC.is_valid_price(p.model.resulting_entry)


def test_tui_positions_show_entry_and_liquidation_on_the_grid():
    from perpcli.tui.risk_view import account_figures

    snap = AccountSnapshot("fake", "0xabc", 1, balances=(Balance("USDC", D("1000")),),
                           positions=(PositionSnapshot("BTC", D("-0.1371"), D("94619.44061605"), leverage=40),))
    _, views, _ = account_figures(snap, lambda s: BTC, lambda s: D("94771.6492970434877"),
                                  HyperliquidRules.for_instrument, "USDC")
    (v,) = views
    assert v.entry == D(94619) and BTC.is_valid_price(v.mark) and BTC.is_valid_price(v.liq_price)
    assert v.upnl == display.usd(v.upnl) and len(str(v.upnl).partition(".")[2]) <= 2
