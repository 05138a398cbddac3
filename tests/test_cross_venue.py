"""One account across venues: `perp portfolio` and `perp funding --compare` on two real venues.

The Hyperliquid devnet (in-process, loopback) and the in-memory fake venue (plugged in by entry
point, at its default URL) are combined through the seam as the CLI does; one EVM key holds an
account on both. The partial-answer case points the devnet at a closed port.
"""

from __future__ import annotations

import io
import json
import socket
from contextlib import redirect_stderr, redirect_stdout
from decimal import Decimal

import pytest

from perpcli.domain.orders import OrderIntent, OrderType, Side, TimeInForce
from perpcli.keys.signer import Signer
from perpcli.venues import registry
from tests.cli_devnet import devnet_fixture
from tests.fake_venue.fixture import FAKE_URL, fake_venue_fixture
from tests.support import Result

devnet = devnet_fixture(seed=16, market_interval=0.2)
fakex = fake_venue_fixture()


@pytest.fixture(scope="module")
def book(devnet, fakex):
    """One key, long 0.01 BTC on the devnet and short 0.004 BTC on the fake venue."""
    from tests.cli_devnet import new_key

    hexkey, address = new_key(devnet.url)
    signer = Signer.from_hex(hexkey)
    fakex.fund(address, Decimal(10000))
    dev = registry.open_venue(registry.get_entry("devnet").config(url=devnet.url)).trading(signer)
    [ack] = dev.submit([OrderIntent(venue="devnet", symbol="BTC", side=Side.BUY, size=Decimal("0.01"),
                                    order_type=OrderType.MARKET, price=_far(dev.market, "BTC", up=True),
                                    tif=TimeInForce.IOC)])
    assert ack.filled == Decimal("0.01"), ack
    fake = registry.open_venue(registry.get_entry("fakex").config(url=FAKE_URL)).trading(signer)
    [ack] = fake.submit([OrderIntent(venue="fakex", symbol="BTCUSDT", side=Side.SELL, size=Decimal("0.004"),
                                     order_type=OrderType.MARKET, price=_far(fake.market, "BTCUSDT", up=False),
                                     tif=TimeInForce.IOC)])
    assert ack.filled == Decimal("0.004"), ack
    return hexkey, address


def _far(market, symbol: str, *, up: bool) -> Decimal:
    """A protective IOC price 3% through the mark, on the market's tick."""
    from perpcli.domain import order_rules

    inst = market.instrument(symbol)
    _, mark = market.reference_prices(symbol)
    return order_rules.conform_price(inst, mark * (Decimal("1.03") if up else Decimal("0.97")),
                                     order_rules.Rounding.NEAREST)


def perp(monkeypatch, key: str | None, *args: str, devnet_url: str, venues: str = "devnet,fakex") -> Result:
    from perpcli.cli.main import main

    if key is None:  # the stored keys and config decide
        monkeypatch.delenv("PERPCLI_PRIVATE_KEY", raising=False)
    else:
        monkeypatch.setenv("PERPCLI_PRIVATE_KEY", key)
    monkeypatch.setenv("PERPCLI_VENUES_DEVNET_URL", devnet_url)
    monkeypatch.setenv("PERPCLI_PORTFOLIO_VENUES", venues)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return Result(code, out.getvalue(), err.getvalue())


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_portfolio_combines_two_venues_and_nets_by_underlying(monkeypatch, devnet, book):
    key, address = book
    res = perp(monkeypatch, key, "--json", "portfolio", devnet_url=devnet.url)
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    by_venue = {v["venue"]: v for v in doc["venues"]}
    assert set(by_venue) == {"devnet", "fakex"}
    assert all(v["status"] == "ok" and v["account"] == address for v in by_venue.values())
    totals = doc["totals"]
    assert totals["partial"] is False and totals["missing"] == []
    for field in ("equity", "margin_used", "free_collateral", "unrealized_pnl"):
        assert Decimal(totals[field]) == sum(Decimal(v[field]) for v in by_venue.values()), field
    sides = {(p["venue"], p["market"]): (p["underlying"], p["side"], Decimal(p["size"])) for p in doc["positions"]}
    assert sides == {("devnet", "BTC"): ("BTC", "long", Decimal("0.01")),
                     ("fakex", "BTCUSDT"): ("BTC", "short", Decimal("0.004"))}
    [btc] = [e for e in doc["exposure"] if e["underlying"] == "BTC"]
    assert Decimal(btc["net_size"]) == Decimal("0.006") and btc["venues"] == ["devnet", "fakex"]
    for p in doc["positions"]:
        assert p["funding_apr"] is not None and Decimal(p["notional"]) > 0
        assert p["liquidation_distance_pct"] is None or Decimal(p["liquidation_distance_pct"]) > 0
    assert all(v["data_age_ms"] is not None and v["data_age_ms"] >= 0 for v in by_venue.values())


