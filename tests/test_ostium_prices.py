"""Ostium's oracle prices: parsed exactly, matched to pairs, served as marks and mids."""

from __future__ import annotations

import json
import threading
from decimal import Decimal as D
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from perpcli.domain.errors import NetworkError, UsageError
from perpcli.venues import registry
from perpcli.venues.ostium import adapter
from perpcli.venues.ostium.chain import FeePolicy
from perpcli.venues.ostium.prices import parse_latest_prices

FEED = [
    {"feed_id": "0x01", "from": "XAU", "to": "USD", "bid": 2650.1, "mid": 2650.15, "ask": 2650.2,
     "isMarketOpen": True, "isDayTradingClosed": False, "timestampSeconds": 1773150000},
    {"feed_id": "0x02", "from": "CL", "to": "USD", "bid": 71.49, "mid": 71.5, "ask": 71.51,
     "isMarketOpen": False, "isDayTradingClosed": True, "timestampSeconds": 1773150000},
    {"feed_id": "0x03", "from": "EUR", "to": "USD", "bid": 1.08764, "mid": 1.08765, "ask": 1.08766,
     "isMarketOpen": True, "isDayTradingClosed": False, "timestampSeconds": 1773150001},
    {"from": "BAD", "to": "USD", "bid": 2, "mid": 1, "ask": 3, "timestampSeconds": 1},  # crossed: skipped
    {"from": "NOPX", "to": "USD", "bid": None, "mid": 1, "ask": 1, "timestampSeconds": 1},  # no bid: skipped
    "garbage",
]


def test_the_feed_parses_to_exact_decimals():
    quotes = parse_latest_prices(json.dumps(FEED).encode())
    assert set(quotes) == {"XAU-USD", "CL-USD", "EUR-USD"}
    gold = quotes["XAU-USD"]
    assert (gold.bid, gold.mid, gold.ask, gold.market_open, gold.time_ms) == (
        D("2650.1"), D("2650.15"), D("2650.2"), True, 1773150000000)
    assert quotes["EUR-USD"].mid == D("1.08765") and not quotes["CL-USD"].market_open


def test_a_feed_that_is_not_a_list_is_refused():
    with pytest.raises(ValueError):
        parse_latest_prices(b'{"error": "down"}')


@pytest.fixture
def feed():
    state = {"status": 200, "body": json.dumps(FEED).encode(), "gets": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            state["gets"] += 1
            self.send_response(state["status"])
            self.send_header("Content-Length", str(len(state["body"])))
            self.end_headers()
            self.wfile.write(state["body"])

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/PricePublish/latest-prices"
    server.shutdown()
    server.server_close()


def market(price_url: str, max_body_bytes: int = 1_000_000):
    conf = adapter.OstiumSettings(fees=FeePolicy(), price_url=price_url, request_timeout_s=5,
                                  max_body_bytes=max_body_bytes)
    # The RPC URL is never contacted for prices of pairs perpcli knows by name.
    return registry.open_venue(registry.get_entry("ostium").config(url="http://127.0.0.1:9", ostium=conf))


def test_marks_and_mids_come_from_the_oracle(feed):
    state, url = feed
    m = market(url)
    assert m.mids(["GOLD", "eur-usd"]) == {"XAU-USD": D("2650.15"), "EUR-USD": D("1.08765")}
    [mark] = m.mark_prices(["XAU"])
    assert (mark.symbol, mark.mark_price, mark.oracle_price, mark.time_ms) == (
        "XAU-USD", D("2650.15"), D("2650.15"), 1773150000000)
    assert m.reference_prices("CL") == (D("71.5"), D("71.5"))
    assert not m.quote("WTI").market_open and m.quote("XAU-USD").ask == D("2650.2")
    assert state["gets"] == 1  # one read per process
    m.mark_prices(fresh=True)
    assert state["gets"] == 2


def test_a_pair_without_a_quote_is_a_clear_error(feed):
    _, url = feed
    with pytest.raises(UsageError, match="no oracle price for TSLA-USD"):
        market(url).reference_prices("TSLA")


def test_feed_failures_are_network_errors(feed):
    state, url = feed
    state["status"] = 503
    with pytest.raises(NetworkError, match="HTTP 503"):
        market(url).mids()
    state["status"], state["body"] = 200, b"x" * 2000
    with pytest.raises(NetworkError, match="more than 1000 bytes"):
        market(url, max_body_bytes=1000).mids()
    state["body"] = b"<html>"
    with pytest.raises(NetworkError, match="unreadable"):
        market(url).mids()


def test_no_feed_configured_says_which_setting():
    m = registry.open_venue(registry.get_entry("ostium-devnet").config(
        url="http://127.0.0.1:9", ostium=adapter.OstiumSettings(fees=FeePolicy())))
    with pytest.raises(UsageError, match=r"venues.ostium-devnet.price_url"):
        m.mids()
