"""Engine records -> Hyperliquid's exact JSON shapes (shared by /info and the websocket).

The venue renders decimals "server style": whole numbers keep a `.0` ("2397.0", "0.0"), the
rest are minimal ("2.111"). Key sets and nullability follow the protocol notes §a.1 / §c.4,
so the official SDK and perpcli's own codec parse these unchanged.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from perpcli.devnet import records as r
from perpcli.devnet.faces import public_address


def dec(value: Decimal | int) -> str:
    """Server-style decimal string: integers as "N.0", others without trailing zeros."""
    d = Decimal(value)
    if d == 0:
        return "0.0"
    if d == d.to_integral_value():
        return f"{int(d)}.0"
    text = format(d.normalize(), "f")
    return text


def opt_dec(value: Decimal | None) -> str | None:
    return None if value is None else dec(value)


def order_basic(o: r.OrderRecord) -> dict:
    """openOrders row and the `order` object of the orderUpdates channel."""
    row = {
        "coin": o.coin,
        "side": o.side,
        "limitPx": dec(o.limit_px),
        "sz": dec(o.sz),
        "oid": o.oid,
        "timestamp": o.timestamp,
        "origSz": dec(o.orig_sz),
    }
    if o.cloid:
        row["cloid"] = o.cloid
    if o.reduce_only:
        row["reduceOnly"] = True
    return row


def order_frontend(o: r.OrderRecord) -> dict:
    """frontendOpenOrders row (also the order inside orderStatus / historicalOrders)."""
    return {
        "children": [order_frontend(c) for c in o.children],
        "cloid": o.cloid,
        "coin": o.coin,
        "isPositionTpsl": o.is_position_tpsl,
        "isTrigger": o.is_trigger,
        "limitPx": dec(o.limit_px),
        "oid": o.oid,
        "orderType": o.order_type,
        "origSz": dec(o.orig_sz),
        "reduceOnly": o.reduce_only,
        "side": o.side,
        "sz": dec(o.sz),
        "tif": o.tif,
        "timestamp": o.timestamp,
        "triggerCondition": o.trigger_condition,
        "triggerPx": dec(o.trigger_px),
    }


def order_status_entry(s: r.OrderStatusRecord, *, frontend: bool = True) -> dict:
    return {
        "order": order_frontend(s.order) if frontend else order_basic(s.order),
        "status": s.status,
        "statusTimestamp": s.status_timestamp,
    }


def fill(f: r.Fill) -> dict:
    row = {
        "closedPnl": dec(f.closed_pnl),
        "coin": f.coin,
        "crossed": f.crossed,
        "dir": f.dir,
        "hash": f.hash,
        "oid": f.oid,
        "px": dec(f.px),
        "side": f.side,
        "startPosition": dec(f.start_position),
        "sz": dec(f.sz),
        "time": f.time,
        "fee": dec(f.fee),
        "feeToken": f.fee_token,
        "tid": f.tid,
    }
    if f.cloid:
        row["cloid"] = f.cloid
    if f.builder_fee is not None:
        row["builderFee"] = dec(f.builder_fee)
    if f.liquidation is not None:
        row["liquidation"] = {
            "liquidatedUser": public_address(f.liquidation.liquidated_user),
            "markPx": dec(f.liquidation.mark_px),
            "method": f.liquidation.method,
        }
    return row


def trade(t: r.Trade) -> dict:
    return {
        "coin": t.coin,
        "side": t.side,
        "px": dec(t.px),
        "sz": dec(t.sz),
        "time": t.time,
        "hash": t.hash,
        "tid": t.tid,
        "users": [public_address(t.buyer), public_address(t.seller)],  # the other face's accounts unnamed
    }


def level(lv: r.BookLevel) -> dict:
    return {"px": dec(lv.px), "sz": dec(lv.sz), "n": lv.n}


def l2_book(b: r.L2Snapshot, depth: int = 20) -> dict:
    return {
        "coin": b.coin,
        "time": b.time,
        "levels": [[level(x) for x in b.bids[:depth]], [level(x) for x in b.asks[:depth]]],
    }


def bbo(b: r.L2Snapshot) -> dict:
    return {
        "coin": b.coin,
        "time": b.time,
        "bbo": [level(b.bids[0]) if b.bids else None, level(b.asks[0]) if b.asks else None],
    }


def candle(c: r.Candle) -> dict:
    return {
        "t": c.t,
        "T": c.T,
        "s": c.coin,
        "i": c.interval,
        "o": dec(c.o),
        "c": dec(c.c),
        "h": dec(c.h),
        "l": dec(c.l),
        "v": dec(c.v),
        "n": c.n,
    }


def asset_ctx(c: r.AssetCtx) -> dict:
    return {
        "dayNtlVlm": dec(c.day_ntl_vlm),
        "funding": dec(c.funding),
        "impactPxs": None if c.impact_pxs is None else [_px(c.impact_pxs[0]), _px(c.impact_pxs[1])],
        "markPx": dec(c.mark_px),
        "midPx": opt_dec(c.mid_px),
        "openInterest": dec(c.open_interest),
        "oraclePx": dec(c.oracle_px),
        "premium": opt_dec(c.premium),
        "prevDayPx": dec(c.prev_day_px),
        "dayBaseVlm": dec(c.day_base_vlm),
    }


def _px(value: Decimal) -> str:
    """A computed price (an impact VWAP is an exact quotient, 28 digits) as the venue prints
    prices: at most 5 significant figures and 6 decimals."""
    d = Decimal(value)
    if d == 0:
        return "0.0"
    quantum = Decimal(1).scaleb(max(d.adjusted() - 4, -6))
    return dec(d.quantize(quantum, rounding=ROUND_HALF_EVEN) if quantum < 1 else d.to_integral_value(ROUND_HALF_EVEN))


def _leverage(kind: str, value: int, raw_usd: Decimal | None) -> dict:
    lev: dict = {"type": kind, "value": value}
    if kind == "isolated":
        lev["rawUsd"] = dec(raw_usd or 0)
    return lev


def position(p: r.PositionView) -> dict:
    return {
        "position": {
            "coin": p.coin,
            "cumFunding": {
                "allTime": dec(p.cum_funding_all_time),
                "sinceChange": dec(p.cum_funding_since_change),
                "sinceOpen": dec(p.cum_funding_since_open),
            },
            "entryPx": dec(p.entry_px),
            "leverage": _leverage(p.leverage_type, p.leverage_value, p.raw_usd),
            "liquidationPx": opt_dec(p.liquidation_px),
            "marginUsed": dec(p.margin_used),
            "maxLeverage": p.max_leverage,
            "positionValue": dec(p.position_value),
            "returnOnEquity": dec(p.return_on_equity),
            "szi": dec(p.szi),
            "unrealizedPnl": dec(p.unrealized_pnl),
        },
        "type": "oneWay",
    }


def margin_summary(m: r.MarginSummaryView) -> dict:
    return {
        "accountValue": dec(m.account_value),
        "totalMarginUsed": dec(m.total_margin_used),
        "totalNtlPos": dec(m.total_ntl_pos),
        "totalRawUsd": dec(m.total_raw_usd),
    }


def clearinghouse(v: r.ClearinghouseView) -> dict:
    return {
        "assetPositions": [position(p) for p in v.asset_positions],
        "crossMaintenanceMarginUsed": dec(v.cross_maintenance_margin_used),
        "crossMarginSummary": margin_summary(v.cross_margin_summary),
        "marginSummary": margin_summary(v.margin_summary),
        "time": v.time,
        "withdrawable": dec(v.withdrawable),
    }


def spot_balances(balances: list[r.SpotBalance] | tuple[r.SpotBalance, ...]) -> dict:
    return {
        "balances": [
            {"coin": b.coin, "token": b.token, "hold": dec(b.hold), "total": dec(b.total), "entryNtl": dec(b.entry_ntl)}
            for b in balances
        ]
    }


def funding_payment_delta(p: r.FundingPayment) -> dict:
    return {
        "type": "funding",
        "coin": p.coin,
        "usdc": dec(p.usdc),
        "szi": dec(p.szi),
        "fundingRate": dec(p.funding_rate),
        "nSamples": None,
    }


def user_funding_row(p: r.FundingPayment) -> dict:
    return {"delta": funding_payment_delta(p), "hash": p.hash, "time": p.time}


def ws_funding(p: r.FundingPayment) -> dict:
    """The flat funding object of the userFundings / userEvents channels."""
    return {
        "time": p.time,
        "coin": p.coin,
        "usdc": dec(p.usdc),
        "szi": dec(p.szi),
        "fundingRate": dec(p.funding_rate),
        "nSamples": None,
    }


def funding_rate_row(f: r.FundingRate) -> dict:
    return {"coin": f.coin, "fundingRate": dec(f.funding_rate), "premium": dec(f.premium), "time": f.time}


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return dec(value)
    return value


# Ledger kinds whose delta carries no `usdc` field (the amount is `amount`, of `token` if any).
_TOKEN_DELTAS = frozenset({"spotTransfer", "send", "rewardsClaim"})


def ledger_row(u: r.LedgerUpdate) -> dict:
    delta: dict = {"type": u.kind} if u.kind in _TOKEN_DELTAS else {"type": u.kind, "usdc": dec(u.usdc)}
    for key, value in u.details:
        delta[key] = _plain(value)
    return {"delta": delta, "hash": u.hash, "time": u.time}


def active_asset_data(a: r.ActiveAssetData) -> dict:
    return {
        "user": a.user,
        "coin": a.coin,
        "leverage": _leverage(a.leverage_type, a.leverage_value, a.raw_usd),
        "maxTradeSzs": [dec(a.max_trade_szs[0]), dec(a.max_trade_szs[1])],
        "availableToTrade": [dec(a.available_to_trade[0]), dec(a.available_to_trade[1])],
        "markPx": dec(a.mark_px),
    }


def order_result(res: r.OrderResult) -> dict | str:
    """One entry of an order / batchModify `statuses` list."""
    if isinstance(res, str):
        return res
    if isinstance(res, r.Resting):
        body: dict = {"oid": res.oid}
        if res.cloid:
            body["cloid"] = res.cloid
        return {"resting": body}
    if isinstance(res, r.Filled):
        body = {"totalSz": dec(res.total_sz), "avgPx": dec(res.avg_px), "oid": res.oid}
        if res.cloid:
            body["cloid"] = res.cloid
        return {"filled": body}
    return {"error": res.error}


def cancel_result(res: r.CancelResult) -> dict | str:
    if isinstance(res, str):
        return res
    return {"error": res.error}