def test_portfolio_shows_an_unreachable_venue_and_partial_totals(monkeypatch, devnet, book):
    key, _ = book
    res = perp(monkeypatch, key, "--json", "portfolio", devnet_url=_closed_port_url())
    assert res.code == 5, res.err
    doc = json.loads(res.out)
    by_venue = {v["venue"]: v for v in doc["venues"]}
    assert by_venue["devnet"]["status"] == "unreachable" and by_venue["devnet"]["equity"] is None
    assert by_venue["devnet"]["exit_code"] == 5
    assert doc["totals"]["partial"] is True and doc["totals"]["missing"] == ["devnet"]
    assert doc["totals"]["venues"] == ["fakex"]
    assert Decimal(doc["totals"]["equity"]) == Decimal(by_venue["fakex"]["equity"])
    [line] = res.err.strip().splitlines()
    assert line.startswith("perp: error: partial portfolio: no answer from devnet") and "fakex" in line


def test_portfolio_human_output_names_the_missing_venue(monkeypatch, devnet, book):
    key, _ = book
    res = perp(monkeypatch, key, "portfolio", devnet_url=_closed_port_url())
    assert res.code == 5
    assert "unreachable" in res.out and "partial\tyes" in res.out and "missing\tdevnet" in res.out
    assert "BTCUSDT" in res.out and "Traceback" not in res.err


def test_portfolio_venues_default_to_venues_with_an_account(monkeypatch):
    from perpcli.app.portfolio import portfolio_venues
    from perpcli.config.settings import Settings

    assert portfolio_venues(Settings.load(environ={})) == ["devnet"]  # default.venue alone
    env = {"PERPCLI_VENUES_HYPERLIQUID_ACCOUNT": "main", "PERPCLI_VENUES_OSTIUM_ACCOUNT": "0x" + "1" * 40}
    assert portfolio_venues(Settings.load(environ=env)) == ["hyperliquid", "ostium"]
    env["PERPCLI_PORTFOLIO_VENUES"] = "ostium, devnet,ostium"
    assert portfolio_venues(Settings.load(environ=env)) == ["ostium", "devnet"]
    assert portfolio_venues(Settings.load(environ=env), ["hyperliquid"]) == ["hyperliquid"]


def test_portfolio_list_setting_is_checked(tmp_path):
    from perpcli.config.settings import Settings
    from perpcli.domain.errors import ConfigError

    path = tmp_path / "c.toml"
    path.write_text('[portfolio]\nvenues = ["hyperliquid", "ostium"]\n')
    assert Settings.load(config_path=path, environ={}).get("portfolio.venues") == ("hyperliquid", "ostium")
    path.write_text('[portfolio]\nvenues = "hyperliquid"\n')  # a string in the file is one name
    assert Settings.load(config_path=path, environ={}).get("portfolio.venues") == ("hyperliquid",)
    path.write_text("[portfolio]\nvenues = [1, 2]\n")
    with pytest.raises(ConfigError, match="a list of names"):
        Settings.load(config_path=path, environ={})


def test_a_venue_account_is_used_when_no_account_is_named():
    from perpcli.app.session import Session
    from perpcli.config.settings import Settings

    env = {"PERPCLI_VENUES_DEVNET_ACCOUNT": "trader"}
    assert Session.open(Settings.load(environ=env), venue="devnet").account == "trader"
    assert Session.open(Settings.load(environ=env), venue="devnet", account="other").account == "other"
    assert Session.open(Settings.load(environ=env), venue="hyperliquid").account is None


