"""The fake venue's codec: its JSON -> domain types, its error codes -> ErrorKind, its frames.

Pure (json only): what a real adapter's codec.py and stream.py protocol look like for a
Binance-shaped venue.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from perpcli.domain.errors import ErrorKind
from perpcli.domain.events import BookDiff, BookSnapshot, Event, Fill, OrderUpdate, Trade
from perpcli.domain.orders import Order, OrderStatus, Side, TimeInForce
from perpcli.net.stream import FrameKind, Inbound, Resync, Subscription
from perpcli.venues.base import Ack, AckStatus

#: The venue's error codes, in ONE table; anything else is OTHER.
ERROR_KINDS: dict[int, ErrorKind] = {
    -1021: ErrorKind.NONCE,
    -1022: ErrorKind.NONCE,
    -1111: ErrorKind.SIZE_LOT,
    -1121: ErrorKind.UNKNOWN_MARKET,
    -2011: ErrorKind.ORDER_NOT_FOUND,
    -2014: ErrorKind.AUTH,
    -2015: ErrorKind.AUTH,
    -2019: ErrorKind.INSUFFICIENT_MARGIN,
    -2022: ErrorKind.REDUCE_ONLY,
    -2027: ErrorKind.POSITION_LIMIT,
    -4014: ErrorKind.PRICE_TICK,
    -4028: ErrorKind.MAX_LEVERAGE,
    -4116: ErrorKind.DUPLICATE_CLIENT_ID,
    -4164: ErrorKind.MIN_NOTIONAL,
    -5022: ErrorKind.POST_ONLY_WOULD_CROSS,
}

TIFS = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.ALO: "GTX", TimeInForce.FOK: "FOK"}
_TIF_BACK = {v: k for k, v in TIFS.items()}
_STATUS = {"NEW": OrderStatus.OPEN, "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
           "FILLED": OrderStatus.FILLED, "CANCELED": OrderStatus.CANCELED, "EXPIRED": OrderStatus.CANCELED}


def is_error(answer: Any) -> bool:
    return isinstance(answer, dict) and "code" in answer


def error_kind(answer: dict[str, Any]) -> ErrorKind:
    return ERROR_KINDS.get(int(answer.get("code", 0)), ErrorKind.OTHER)


def error_text(answer: dict[str, Any]) -> str:
    return f"{answer.get('code')} {answer.get('msg', '')}".strip()


def order_ack(answer: Any, client_id: str | None) -> Ack:
    if is_error(answer):
        return Ack(AckStatus.REJECTED, cloid=client_id, error=error_text(answer), error_kind=error_kind(answer))
    executed = Decimal(answer["executedQty"])
    avg = Decimal(answer["avgPrice"]) if executed else None
    status = answer["status"]
    if status == "FILLED":
        st = AckStatus.FILLED
    elif status in ("NEW", "PARTIALLY_FILLED"):
        st = AckStatus.PARTIALLY_FILLED if executed else AckStatus.RESTING
    else:  # EXPIRED / CANCELED
        st = AckStatus.PARTIALLY_FILLED if executed else AckStatus.CANCELED
    return Ack(st, cloid=answer["clientOrderId"], oid=answer["orderId"], filled=executed, avg_price=avg)


def order(row: dict[str, Any], *, venue: str) -> Order:
    orig = Decimal(row["origQty"])
    return Order(venue=venue, symbol=row["symbol"], side=Side.BUY if row["side"] == "BUY" else Side.SELL,
                 price=Decimal(row["price"]), size=orig - Decimal(row["executedQty"]), orig_size=orig,
                 status=_STATUS[row["status"]], oid=row["orderId"], cloid=row["clientOrderId"],
                 tif=_TIF_BACK.get(row["timeInForce"]), reduce_only=bool(row["reduceOnly"]),
                 time_ms=int(row["time"]))


def fill(row: dict[str, Any], *, venue: str, account: str) -> Fill:
    realized = Decimal(row["realizedPnl"])
    return Fill(venue=venue, account=account, symbol=row["symbol"], trade_id=row["id"], oid=row["orderId"],
                side=Side.BUY if row["side"] == "BUY" else Side.SELL, price=Decimal(row["price"]),
                size=Decimal(row["qty"]), fee=Decimal(row["commission"]), time_ms=int(row["time"]),
                cloid=row["clientOrderId"], closed_pnl=realized, fee_token="USDT", is_taker=not row["maker"])


def levels(rows: Sequence[Sequence[str]]) -> tuple[tuple[Decimal, Decimal], ...]:
    return tuple((Decimal(p), Decimal(q)) for p, q in rows)


def book_snapshot(body: dict[str, Any], symbol: str, *, venue: str) -> BookSnapshot:
    return BookSnapshot(venue, symbol, levels(body["bids"]), levels(body["asks"]), time_ms=int(body["T"]),
                        sequence=int(body["lastUpdateId"]))


# ----- streams -----------------------------------------------------------------------------


def depth_subscription(symbol: str) -> Subscription:
    return Subscription(("depth", symbol), f"{symbol.lower()}@depth", f"depth:{symbol}", Resync.REST_SNAPSHOT)


def trades_subscription(symbol: str) -> Subscription:
    return Subscription(("trades", symbol), f"{symbol.lower()}@aggTrade", f"trades:{symbol}", Resync.RESUBSCRIBE,
                        ready_on_subscribe=True)


def account_subscription(account: str) -> Subscription:
    """One user-data stream carries both fills and order updates (as on Binance)."""
    return Subscription(("account", account.lower()), account.lower(), "account", Resync.RESUBSCRIBE,
                        stale_after=math.inf, ready_on_subscribe=True)


class FakeProtocol:
    """The `StreamProtocol` of the fake venue."""

    def __init__(self, venue: str, account: str = "") -> None:
        self.venue = venue
        self.account = account.lower()
        self._ids = 0

    def _frame(self, method: str, sub: Subscription) -> list[str]:
        self._ids += 1
        return [json.dumps({"method": method, "params": [sub.params], "id": self._ids})]

    def subscribe_frames(self, sub: Subscription) -> Sequence[str]:
        return self._frame("SUBSCRIBE", sub)

    def unsubscribe_frames(self, sub: Subscription) -> Sequence[str]:
        return self._frame("UNSUBSCRIBE", sub)

    def ping_frame(self) -> str | None:
        return None  # websocket-level pings, as Binance

    def decode_snapshot(self, sub: Subscription, text: str) -> Sequence[Event]:
        return [book_snapshot(json.loads(text), sub.key[1], venue=self.venue)]

    def decode(self, text: str) -> Sequence[Inbound]:
        msg = json.loads(text)
        if "result" in msg:
            return [Inbound(FrameKind.ACK)]
        data = msg.get("data") or {}
        kind = data.get("e")
        if kind == "depthUpdate":
            diff = BookDiff(self.venue, data["s"], levels(data["b"]), levels(data["a"]), first_seq=data["U"],
                            last_seq=data["u"], prev_seq=data["pu"], time_ms=data["E"])
            return [Inbound(FrameKind.DATA, ("depth", data["s"]), (diff,))]
        if kind == "aggTrade":
            trade = Trade(self.venue, data["s"], Side.SELL if data["m"] else Side.BUY, Decimal(data["p"]),
                          Decimal(data["q"]), int(data["T"]), data["a"])
            return [Inbound(FrameKind.DATA, ("trades", data["s"]), (trade,))]
        if kind == "ORDER_TRADE_UPDATE":
            account = str(msg.get("stream", self.account))
            events: list[Event] = [OrderUpdate(self.venue, account, order(data["o"], venue=self.venue),
                                               int(data["E"]), reason=data["x"])]
            if data.get("t"):
                events.append(fill(data["t"], venue=self.venue, account=account))
            return [Inbound(FrameKind.DATA, ("account", account), tuple(events))]
        return [Inbound(FrameKind.IGNORE, detail=str(kind))]
