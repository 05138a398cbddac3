"""End to end on a devnet: `perp buy --preview --json` and the TUI ticket show the same numbers
for the same account, book and order, at the account's own fee rates; and what the preview
promised for an isolated position is what the devnet then reports.

The devnet runs without synthetic flow; a maker quotes fixed books, so the marks (median of
oracle, best bid, best ask) stand still between the CLI's reads and the TUI's.
"""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from textual.widgets import Input

from perpcli.app import display
from perpcli.config import settings
from perpcli.devnet.records import OrderSpec
from perpcli.devnet.server import start_in_thread
from perpcli.domain.orders import Side
from perpcli.keys.signer import Signer
from perpcli.net.stream import StreamSettings
from perpcli.tui.run import build_app
from perpcli.tui.widgets.ticket import Ticket
from perpcli.venues.hyperliquid.adapter import HyperliquidMarketData
from perpcli.venues.hyperliquid.endpoints import endpoint
from tests.cli_devnet import info, run
from tests.support import register_secret
from tests.tui_support import wait_until

KEY = "0x" + "5d" * 32
register_secret(KEY)
MAKER = "0x" + "9" * 40
TAKER_FEE, MAKER_FEE = D("0.0004"), D("0.0001")  # not the public schedule: the account's own rates
QUOTES = {"BTC": (D(95000), D(5), D("0.05")), "ETH": (D(3200), D("0.1"), D(2))}  # mid, step, size


@pytest.fixture(scope="module")
def devnet():
    h = start_in_thread(port=0, seed=11, market_interval=0)
    dv = h.devnet

    def setup() -> None:
        eng = dv.engine
        eng.config.taker_fee, eng.config.maker_fee = TAKER_FEE, MAKER_FEE
        now = dv.now_ms()
        eng.fund(MAKER, D(10_000_000), now)
        for coin, (mid, step, size) in QUOTES.items():
            eng.set_oracle_price(coin, mid, now)
            asset = eng.market(coin).asset
            specs = [OrderSpec(asset, True, mid - step * i, size, False, "Gtc") for i in range(1, 11)]
            specs += [OrderSpec(asset, False, mid + step * i, size, False, "Gtc") for i in range(1, 11)]
            eng.place_orders(MAKER, specs, "na", now)
        dv.publish()

    h.call(setup)
    yield h
    h.stop()


def perp(devnet, monkeypatch, *args):
    r = run(devnet.url, *args, key=KEY, monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    return r


def test_the_devnet_says_its_real_fee_rates(devnet):
    fees = info(devnet.url, {"type": "userFees", "user": "0x" + "1" * 40})
    assert (D(fees["userCrossRate"]), D(fees["userAddRate"])) == (TAKER_FEE, MAKER_FEE)


async def test_cli_preview_and_tui_ticket_agree_on_a_devnet(devnet, monkeypatch):
    address = Signer.from_hex(KEY).address
    devnet.call(devnet.devnet.control, "fund", {"user": address, "amount": "20000"})
    # An isolated 10x ETH long and a cross BTC long at the venue's default leverage (20x).
    opening = ("buy", "ETH", "1", "--market", "--leverage", "10", "--isolated")
    promised = json.loads(perp(devnet, monkeypatch, "--json", *opening, "--preview").out)
    perp(devnet, monkeypatch, *opening, "--yes")
    assert_liquidation_price(devnet, address, "ETH", promised)
    perp(devnet, monkeypatch, "buy", "BTC", "0.05", "--market", "--yes")
    orders = {
        "market buy": ("buy", "ETH", "0.5", "--market"),
        "resting sell": ("sell", "ETH", "0.4", "--limit", "3210"),
        "crossing buy": ("buy", "ETH", "0.3", "--limit", "3200.5"),
        "risk-sized": ("buy", "ETH", "--risk", "1%", "--sl", "3100", "--market"),
        "10% of free": ("sell", "BTC", "10%", "--limit", "95100"),
    }
    cli = {name: json.loads(perp(devnet, monkeypatch, "--json", *args, "--preview").out)
           for name, args in orders.items()}
    assert {p["fee_source"] for p in cli.values()} == {"account"}
    assert [cli[n]["liquidity"] for n in orders] == ["taker", "maker", "taker", "taker", "maker"]
    assert D(cli["resting sell"]["fee_rate"]) == MAKER_FEE and D(cli["market buy"]["fee_rate"]) == TAKER_FEE
    assert cli["market buy"]["leverage"] == 10 and cli["market buy"]["margin_mode"] == "isolated"
    assert cli["10% of free"]["leverage"] == 20 and cli["10% of free"]["margin_mode"] == "cross"

    settings.configure()
    md = HyperliquidMarketData(endpoint(devnet.url, "testnet"), venue="devnet")
    trading = md.trading(Signer.from_hex(KEY))
    app, source = build_app(md, markets=["ETH", "BTC"], trading=trading, settings=settings.current(),
                            stream=StreamSettings(stale_after=5.0))
    async with app.run_test(size=(160, 48)) as pilot:
        ready = lambda: (source.account() is not None and source.fees().source == "account"  # noqa: E731
                         and all(source.book_usable(c) and source.mark(c) is not None for c in QUOTES)
                         and source.leverage("ETH")[0] == 10)
        assert await wait_until(pilot, ready, timeout=15)
        ticket = app.query_one(Ticket)
        for name, args in orders.items():
            side, market = args[0], args[1]
            if ticket.market != market:
                await pilot.press("]")
                assert await wait_until(pilot, lambda m=market: ticket.market == m)
            ticket.set_side(Side(side))
            if "--market" in args:
                ticket.set_type("market")
            else:
                ticket.set_type("limit")
                ticket.set_price(D(args[args.index("--limit") + 1]))
            sl = ticket.query_one("#ticket-sl", Input)
            sl.value = args[args.index("--sl") + 1] if "--sl" in args else ""
            if "--risk" in args:
                ticket.set_size("1", "risk")
            elif args[2].endswith("%"):
                ticket.set_size(args[2][:-1], "pct")
            else:
                ticket.set_size(args[2])
            want = cli[name]
            assert await wait_until(
                pilot, lambda w=want: app.last_preview is not None and app.last_preview.market == w["market"]
                and app.last_preview.size == D(w["size"]) and app.last_preview.side.value == w["side"]), name
            shown = app.last_preview.to_json(limit_price=D(want["limit_price"]) if want["limit_price"] else None)
            assert shown.keys() == want.keys(), name
            differ = {k: (v, want[k]) for k, v in shown.items()
                      if (D(want[k]) != v if isinstance(v, D) else want[k] != (v.value if hasattr(v, "value") else v))}
            assert not differ, (name, differ)

    # Adding to the isolated position: the devnet liquidates it where the preview said.
    perp(devnet, monkeypatch, *orders["market buy"], "--yes")
    assert_liquidation_price(devnet, address, "ETH", cli["market buy"])


def assert_liquidation_price(devnet, address: str, coin: str, preview: dict) -> None:
    state = info(devnet.url, {"type": "clearinghouseState", "user": address})
    pos = next(p["position"] for p in state["assetPositions"] if p["position"]["coin"] == coin)
    assert D(pos["szi"]) == D(preview["position_after"])
    venue, promised = D(pos["liquidationPx"]), D(preview["liquidation_price"])
    # The venue's figure has 8 decimals; the preview shows it on the market's price grid.
    inst = HyperliquidMarketData(endpoint(devnet.url, "testnet"), venue="devnet").instrument(coin)
    assert promised == display.price(inst, venue), (venue, promised)