# ----------------------------------------------------------------------------- funding --compare


def test_funding_compare_normalises_1h_and_8h_intervals(monkeypatch, devnet, fakex):
    res = perp(monkeypatch, "0x" + "11" * 32, "--json", "funding", "--compare", "BTC", devnet_url=devnet.url)
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    quotes = {q["venue"]: q for q in doc["quotes"]}
    assert set(quotes) == {"devnet", "fakex"} and doc["missing"] == []
    assert quotes["devnet"]["interval_hours"] == 1 and quotes["fakex"]["interval_hours"] == 8
    for q in quotes.values():
        assert Decimal(q["apr"]) == (Decimal(q["rate"]) * 8760 / q["interval_hours"]).quantize(Decimal("1e-8"))
        assert q["underlying"] == "BTC" and Decimal(q["mark_price"]) > 0
    [pair] = doc["pairs"]
    assert {pair["long_venue"], pair["short_venue"]} == {"devnet", "fakex"}
    assert Decimal(pair["short_apr"]) >= Decimal(pair["long_apr"])
    assert Decimal(pair["carry_apr"]) == Decimal(pair["short_apr"]) - Decimal(pair["long_apr"])


def test_funding_compare_without_names_lists_underlyings_on_two_venues(monkeypatch, devnet, fakex):
    res = perp(monkeypatch, "0x" + "11" * 32, "--json", "funding", "--compare", devnet_url=devnet.url)
    assert res.code == 0, res.err
    assert {p["underlying"] for p in json.loads(res.out)["pairs"]} == {"BTC", "ETH"}  # the fake lists only these


def test_funding_compare_watch_names_a_missing_venue(monkeypatch, fakex):
    res = perp(monkeypatch, "0x" + "11" * 32, "--json", "funding", "--compare", "ETH", "--watch", "--every",
               "0.05", "--count", "2", devnet_url=_closed_port_url())
    assert res.code == 5
    docs = [json.loads(line) for line in res.out.splitlines()]
    assert len(docs) == 2 and all(d["missing"][0]["venue"] == "devnet" for d in docs)
    assert [q["venue"] for q in docs[0]["quotes"]] == ["fakex"]
    assert docs[0]["pairs"][0]["long_venue"] is None  # one venue: no pair to hold
    assert res.err.startswith("perp: error: partial funding board: no answer from devnet")


def test_best_pair_is_long_the_lowest_apr_and_short_the_highest():
    from perpcli.app.funding_board import Quote, build
    from perpcli.venues.base import FundingRate

    quotes = [
        Quote("hl", "BTC", FundingRate("BTC", Decimal("0.0000125"), 1), Decimal("100000")),  # 10.95% APR
        Quote("aster", "BTC", FundingRate("BTCUSDT", Decimal("0.0001"), 8), Decimal("100100")),  # 10.95%
        Quote("ostium", "BTC", FundingRate("BTC-USD", Decimal("-0.00005"), 8), Decimal("99900")),  # -5.475%
        Quote("hl", "ETH", FundingRate("ETH", Decimal("0.00001"), 1), Decimal("3000")),
    ]
    [line] = build(quotes)
    assert line.best_long.venue == "ostium" and line.best_short.venue == "hl"  # ties: by venue name
    assert line.carry_apr == Decimal("0.0000125") * 8760 + Decimal("0.00005") * 1095
    assert line.pair_basis_pct == (Decimal("100000") - Decimal("99900")) / Decimal("99900") * 100
    assert [x.underlying for x in build(quotes, ["eth"])] == ["ETH"]
    assert build(quotes, ["eth"])[0].best_long is None


# ----------------------------------------------------------------------------- cross-venue actions


