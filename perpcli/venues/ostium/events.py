"""Ostium's events, read from receipts and logs: how an order becomes (or fails to become) a
position.

A trader's openTrade emits `MarketOpenOrderInitiated(orderId, ...)` (a close emits
`MarketCloseOrderInitiatedV2`); a keeper's later transaction makes the Callbacks contract emit
exactly one settlement event whose first indexed topic is that orderId: executed (with the
trade as opened, or the close's price and payout) or cancelled (with a reason, e.g. the market
was closed). Until that event exists the order is `accepted`, never "filled".

Decoding uses the deployed ABIs' event definitions; anything this module does not know is
skipped, not guessed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from perpcli.domain.errors import ErrorKind
from perpcli.venues.ostium import abi, abicodec
from perpcli.venues.ostium.scaling import leverage_from_wire, price_from_wire, usdc_from_wire


class CancelReason(Enum):
    """Callbacks' CancelReason, in the deployed order."""

    NONE = 0
    PAUSED = 1
    MARKET_CLOSED = 2
    SLIPPAGE = 3
    TP_REACHED = 4
    SL_REACHED = 5
    EXPOSURE_LIMITS = 6
    PRICE_IMPACT = 7
    MAX_LEVERAGE = 8
    NO_TRADE = 9
    UNDER_LIQUIDATION = 10
    NOT_HIT = 11
    GAIN_LOSS = 12
    DAY_TRADE_NOT_ALLOWED = 13
    CLOSE_DAY_TRADE_NOT_ALLOWED = 14

    @property
    def words(self) -> str:
        return self.name.lower().replace("_", " ")

    @property
    def kind(self) -> ErrorKind:
        return _REASON_KINDS.get(self, ErrorKind.OTHER)


_REASON_KINDS = {
    CancelReason.PAUSED: ErrorKind.MARKET_CLOSED,
    CancelReason.MARKET_CLOSED: ErrorKind.MARKET_CLOSED,
    CancelReason.SLIPPAGE: ErrorKind.PRICE_BAND,
    CancelReason.PRICE_IMPACT: ErrorKind.PRICE_BAND,
    CancelReason.TP_REACHED: ErrorKind.INVALID_TRIGGER,
    CancelReason.SL_REACHED: ErrorKind.INVALID_TRIGGER,
    CancelReason.EXPOSURE_LIMITS: ErrorKind.POSITION_LIMIT,
    CancelReason.MAX_LEVERAGE: ErrorKind.MAX_LEVERAGE,
    CancelReason.NO_TRADE: ErrorKind.ORDER_NOT_FOUND,
    CancelReason.DAY_TRADE_NOT_ALLOWED: ErrorKind.MARKET_CLOSED,
    CancelReason.CLOSE_DAY_TRADE_NOT_ALLOWED: ErrorKind.MARKET_CLOSED,
}

# The settlement events: exactly one per orderId, first indexed topic = orderId.
SETTLEMENT_EVENTS = frozenset({
    "MarketOpenExecuted", "MarketOpenCanceled", "MarketCloseExecutedV2", "MarketCloseExecuted",
    "MarketCloseCanceled", "LimitOpenExecuted", "LimitCloseExecuted", "AutomationOpenOrderCanceled",
    "AutomationCloseOrderCanceled", "RemoveCollateralExecuted", "RemoveCollateralRejected",
})
INITIATED_EVENTS = frozenset({"MarketOpenOrderInitiated", "MarketCloseOrderInitiated", "MarketCloseOrderInitiatedV2",
                              "AutomationOpenOrderInitiated", "AutomationCloseOrderInitiated"})


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    address: str
    args: dict[str, Any]
    block_number: int | None = None
    tx_hash: str | None = None


@functools.cache
def _by_topic() -> dict[bytes, tuple[str, dict[str, Any]]]:
    out: dict[bytes, tuple[str, dict[str, Any]]] = {}
    for contract in ("trading", "callbacks", "trading_storage"):
        for topic, entry in abi.event_topics(contract).items():
            out.setdefault(topic, (contract, entry))
    return out


def event_topic(name: str, contract: str = "callbacks") -> str:
    """0x-topic0 of a named event (for eth_getLogs filters)."""
    for topic, entry in abi.event_topics(contract).items():
        if entry["name"] == name:
            return "0x" + topic.hex()
    raise KeyError(f"{contract} has no event {name}")


def _hex_bytes(text: Any) -> bytes:
    if not isinstance(text, str) or not text.startswith("0x"):
        raise ValueError("not 0x-hex")
    return bytes.fromhex(text[2:])


