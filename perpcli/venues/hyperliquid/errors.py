"""Hyperliquid's refusal messages -> ErrorKind: the one place that reads the venue's words.

The venue refuses with free text (protocol notes §a.2.2): per order, per cancel, or for a whole
action. Texts vary in small ways (an `L1 error: ` prefix, a trailing ` asset=<id>`, numbers and
addresses inside), so each pattern is a lowercase substring, and the first pattern that occurs
in the message wins; order matters only where one text contains another's pattern. Anything no
pattern matches is OTHER, and the venue's own words still reach the user beside the kind.

orderStatus answers and order updates say why an order ended with a status *word*
(`perpMarginRejected`, `reduceOnlyCanceled`...): `status_kind` maps those exactly.

Pure: no I/O. Callers elsewhere branch on the kind, never on the text.
"""

from __future__ import annotations

from perpcli.domain.errors import ErrorKind as K

# (pattern, kind): a lowercase substring of the venue's message. First match wins.
PATTERNS: tuple[tuple[str, K], ...] = (
    # who signed, and may they: unknown signer, wrong network, missing approval
    ("user or api wallet", K.AUTH),  # "User or API Wallet 0x… does not exist."
    ("must deposit before performing actions", K.AUTH),
    ("invalid signature", K.AUTH),
    ("invalid hyperliquidchain", K.AUTH),  # user-signed action signed for the other network
    ("vault may not perform this action", K.AUTH),
    ("builder fee has not been approved", K.AUTH),
    # the request's nonce or time window
    ("invalid nonce", K.NONCE),  # duplicate / too old / too far ahead / action-vs-envelope mismatch
    ("action expired", K.NONCE),  # expiresAfter passed: sign again
    # request rate
    ("too many cumulative requests", K.RATE_LIMITED),
    ("too many requests", K.RATE_LIMITED),  # "429 Too Many Requests" (websocket post)
    ("too many pending post requests", K.RATE_LIMITED),
    # price and trigger rules
    ("invalid tp/sl price", K.INVALID_TRIGGER),
    ("tp/sl orders must be", K.INVALID_TRIGGER),  # "... trigger orders." / "... reduce only."
    ("divisible by tick size", K.PRICE_TICK),  # significant figures
    ("invalid price", K.PRICE_TICK),  # too many decimals
    ("away from the reference price", K.PRICE_BAND),
    ("too far from oracle", K.PRICE_BAND),
    # size and value
    ("invalid size", K.SIZE_LOT),
    ("zero size", K.SIZE_LOT),
    ("minimum value of", K.MIN_NOTIONAL),  # "$10." perps, "10 {QUOTE}." spot
    ("order value too small", K.MIN_NOTIONAL),  # TWAP
    # margin and balances
    ("insufficient margin", K.INSUFFICIENT_MARGIN),
    ("insufficient balance", K.INSUFFICIENT_MARGIN),  # withdrawal, token transfer
    ("insufficient spot balance", K.INSUFFICIENT_MARGIN),
    ("reduce only order would increase position", K.REDUCE_ONLY),
    ("post only order would have immediately matched", K.POST_ONLY_WOULD_CROSS),
    ("could not immediately match", K.NO_LIQUIDITY),  # IOC with nothing to take at its price
    ("no liquidity available", K.NO_LIQUIDITY),
    ("open interest", K.POSITION_LIMIT),  # the open-interest cap messages
    ("margin tier limit", K.POSITION_LIMIT),
    ("invalid leverage", K.MAX_LEVERAGE),
    ("cross margin is not allowed", K.MARGIN_MODE),
    ("switch leverage type", K.MARGIN_MODE),
    ("no isolated position", K.MARGIN_MODE),
    # ids and markets
    ("never placed, already canceled, or filled", K.ORDER_NOT_FOUND),  # orders and TWAPs
    ("duplicate cloid", K.DUPLICATE_CLIENT_ID),
    ("invalid asset", K.UNKNOWN_MARKET),
    ("unknown dex", K.UNKNOWN_MARKET),
    # account quotas and eligibility
    ("too many open orders", K.ACCOUNT_LIMIT),
    ("too many named agents", K.ACCOUNT_LIMIT),
    ("too many scheduled cancel", K.ACCOUNT_LIMIT),
    ("too many builder fee approvals", K.ACCOUNT_LIMIT),
    ("until enough volume traded", K.ACCOUNT_LIMIT),  # dead man's switch needs $1M traded
    # malformed requests: a client bug or bad input, not worth retrying as is
    ("failed to deserialize", K.INVALID_REQUEST),  # HTTP 422
    ("scheduled cancel time too early", K.INVALID_REQUEST),
    ("empty batch", K.INVALID_REQUEST),
    ("order list is empty", K.INVALID_REQUEST),
    ("invalid amount", K.INVALID_REQUEST),
    ("invalid twap duration", K.INVALID_REQUEST),
    ("expiresafter", K.INVALID_REQUEST),  # not allowed on user-signed actions / malformed
    ("max fee rate", K.INVALID_REQUEST),
    ("agent address cannot be the user address", K.INVALID_REQUEST),
)