def _fresh_book(devnet, fakex, *, orders: bool = True) -> tuple[str, list]:
    """A new key long BTC on the devnet, short BTC and long ETH on the fake venue, with a resting
    order on each venue. Returns the key and both venues' Trading sides."""
    from tests.cli_devnet import new_key

    hexkey, address = new_key(devnet.url)
    signer = Signer.from_hex(hexkey)
    fakex.fund(address, Decimal(10000))
    dev = registry.open_venue(registry.get_entry("devnet").config(url=devnet.url)).trading(signer)
    fake = registry.open_venue(registry.get_entry("fakex").config(url=FAKE_URL)).trading(signer)

    def taker(t, symbol: str, side: Side, size: str) -> None:
        [ack] = t.submit([OrderIntent(venue=t.venue, symbol=symbol, side=side, size=Decimal(size),
                                      order_type=OrderType.MARKET, price=_far(t.market, symbol, up=side is Side.BUY),
                                      tif=TimeInForce.IOC)])
        assert ack.filled == Decimal(size), ack

    def resting(t, symbol: str, size: str) -> None:
        from perpcli.domain import order_rules

        inst = t.market.instrument(symbol)
        _, mark = t.market.reference_prices(symbol)
        px = order_rules.conform_price(inst, mark * Decimal("0.96"), order_rules.Rounding.DOWN)
        [ack] = t.submit([OrderIntent(venue=t.venue, symbol=symbol, side=Side.BUY, size=Decimal(size), price=px,
                                      cloid=t.market.new_client_id())])
        assert ack.status.value == "resting", ack

    taker(dev, "BTC", Side.BUY, "0.01")
    taker(fake, "BTCUSDT", Side.SELL, "0.004")
    taker(fake, "ETHUSDT", Side.BUY, "0.05")
    if orders:
        resting(dev, "ETH", "0.01")
        resting(fake, "ETHUSDT", "0.01")
    return hexkey, [dev, fake]


def _held(t) -> list[str]:
    return sorted(p.symbol for p in t.positions().positions if p.size)


def test_flatten_all_venues_leaves_nothing_anywhere(monkeypatch, devnet, fakex):
    key, venues = _fresh_book(devnet, fakex)
    res = perp(monkeypatch, key, "--json", "flatten", "--all-venues", "--yes", devnet_url=devnet.url)
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["action"] == "flatten" and [v["venue"] for v in doc["venues"]] == ["devnet", "fakex"]
    assert all(v["status"] == "ok" and v["exit_code"] == 0 for v in doc["venues"])
    by_venue = {v["venue"]: v for v in doc["venues"]}
    assert len(by_venue["fakex"]["closes"]) == 2 and len(by_venue["devnet"]["cancels"]) == 1
    for t in venues:
        assert _held(t) == [] and t.open_orders() == [], t.venue
    assert "devnet: cancel 1 order(s); close long 0.01 BTC at market" in res.err


def test_flatten_all_venues_goes_on_when_one_venue_fails(monkeypatch, devnet, fakex):
    key, [dev, fake] = _fresh_book(devnet, fakex)
    res = perp(monkeypatch, key, "--json", "flatten", "--all-venues", "--yes", devnet_url=_closed_port_url())
    assert res.code == 5, res.err
    by_venue = {v["venue"]: v for v in json.loads(res.out)["venues"]}
    assert by_venue["devnet"]["status"] == "failed" and by_venue["devnet"]["exit_code"] == 5
    assert "connection refused" in by_venue["devnet"]["error"]
    assert by_venue["fakex"]["status"] == "ok"
    assert _held(fake) == [] and fake.open_orders() == []
    assert _held(dev) == ["BTC"] and len(dev.open_orders()) == 1  # the unreachable venue was left as it was
    assert res.err.strip().splitlines()[-1] == ("perp: error: flatten incomplete on devnet (exit 5): "
                                                "see the results above")
    perp(monkeypatch, key, "flatten", "--all-venues", "--yes", devnet_url=devnet.url)  # tidy up


def test_close_an_underlying_on_every_venue(monkeypatch, devnet, fakex):
    key, [dev, fake] = _fresh_book(devnet, fakex, orders=False)
    res = perp(monkeypatch, key, "--json", "close", "BTC", "--all-venues", "--yes", devnet_url=devnet.url)
    assert res.code == 0, res.err
    closes = [(v["venue"], c["market"], c["side"]) for v in json.loads(res.out)["venues"] for c in v["closes"]]
    assert closes == [("devnet", "BTC", "sell"), ("fakex", "BTCUSDT", "buy")]
    assert _held(dev) == [] and _held(fake) == ["ETHUSDT"]  # ETH is another underlying


