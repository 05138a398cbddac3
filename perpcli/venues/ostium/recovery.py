"""What an earlier command left unsettled, settled from the chain by hash and nonce.

Every transaction is journaled before its bytes leave (journal.py). A command killed or timed
out before the receipt leaves its entry behind; the next command on the key asks the chain
where each one stands and reports what it became — mined (and what the keeper did with its
order), reverted, replaced by a same-nonce transaction, or still unmined (its outcome unknown).
Nothing here sends anything: a transaction is never broadcast twice.

`perp orders` shows what is still in flight the same way: market orders the keeper has not
settled (TradingStorage's pending order ids) as pending, unmined transactions as unknown.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from perpcli.domain.errors import ErrorKind, NetworkError, UsageError, VenueRejected
from perpcli.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from perpcli.venues.base import Ack, AckStatus
from perpcli.venues.ostium import abicodec, calls, events, ordering
from perpcli.venues.ostium import instruments as pairs
from perpcli.venues.ostium.chain import TxState
from perpcli.venues.ostium.scaling import leverage_from_wire, price_from_wire, usdc_from_wire
from perpcli.venues.ostium.settlement import find_outcome

if TYPE_CHECKING:
    from perpcli.venues.ostium.trading import OstiumTrading
    from perpcli.venues.ostium.transactions import SignedTx


def settle_earlier(t: OstiumTrading) -> list[Ack]:
    """Every transaction an earlier command journaled and never saw settle (killed, timed out),
    settled from the chain by hash and nonce. Nothing is sent: a pending one stays journaled
    (its outcome is unknown), a mined one is reported with what its order became."""
    return [ack for ack, _signed, _entry in _settle_journal(t)]


def _settle_journal(t: OstiumTrading) -> list[tuple[Ack, SignedTx, dict]]:
    journal = t.journal()
    out = []
    for entry, signed in journal.transactions():
        settled = t.market.chain.settle(signed)
        detail: dict[str, object] = {"tx_hash": signed.hash_hex, "nonce": signed.tx.nonce,
                                     "label": entry.get("label", ""),
                                     **ordering.label_fields(str(entry.get("label", "")))}
        if settled.state is TxState.SUCCEEDED:
            journal.forget(signed.hash_hex)
            ack = ordering.ack_of_receipt(t, "order" if detail["type"] == "open" else "action", settled, detail)
            if ack.status is AckStatus.ACCEPTED:
                found = find_outcome(t.market.chain, t.market.reads.contract("callbacks"), int(ack.oid or 0),
                                     int(ack.detail.get("block", 0)))  # type: ignore[call-overload]
                if found is not None:
                    ack = ordering.ack_of_outcome(t, found, ack.detail)
        elif settled.state is TxState.REVERTED:
            journal.forget(signed.hash_hex)
            try:
                t.market.chain.raise_unless_succeeded(settled)
                raise AssertionError("a reverted transaction raises")
            except VenueRejected as e:
                ack = Ack(AckStatus.REJECTED, error=e.message, error_kind=e.error_kind, detail=detail)
        elif settled.state is TxState.REPLACED:
            journal.forget(signed.hash_hex)
            ack = Ack(AckStatus.CANCELED, error="replaced by another transaction with the same nonce: it never "
                      "executed", error_kind=ErrorKind.NONCE, detail=detail)
        else:
            ack = Ack(AckStatus.UNKNOWN, detail={**detail, "state": settled.state.value},
                      error=f"transaction {signed.hash_hex} (nonce {signed.tx.nonce}) is {settled.state.value}: "
                            "not mined yet; it may still execute. Not sent again")
        out.append((ack, signed, entry))
    return out


def pending_orders(t: OstiumTrading) -> tuple[list[Order], Decimal]:
    """Market orders the keeper has not settled yet (TradingStorage's pending order ids), shown as
    pending with their orderId; journaled transactions not yet mined, as unknown (settling the
    journal first, so one mined meanwhile shows as what it became, never twice). Also the USDC
    the pending opens hold: the contract pulled it from the wallet when it accepted them."""
    chain, storage = t.market.chain, t.market.ostium_network.trading_storage
    out: list[Order] = []
    held = Decimal(0)
    for ack, signed, entry in _settle_journal(t):
        order = _journaled_order(t, signed, entry) if ack.status is AckStatus.UNKNOWN else None
        if order is not None:
            out.append(order)
    try:
        (ids,) = chain.call_function("trading_storage", "getPendingOrderIds", storage, t.account_address)
    except (UsageError, VenueRejected, NetworkError):
        ids = []
    for order_id in ids:
        try:
            _block, wanted, _slip, trade, pct = chain.call_function("trading_storage", "reqID_pendingMarketOrder",
                                                                     storage, int(order_id))
        except (UsageError, VenueRejected, NetworkError):
            continue
        x = events.TradeTuple.from_wire(trade) if int(trade[0]) or int(trade[1]) else None
        spec = pairs.spec_for_index(int(trade[6]))
        price = price_from_wire(int(wanted))
        size = abs(x.size) if x is not None and x.open_price else Decimal(0)
        if not size and price:
            size = usdc_from_wire(int(trade[0])) * leverage_from_wire(int(trade[5])) / price
        out.append(Order(venue=t.venue, symbol=spec.symbol if spec else str(int(trade[6])),
                         side=Side.BUY if trade[8] else Side.SELL, price=price, size=size, orig_size=size,
                         status=OrderStatus.PENDING, oid=str(int(order_id)), order_type=OrderType.MARKET,
                         tif=TimeInForce.IOC, reduce_only=int(pct) > 0))
        if int(pct) == 0:  # an open (a close's collateral is still the trade's)
            held += usdc_from_wire(int(trade[0]))
    return out, held


def _journaled_order(t: OstiumTrading, signed: SignedTx, entry: dict) -> Order | None:
    """An openTrade still in the journal (not known to be mined): its outcome is unknown."""
    fn = calls.abi.function("trading", "openTrade")
    if signed.tx.data[:4] != fn.selector:
        return None
    trade, _builder, kind, _slip = abicodec.decode(fn.input_types, signed.tx.data[4:])
    x = events.TradeTuple.from_wire(trade)
    spec = pairs.spec_for_index(x.pair_index)
    return Order(venue=t.venue, symbol=spec.symbol if spec else str(x.pair_index),
                 side=Side.BUY if x.buy else Side.SELL, price=x.open_price, size=abs(x.size), orig_size=abs(x.size),
                 status=OrderStatus.UNKNOWN, oid=signed.hash_hex,
                 order_type=OrderType.MARKET if int(kind) == 0 else OrderType.LIMIT,
                 time_ms=int(entry.get("at", 0)) * 1000)
