"""The Ostium order path: build the calls, sign, send, and follow an order until the keeper
settles it (quoting.py checks and prices an open first; recovery.py settles what an earlier
command left).

An Ostium order is two transactions apart from its outcome. The trader's transaction (an
openTrade, a closeTradeMarket) is mined first and only *starts* the order: its receipt carries
the keeper's orderId, and the order is `accepted`. The keeper's own later transaction settles
it with one event whose first topic is that orderId: executed (a position, or a close's payout)
or cancelled (refunded, with the reason). Each step reports exactly what is known:
- simulated and refused (eth_estimateGas reverts): rejected with the decoded error, nothing sent;
- sent, no receipt by the timeout, or the process was killed: unknown, with hash and nonce in
  the journal; the next command settles it from the chain (`settle_earlier`), never resends;
- mined and reverted: rejected (gas spent), with the decoded custom error;
- mined: accepted (market) or resting (limit/stop: the trigger keeper fills it later);
- the keeper's event: filled (with the trade id, pair:index, and its liquidation price) or
  canceled (with the reason and an error kind).

USDC collateral is pulled by TradingStorage, so an open whose collateral exceeds the allowance
is preceded by an `approve` for exactly what the trade needs (never an unlimited allowance).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpcli.domain.errors import (
    ErrorKind,
    NetworkError,
    OutcomeUnknown,
    UsageError,
    ValidationError,
    VenueRejected,
)
from perpcli.venues.base import Ack, AckStatus, OpenQuote, Prepared
from perpcli.venues.ostium import calls, events, sizing
from perpcli.venues.ostium import instruments as pairs
from perpcli.venues.ostium.positions import parse_order_id
from perpcli.venues.ostium.scaling import price_from_wire
from perpcli.venues.ostium.settlement import await_outcome

if TYPE_CHECKING:
    from perpcli.venues.ostium.chain import Settlement
    from perpcli.venues.ostium.trading import OstiumTrading

CLOSE_ORDER_EVENTS = frozenset({"MarketCloseOrderInitiated", "MarketCloseOrderInitiatedV2"})
LIMIT_PLACED_EVENTS = frozenset({"OpenLimitPlaced", "OpenLimitPlacedV2"})


# ----- preparing -----------------------------------------------------------------------------


def call(kind: str, to: str, data: bytes, what: dict[str, Any], market: str = "") -> Prepared:
    """One contract call to sign at sending time (gas, fees and the nonce are set then: an
    openTrade cannot even be simulated before the approval ahead of it is mined)."""
    body = {"to": to, "data": "0x" + data.hex(), **what}
    return Prepared(kind=kind, body=body, markets=[market] if market else [], extra={"to": to, "data": data})


def prepare_open(t: OstiumTrading, quote: OpenQuote) -> list[Prepared]:
    from perpcli.venues.ostium.quoting import OstiumOpenQuote

    if not isinstance(quote, OstiumOpenQuote) or quote.planned is None:
        raise UsageError("an Ostium open must be quoted by Ostium first")
    net = t.market.ostium_network
    order = quote.planned.call
    out = []
    needed = quote.collateral + (quote.oracle_fee or 0)
    if quote.approval_needed:
        out.append(call("approve", net.usdc, calls.approve(net.trading_storage, needed),
                        {"function": "approve", "spender": net.trading_storage, "amount": needed,
                         "allowance_before": quote.allowance}, quote.instrument.symbol))
    out.append(call("order", net.trading, calls.open_trade(order), {
        "function": "openTrade", "market": quote.instrument.symbol, "side": "buy" if order.buy else "sell",
        "type": quote.order.kind, "collateral": order.collateral, "leverage": order.leverage, "price": order.price,
        "tp": order.tp, "sl": order.sl, "slippage_pct": order.slippage_pct}, quote.instrument.symbol))
    return out


def trade_of(t: OstiumTrading, market: str, trade_id: str | None) -> Any:
    """The one open trade on `market` (or the one named pair:index); several need a trade id."""
    spec = t.market.pair(market)
    held = [x for x in t.open_trades() if x.trade.pair_index == spec.pair_index]
    if trade_id is not None:
        try:
            pair, index = parse_order_id(trade_id)
        except ValueError as e:
            raise UsageError(str(e)) from None
        found = [x for x in held if (x.trade.pair_index, x.trade.index) == (pair, index)]
        if not found:
            raise ValidationError(f"no open {spec.symbol} trade {trade_id} (see `perp positions`)",
                                  rule="order-not-found")
        return found[0]
    if not held:
        raise ValidationError(f"no open position on {spec.symbol}", rule="order-not-found")
    if len(held) > 1:
        ids = ", ".join(x.order_id for x in held)
        raise UsageError(f"{spec.symbol} has {len(held)} open trades ({ids}): name one with --trade PAIR:INDEX")
    return held[0]


def prepare_close(t: OstiumTrading, market: str, *, percent: Decimal, slippage_pct: Decimal,
                  trade_id: str | None = None) -> Prepared:
    """closeTradeMarket for `percent` of one trade, anchored at the oracle mid now."""
    trade = trade_of(t, market, trade_id)
    spec = pairs.spec_for_index(trade.trade.pair_index)
    assert spec is not None
    quote = t.market.quote(spec.symbol, fresh=True)
    if not quote.market_open:
        raise ValidationError(f"{spec.symbol} is closed now, says Ostium's oracle", rule="market-closed")
    price = quote.mid.quantize(sizing.PRICE_QUANTUM)
    data = calls.close_trade_market(trade.trade.pair_index, trade.trade.index, percent, price, slippage_pct)
    return call("close", t.market.ostium_network.trading, data, {
        "function": "closeTradeMarket", "market": spec.symbol, "trade_id": trade.order_id, "percent": percent,
        "market_price": price, "slippage_pct": slippage_pct,
        "side": "sell" if trade.trade.buy else "buy", "size": abs(trade.trade.size) * percent / 100}, spec.symbol)


def prepare_tpsl(t: OstiumTrading, market: str, *, tp: Decimal | None, sl: Decimal | None, clear_tp: bool,
                 clear_sl: bool, trade_id: str | None) -> list[Prepared]:
    trade = trade_of(t, market, trade_id)
    x = trade.trade
    spec = pairs.spec_for_index(x.pair_index)
    assert spec is not None
    mark = t.market.quote(spec.symbol).mid if (tp is not None or sl is not None) else x.open_price
    sizing.check_brackets(x.buy, mark, tp, sl)
    trading = t.market.ostium_network.trading
    out = []
    if tp is not None or clear_tp:
        out.append(call("tp", trading, calls.update_tp(x.pair_index, x.index, tp),
                        {"function": "updateTp", "market": spec.symbol, "trade_id": trade.order_id, "tp": tp},
                        spec.symbol))
    if sl is not None or clear_sl:
        out.append(call("sl", trading, calls.update_sl(x.pair_index, x.index, sl),
                        {"function": "updateSl", "market": spec.symbol, "trade_id": trade.order_id, "sl": sl},
                        spec.symbol))
    if not out:
        raise UsageError("give --tp and/or --sl (a price, or `none` to remove it)")
    return out


def prepare_margin(t: OstiumTrading, market: str, amount: Decimal, trade_id: str | None = None) -> Prepared:
    """topUpCollateral (amount > 0) or removeCollateral (< 0; a keeper confirms it later)."""
    trade = trade_of(t, market, trade_id)
    x = trade.trade
    spec = pairs.spec_for_index(x.pair_index)
    assert spec is not None
    if amount > 0:
        data = calls.top_up_collateral(x.pair_index, x.index, amount)
        return call("margin", t.market.ostium_network.trading, data, {
            "function": "topUpCollateral", "market": spec.symbol, "trade_id": trade.order_id, "amount": amount},
            spec.symbol)
    if -amount >= x.collateral:
        raise ValidationError(f"cannot remove {-amount} USDC: the trade holds {x.collateral}", rule="free-collateral")
    data = calls.remove_collateral(x.pair_index, x.index, -amount)
    return call("margin", t.market.ostium_network.trading, data, {
        "function": "removeCollateral", "market": spec.symbol, "trade_id": trade.order_id, "amount": -amount},
        spec.symbol)


def prepare_cancel(t: OstiumTrading, oids: Sequence[str]) -> Prepared:
    """One transaction per order, by what the order is:
    - a resting limit/stop (`PAIR:INDEX`): cancelOpenLimitOrder;
    - a market order the keeper has not settled (its orderId): the timeout call that reclaims it
      (openTradeMarketTimeout / closeTradeMarketTimeout), which the contract refuses until its
      marketOrdersTimeout has passed (simulated first: nothing is sent then);
    - a transaction sent but not mined (its hash, from the journal): a replacement with the same
      nonce and higher fees, the only way to make sure it never executes."""
    steps = [_cancel_step(t, oid) for oid in oids]
    if not steps:
        raise UsageError("nothing to cancel")
    return Prepared(kind="cancel", body={"cancels": [s.body for s in steps]}, markets=[m for s in steps
                    for m in s.markets], extra={"steps": steps})


def _cancel_step(t: OstiumTrading, oid: str) -> Prepared:
    trading = t.market.ostium_network.trading
    if oid.startswith("0x") and len(oid) == 66:
        for entry, signed in t.journal().transactions():
            if signed.hash_hex == oid.lower():
                return Prepared(kind="replace", body={"replace": oid, "nonce": signed.tx.nonce,
                                                      "label": entry.get("label", "")}, extra={"signed": signed})
        raise ValidationError(f"no transaction {oid} awaiting its receipt here (see `perp orders`)",
                              rule="order-not-found")
    if oid.isdigit():
        storage = t.market.ostium_network.trading_storage
        try:
            _block, _wanted, _slip, trade, pct = t.market.chain.call_function(
                "trading_storage", "reqID_pendingMarketOrder", storage, int(oid))
        except (UsageError, VenueRejected) as e:
            raise ValidationError(f"order {oid} is not pending with the keeper ({e.message})",
                                  rule="order-not-found") from None
        if str(trade[4]).lower() != t.account_address:
            raise ValidationError(f"order {oid} is not a pending order of {t.account_address}", rule="order-not-found")
        spec = pairs.spec_for_index(int(trade[6]))
        market = spec.symbol if spec else ""
        if int(pct) > 0:
            return call("cancel", trading, calls.close_trade_market_timeout(int(oid), False),
                        {"function": "closeTradeMarketTimeout", "oid": oid, "market": market}, market)
        return call("cancel", trading, calls.open_trade_market_timeout(int(oid)),
                    {"function": "openTradeMarketTimeout", "oid": oid, "market": market}, market)
    try:
        pair, index = parse_order_id(oid)
    except ValueError as e:
        raise UsageError(f"{e}; a keeper order is its orderId, an unmined transaction its hash") from None
    spec = pairs.spec_for_index(pair)
    return call("cancel", trading, calls.cancel_open_limit_order(pair, index),
                {"function": "cancelOpenLimitOrder", "oid": oid}, spec.symbol if spec else "")


def send_replacement(t: OstiumTrading, step: Prepared) -> Settlement:
    """Sign and send the same-nonce replacement of a journaled transaction; the original is
    settled (replaced, or mined after all) by the next look at the journal."""
    from perpcli.venues.ostium.transactions import sign

    original = step.extra["signed"]
    chain = t.market.chain
    replacement = sign(chain.replacement(original), t.signer)  # type: ignore[arg-type]
    return chain.send_and_wait(replacement, journal=t.journal(), label=f"replace {original.hash_hex}")


def prepare_modify(t: OstiumTrading, oid: str, price: Decimal | None, size: Decimal | None) -> Prepared:
    """updateOpenLimitOrder: a resting order's new trigger price, keeping its TP and SL. Ostium
    cannot resize a resting order (its collateral is already held): that is refused here."""
    try:
        pair, index = parse_order_id(oid)
    except ValueError as e:
        raise UsageError(str(e)) from None
    storage = t.market.ostium_network.trading_storage
    (raw,) = t.market.chain.call_function("trading_storage", "getOpenLimitOrder", storage, t.account_address, pair,
                                          index)
    current = t._order(pairs.spec_for_index(pair).symbol if pairs.spec_for_index(pair) else str(pair), raw)
    if size is not None and size != current.size:
        raise UsageError("Ostium cannot resize a resting order (its collateral is held): cancel it and place a new "
                         "one; `modify --price` moves its trigger")
    new_price = price if price is not None else current.price
    if new_price != new_price.quantize(sizing.PRICE_QUANTUM):
        raise ValidationError(f"price {new_price} has more than {pairs.PRICE_MAX_DECIMALS} decimals",
                              rule="price-decimals", nearest=new_price.quantize(sizing.PRICE_QUANTUM))
    tp = price_from_wire(int(raw[2])) if int(raw[2]) else None
    sl = price_from_wire(int(raw[3])) if int(raw[3]) else None
    data = calls.update_open_limit_order(pair, index, new_price, tp, sl)
    return call("modify", t.market.ostium_network.trading, data, {
        "function": "updateOpenLimitOrder", "market": current.symbol, "oid": oid, "price": new_price, "tp": tp,
        "sl": sl}, current.symbol)


# ----- sending -------------------------------------------------------------------------------


def send_signed(t: OstiumTrading, prepared: Prepared) -> Settlement:
    """Simulate, sign with a nonce shared across processes, journal, broadcast and await the
    receipt. Raises VenueRejected (refused or reverted) or OutcomeUnknown (hash and nonce)."""
    chain, signer = t.market.chain, t.signer
    to, data = prepared.extra["to"], prepared.extra["data"]
    assert isinstance(to, str) and isinstance(data, bytes)
    signed = chain.prepare(signer, to, data, t.nonces())
    return chain.send_and_wait(signed, nonces=t.nonces(), journal=t.journal(), label=_label(prepared))


# What each call is, in the seam's words (trade results' `type`), for labels read back later.
KIND_OF_CALL = {"openTrade": "open", "closeTradeMarket": "close", "updateTp": "tp", "updateSl": "sl",
                "topUpCollateral": "margin", "removeCollateral": "margin", "cancelOpenLimitOrder": "cancel",
                "openTradeMarketTimeout": "cancel", "closeTradeMarketTimeout": "cancel",
                "updateOpenLimitOrder": "modify", "approve": "approve"}


def _label(prepared: Prepared) -> str:
    """The journal's label: `KIND [MARKET [SIDE]]`, e.g. "open XAU-USD buy" (label_fields reads it)."""
    b = prepared.body
    kind = KIND_OF_CALL.get(str(b.get("function")), str(b.get("function") or prepared.kind))
    return " ".join([kind, *(str(b[k]) for k in ("market", "side") if b.get(k) is not None)])


