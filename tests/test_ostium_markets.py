"""Ostium in the registry, its pairs as Instruments (underlyings, hours), margin from the chain."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from decimal import Decimal as D
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest

from perpcli.domain.errors import UsageError, ValidationError
from perpcli.domain.instrument import MarginMode, MarginTable
from perpcli.domain.order_rules import check_open
from perpcli.keys.hashing import keccak256
from perpcli.ledger.margin import PositionRisk
from perpcli.venues import registry
from perpcli.venues.ostium import abi, adapter, instruments
from perpcli.venues.ostium.chain import FeePolicy
from tests.support import VECTORS

NY = ZoneInfo("America/New_York")


def ms(year, month, day, hour, minute=0, zone=NY) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=zone).timestamp() * 1000)


def test_three_ostium_venues_are_registered_with_oracle_capabilities():
    for name, network in (("ostium", "mainnet"), ("ostium-testnet", "testnet"), ("ostium-devnet", "testnet")):
        entry = registry.get_entry(name)
        assert entry.network == network
        caps = entry.load_capabilities()
        assert (caps.kind, caps.settlement, caps.book_stream) == ("oracle", "keeper", "none")
        assert caps.margin_modes == ("isolated",) and not caps.client_order_ids and not caps.trigger_orders
        assert set(caps.order_types) == {"market", "limit", "stop"} and caps.bracket_orders
    assert registry.get_entry("ostium-devnet").url.startswith("http://127.0.0.1:")


def test_the_catalogue_agrees_with_the_published_pair_list():
    published = json.loads((VECTORS / "ostium_pairs.json").read_text())["pairs"]
    assert [(p["pairIndex"], p["symbol"]) for p in published] == [
        (s.pair_index, s.symbol) for s in instruments.catalogue()]


@pytest.mark.parametrize(("symbol", "underlying", "alias"), [
    ("XAU-USD", "XAU", "GOLD"), ("XAG-USD", "XAG", "SILVER"), ("CL-USD", "WTI", "CL"), ("EUR-USD", "EURUSD", None),
    ("USD-JPY", "USDJPY", None), ("SPX-USD", "SPX", None), ("TSLA-USD", "TSLA", None), ("BTC-USD", "BTC", None),
    ("BRENT-USD", "BRENT", None),
])
def test_canonical_underlyings(symbol, underlying, alias):
    spec = instruments.spec_for_symbol(symbol)
    assert spec is not None and spec.underlying == underlying
    if alias:
        assert alias in spec.aliases


LIMITS = instruments.PairLimits(min_leverage=D("2"), max_leverage=D("100"), min_position_usd=D("1500"),
                                liq_margin_threshold_pct=D("25"))


@pytest.mark.parametrize(("symbol", "open_at", "closed_at"), [
    ("XAU-USD", ms(2026, 3, 10, 10), ms(2026, 3, 14, 12)),  # Tuesday / Saturday
    ("XAU-USD", ms(2026, 3, 8, 18, 30), ms(2026, 3, 10, 17, 30)),  # Sunday evening / the daily break
    ("CL-USD", ms(2026, 3, 10, 18, 10), ms(2026, 3, 10, 17, 0)),  # Ostium's own CL schedule
    ("EUR-USD", ms(2026, 3, 8, 17, 30), ms(2026, 3, 13, 17, 0)),  # FX: Sunday 17:00 to Friday 17:00
    ("TSLA-USD", ms(2026, 3, 10, 9, 30), ms(2026, 3, 10, 9, 29)),  # the NYSE opening bell
    ("NIK-JPY", ms(2026, 3, 10, 10, 0, ZoneInfo("Asia/Tokyo")), ms(2026, 3, 10, 16, 0, ZoneInfo("Asia/Tokyo"))),
])
def test_trading_hours(symbol, open_at, closed_at):
    inst = instruments.to_instrument("ostium", instruments.spec_for_symbol(symbol), LIMITS)
    assert inst.is_open(open_at) and not inst.is_open(closed_at)


def test_crypto_trades_around_the_clock():
    inst = instruments.to_instrument("ostium", instruments.spec_for_symbol("BTC-USD"), LIMITS)
    assert inst.trading_hours is None and inst.is_open(ms(2026, 3, 14, 3))


def test_an_order_on_a_closed_market_names_the_next_open():
    inst = instruments.to_instrument("ostium", instruments.spec_for_symbol("XAU-USD"), LIMITS)
    saturday = ms(2026, 3, 14, 12)
    with pytest.raises(ValidationError) as info:
        check_open(inst, saturday)
    assert info.value.rule == "market-closed" and info.value.nearest == ms(2026, 3, 15, 18)


def test_instrument_rules_come_from_the_chain_limits():
    inst = instruments.to_instrument("ostium", instruments.spec_for_symbol("XAU-USD"), LIMITS)
    assert (inst.max_leverage, inst.min_notional, inst.only_isolated, inst.asset_id) == (100, D("1500"), True, 5)
    assert inst.price_max_decimals == 5 and inst.quote == "USDC"


def test_liquidation_matches_ostiums_formula():
    # PairsInfo: margin kept = collateral x (P% x lev / maxLev); liq distance = open x (C - kept) / C / lev.
    # open 2000, C 100, 10x of max 100x, P 25: kept 2.5, distance 195, long liquidated at 1805.
    assert LIMITS.loss_threshold(D("10")) == D("0.975")
    assert LIMITS.loss_threshold(D("100")) == D("0.75")
    rules = instruments.margin_rules(LIMITS, D("10"))
    size = D("100") * 10 / D("2000")
    position = PositionRisk(symbol="XAU-USD", size=size, entry_price=D("2000"), mark_price=D("2000"), leverage=10,
                            margin_table=MarginTable.single(100), mode=MarginMode.ISOLATED, isolated_margin=D("100"),
                            rules=rules)
    assert rules.liquidation_price(position, equity=D("100")) == D("1805")
    assert (rules.default_leverage(), rules.max_leverage(D(0)), rules.min_leverage) == (10, 100, 2)


# ----- the adapter against a scripted node --------------------------------------------------

TRADING = "0x6d0ba1f9996dbd8885827e1b2e8f6593e7702411"
REGISTRY = "0x" + "aa" * 20
PAIRS_STORAGE = "0x" + "bb" * 20
PAIR_INFOS = "0x" + "cc" * 20


def word(value: int | str) -> str:
    if isinstance(value, str):
        value = int(value, 16)
    return "0x" + value.to_bytes(32, "big").hex()


def sel(contract: str, name: str) -> str:
    return "0x" + abi.function(contract, name).selector.hex()


class ScriptedNode:
    """Answers eth_chainId and the eth_calls the adapter makes, from a table."""

    def __init__(self, chain_id: int) -> None:
        self.chain_id = chain_id
        self.calls: list[tuple[str, str]] = []
        get_address = "0x" + keccak256(b"getContractAddress(bytes32)")[:4].hex()
        self.table = {
            (TRADING, sel("trading", "registry")): word(REGISTRY),
            (REGISTRY, get_address + b"pairsStorage".ljust(32, b"\0").hex()): word(PAIRS_STORAGE),
            (REGISTRY, get_address + b"pairInfos".ljust(32, b"\0").hex()): word(PAIR_INFOS),
            (PAIRS_STORAGE, sel("pairs_storage", "pairsCount")): word(9),
            (PAIR_INFOS, sel("pairs_info", "liqMarginThresholdP")): word(25),
        }
        for fn, value in (("pairMaxLeverage", 20000), ("pairMinLeverage", 200), ("pairMinLevPos", 1_500_000_000),
                          ("pairOvernightMaxLeverage", 5000)):
            for pair in range(9):
                self.table[(PAIRS_STORAGE, sel("pairs_storage", fn) + pair.to_bytes(32, "big").hex())] = word(value)

    def answer(self, method: str, params: list):
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "eth_call":
            key = (params[0]["to"].lower(), params[0]["data"])
            self.calls.append(key)
            return self.table[key]
        raise KeyError(method)


@pytest.fixture
def node():
    state = {"node": ScriptedNode(31337)}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            try:
                body = {"jsonrpc": "2.0", "id": req["id"], "result": state["node"].answer(req["method"], req["params"])}
            except KeyError as e:
                body = {"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32601, "message": f"unscripted {e}"}}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def open_devnet(url: str):
    cfg = registry.get_entry("ostium-devnet").config(url=url, ostium=adapter.OstiumSettings(fees=FeePolicy()))
    return registry.open_venue(cfg)


def test_instruments_read_their_limits_from_the_chain(node):
    state, url = node
    market = open_devnet(url)
    insts = market.instruments()
    assert [i.symbol for i in insts] == [s.symbol for s in instruments.catalogue()[:9]]  # pairsCount = 9
    gold = market.instrument("GOLD")
    assert (gold.symbol, gold.max_leverage, gold.min_notional) == ("XAU-USD", 200, D("1500"))
    assert market.instrument("cl").underlying == "WTI"
    rules = market.margin_rules(gold)
    assert rules.min_leverage == 2 and rules.liquidation_threshold == D("1") - D("25") * 10 / 200 / 100
    market.close()


def test_an_unknown_market_is_refused_before_any_chain_read(node):
    state, url = node
    market = open_devnet(url)
    with pytest.raises(ValidationError, match="unknown market"):
        market.instrument("NOPE")
    assert state["node"].calls == []


def test_a_node_on_the_wrong_chain_is_refused(node):
    state, url = node
    state["node"] = ScriptedNode(42161)  # an Arbitrum One RPC given for the local devnet
    with pytest.raises(UsageError, match="chain 42161"):
        open_devnet(url).instrument("XAU")


def test_an_oracle_venue_says_what_it_does_not_have(node):
    _, url = node
    market = open_devnet(url)
    with pytest.raises(UsageError, match="no order book"):
        market.book("XAU-USD")
    with pytest.raises(UsageError, match="no client order ids"):
        market.check_client_id("0x" + "00" * 16)


def test_ostium_rpc_settings_render_into_the_example_config():
    from perpcli.config.schema import BY_KEY

    assert BY_KEY["venues.ostium.url"].default == registry.get_entry("ostium").url
    assert BY_KEY["venues.ostium-devnet.url"].default == registry.get_entry("ostium-devnet").url
    assert BY_KEY["venues.ostium.max_fee_gwei"].default == D("1")
    assert adapter.NETWORK_OF_VENUE.keys() == {"ostium", "ostium-testnet", "ostium-devnet"}
