"""JSON for the Trading seam calls `perp watch` hands to the session agent (session/trade_ops.py).

The values that cross are few and all plain data: order intents, cancel targets, the signed
`Prepared` request, and what the venue answered (Ack, CancelResult, ActionResult), plus a
PerpError raised on the agent's side. Where the venue signs its account reads (Aster), what
the watch reads crosses too: the account snapshot (balances, positions, open orders), the
positions, the leverage setting and the fee rates. On a collateral venue (Ostium) the watch hands over
a whole open (the CollateralOrder and the RiskLimits it is held to) or close/flatten/cancel-all and gets
back what each open, cancel and close did. Each is written out explicitly: Decimal as its string,
an enum by class name and value, a dataclass by class name and fields, and only the classes
named below are rebuilt on reading (anything else is refused). JSON rather than pickle, so a
reply can never make the reader run code, whoever wrote it.

A dataclass of a subclass crosses as the nearest class named here (app/actions.py's
OpenOrderTarget as the CancelTarget the venue is given); the caller keeps its own object.
"""

from __future__ import annotations

import dataclasses
import enum
from decimal import Decimal
from typing import Any

from perpcli.app.actions import CancelOutcome
from perpcli.app.collateral import TradeResult
from perpcli.app.risk import RiskLimits
from perpcli.domain import errors
from perpcli.domain.errors import ErrorKind, PerpError
from perpcli.domain.events import AccountSnapshot, Balance, PositionSnapshot
from perpcli.domain.instrument import MarginMode
from perpcli.domain.orders import Order, OrderIntent, OrderStatus, OrderType, Side, TimeInForce
from perpcli.ledger.fees import FeeRates
from perpcli.venues.base import (
    Ack,
    AckStatus,
    ActionResult,
    CancelResult,
    CancelTarget,
    CollateralOrder,
    LeverageSetting,
    Positions,
    Prepared,
    TradingOptions,
)

_CLASSES = {c.__name__: c for c in (OrderIntent, CancelTarget, Prepared, Ack, CancelResult, ActionResult,
                                    TradingOptions,
                                    # the account reads (venues that sign them)
                                    AccountSnapshot, Balance, PositionSnapshot, Order, Positions,
                                    LeverageSetting, FeeRates,
                                    # what a collateral venue's flatten did (Ostium: trade_ops.COLLATERAL)
                                    CancelOutcome, TradeResult,
                                    # a collateral venue's open, and the guards it is held to
                                    CollateralOrder, RiskLimits)}
_ENUMS = {c.__name__: c for c in (Side, OrderType, TimeInForce, AckStatus, ErrorKind, MarginMode, OrderStatus)}
_ERRORS = {c.__name__: c for c in vars(errors).values()
           if isinstance(c, type) and issubclass(c, PerpError)}


def encode(value: Any) -> Any:
    """A JSON-ready form of `value`; TypeError for anything outside the seam's vocabulary."""
    if isinstance(value, enum.Enum):  # first: a StrEnum is a str too
        name = type(value).__name__
        if _ENUMS.get(name) is not type(value):
            raise TypeError(f"enum {name} does not cross the session seam")
        return {"$E": name, "v": value.value}
    if value is None or isinstance(value, bool | int | float | str):
        return value  # a float only in a venue's own answer text (Ack.detail): never money here
    if isinstance(value, Decimal):
        return {"$D": str(value)}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {"$T": [encode(v) for v in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("only string keys cross the session seam")
        return {"$M": {k: encode(v) for k, v in value.items()}}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = next((c for c in type(value).__mro__ if _CLASSES.get(c.__name__) is c), None)
        if cls is None:
            raise TypeError(f"{type(value).__name__} does not cross the session seam")
        return {"$C": cls.__name__, "f": {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(cls)}}
    raise TypeError(f"{type(value).__name__} does not cross the session seam")


def decode(doc: Any) -> Any:
    """The value `encode` wrote; ValueError for anything it would not have written."""
    if doc is None or isinstance(doc, bool | int | float | str):
        return doc
    if isinstance(doc, list):
        return [decode(v) for v in doc]
    if not isinstance(doc, dict) or len(doc) not in (1, 2):
        raise ValueError("not a session seam value")
    if "$D" in doc:
        return Decimal(str(doc["$D"]))
    if "$T" in doc:
        return tuple(decode(v) for v in _list(doc["$T"]))
    if "$M" in doc:
        inner = doc["$M"]
        if not isinstance(inner, dict):
            raise ValueError("not a session seam mapping")
        return {str(k): decode(v) for k, v in inner.items()}
    if "$E" in doc:
        cls = _ENUMS.get(str(doc["$E"]))
        if cls is None:
            raise ValueError(f"enum {doc['$E']!r} does not cross the session seam")
        return cls(doc.get("v"))
    if "$C" in doc:
        cls = _CLASSES.get(str(doc["$C"]))
        fields = doc.get("f")
        if cls is None or not isinstance(fields, dict):
            raise ValueError(f"{doc['$C']!r} does not cross the session seam")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: decode(v) for k, v in fields.items() if k in known})
    raise ValueError("not a session seam value")


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise ValueError("not a session seam list")
    return value


def encode_error(exc: PerpError) -> dict[str, Any]:
    """A PerpError as its nearest class in domain/errors.py, its message and its attributes
    (those that cross; e.g. ValidationError.rule, VenueRejected.error_kind)."""
    cls = next(c for c in type(exc).__mro__ if _ERRORS.get(c.__name__) is c)
    attrs = {}
    for key, value in vars(exc).items():
        try:
            attrs[key] = encode(value)
        except TypeError:
            continue
    return {"class": cls.__name__, "message": exc.message, "attrs": attrs}


def decode_error(doc: dict[str, Any]) -> PerpError:
    """The PerpError `encode_error` wrote, rebuilt without calling its constructor (their
    signatures differ; the message and attributes are set as they were)."""
    cls = _ERRORS.get(str(doc.get("class")), PerpError)
    exc = cls.__new__(cls)
    Exception.__init__(exc, str(doc.get("message", "")))
    attrs = doc.get("attrs") if isinstance(doc.get("attrs"), dict) else {}
    exc.__dict__.update({str(k): decode(v) for k, v in attrs.items()})
    exc.message = str(doc.get("message", ""))
    return exc