def label_fields(label: str) -> dict[str, object]:
    """`type`, `market` and `side` of a journal label, as an Ack's detail carries them."""
    parts = label.split()
    out: dict[str, object] = {"type": parts[0] if parts else "transaction"}
    if len(parts) > 1:
        out["market"] = parts[1]
    if len(parts) > 2 and parts[2] in ("buy", "sell"):
        out["side"] = parts[2]
    return out


def _unknown(e: OutcomeUnknown, prepared: Prepared) -> Ack:
    return Ack(AckStatus.UNKNOWN, error=e.message, note="settle it later by hash: `perp orders` or any command "
               "with this key reports it; do not send the order again", detail={"step": prepared.kind})


def send_order(t: OstiumTrading, prepared: Sequence[Prepared]) -> Ack:
    """Send the steps in order (an approval, then the order); an approval that fails stops."""
    detail: dict[str, object] = {}
    for step in prepared:
        try:
            settled = send_signed(t, step)
        except OutcomeUnknown as e:
            return _unknown(e, step)
        except VenueRejected as e:
            what = "not sent: the USDC approval failed: " if step.kind == "approve" else ""
            return Ack(AckStatus.REJECTED, error=what + e.message, error_kind=e.error_kind, detail=detail)
        if step.kind == "approve":
            detail["approved"] = step.body.get("amount")
            detail["approve_tx"] = settled.tx_hash
            continue
        return ack_of_receipt(t, step.kind, settled, detail)
    raise UsageError("nothing to send")


