"""`perp flatten --all-venues` with Ostium in the book: the Hyperliquid devnet (in-process) and
the Ostium devnet (a real EVM node and its keeper) hold positions and orders for one key; one
flatten leaves nothing on either, Ostium's trades closed through the keeper the way `perp
--venue ostium-devnet flatten` closes them. With the Hyperliquid face unreachable, Ostium is
still flattened and the failure is reported with its exit code. Without anvil the module skips
with one line saying what to install."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from perpcli.domain.orders import OrderIntent, OrderType, Side, TimeInForce
from perpcli.keys.signer import Signer
from perpcli.venues import registry
from perpcli.venues.ostium import quoting
from tests.ostium_devnet import control, ostium_devnet_fixture, skip_without_anvil
from tests.support import invoke

skip_without_anvil()

ostium = ostium_devnet_fixture()
TUESDAY_NS = int(datetime(2026, 3, 10, 15, tzinfo=UTC).timestamp()) * 10**9  # XAU trades (perpcli's hours)


@pytest.fixture(scope="module")
def devnet():
    from perpcli.devnet.server import start_in_thread
    from tests.cli_devnet import wait_for_books

    handle = start_in_thread(port=0, seed=17, market_interval=0.2)
    wait_for_books(handle.url)
    yield handle
    handle.stop()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def perp(capsys, monkeypatch, *args: str, devnet_url: str):
    monkeypatch.setenv("PERPCLI_VENUES_DEVNET_URL", devnet_url)
    monkeypatch.setenv("PERPCLI_PORTFOLIO_VENUES", "devnet,ostium-devnet")
    return invoke(list(args), capsys, monkeypatch=monkeypatch)


def _book(devnet, ostium, capsys, monkeypatch):
    """One key: long BTC and a resting ETH bid on the Hyperliquid face; an XAU trade and a
    resting XAU limit on Ostium. Returns both Trading sides."""
    from perpcli.domain import order_rules

    hexkey, address = ostium.new_key("10000")
    control(devnet.url, "fund", {"user": address, "amount": "10000"})
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", hexkey)
    monkeypatch.setenv("PERPCLI_VENUES_OSTIUM_DEVNET_RECEIPT_TIMEOUT_S", "20")
    monkeypatch.setattr(quoting, "time", SimpleNamespace(time_ns=lambda: TUESDAY_NS))
    for name, value in ostium.env().items():
        monkeypatch.setenv(name, value)
    ostium.set_price("XAU", "2650")
    signer = Signer.from_hex(hexkey)
    dev = registry.open_venue(registry.get_entry("devnet").config(url=devnet.url)).trading(signer)
    inst = dev.market.instrument("BTC")
    _, mark = dev.market.reference_prices("BTC")
    far = order_rules.conform_price(inst, mark * Decimal("1.03"), order_rules.Rounding.NEAREST)
    [ack] = dev.submit([OrderIntent(venue="devnet", symbol="BTC", side=Side.BUY, size=Decimal("0.01"),
                                    order_type=OrderType.MARKET, price=far, tif=TimeInForce.IOC)])
    assert ack.filled == Decimal("0.01"), ack
    _, eth = dev.market.reference_prices("ETH")
    bid = order_rules.conform_price(dev.market.instrument("ETH"), eth * Decimal("0.9"), order_rules.Rounding.DOWN)
    [ack] = dev.submit([OrderIntent(venue="devnet", symbol="ETH", side=Side.BUY, size=Decimal("0.01"), price=bid,
                                    cloid=dev.market.new_client_id())])
    assert ack.status.value == "resting", ack
    for args in (("--market",), ("--limit", "2400")):
        r = perp(capsys, monkeypatch, "--venue", "ostium-devnet", "--yes", "--json", "buy", "XAU", "--collateral",
                 "100", "--leverage", "10", *args, devnet_url=devnet.url)
        assert r.code == 0, r.err
    osti = registry.open_venue(registry.get_entry("ostium-devnet").config(url=ostium.rpc_url)).trading(signer)
    assert [p.symbol for p in osti.positions().positions] == ["XAU-USD"]
    assert [o.status.value for o in osti.open_orders()] == ["open"]
    return dev, osti


def _nothing_held(t) -> bool:
    return not [p for p in t.positions().positions if p.size] and not t.open_orders()


def test_flatten_all_venues_leaves_nothing_on_hyperliquid_or_ostium(devnet, ostium, perpcli_home, capsys,
                                                                     monkeypatch):
    dev, osti = _book(devnet, ostium, capsys, monkeypatch)
    r = perp(capsys, monkeypatch, "--json", "flatten", "--all-venues", "--yes", devnet_url=devnet.url)
    assert r.code == 0, r.err
    assert "ostium-devnet: cancel 1 order(s); close 1 trade(s) at market (XAU-USD 5:0)" in r.err
    by_venue = {v["venue"]: v for v in json.loads(r.out)["venues"]}
    assert by_venue["ostium-devnet"]["status"] == "ok" and by_venue["devnet"]["status"] == "ok"
    [cancel] = by_venue["ostium-devnet"]["cancels"]
    [close] = by_venue["ostium-devnet"]["closes"]
    assert cancel["status"] == "canceled" and (close["type"], close["status"], close["trade_id"]) == (
        "close", "filled", "5:0")
    assert _nothing_held(dev) and _nothing_held(osti)


def test_one_unreachable_venue_is_reported_while_ostium_is_flattened(devnet, ostium, perpcli_home, capsys,
                                                                    monkeypatch):
    dev, osti = _book(devnet, ostium, capsys, monkeypatch)
    r = perp(capsys, monkeypatch, "--json", "flatten", "--all-venues", "--yes", devnet_url=_closed_port_url())
    assert r.code == 5, r.err
    by_venue = {v["venue"]: v for v in json.loads(r.out)["venues"]}
    assert (by_venue["devnet"]["status"], by_venue["devnet"]["exit_code"]) == ("failed", 5)
    assert by_venue["ostium-devnet"]["status"] == "ok"
    assert _nothing_held(osti)
    assert not _nothing_held(dev)  # the unreachable venue was left as it was
    assert r.err.strip().splitlines()[-1] == "perp: error: flatten incomplete on devnet (exit 5): see the results above"
    r = perp(capsys, monkeypatch, "--json", "flatten", "--all-venues", "--yes", devnet_url=devnet.url)
    assert r.code == 0, r.err
    assert _nothing_held(dev)


def test_close_an_underlying_everywhere_closes_the_ostium_trade_only(devnet, ostium, perpcli_home, capsys,
                                                                    monkeypatch):
    dev, osti = _book(devnet, ostium, capsys, monkeypatch)
    r = perp(capsys, monkeypatch, "--json", "close", "XAU", "--all-venues", "--yes", devnet_url=devnet.url)
    assert r.code == 0, r.err
    closes = [(v["venue"], c["market"], c["status"]) for v in json.loads(r.out)["venues"] for c in v["closes"]]
    assert closes == [("ostium-devnet", "XAU-USD", "filled")]
    assert not osti.positions().positions and len(osti.open_orders()) == 1  # close leaves orders alone
    assert [p.symbol for p in dev.positions().positions if p.size] == ["BTC"]
    perp(capsys, monkeypatch, "flatten", "--all-venues", "--yes", devnet_url=devnet.url)