# Status words (orderStatus, orderUpdates) that end an order because of a rule. Words for an
# order that simply ended (canceled, selfTradeCanceled, siblingFilledCanceled...) have no kind.
STATUS_KINDS: dict[str, K] = {
    "tickRejected": K.PRICE_TICK,
    "minTradeNtlRejected": K.MIN_NOTIONAL,
    "perpMarginRejected": K.INSUFFICIENT_MARGIN,
    "marginCanceled": K.INSUFFICIENT_MARGIN,
    "insufficientSpotBalanceRejected": K.INSUFFICIENT_MARGIN,
    "reduceOnlyRejected": K.REDUCE_ONLY,
    "reduceOnlyCanceled": K.REDUCE_ONLY,
    "badAloPxRejected": K.POST_ONLY_WOULD_CROSS,
    "iocCancelRejected": K.NO_LIQUIDITY,
    "marketOrderNoLiquidityRejected": K.NO_LIQUIDITY,
    "badTriggerPxRejected": K.INVALID_TRIGGER,
    "oracleRejected": K.PRICE_BAND,
    "positionIncreaseAtOpenInterestCapRejected": K.POSITION_LIMIT,
    "positionFlipAtOpenInterestCapRejected": K.POSITION_LIMIT,
    "tooAggressiveAtOpenInterestCapRejected": K.POSITION_LIMIT,
    "openInterestIncreaseRejected": K.POSITION_LIMIT,
    "openInterestCapCanceled": K.POSITION_LIMIT,
    "perpMaxPositionRejected": K.POSITION_LIMIT,
    "tooManyOpenOrdersRejected": K.ACCOUNT_LIMIT,
    "delistedCanceled": K.MARKET_CLOSED,
}


def error_kind(message: str | None) -> K | None:
    """The kind of one venue refusal; None when there is no message (nothing was refused)."""
    if message is None:
        return None
    text = message.lower()
    for pattern, kind in PATTERNS:
        if pattern in text:
            return kind
    return K.OTHER


def status_kind(word: str) -> K | None:
    """The kind behind an order status word; OTHER for an unlisted `…Rejected`, None otherwise."""
    kind = STATUS_KINDS.get(word)
    if kind is None and (word == "rejected" or word.endswith("Rejected")):
        return K.OTHER
    return kind


def is_unknown_signer(message: str) -> bool:
    """The venue does not know the key it recovered from the signature (it names that address):
    the key is not registered, or the request was signed for another network."""
    text = message.lower()
    return "does not exist" in text or "must deposit before performing actions" in text


def is_nonce_refusal(message: str) -> bool:
    """The venue refused the request's nonce (already used, or outside its time window)."""
    return error_kind(message) is K.NONCE