def ack_of_receipt(t: OstiumTrading, kind: str, settled: Settlement, detail: dict[str, object]) -> Ack:
    """What the trader's mined transaction started: a keeper order (accepted) or a resting one."""
    assert settled.receipt is not None
    detail = {**detail, "tx_hash": settled.tx_hash, "nonce": settled.nonce, "block": settled.receipt.block_number}
    decoded = events.decode_logs(settled.receipt.logs)
    for e in decoded:
        if e.name in events.INITIATED_EVENTS or e.name in ("RemoveCollateralInitiated",):
            order_id = int(e.args["orderId"])
            detail["order_id"] = order_id
            return Ack(AckStatus.ACCEPTED, oid=str(order_id), detail=detail,
                       note="accepted: the keeper fills or cancels it in its own transaction")
        if e.name in LIMIT_PLACED_EVENTS:
            oid = f"{int(e.args['pairIndex'])}:{int(e.args['index'])}"
            return Ack(AckStatus.RESTING, oid=oid, detail=detail)
    if kind == "order":  # an open with neither event: the contract did not do what was asked
        return Ack(AckStatus.UNKNOWN, error=f"transaction {settled.tx_hash} was mined without an order event",
                   detail=detail)
    return Ack(AckStatus.FILLED, detail=detail)  # an immediate action (TP/SL update, top-up, cancel)