def test_cancel_all_venues_needs_yes_off_a_terminal_and_dry_run_sends_nothing(monkeypatch, devnet, fakex):
    key, [dev, fake] = _fresh_book(devnet, fakex)
    res = perp(monkeypatch, key, "cancel", "--all", "--all-venues", devnet_url=devnet.url)
    assert res.code == 2 and "without --yes" in res.err
    res = perp(monkeypatch, key, "--dry-run", "cancel", "--all", "--all-venues", devnet_url=devnet.url)
    assert res.code == 0, res.err
    assert len(json.loads(res.out)["requests"]) == 2
    assert len(dev.open_orders()) == 1 and len(fake.open_orders()) == 1
    res = perp(monkeypatch, key, "--json", "cancel", "--all", "--all-venues", "--yes", devnet_url=devnet.url)
    assert res.code == 0, res.err
    assert dev.open_orders() == [] and fake.open_orders() == []
    assert _held(dev) == ["BTC"]  # cancel leaves positions alone
    res = perp(monkeypatch, key, "cancel", "--market", "BTC", "--all-venues", devnet_url=devnet.url)
    assert res.code == 2 and "--all-venues goes with --all alone" in res.err


def test_worst_exit_code_across_venues():
    from perpcli.app.cross_venue import worst

    assert worst([0, 0]) == 0
    assert worst([3, 5]) == 5 and worst([5, 6, 3]) == 6 and worst([2, 3]) == 3


def test_old_figures_are_marked_stale_but_still_counted():
    from perpcli.app.portfolio import Book, VenueBook
    from perpcli.app.portfolio_views import portfolio_doc
    from perpcli.domain.events import AccountSnapshot

    snap = AccountSnapshot(venue="v", account="0xa", time_ms=1_000, account_value=Decimal("100"))
    book = Book((VenueBook("v", "0xa", snap), VenueBook("w", "0xa", snap)), now_ms=20_000)
    doc = portfolio_doc(book, stale_after_ms=10_000)
    assert [v["status"] for v in doc["venues"]] == ["stale", "stale"] and doc["venues"][0]["data_age_ms"] == 19_000
    assert doc["totals"]["stale"] == ["v", "w"] and doc["totals"]["equity"] == Decimal("200")
    assert [v["status"] for v in portfolio_doc(book, stale_after_ms=30_000)["venues"]] == ["ok", "ok"]


def test_one_stored_key_is_unlocked_once_for_every_venue(monkeypatch, devnet, fakex):
    from perpcli.keys import keystore, sources, store

    key, [dev, fake] = _fresh_book(devnet, fakex, orders=False)
    signer = Signer.from_hex(key)
    store.write("main", keystore.encrypt(bytes.fromhex(key[2:]), "pw", address=signer.address, scrypt_n=2))
    calls = []
    real_unlock = sources.unlock
    monkeypatch.setattr(sources, "unlock", lambda *a, **k: calls.append(a) or real_unlock(*a, **k))
    monkeypatch.setenv("PERPCLI_PASSPHRASE", "pw")
    monkeypatch.setenv("PERPCLI_DEFAULT_ACCOUNT", "main")
    res = perp(monkeypatch, None, "--json", "flatten", "--all-venues", "--yes", devnet_url=devnet.url)
    assert res.code == 0, res.err
    assert len(calls) == 1 and _held(dev) == [] and _held(fake) == []


def test_an_agent_key_of_one_venue_is_not_carried_to_another():
    from perpcli.app.session import Session
    from perpcli.config.settings import Settings
    from perpcli.domain.errors import AuthError
    from perpcli.keys import keystore, store

    agent = Signer.from_hex("0x" + "22" * 32)
    doc = keystore.encrypt(bytes.fromhex("22" * 32), "pw", address=agent.address, scrypt_n=2)
    doc[store.BINDING_FIELD] = store.agent_binding("0x" + "3" * 40, "devnet")
    store.write("bot", doc)
    agent_named = Signer.from_hex("0x" + "22" * 32, name="bot")
    Session.open(Settings.load(environ={}), venue="devnet").adopt_signer(agent_named)  # its own venue: fine
    with pytest.raises(AuthError, match="agent for"):
        Session.open(Settings.load(environ={}), venue="hyperliquid").adopt_signer(agent_named)
