"""HTTP to Aster's REST API (/fapi/v3/...) over perpcli's own HTTP/1.1 client (net/http1.py).

Two kinds of request, two retry policies (the part that moves money):
- public reads (GET, no signature) are idempotent: retried after connection errors, 5xx and
  429 with backoff (429 honours Retry-After);
- signed requests are never retried here. A failure before the request was fully written
  raises NetworkError (nothing executed, exit 5). After it was written (timeout, reset, 503,
  -1006/-1007 "unknown execution status") it raises `SentNoAnswer`: the request may have
  executed, and only the caller, who knows the client order id, can settle it (and burn the
  nonce with POST /fapi/v3/noop so the original can never run later).

Weights: the venue reports the IP's weight used in the last minute in `X-MBX-USED-WEIGHT-1M`
(and the account's orders in `X-MBX-ORDER-COUNT-1M`); `used_weight` keeps the latest, and a
request whose own weight would cross the limit waits for the minute to turn instead of
earning a 429. 418 means the IP is banned for a while: RateLimited, never retried.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from perpcli.domain.errors import NetworkError, OutcomeUnknown, RateLimited, VenueRejected
from perpcli.net.http1 import (
    ConnectFailed,
    Http1Connection,
    Limits,
    ReceiveFailed,
    SendFailed,
    parse_http_url,
)
from perpcli.venues.aster import errors as aster_errors

FORM = "application/x-www-form-urlencoded"
WEIGHT_PER_MINUTE = 2400
# Request weights of the calls the adapter makes (v3 docs); anything else counts 1.
WEIGHTS: dict[str, int] = {
    "/fapi/v3/depth": 10,
    "/fapi/v3/ticker/24hr": 40,
    "/fapi/v3/ticker/bookTicker": 5,
    "/fapi/v3/klines": 5,
    "/fapi/v3/aggTrades": 20,
    "/fapi/v3/batchOrders": 5,
    "/fapi/v3/countdownCancelAll": 10,
    "/fapi/v3/order:GET": 1,
    "/fapi/v3/openOrders": 40,
    "/fapi/v3/positionRisk": 5,
    "/fapi/v3/balance": 5,
    "/fapi/v3/userTrades": 5,
    "/fapi/v3/income": 30,
    "/fapi/v3/leverageBracket": 1,
    "/fapi/v3/registerAndApproveAgent": 50,
}


def weight_of(method: str, path: str) -> int:
    return WEIGHTS.get(f"{path}:{method}", WEIGHTS.get(path, 1))


class SentNoAnswer(OutcomeUnknown):
    """A signed request was written but no usable answer came back: it may have executed."""


class AsterRest:
    """One keep-alive connection to one Aster-protocol server; one exchange at a time."""

    def __init__(
        self,
        url: str,
        *,
        limits: Limits | None = None,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.target = parse_http_url(url)
        self.conn = Http1Connection(self.target.host, self.target.port, tls=self.target.tls, limits=limits)
        self.retries = retries
        self.sleep = sleep
        self.clock = clock
        self.used_weight = 0  # X-MBX-USED-WEIGHT-1M of the last answer
        self.order_count = 0  # X-MBX-ORDER-COUNT-1M of the last answer
        self.weight_limit = WEIGHT_PER_MINUTE
        self._weight_seen_at = 0.0
        self._last_retry_after: str | None = None
        self._lock = threading.Lock()  # the TUI's worker and the caller share the socket

    def close(self) -> None:
        self.conn.close()

    # ----- the two kinds of request ---------------------------------------------------------

    def public(self, path: str, params: Mapping[str, object] | Sequence[tuple[str, object]] = ()) -> Any:
        """GET a public endpoint; retried (idempotent)."""
        from perpcli.venues.aster.signing import query_string

        query = query_string(params)
        target = self.target.path + path + (f"?{query}" if query else "")
        attempt = 0
        while True:
            attempt += 1
            self._pace(weight_of("GET", path))
            try:
                status, body = self._exchange("GET", target, None)
            except (ConnectFailed, SendFailed, ReceiveFailed) as e:
                if attempt > self.retries:
                    raise NetworkError(f"{self.target.host}: {e}") from None
                self.sleep(min(2.0, 0.25 * 2 ** (attempt - 1)))
                continue
            if status == 429 and attempt <= self.retries:
                self.sleep(self._retry_after(default=1.0))
                continue
            if status >= 500 and attempt <= self.retries:
                self.sleep(min(2.0, 0.25 * 2 ** (attempt - 1)))
                continue
            return self._answer(status, body, sent=False)

    def signed(self, method: str, path: str, wire: str) -> Any:
        """Send a signed request (query for GET, form body otherwise) once; never retried."""
        self._pace(weight_of(method, path))
        if method == "GET":
            target, body = f"{self.target.path}{path}?{wire}", None
        else:
            target, body = self.target.path + path, wire.encode()
        try:
            status, data = self._exchange(method, target, body)
        except (ConnectFailed, SendFailed) as e:
            raise NetworkError(f"{self.target.host}: {e}; nothing was sent") from None
        except ReceiveFailed as e:
            raise SentNoAnswer(f"no answer from {self.target.host} after sending ({e}); the request may have "
                               "executed") from None
        return self._answer(status, data, sent=True)

    # ----- plumbing ----------------------------------------------------------------------------

    def _exchange(self, method: str, target: str, body: bytes | None) -> tuple[int, bytes]:
        with self._lock:
            status, data, _ = self.conn.request(method, target, body, content_type=FORM if body is not None else None)
            self._note_headers(self.conn.last_headers)
            return status, data

    def _note_headers(self, headers: Mapping[str, str]) -> None:
        used = headers.get("x-mbx-used-weight-1m")
        if used and used.isdigit():
            self.used_weight = int(used)
            self._weight_seen_at = self.clock()
        orders = headers.get("x-mbx-order-count-1m")
        if orders and orders.isdigit():
            self.order_count = int(orders)
        self._last_retry_after = headers.get("retry-after")

    def _retry_after(self, *, default: float) -> float:
        text = self._last_retry_after
        return float(text) if text and text.isdigit() else default

    def _pace(self, weight: int) -> None:
        """Wait for the venue's minute to turn when this request would cross the weight limit."""
        if self.used_weight + weight <= self.weight_limit:
            return
        waited = self.clock() - self._weight_seen_at
        if waited < 60.0:
            self.sleep(60.0 - waited)
        self.used_weight = 0

    def _answer(self, status: int, body: bytes, *, sent: bool) -> Any:
        text = body.decode("utf-8", "replace")
        if status in (418, 429):
            banned = " (the IP is banned for a while)" if status == 418 else ""
            raise RateLimited(f"{self.target.host} is rate limiting (HTTP {status}){banned}; nothing was executed; "
                              f"retry after {self._retry_after(default=60.0):g}s")
        try:
            answer = json.loads(text, parse_float=Decimal) if text else None
        except ValueError:
            answer = None
            if status == 200 or (sent and status >= 500):
                if sent:
                    raise SentNoAnswer(f"{self.target.host} answered HTTP {status} with non-JSON; the request may "
                                       "have executed") from None
                raise VenueRejected(f"{self.target.host} answered HTTP {status} with non-JSON: {text[:200]}") from None
        refused = aster_errors.refusal(answer)
        if sent and aster_errors.outcome_unknown(status, refused[0] if refused else None):
            raise SentNoAnswer(f"{self.target.host} could not say whether the request executed (HTTP {status}: "
                               f"{text.strip()[:200]})")
        if sent and status >= 500 and refused is None:
            raise SentNoAnswer(f"{self.target.host} failed (HTTP {status}) after the request was sent; it may have "
                               "executed")
        if refused is not None:
            code, msg = refused
            raise VenueRejected(f"{msg} ({code})", kind=aster_errors.kind_of(code))
        if status != 200:
            raise VenueRejected(f"{self.target.host}: HTTP {status}: {text.strip()[:300]}")
        return answer
