"""The Aster face's refusals: `{"code": -NNNN, "msg": "..."}` with Binance USD-M codes, and the
engine's own error texts (devnet/errors.py) translated to the code the venue would answer."""

from __future__ import annotations

from perpcli.devnet.errors import Errors


class AsterError(Exception):
    """A refusal: answered with HTTP `status` and `{"code", "msg"}`."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict:
        return {"code": self.code, "msg": self.msg}


def _prefix(template: str) -> str:
    return template.split("{", 1)[0]


# Engine text (or its prefix before a placeholder) -> (code, the venue's message).
_ENGINE: tuple[tuple[str, int, str], ...] = (
    (Errors.TICK, -4014, "Price not increased by tick size."),
    (Errors.INVALID_PRICE, -1111, "Precision is over the maximum defined for this asset."),
    (Errors.INVALID_SIZE, -1111, "Precision is over the maximum defined for this asset."),
    (Errors.ZERO_SIZE, -4003, "Quantity less than or equal to zero."),
    (Errors.MIN_VALUE, -4164, "Order's notional must be no smaller than 10 (unless you choose reduce only)."),
    (Errors.MARGIN, -2019, "Margin is insufficient."),
    (Errors.LEVERAGE_MARGIN, -2019, "Margin is insufficient."),
    (Errors.ISOLATED_MARGIN, -4051, "Isolated balance insufficient."),
    (Errors.REDUCE_ONLY, -2022, "ReduceOnly Order is rejected."),
    (_prefix(Errors.ALO_CROSS), -5022, "Due to the order could not be executed as maker, the Post Only order will "
                                        "be rejected. The order will not be recorded in the order history"),
    (Errors.TPSL_PRICE, -2021, "Order would immediately trigger."),
    (Errors.NO_LIQUIDITY, -2020, "Unable to fill."),
    (Errors.PRICE_BAND, -4016, "Limit price can't be higher than the allowed band around the mark price."),
    (Errors.TIER_LIMIT, -2027, "Exceeded the maximum allowable position at current leverage."),
    (Errors.CANCEL_MISSING, -2011, "Unknown order sent."),
    (Errors.LEVERAGE, -4028, "Leverage is not valid"),
    (Errors.DUPLICATE_CLOID, -4116, "ClientOrderId is duplicated."),
    (Errors.TOO_MANY_ORDERS, -2025, "Reach max open order limit."),
    (Errors.CROSS_NOT_ALLOWED, -4048, "Margin type cannot be changed if there exists position."),
    (Errors.SWITCH_WITH_POSITION, -4048, "Margin type cannot be changed if there exists position."),
    (Errors.NO_ISOLATED_POSITION, -4051, "Isolated balance insufficient."),
    (_prefix(Errors.SCHEDULE_VOLUME), -2010, "Countdown cancel needs more traded volume on this devnet."),
    (Errors.SCHEDULE_TOO_EARLY, -1130, "countdownTime must be at least 5000 ms."),
    (Errors.INVALID_ASSET, -1121, "Invalid symbol."),
)


def from_engine(text: str) -> AsterError:
    """The venue's answer for an engine refusal; unknown texts are NEW_ORDER_REJECTED."""
    for prefix, code, msg in _ENGINE:
        if text.startswith(prefix):
            return AsterError(code, msg)
    return AsterError(-2010, text)
