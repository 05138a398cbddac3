"""Ostium's oracle prices, from its latest-prices feed (read-only HTTP).

Ostium has no order book: a market order fills at the oracle's bid (sell) or ask (buy) plus
price impact, and the same feed says whether each market is open right now — which beats any
schedule for holidays and early closes. Each entry is
`{from, to, bid, mid, ask, isMarketOpen, isDayTradingClosed, timestampSeconds, ...}`; numbers
are parsed as Decimal (never float), and an entry missing a price is skipped, not zeroed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any


@dataclass(frozen=True, slots=True)
class OracleQuote:
    symbol: str  # "XAU-USD": from-to, Ostium's pair name
    bid: Decimal
    mid: Decimal
    ask: Decimal
    market_open: bool
    day_trading_closed: bool
    time_ms: int


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        return None
    return out if out.is_finite() and out > 0 else None


def parse_latest_prices(body: bytes) -> dict[str, OracleQuote]:
    """Quotes by pair symbol; ValueError when the body is not the feed's shape at all."""
    data = json.loads(body, parse_float=Decimal)
    if not isinstance(data, list):
        raise ValueError("the price feed did not send a list")
    out: dict[str, OracleQuote] = {}
    for entry in data:
        if not isinstance(entry, dict):
            continue
        base, quote = entry.get("from"), entry.get("to")
        bid, mid, ask = (_decimal(entry.get(k)) for k in ("bid", "mid", "ask"))
        stamp = entry.get("timestampSeconds")
        if not (isinstance(base, str) and isinstance(quote, str) and bid and mid and ask):
            continue
        if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp < 0:
            continue
        if not bid <= mid <= ask:
            continue  # a crossed quote is a broken entry, not a price to trade on
        symbol = f"{base.upper()}-{quote.upper()}"
        out[symbol] = OracleQuote(symbol, bid, mid, ask, entry.get("isMarketOpen") is True,
                                  entry.get("isDayTradingClosed") is True, stamp * 1000)
    return out


def fetch_latest_prices(url: str, *, timeout_s: float, max_bytes: int) -> bytes:
    """GET the feed (TLS verified, unlike Ostium's own SDK); bounded in time and size.

    urllib is imported here only: an Ostium price read is the one command that needs a GET.
    """
    import urllib.error
    import urllib.request

    from perpcli.domain.errors import NetworkError

    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "perpcli"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:  # noqa: S310 - http(s) URL from config
            body = answer.read(max_bytes + 1)
    except urllib.error.HTTPError as e:
        raise NetworkError(f"Ostium price feed answered HTTP {e.code}", retryable=e.code >= 500) from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise NetworkError(f"cannot read Ostium's price feed: {reason}") from None
    if len(body) > max_bytes:
        raise NetworkError(f"Ostium's price feed sent more than {max_bytes} bytes", retryable=False)
    return body
