"""HTTP to Hyperliquid's two endpoints, /info and /exchange, with the standard library only.

WHY not requests/httpx (or even http.client): `perp buy` is a short-lived process and its cold
start is most of its latency; perpcli/net/http1.py is a small client over the socket module,
and one keep-alive connection serves every request of the process. It bounds every request
(deadline, body size): see its docstring.

Retry policy, the part that moves money:
- /info reads are idempotent: retried after connection errors, 429 and 5xx, with backoff.
- /exchange is never retried here. A failure before the request was fully written raises
  NetworkError (nothing executed; exit 5). A failure after it was written (deadline, reset,
  5xx from a gateway, an answer that is not a JSON object: HTML, garbage, nesting past the
  interpreter's limit) raises `SentNoAnswer`: the action may have executed, and only the
  caller, who knows the client order id, can settle it.
- A client-side token bucket spends the venue's per-IP weights (1200 per minute) so a busy
  script backs off before the venue answers 429.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from perpcli.domain.errors import NetworkError, OutcomeUnknown, RateLimited, VenueRejected
from perpcli.net.http1 import ConnectFailed, Http1Connection, Limits, ReceiveFailed, SendFailed, TlsFailed
from perpcli.venues.hyperliquid.endpoints import Endpoint

# Request weights per /info type (docs §d.6); everything else weighs 20.
INFO_WEIGHTS: dict[str, int] = {
    "l2Book": 2,
    "allMids": 2,
    "clearinghouseState": 2,
    "orderStatus": 2,
    "spotClearinghouseState": 2,
    "exchangeStatus": 2,
    "userRole": 60,
}
DEFAULT_INFO_WEIGHT = 20
WEIGHT_PER_MINUTE = 1200


def info_weight(payload: dict) -> int:
    return INFO_WEIGHTS.get(str(payload.get("type")), DEFAULT_INFO_WEIGHT)


def exchange_weight(action: dict) -> int:
    """1 + floor(n / 40) where n is the number of orders or cancels in the batch."""
    n = 0
    for key in ("orders", "cancels", "modifies"):
        items = action.get(key)
        if isinstance(items, list):
            n = len(items)
    return 1 + n // 40


class SentNoAnswer(OutcomeUnknown):
    """The request was written to the socket but no usable answer came back."""


class TokenBucket:
    """Weight budget refilled continuously; `acquire` sleeps when the budget is spent."""

    def __init__(
        self,
        capacity: int = WEIGHT_PER_MINUTE,
        per_second: float = WEIGHT_PER_MINUTE / 60,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.capacity = float(capacity)
        self.per_second = per_second
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(capacity)
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.per_second)
        self._stamp = now

    def acquire(self, weight: int) -> float:
        """Take `weight` tokens, sleeping as needed; returns the seconds slept."""
        weight = min(float(weight), self.capacity)
        slept = 0.0
        self._refill()
        while self._tokens < weight:
            wait = (weight - self._tokens) / self.per_second
            self._sleep(wait)
            slept += wait
            self._refill()
        self._tokens -= weight
        return slept

    @property
    def available(self) -> float:
        self._refill()
        return self._tokens


class RestClient:
    """One keep-alive connection to one Hyperliquid-protocol server.

    Every call is bounded by `limits` (net/http1.py): an /info read, retries included, ends
    within `request_timeout_s`; an /exchange POST too, and after that it is an unknown outcome.
    """

    # A keep-alive socket idle longer than this is replaced before an /exchange POST, so a
    # server-side idle close cannot turn an order into an unknown outcome.
    EXCHANGE_MAX_IDLE_S = 2.0

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        limits: Limits | None = None,
        info_retries: int = 3,
        bucket: TokenBucket | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint
        self.limits = limits or Limits()
        self.info_retries = info_retries
        self.bucket = bucket or TokenBucket(sleep=sleep, clock=clock)
        self._sleep = sleep
        self._clock = clock
        self._conn: Http1Connection | None = None
        # One request-response at a time on the shared keep-alive socket: the TUI's workers and
        # the app call from several threads, and interleaved exchanges would swap answers.
        self._lock = threading.Lock()
        self._last_used = 0.0
        self.requests_sent = 0  # for tests and --debug

    def _deadline(self) -> float:
        # Real time, not the injectable clock: it bounds real sockets.
        return time.monotonic() + self.limits.request_timeout_s

    # ----- connection -------------------------------------------------------------------

    def _connection(self, *, fresh: bool, deadline: float) -> Http1Connection:
        if self._conn is not None and fresh:
            self._conn.close()
            self._conn = None
        if self._conn is None:
            ep = self.endpoint
            conn = Http1Connection(ep.host, ep.port, tls=ep.tls, limits=self.limits)
            try:
                conn.connect(deadline)
            except TlsFailed as e:  # the same URL will fail the same way: not worth a retry
                raise NetworkError(f"cannot connect to {self.endpoint.url}: {_reason(e)}", retryable=False) from None
            except ConnectFailed as e:
                if e.refused and _is_loopback(ep.host):
                    # Nothing listens on this machine's port: waiting and retrying cannot help.
                    raise NetworkError(f"cannot connect to {self.endpoint.url}: connection refused "
                                       "(is `perp devnet` running?)", retryable=False) from None
                raise NetworkError(f"cannot connect to {self.endpoint.url}: {_reason(e)}") from None
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _post(self, path: str, body: bytes, *, fresh: bool, deadline: float) -> tuple[int, bytes]:
        """Send one POST; NetworkError if it could not be written, SentNoAnswer after."""
        with self._lock:
            conn = self._connection(fresh=fresh, deadline=deadline)
            try:
                status, data, will_close = conn.post(self.endpoint.path_prefix + path, body, deadline=deadline)
            except SendFailed as e:
                self.close()
                raise NetworkError(f"could not send to {self.endpoint.url}: {_reason(e)}") from None
            except ReceiveFailed as e:
                self.requests_sent += 1
                self.close()
                raise SentNoAnswer(f"no answer from {self.endpoint.url}{path}: {_reason(e)}") from None
            self.requests_sent += 1
            self._last_used = self._clock()
            if will_close:
                self.close()
            return status, data

    # ----- /info ------------------------------------------------------------------------

    def info(self, payload: dict) -> Any:
        """POST /info; retried on transient failures (reads are safe to repeat) until the
        request deadline. A malformed answer is a NetworkError too (exit 5): nothing changed."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        attempt = 0
        deadline: float | None = None
        while True:
            self.bucket.acquire(info_weight(payload))
            deadline = deadline or self._deadline()  # the budget starts once the bucket lets us go
            try:
                status, data = self._post("/info", body, fresh=False, deadline=deadline)
                if status == 200:
                    try:
                        return _loads(data)
                    except MalformedJson as e:
                        raise NetworkError(
                            f"malformed answer from {self.endpoint.url}/info ({payload.get('type')}): {e}",
                            retryable=False,
                        ) from None
                if status == 429:
                    raise RateLimited(f"rate limited by {self.endpoint.url} (HTTP 429)")
                if status >= 500:
                    raise NetworkError(f"{self.endpoint.url} answered HTTP {status}")
                raise VenueRejected(f"/info {payload.get('type')}: HTTP {status}: {_text(data)}")
            except (NetworkError, SentNoAnswer) as e:
                attempt += 1
                pause = min(4.0, 0.2 * 2 ** (attempt - 1)) * (5 if isinstance(e, RateLimited) else 1)
                retryable = e.retryable or isinstance(e, SentNoAnswer)  # a read that got lost
                if not retryable or attempt > self.info_retries or time.monotonic() + pause >= deadline:
                    if isinstance(e, SentNoAnswer):
                        raise NetworkError(e.message) from None
                    raise
                self._sleep(pause)

    # ----- /exchange --------------------------------------------------------------------

    def exchange(self, envelope: dict) -> dict:
        """POST /exchange exactly once. Never retried: see the module docstring."""
        body = json.dumps(envelope, separators=(",", ":")).encode()
        return self.exchange_raw(body, weight=exchange_weight(envelope.get("action", {})))

    def exchange_raw(self, body: bytes, *, weight: int = 1) -> dict:
        """The answer as a JSON object; anything else after the request left (no answer, a
        5xx, HTML, garbage, JSON nested past reason, not an object) is SentNoAnswer."""
        self.bucket.acquire(weight)
        idle = self._clock() - self._last_used
        status, data = self._post("/exchange", body, fresh=idle > self.EXCHANGE_MAX_IDLE_S, deadline=self._deadline())
        if status == 200:
            try:
                out = _loads(data)
            except MalformedJson as e:
                raise SentNoAnswer(f"malformed /exchange answer ({e}); the action may or may not have executed") from None
            if not isinstance(out, dict):
                raise SentNoAnswer(f"unexpected /exchange answer: {_text(data)}")
            return out
        if status == 429:
            # The venue refused before executing: nothing happened, safe to try later.
            raise RateLimited(f"rate limited by {self.endpoint.url} (HTTP 429); nothing was executed")
        if 400 <= status < 500:
            raise VenueRejected(f"/exchange refused the request: HTTP {status}: {_text(data)}")
        raise SentNoAnswer(f"/exchange answered HTTP {status}; the action may or may not have executed")


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


class MalformedJson(ValueError):
    """An answer body that is not JSON we can read (HTML, garbage, nesting past the limit)."""


def _loads(data: bytes) -> Any:
    try:
        return json.loads(data, parse_float=Decimal)
    # RecursionError: `[[[[...` nested past the interpreter's limit (json's C scanner checks
    # it); UnicodeDecodeError is a ValueError.
    except (ValueError, RecursionError) as e:
        raise MalformedJson(f"not JSON ({_reason(e)[:80]}): {_text(data)[:120]}") from None


def _text(data: bytes) -> str:
    return " ".join(data.decode("utf-8", "replace").split())[:300]


def _reason(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return " ".join(text.split())
