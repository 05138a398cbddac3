"""One error tree for the whole program.

Every error knows its exit code (the CLI's contract) and whether retrying the same request
could succeed. Messages are one line, meant for a person, and must never contain key material.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ExitCode(IntEnum):
    """The exit-code contract, defined once. Scripts branch on these numbers; never reuse one."""

    OK = 0
    INTERNAL = 1  # a bug in perpcli
    USAGE = 2  # usage error or bad input; nothing was sent
    REJECTED = 3  # the venue answered and refused
    AUTH = 4  # key, passphrase or account problem
    NETWORK = 5  # network failure before anything was sent
    UNKNOWN_OUTCOME = 6  # a request left but its outcome is still unknown
    RISK = 7  # refused by a local risk guard; nothing was sent
    INTERRUPTED = 130  # Ctrl-C


class ErrorKind(StrEnum):
    """Why a venue refused something, in words every venue shares (`error_kind` in --json).

    Each venue adapter maps its own messages onto these in one table; scripts branch on the
    kind and show the venue's message (`error`) to people. OTHER means the adapter could not
    classify the message: the venue's words are then the only information.
    """

    INSUFFICIENT_MARGIN = "insufficient_margin"
    PRICE_TICK = "price_tick"
    SIZE_LOT = "size_lot"
    MIN_NOTIONAL = "min_notional"
    REDUCE_ONLY = "reduce_only"
    POST_ONLY_WOULD_CROSS = "post_only_would_cross"
    NO_LIQUIDITY = "no_liquidity"
    PRICE_BAND = "price_band"
    MAX_LEVERAGE = "max_leverage"
    POSITION_LIMIT = "position_limit"
    RATE_LIMITED = "rate_limited"
    NONCE = "nonce"
    DUPLICATE_CLIENT_ID = "duplicate_client_id"
    ORDER_NOT_FOUND = "order_not_found"
    UNKNOWN_MARKET = "unknown_market"
    MARKET_CLOSED = "market_closed"
    AUTH = "auth"
    OTHER = "other"


class PerpError(Exception):
    """Base of every error perpcli raises on purpose."""

    exit_code: ExitCode = ExitCode.INTERNAL
    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        return self.message


class UsageError(PerpError):
    """Bad input from the user: a flag, a value, a file. Nothing was sent."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """A bad config file or value; the message names the file, key and what was expected."""


class ValidationError(UsageError):
    """An order or action broke a market rule (tick, lot, sig figs, min notional...).

    `rule` names the rule and `nearest` holds the nearest valid value, when there is one.
    """

    def __init__(self, message: str, *, rule: str = "", nearest: object = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.nearest = nearest


class AuthError(PerpError):
    """A key, passphrase, keystore or account problem."""

    exit_code = ExitCode.AUTH


class VenueRejected(PerpError):
    """The venue answered and refused the request."""

    exit_code = ExitCode.REJECTED


class NetworkError(PerpError):
    """The network failed before the request was sent: safe to retry."""

    exit_code = ExitCode.NETWORK
    retryable = True


class RateLimited(NetworkError):
    """The venue said 429: back off, then retry."""


class OutcomeUnknown(PerpError):
    """The request left but no answer came; the caller must settle it by client order id."""

    exit_code = ExitCode.UNKNOWN_OUTCOME


class RiskRefused(PerpError):
    """A local pre-trade guard refused the order; nothing was sent."""

    exit_code = ExitCode.RISK

    def __init__(self, message: str, *, guard: str = "") -> None:
        super().__init__(message)
        self.guard = guard
