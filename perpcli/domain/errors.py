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
    INVALID_TRIGGER = "invalid_trigger"  # "Invalid TP/SL price." / Binance-style "would immediately trigger"
    MARGIN_MODE = "margin_mode"  # cross not allowed, cannot switch with a position open, no isolated position
    ACCOUNT_LIMIT = "account_limit"  # too many open orders / agents / daily triggers; volume needed first
    INVALID_REQUEST = "invalid_request"  # the venue found the request malformed (empty batch, bad amount...)
    OTHER = "other"


# ValidationError rules (local refusals, exit 2) that are the same market rule a venue refuses
# (exit 3), so a script sees one `error_kind` either way. Spelled with "-"; "_" is read as "-".
# Rules about the shape of the input (a negative size, a malformed cloid) have no kind.
RULE_KINDS: dict[str, ErrorKind] = {
    "price-sig-figs": ErrorKind.PRICE_TICK,
    "price-decimals": ErrorKind.PRICE_TICK,
    "price-min-tick": ErrorKind.PRICE_TICK,
    "tick-size": ErrorKind.PRICE_TICK,
    "price-tick": ErrorKind.PRICE_TICK,
    "size-lot": ErrorKind.SIZE_LOT,
    "size-decimals": ErrorKind.SIZE_LOT,
    "size-zero": ErrorKind.SIZE_LOT,
    "lot-size": ErrorKind.SIZE_LOT,
    "min-notional": ErrorKind.MIN_NOTIONAL,
    "max-leverage": ErrorKind.MAX_LEVERAGE,
    "leverage": ErrorKind.MAX_LEVERAGE,
    "only-isolated": ErrorKind.MARGIN_MODE,
    "price-band": ErrorKind.PRICE_BAND,
    "reduce-only": ErrorKind.REDUCE_ONLY,
    "free-collateral": ErrorKind.INSUFFICIENT_MARGIN,
    "equity": ErrorKind.INSUFFICIENT_MARGIN,
    "order-not-found": ErrorKind.ORDER_NOT_FOUND,
    "unknown-market": ErrorKind.UNKNOWN_MARKET,
    "market-closed": ErrorKind.MARKET_CLOSED,
}


def rule_kind(rule: str) -> ErrorKind | None:
    """The ErrorKind of a local ValidationError rule, or None for rules about input shape."""
    return RULE_KINDS.get(rule.replace("_", "-"))


class PerpError(Exception):
    """Base of every error perpcli raises on purpose."""

    exit_code: ExitCode = ExitCode.INTERNAL
    retryable: bool = False
    error_kind: ErrorKind | None = None  # set when the failure is one a venue could also report

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
        self.error_kind = rule_kind(rule)


class AuthError(PerpError):
    """A key, passphrase, keystore or account problem."""

    exit_code = ExitCode.AUTH
    error_kind = ErrorKind.AUTH


class VenueRejected(PerpError):
    """The venue answered and refused the request; `kind` is the adapter's class of its words."""

    exit_code = ExitCode.REJECTED
    error_kind = ErrorKind.OTHER

    def __init__(self, message: str, *, retryable: bool | None = None, kind: ErrorKind | None = None) -> None:
        super().__init__(message, retryable=retryable)
        if kind is not None:
            self.error_kind = kind


class NetworkError(PerpError):
    """The network failed before the request was sent: safe to retry."""

    exit_code = ExitCode.NETWORK
    retryable = True


class RateLimited(NetworkError):
    """The venue said 429: back off, then retry."""

    error_kind = ErrorKind.RATE_LIMITED


class OutcomeUnknown(PerpError):
    """The request left but no answer came; the caller must settle it by client order id."""

    exit_code = ExitCode.UNKNOWN_OUTCOME


class RiskRefused(PerpError):
    """A local pre-trade guard refused the order; nothing was sent."""

    exit_code = ExitCode.RISK

    def __init__(self, message: str, *, guard: str = "") -> None:
        super().__init__(message)
        self.guard = guard
