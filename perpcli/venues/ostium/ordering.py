"""The Ostium order path: quote, sign, send, and follow a trade until the keeper settles it.

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

import time
from collections.abc import Sequence
from dataclasses import dataclass
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
from perpcli.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from perpcli.venues.base import Ack, AckStatus, CollateralOrder, OpenQuote, Prepared
from perpcli.venues.ostium import calls, events, sizing
from perpcli.venues.ostium import instruments as pairs
from perpcli.venues.ostium.chain import TxState
from perpcli.venues.ostium.positions import parse_order_id
from perpcli.venues.ostium.scaling import leverage_from_wire, price_from_wire, usdc_from_wire
from perpcli.venues.ostium.settlement import await_outcome, find_outcome

if TYPE_CHECKING:
    from perpcli.venues.ostium.chain import Settlement
    from perpcli.venues.ostium.journal import TxJournal
    from perpcli.venues.ostium.trading import OstiumTrading
    from perpcli.venues.ostium.transactions import SignedTx

KINDS = {"market": calls.OrderType.MARKET, "limit": calls.OrderType.LIMIT, "stop": calls.OrderType.STOP}
CLOSE_ORDER_EVENTS = frozenset({"MarketCloseOrderInitiated", "MarketCloseOrderInitiatedV2"})
LIMIT_PLACED_EVENTS = frozenset({"OpenLimitPlaced", "OpenLimitPlacedV2"})


@dataclass
class OstiumOpenQuote(OpenQuote):
    """The seam's OpenQuote plus the checked openTrade it was priced from (read back only by
    the adapter that made it)."""

    planned: sizing.PlannedTrade | None = None
    allowance: Decimal = Decimal(0)


# ----- quoting -------------------------------------------------------------------------------


def quote_open(t: OstiumTrading, order: CollateralOrder) -> OstiumOpenQuote:
    """Every rule Ostium would enforce, checked here first (exit 2 names the fix), and what the
    trade costs: the oracle price, collateral x leverage, fees, and the wallet it comes from."""
    md = t.market
    kind = KINDS.get(order.kind)
    if kind is None:
        raise UsageError(f"{md.venue} takes market, limit or stop orders, not {order.kind!r}")
    spec = md.pair(order.symbol)
    inst = md.instrument(spec.symbol)
    limits = md.limits(spec.pair_index)
    buy = order.side is Side.BUY
    quote = _oracle(md, spec.symbol, needed=kind is calls.OrderType.MARKET)
    if kind is calls.OrderType.MARKET:
        assert quote is not None
        reference = quote.ask if buy else quote.bid
    else:
        if order.price is None:
            raise UsageError(f"a {order.kind} order needs its price")
        reference = order.price
    leverage = order.leverage if order.leverage is not None else Decimal(pairs.margin_rules(limits).default_leverage())
    planned = sizing.plan_open(
        venue=md.venue, spec=spec, limits=limits, trader=t.account_address, buy=buy,
        sizing=sizing.Sizing(collateral=order.collateral, notional=order.notional, size=order.size),
        leverage=leverage, order_type=kind, now_ms=time.time_ns() // 1_000_000, price=reference, tp=order.tp,
        sl=order.sl, slippage_pct=order.slippage_pct, oracle_open=quote.market_open if quote else None,
    )
    opening, oracle_fee = _fees(t, spec.pair_index, planned)
    wallet = md.reads.usdc_balance(t.account_address)
    needed = planned.collateral + (oracle_fee or 0)
    if wallet < needed:
        raise ValidationError(f"the wallet holds {wallet} USDC; this trade needs {needed} USDC (collateral"
                              f"{' + oracle fee' if oracle_fee else ''})", rule="free-collateral")
    allowance = md.reads.usdc_allowance(t.account_address)
    return OstiumOpenQuote(
        order=order, instrument=inst, reference_price=planned.reference_price,
        oracle_price=quote.mid if quote is not None else planned.reference_price, collateral=planned.collateral,
        leverage=leverage, notional=planned.notional, size=planned.size,
        rules=pairs.margin_rules(limits, leverage), opening_fee=opening, oracle_fee=oracle_fee, wallet=wallet,
        approval_needed=allowance < needed, planned=planned, allowance=allowance,
    )


def _oracle(md: Any, symbol: str, *, needed: bool) -> Any:
    """The oracle quote now; a market order cannot be priced without it, a limit order can."""
    try:
        return md.quote(symbol, fresh=True)
    except (UsageError, NetworkError):
        if needed:
            raise
        return None


def _fees(t: OstiumTrading, pair_index: int, planned: sizing.PlannedTrade) -> tuple[Decimal | None, Decimal | None]:
    """(opening fee, oracle fee) in USDC as the chain computes them; None where the contracts do
    not answer (the preview then says the fee is unknown rather than guessing)."""
    from perpcli.venues.ostium.scaling import leverage_to_wire, usdc_to_wire

    reads = t.market.reads
    chain = t.market.chain
    size = usdc_to_wire(planned.notional)
    opening = oracle = None
    try:
        dev, vault = chain.call_function("pairs_info", "getOpeningFee", reads.contract("pairInfos"), pair_index,
                                         size, leverage_to_wire(planned.call.leverage),
                                         size if planned.call.buy else -size)
        opening = usdc_from_wire(int(dev) + int(vault))
    except (UsageError, VenueRejected, NetworkError):
        pass
    try:
        (raw,) = chain.call_function("pairs_storage", "pairOracleFee", reads.contract("pairsStorage"), pair_index)
        oracle = usdc_from_wire(int(raw))
    except (UsageError, VenueRejected, NetworkError):
        pass
    return opening, oracle


# ----- preparing -----------------------------------------------------------------------------


def call(kind: str, to: str, data: bytes, what: dict[str, Any], market: str = "") -> Prepared:
    """One contract call to sign at sending time (gas, fees and the nonce are set then: an
    openTrade cannot even be simulated before the approval ahead of it is mined)."""
    body = {"to": to, "data": "0x" + data.hex(), **what}
    return Prepared(kind=kind, body=body, markets=[market] if market else [], extra={"to": to, "data": data})


def prepare_open(t: OstiumTrading, quote: OpenQuote) -> list[Prepared]:
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
        for entry, signed in _journaled(t.journal()):
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


def _label(prepared: Prepared) -> str:
    b = prepared.body
    parts = [str(b.get(k)) for k in ("function", "market", "side", "type", "trade_id") if b.get(k) is not None]
    return " ".join(parts)


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


# ----- what an earlier command left behind ----------------------------------------------------------


def settle_earlier(t: OstiumTrading) -> list[Ack]:
    """Every transaction an earlier command journaled and never saw settle (killed, timed out),
    settled from the chain by hash and nonce. Nothing is sent: a pending one stays journaled
    (its outcome is unknown), a mined one is reported with what its order became."""
    return [ack for ack, _signed, _entry in _settle_journal(t)]


def _settle_journal(t: OstiumTrading) -> list[tuple[Ack, SignedTx, dict]]:
    journal = t.journal()
    out = []
    for entry, signed in _journaled(journal):
        settled = t.market.chain.settle(signed)
        detail: dict[str, object] = {"tx_hash": signed.hash_hex, "nonce": signed.tx.nonce,
                                     "label": entry.get("label", "")}
        if settled.state is TxState.SUCCEEDED:
            journal.forget(signed.hash_hex)
            ack = ack_of_receipt(t, "order" if "openTrade" in str(entry.get("label")) else "action", settled, detail)
            if ack.status is AckStatus.ACCEPTED:
                found = find_outcome(t.market.chain, t.market.reads.contract("callbacks"), int(ack.oid or 0),
                                     int(ack.detail.get("block", 0)))  # type: ignore[call-overload]
                if found is not None:
                    ack = ack_of_outcome(t, found, ack.detail)
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


def _journaled(journal: TxJournal) -> list[tuple[dict, SignedTx]]:
    from perpcli.venues.ostium.transactions import decode

    out = []
    for entry in journal.entries():
        try:
            out.append((entry, decode(bytes.fromhex(entry["raw"][2:]))))
        except ValueError:
            continue  # not a transaction we could have sent
    return out


# ----- pending orders as the order list shows them --------------------------------------------------


def pending_orders(t: OstiumTrading) -> list[Order]:
    """Market orders the keeper has not settled yet (TradingStorage's pending order ids), shown as
    pending with their orderId; journaled transactions not yet mined, as unknown (settling the
    journal first, so one mined meanwhile shows as what it became, never twice)."""
    chain, storage = t.market.chain, t.market.ostium_network.trading_storage
    out: list[Order] = []
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
    return out


def _journaled_order(t: OstiumTrading, signed: SignedTx, entry: dict) -> Order | None:
    """An openTrade still in the journal (not known to be mined): its outcome is unknown."""
    from eth_abi import decode

    fn = calls.abi.function("trading", "openTrade")
    if signed.tx.data[:4] != fn.selector:
        return None
    trade, _builder, kind, _slip = decode(list(fn.input_types), signed.tx.data[4:])
    x = events.TradeTuple.from_wire(trade)
    spec = pairs.spec_for_index(x.pair_index)
    return Order(venue=t.venue, symbol=spec.symbol if spec else str(x.pair_index),
                 side=Side.BUY if x.buy else Side.SELL, price=x.open_price, size=abs(x.size), orig_size=abs(x.size),
                 status=OrderStatus.UNKNOWN, oid=signed.hash_hex,
                 order_type=OrderType.MARKET if int(kind) == 0 else OrderType.LIMIT,
                 time_ms=int(entry.get("at", 0)) * 1000)
