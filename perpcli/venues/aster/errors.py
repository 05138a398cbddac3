"""Aster's error codes -> ErrorKind, in one table (pure).

Aster answers a refusal as `{"code": -NNNN, "msg": "..."}` with Binance USD-M codes. The
code decides the kind; the message is shown to people as the venue wrote it. Codes that mean
"the request may or may not have executed" (-1006, -1007, and HTTP 503) are not refusals at
all: `outcome_unknown` says so, and the caller settles by client order id.
"""

from __future__ import annotations

from perpcli.domain.errors import ErrorKind

K = ErrorKind

CODE_KINDS: dict[int, ErrorKind] = {
    -1000: K.OTHER,  # UNKNOWN
    -1001: K.OTHER,  # DISCONNECTED (internal error; retry)
    -1002: K.AUTH,  # UNAUTHORIZED
    -1003: K.RATE_LIMITED,  # TOO_MANY_REQUESTS
    -1015: K.RATE_LIMITED,  # TOO_MANY_ORDERS
    -1021: K.NONCE,  # INVALID_TIMESTAMP: the nonce is outside the server's window
    -1022: K.AUTH,  # INVALID_SIGNATURE
    -1100: K.INVALID_REQUEST,  # ILLEGAL_CHARS
    -1101: K.INVALID_REQUEST,  # TOO_MANY_PARAMETERS
    -1102: K.INVALID_REQUEST,  # MANDATORY_PARAM_EMPTY_OR_MALFORMED
    -1103: K.INVALID_REQUEST,  # UNKNOWN_PARAM
    -1104: K.INVALID_REQUEST,  # UNREAD_PARAMETERS
    -1106: K.INVALID_REQUEST,  # PARAM_NOT_REQUIRED
    -1111: K.INVALID_REQUEST,  # BAD_PRECISION (price or quantity: the code does not say which)
    -1115: K.INVALID_REQUEST,  # INVALID_TIME_IN_FORCE
    -1116: K.INVALID_REQUEST,  # INVALID_ORDER_TYPE
    -1117: K.INVALID_REQUEST,  # INVALID_SIDE
    -1121: K.UNKNOWN_MARKET,  # BAD_SYMBOL
    -1125: K.AUTH,  # INVALID_LISTEN_KEY
    -1130: K.INVALID_REQUEST,  # INVALID_PARAMETER
    -2010: K.OTHER,  # NEW_ORDER_REJECTED (the message says why)
    -2011: K.ORDER_NOT_FOUND,  # CANCEL_REJECTED
    -2013: K.ORDER_NOT_FOUND,  # NO_SUCH_ORDER
    -2014: K.AUTH,  # BAD_API_KEY_FMT
    -2015: K.AUTH,  # REJECTED_MBX_KEY (key, IP or permissions)
    -2018: K.INSUFFICIENT_MARGIN,  # BALANCE_NOT_SUFFICIENT
    -2019: K.INSUFFICIENT_MARGIN,  # MARGIN_NOT_SUFFICIENT
    -2020: K.NO_LIQUIDITY,  # UNABLE_TO_FILL
    -2021: K.INVALID_TRIGGER,  # ORDER_WOULD_IMMEDIATELY_TRIGGER
    -2022: K.REDUCE_ONLY,  # REDUCE_ONLY_REJECT
    -2024: K.INSUFFICIENT_MARGIN,  # POSITION_NOT_SUFFICIENT
    -2025: K.ACCOUNT_LIMIT,  # MAX_OPEN_ORDER_EXCEEDED
    -2026: K.REDUCE_ONLY,  # REDUCE_ONLY_ORDER_TYPE_NOT_SUPPORTED
    -2027: K.MAX_LEVERAGE,  # MAX_LEVERAGE_RATIO: position too large for this leverage
    -2028: K.MAX_LEVERAGE,  # MIN_LEVERAGE_RATIO: leverage too small for the margin
    -4001: K.PRICE_BAND,  # PRICE_LESS_THAN_ZERO
    -4002: K.PRICE_BAND,  # PRICE_GREATER_THAN_MAX_PRICE
    -4003: K.SIZE_LOT,  # QTY_LESS_THAN_ZERO
    -4004: K.SIZE_LOT,  # QTY_LESS_THAN_MIN_QTY
    -4005: K.SIZE_LOT,  # QTY_GREATER_THAN_MAX_QTY
    -4014: K.PRICE_TICK,  # PRICE_NOT_INCREASED_BY_TICK_SIZE
    -4015: K.INVALID_REQUEST,  # INVALID_CL_ORD_ID_LEN
    -4016: K.PRICE_BAND,  # PRICE_HIGHTER_THAN_MULTIPLIER_UP
    -4023: K.SIZE_LOT,  # QTY_NOT_INCREASED_BY_STEP_SIZE
    -4024: K.PRICE_BAND,  # PRICE_LOWER_THAN_MULTIPLIER_DOWN
    -4028: K.MAX_LEVERAGE,  # INVALID_LEVERAGE
    -4046: K.MARGIN_MODE,  # NO_NEED_TO_CHANGE_MARGIN_TYPE
    -4047: K.MARGIN_MODE,  # THERE_EXISTS_OPEN_ORDERS (cannot change margin type)
    -4048: K.MARGIN_MODE,  # THERE_EXISTS_QUANTITY (cannot change margin type)
    -4051: K.INSUFFICIENT_MARGIN,  # ISOLATED_BALANCE_INSUFFICIENT
    -4061: K.INVALID_REQUEST,  # POSITION_SIDE_NOT_MATCH
    -4131: K.PRICE_BAND,  # MARKET_ORDER_REJECT (counterparty best price outside the limit)
    -4164: K.MIN_NOTIONAL,  # MIN_NOTIONAL
    -4225: K.NONCE,  # Nonce expired (below the kept window, or a duplicate)
    -5022: K.POST_ONLY_WOULD_CROSS,  # GTX order would be rejected (would take)
}

# "Unknown execution status": the request may have executed. Not a refusal.
UNKNOWN_OUTCOME_CODES = frozenset({-1006, -1007})


def kind_of(code: object) -> ErrorKind:
    """The kind of an Aster error code (OTHER when the table does not know it)."""
    if isinstance(code, bool) or not isinstance(code, int):
        return K.OTHER
    return CODE_KINDS.get(code, K.OTHER)


def outcome_unknown(status: int, code: object = None) -> bool:
    """True when an answer says nothing about whether the request executed (503, -1006/-1007)."""
    return status == 503 or (isinstance(code, int) and code in UNKNOWN_OUTCOME_CODES)


def refusal(answer: object) -> tuple[int, str] | None:
    """(code, msg) when a JSON answer is an Aster error object, else None.

    Success answers of some endpoints are `{"code": 200, "msg": "success"}`: not a refusal.
    """
    if isinstance(answer, dict):
        code = answer.get("code")
        if isinstance(code, int) and not isinstance(code, bool) and code < 0:
            return code, str(answer.get("msg", ""))
    return None