def decode_log(log: dict[str, Any]) -> Event | None:
    """One JSON-RPC log as an Event, or None when it is not an Ostium event we know (or is
    malformed: a log we cannot read is not evidence of anything)."""
    try:
        topics = [_hex_bytes(t) for t in log.get("topics") or []]
        data = _hex_bytes(log.get("data", "0x"))
    except ValueError:
        return None
    if not topics or topics[0] not in _by_topic():
        return None
    _, entry = _by_topic()[topics[0]]
    indexed = [p for p in entry["inputs"] if p["indexed"]]
    plain = [p for p in entry["inputs"] if not p["indexed"]]
    if len(topics) - 1 != len(indexed):
        return None
    args: dict[str, Any] = {}
    try:
        for param, topic in zip(indexed, topics[1:], strict=True):
            (args[param["name"] or f"arg{len(args)}"],) = abicodec.decode([abi.canonical_type(param)], topic)
        values = abicodec.decode([abi.canonical_type(p) for p in plain], data)
    except abicodec.AbiDecodeError:  # a log shaped unlike the ABI says
        return None
    for param, value in zip(plain, values, strict=True):
        args[param["name"] or f"arg{len(args)}"] = value
    block = log.get("blockNumber")
    return Event(entry["name"], str(log.get("address", "")).lower(), args,
                 int(block, 16) if isinstance(block, str) and block.startswith("0x") else None,
                 log.get("transactionHash"))


def decode_logs(logs: list[dict[str, Any]]) -> list[Event]:
    return [e for e in (decode_log(log) for log in logs) if e is not None]


def initiated_order_id(logs: list[dict[str, Any]]) -> int | None:
    """The orderId a trader's transaction started (market open/close), from its receipt."""
    for event in decode_logs(logs):
        if event.name in INITIATED_EVENTS:
            return int(event.args["orderId"])
    return None


@dataclass(frozen=True, slots=True)
class TradeTuple:
    """A Trade struct as events and views carry it, in trader units."""

    collateral: Decimal
    open_price: Decimal
    tp: Decimal | None
    sl: Decimal | None
    trader: str
    leverage: Decimal
    pair_index: int
    index: int
    buy: bool
    day_trade: bool

    @classmethod
    def from_wire(cls, t: tuple) -> TradeTuple:
        collateral, open_price, tp, sl, trader, leverage, pair_index, index, buy, day_trade = t
        return cls(usdc_from_wire(collateral), price_from_wire(open_price), price_from_wire(tp) if tp else None,
                   price_from_wire(sl) if sl else None, str(trader).lower(), leverage_from_wire(leverage),
                   int(pair_index), int(index), bool(buy), bool(day_trade))

    @property
    def notional(self) -> Decimal:
        return self.collateral * self.leverage

    @property
    def size(self) -> Decimal:
        """Signed size in units of the underlying: notional / open price."""
        size = self.notional / self.open_price
        return size if self.buy else -size


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """What the keeper did with one orderId."""

    order_id: int
    executed: bool
    event: str
    trade: TradeTuple | None = None  # an executed open: the trade as opened
    price: Decimal | None = None  # an executed close: the close price
    usdc_to_trader: Decimal | None = None
    percent_closed: Decimal | None = None
    cancel_reason: CancelReason | None = None

    def describe(self) -> str:
        if self.executed:
            if self.trade is not None:
                return f"order {self.order_id} executed at {self.trade.open_price}"
            return f"order {self.order_id} executed at {self.price}"
        reason = self.cancel_reason.words if self.cancel_reason else "no reason given"
        return f"order {self.order_id} cancelled by the keeper: {reason}"


def outcome_of(order_id: int, events: list[Event]) -> OrderOutcome | None:
    """The settlement of `order_id` among `events`, or None while it is still accepted."""
    for event in events:
        if event.name not in SETTLEMENT_EVENTS or int(event.args.get("orderId", -1)) != order_id:
            continue
        a = event.args
        if event.name in ("MarketOpenExecuted", "LimitOpenExecuted"):
            return OrderOutcome(order_id, True, event.name, trade=TradeTuple.from_wire(a["t"]))
        if event.name in ("MarketCloseExecuted", "MarketCloseExecutedV2", "LimitCloseExecuted"):
            pct = a.get("percentageClosed")
            return OrderOutcome(order_id, True, event.name, price=price_from_wire(a["price"]),
                                usdc_to_trader=usdc_from_wire(a["usdcSentToTrader"]),
                                percent_closed=Decimal(pct) / 100 if pct is not None else Decimal(100))
        if event.name == "RemoveCollateralExecuted":
            return OrderOutcome(order_id, True, event.name, usdc_to_trader=usdc_from_wire(a["removeAmount"]))
        reason = a.get("cancelReason")
        try:
            cancel = CancelReason(int(reason)) if reason is not None else None
        except ValueError:
            cancel = None
        return OrderOutcome(order_id, False, event.name, cancel_reason=cancel)
    return None
