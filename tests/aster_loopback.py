"""A small scripted Aster REST server on a loopback port, for adapter tests.

It answers /fapi/v3/... with the recorded shapes of the v3 docs (test_aster_codec.py's), from a
route table a test may change: path -> (status, JSON body, extra headers), or a list of such
answers served in turn (the last one repeats). Every request is recorded (method, path, query,
body) so a test can check what the adapter sent. It speaks plain HTTP/1.1 keep-alive, which is
what perpcli's client uses.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

EXCHANGE_INFO = {
    "timezone": "UTC",
    "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
                   {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200}],
    "symbols": [
        {"symbol": "BTCUSDT", "contractType": "PERPETUAL", "status": "TRADING", "baseAsset": "BTC",
         "quoteAsset": "USDT", "marginAsset": "USDT", "maintMarginPercent": "0.4000",
         "requiredMarginPercent": "0.8000",
         "filters": [{"filterType": "PRICE_FILTER", "tickSize": "0.10", "minPrice": "556.80", "maxPrice": "4529764"},
                     {"filterType": "LOT_SIZE", "stepSize": "0.001", "minQty": "0.001", "maxQty": "1000"},
                     {"filterType": "MIN_NOTIONAL", "notional": "5"},
                     {"filterType": "PERCENT_PRICE", "multiplierDown": "0.9500", "multiplierUp": "1.0500"}]},
        {"symbol": "ETHUSDT", "contractType": "PERPETUAL", "status": "TRADING", "baseAsset": "ETH",
         "quoteAsset": "USDT", "marginAsset": "USDT", "maintMarginPercent": "0.5000",
         "requiredMarginPercent": "1.0000",
         "filters": [{"filterType": "PRICE_FILTER", "tickSize": "0.01"},
                     {"filterType": "LOT_SIZE", "stepSize": "0.001"},
                     {"filterType": "MIN_NOTIONAL", "notional": "5"}]},
        {"symbol": "OLDUSDT", "contractType": "PERPETUAL", "status": "SETTLING", "baseAsset": "OLD",
         "quoteAsset": "USDT", "filters": []},
    ],
}

BOOK_TICKERS = [
    {"symbol": "BTCUSDT", "bidPrice": "60000.0", "bidQty": "1.5", "askPrice": "60000.2", "askQty": "2", "time": 1},
    {"symbol": "ETHUSDT", "bidPrice": "3000.00", "bidQty": "10", "askPrice": "3000.10", "askQty": "3", "time": 1},
    {"symbol": "OLDUSDT", "bidPrice": "1", "bidQty": "1", "askPrice": "1.2", "askQty": "1", "time": 1},
]

PREMIUM = [
    {"symbol": "BTCUSDT", "markPrice": "60000.5", "indexPrice": "60001.0", "estimatedSettlePrice": "60000",
     "lastFundingRate": "0.00010000", "interestRate": "0.0001", "nextFundingTime": 1750147200000,
     "time": 1750146970000},
    {"symbol": "ETHUSDT", "markPrice": "3000.05", "indexPrice": "3000.00", "lastFundingRate": "-0.00005000",
     "nextFundingTime": 1750147200000, "time": 1750146970000},
]

DEPTH = {"lastUpdateId": 1027024, "E": 1589436922972, "T": 1589436922959,
         "bids": [["60000.0", "1.5"], ["59999.9", "2"], ["59999.0", "3"]],
         "asks": [["60000.2", "2"], ["60000.3", "1"], ["60001.0", "4"]]}

AGG_TRADES = [{"a": 26129, "p": "60000.1", "q": "0.010", "f": 1, "l": 1, "T": 1498793709153, "m": True},
              {"a": 26130, "p": "60000.2", "q": "0.020", "f": 2, "l": 3, "T": 1498793709154, "m": False}]

KLINES = [[1499040000000, "60000.0", "60010.0", "59990.0", "60005.0", "12.5", 1499040059999, "750000", 42,
           "6", "360000", "0"]]

FUNDING_INFO = [{"symbol": "ETHUSDT", "interestRate": "0.0001", "time": 1, "fundingIntervalHours": 4,
                 "fundingFeeCap": 0.03, "fundingFeeFloor": -0.03}]


def default_routes() -> dict[str, object]:
    return {
        "/fapi/v3/exchangeInfo": (200, EXCHANGE_INFO, {}),
        "/fapi/v3/ticker/bookTicker": (200, BOOK_TICKERS, {}),
        "/fapi/v3/premiumIndex": (200, PREMIUM, {}),
        "/fapi/v3/depth": (200, DEPTH, {}),
        "/fapi/v3/aggTrades": (200, AGG_TRADES, {}),
        "/fapi/v3/klines": (200, KLINES, {}),
        "/fapi/v3/fundingInfo": (200, FUNDING_INFO, {}),
    }


class ScriptedAster:
    """The server: `routes` (path -> answer or list of answers) and `seen` (what arrived)."""

    def __init__(self) -> None:
        self.routes: dict[str, object] = default_routes()
        self.seen: list[tuple[str, str, str, str | None]] = []
        self.signed_by: list[str] = []  # who signed each signed request (recovered, chain 714)
        self.chain_id = 714
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else None
                parts = urlsplit(self.path)
                server.seen.append((self.command, parts.path, parts.query, body))
                server.note_signer(parts.query if self.command == "GET" else body or "")
                status, payload, headers = server.answer(parts.path, parts.query)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def note_signer(self, wire: str) -> None:
        """Recover the signer of a signed request, as the venue checks it: over the bytes received."""
        if "&signature=" not in wire:
            return
        from perpcli.venues.aster.signing import recover_signer

        msg, _, signature = wire.rpartition("&signature=")
        chain = 56 if msg.startswith("user=") and "&agentName=" in msg else self.chain_id
        if chain == 56:
            from urllib.parse import unquote_plus

            msg = unquote_plus(msg)  # the agent approval signs the literal (decoded) fields
        try:
            self.signed_by.append(recover_signer(msg, signature, chain_id=chain))
        except ValueError:
            self.signed_by.append("invalid signature")

    def answer(self, path: str, query: str) -> tuple[int, object, dict[str, str]]:
        route = self.routes.get(path)
        if route is None:
            return 404, {"code": -1000, "msg": f"no route {path}"}, {}
        if isinstance(route, list):
            return route.pop(0) if len(route) > 1 else route[0]
        if callable(route):
            return route(query)
        return route  # type: ignore[return-value]

    def __enter__(self) -> ScriptedAster:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
