"""Ostium's refusals in the venue-neutral ErrorKind vocabulary.

A refusal reaches perpcli three ways: a custom error in revert data (eth_estimateGas, eth_call,
or the replay of a reverted transaction), a require string (Circle's USDC: "ERC20: transfer
amount exceeds allowance"), or the node refusing the transaction itself ("nonce too low",
"insufficient funds for gas"). Each is mapped in one table here; an unmapped error keeps its
name in the message and is OTHER.
"""

from __future__ import annotations

from perpcli.domain.errors import ErrorKind
from perpcli.venues.ostium.abi import DecodedRevert

K = ErrorKind

CUSTOM_ERRORS: dict[str, ErrorKind] = {
    "WrongLeverage": K.MAX_LEVERAGE,
    "WrongTP": K.INVALID_TRIGGER,
    "WrongSL": K.INVALID_TRIGGER,
    "BelowMinLevPos": K.MIN_NOTIONAL,
    "BelowFees": K.INSUFFICIENT_MARGIN,
    "ExposureLimits": K.POSITION_LIMIT,
    "AboveMaxAllowedCollateral": K.POSITION_LIMIT,
    "MaxTradesPerPairReached": K.ACCOUNT_LIMIT,
    "MaxPendingMarketOrdersReached": K.ACCOUNT_LIMIT,
    "PairNotListed": K.UNKNOWN_MARKET,
    "IsPaused": K.MARKET_CLOSED,
    "IsDone": K.MARKET_CLOSED,
    "NoTradeFound": K.ORDER_NOT_FOUND,
    "NoLimitFound": K.ORDER_NOT_FOUND,
    "NoOpenLimitOrder": K.ORDER_NOT_FOUND,
    "NoTradeToTimeoutFound": K.ORDER_NOT_FOUND,
    "NotYourOrder": K.ORDER_NOT_FOUND,
    "NotOpenMarketTimeoutOrder": K.INVALID_REQUEST,
    "NotCloseMarketTimeoutOrder": K.INVALID_REQUEST,
    "WaitTimeout": K.INVALID_REQUEST,  # a timeout call before marketOrdersTimeout has passed
    "TriggerPending": K.INVALID_REQUEST,
    "AlreadyMarketClosed": K.INVALID_REQUEST,
    "WrongParams": K.INVALID_REQUEST,
    "InvalidCallData": K.INVALID_REQUEST,
    "NullAddr": K.INVALID_REQUEST,
    "NotDelegate": K.AUTH,
    "NoDelegate": K.AUTH,
    "DelegateForbidden": K.AUTH,
    "DelegatedActionFailed": K.AUTH,
    "IsContract": K.AUTH,
    "InvalidSignature": K.AUTH,
    "SignatureExpired": K.AUTH,
    "InvalidNonce": K.NONCE,
    "SafeERC20FailedOperation": K.INSUFFICIENT_MARGIN,  # the USDC pull failed: allowance or balance
}

# Require strings (Error(string)) and node refusals, matched as lower-case substrings.
MESSAGES: tuple[tuple[str, ErrorKind], ...] = (
    ("exceeds allowance", K.INSUFFICIENT_MARGIN),
    ("exceeds balance", K.INSUFFICIENT_MARGIN),
    ("insufficient funds", K.INSUFFICIENT_MARGIN),
    ("nonce too low", K.NONCE),
    ("nonce too high", K.NONCE),
    ("already known", K.NONCE),
    ("replacement transaction underpriced", K.NONCE),
    ("rate limit", K.RATE_LIMITED),
    ("too many requests", K.RATE_LIMITED),
)

# What a person should read besides the contract's terse name.
EXPLANATIONS: dict[str, str] = {
    "WrongLeverage": "leverage outside the pair's allowed range",
    "WrongTP": "take-profit on the wrong side of the price, or too far",
    "WrongSL": "stop-loss on the wrong side of the price, or too far",
    "BelowMinLevPos": "position (collateral x leverage) below the pair's minimum",
    "ExposureLimits": "the pair's open-interest limit would be exceeded",
    "MaxTradesPerPairReached": "too many open trades on this pair",
    "MaxPendingMarketOrdersReached": "too many market orders awaiting the keeper",
    "PairNotListed": "no such pair",
    "IsPaused": "trading is paused",
    "NoTradeFound": "no open trade at that pair and index",
    "WaitTimeout": "the order's timeout has not passed yet",
    "DelegatedActionFailed": "the delegated call failed (Trade.trader must be the trader, not the delegate)",
}


def kind_of_revert(revert: DecodedRevert) -> ErrorKind:
    if revert.name in CUSTOM_ERRORS:
        return CUSTOM_ERRORS[revert.name]
    if revert.name == "Error" and revert.args:
        return kind_of_message(str(revert.args[0]))
    return K.OTHER


def kind_of_message(message: str) -> ErrorKind:
    low = message.lower()
    for needle, kind in MESSAGES:
        if needle in low:
            return kind
    return K.OTHER


def describe_revert(revert: DecodedRevert) -> str:
    """"WrongLeverage(20000): leverage outside the pair's allowed range"."""
    text = revert.describe()
    why = EXPLANATIONS.get(revert.name)
    return f"{text}: {why}" if why else text