def await_settlement(t: OstiumTrading, ack: Ack, timeout_s: float | None = None) -> Ack:
    """The keeper's answer to an accepted order, or the same Ack (still accepted) at the timeout."""
    if ack.status is not AckStatus.ACCEPTED or "order_id" not in ack.detail:
        return ack
    order_id = int(ack.detail["order_id"])  # type: ignore[call-overload]
    block = int(ack.detail.get("block", 0))  # type: ignore[call-overload]
    md = t.market
    timeout = md.conf.receipt_timeout_s if timeout_s is None else timeout_s
    outcome = await_outcome(md.chain, md.reads.contract("callbacks"), order_id, block, timeout,
                            poll_s=min(0.5, md.chain.poll_s))
    if outcome is None:
        return Ack(AckStatus.ACCEPTED, oid=ack.oid, detail=ack.detail,
                   note=f"accepted; the keeper has not settled order {order_id} within {timeout:g}s — it is still "
                        "pending (see `perp orders`)")
    return ack_of_outcome(t, outcome, ack.detail)


def ack_of_outcome(t: OstiumTrading, outcome: events.OrderOutcome, detail: dict[str, object]) -> Ack:
    detail = {**detail, "event": outcome.event}
    if not outcome.executed:
        reason = outcome.cancel_reason
        words = reason.words if reason is not None else "no reason given"
        return Ack(AckStatus.CANCELED, oid=str(outcome.order_id), detail={**detail, "reason": words},
                   error=f"cancelled by the keeper: {words}; the collateral was refunded",
                   error_kind=reason.kind if reason is not None else ErrorKind.OTHER)
    if outcome.trade is not None:
        x = outcome.trade
        trade_id = f"{x.pair_index}:{x.index}"
        liq = _liquidation_price(t, x.pair_index, x.index)
        return Ack(AckStatus.FILLED, oid=str(outcome.order_id), filled=abs(x.size), size=abs(x.size),
                   avg_price=x.open_price, detail={**detail, "trade_id": trade_id, "collateral": x.collateral,
                                                   "leverage": x.leverage, "liquidation_price": liq,
                                                   "tp": x.tp, "sl": x.sl})
    return Ack(AckStatus.FILLED, oid=str(outcome.order_id), avg_price=outcome.price,
               detail={**detail, "usdc_to_trader": outcome.usdc_to_trader, "percent_closed": outcome.percent_closed})


def _liquidation_price(t: OstiumTrading, pair: int, index: int) -> Decimal | None:
    try:
        found = [x for x in t.market.reads.open_trades(t.account_address, [pair]) if x.trade.index == index]
    except (UsageError, VenueRejected, NetworkError):
        return None
    return found[0].liquidation_price if found else None
