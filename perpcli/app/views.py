"""Read models: domain objects -> flat rows for CLI tables, JSON documents and TUI widgets.

One function per row kind, so the CLI's --json schema (docs/json.md) is defined in one place.
Values stay Decimal here, each at the precision its kind deserves (app/display.py: prices on
the market's grid, sizes on its lot, USD to the cent, ratios to 4 decimals); the output layer
writes them as strings. Rows about one market take its `Instrument` for that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from perpcli.app import display as shown
from perpcli.domain.events import AccountSnapshot, BookSnapshot, Fill, FundingPayment, PositionSnapshot, Trade
from perpcli.domain.instrument import Instrument, MarginMode
from perpcli.domain.orders import Order

ZERO = Decimal(0)


def market_row(inst: Instrument, *, venue: str, mark: Decimal | None = None, mid: Decimal | None = None,
               funding: Decimal | None = None, open_interest: Decimal | None = None) -> dict[str, Any]:
    """A market and its order rules as data (what domain/order_rules.py checks orders against)."""
    band = inst.price_band
    hours = inst.trading_hours
    return {
        "venue": venue,
        "market": inst.symbol,
        "underlying": inst.underlying,
        "multiplier": inst.multiplier,
        "quote": inst.quote,
        "asset_id": inst.asset_id,
        "tick_size": inst.tick_size,
        "price_sig_figs": inst.price_sig_figs,
        "price_max_decimals": inst.price_max_decimals,
        "lot_size": inst.lot_size,
        "size_decimals": inst.size_decimals,
        "min_notional": inst.min_notional,
        "max_leverage": inst.max_leverage,
        "only_isolated": inst.only_isolated,
        "price_band_below": band.below if band else None,
        "price_band_above": band.above if band else None,
        "trading_hours": {"zone": hours.zone, "sessions": [w.describe() for w in hours.windows]} if hours else None,
        "mark_price": shown.price(inst, mark),
        "mid_price": shown.mid(inst, mid),
        "funding_rate": shown.rate(funding),
        "open_interest": shown.size(inst, open_interest),
    }


def position_row(p: PositionSnapshot, *, venue: str, mark: Decimal | None,
                 inst: Instrument | None = None) -> dict[str, Any]:
    """size is signed (+ long, - short). margin_used: isolated margin, or |size| x mark / leverage
    for cross (Hyperliquid's initial-margin rule)."""
    if p.margin_mode is MarginMode.ISOLATED and p.isolated_margin is not None:
        used = p.isolated_margin
    elif mark is not None and p.leverage:
        used = abs(p.size) * mark / p.leverage
    else:
        used = None
    return {
        "venue": venue,
        "market": p.symbol,
        "size": shown.size(inst, p.size),
        "entry_price": shown.price(inst, p.entry_price),
        "mark_price": shown.price(inst, mark),
        "unrealized_pnl": shown.usd(p.unrealized_pnl),
        "liquidation_price": shown.price(inst, p.liquidation_price),
        "leverage": p.leverage,
        "margin_mode": p.margin_mode.value,
        "margin_used": shown.usd(used),
        **position_risk(p, mark=mark, margin_used=used),
        "position_id": p.position_id,
    }


PCT_PLACES = Decimal("0.01")


def position_risk(p: PositionSnapshot, *, mark: Decimal | None, margin_used: Decimal | None) -> dict[str, Any]:
    """What a trader reads first on the venue's web app: return on the margin the position
    uses (unrealized PnL / margin, %), and how far the mark may move against the position
    before liquidation (%, positive while safe). None where an input is missing."""
    roe = None
    if margin_used and p.unrealized_pnl is not None:
        roe = (p.unrealized_pnl / margin_used * 100).quantize(PCT_PLACES)
    distance = None
    if mark and p.liquidation_price is not None and p.size:
        away = mark - p.liquidation_price if p.size > 0 else p.liquidation_price - mark
        distance = (away / mark * 100).quantize(PCT_PLACES)
    return {"return_on_margin_pct": roe, "liquidation_distance_pct": distance}


def margin_ratio(market: Any, s: AccountSnapshot, marks: Mapping[str, Decimal]) -> Decimal | None:
    """The margin ratio `perp watch` shows (ledger MarginSummary.margin_ratio: maintenance margin /
    cross account value, 1 = liquidation), from the venue's snapshot under each market's rules."""
    from perpcli.app.preview import cash_of, position_risks
    from perpcli.domain.errors import PerpError
    from perpcli.ledger.margin import summarize

    def instrument_of(symbol: str) -> Any:
        try:
            return market.instrument(symbol)
        except PerpError:
            return None  # a market the venue no longer lists: left out, as the TUI does

    quote = next((b.asset for b in s.balances if not b.asset.startswith("spot:")), "USDC")
    risks = position_risks(s, instrument_of, marks.get, market.margin_rules)
    return summarize(cash_of(s, quote), risks).margin_ratio


def account_row(accounts: Sequence[tuple[str, AccountSnapshot]], *, venue: str, signer: str, role: str,
                marks: Mapping[str, Decimal], margin_ratios: Mapping[str, Decimal | None] | None = None
                ) -> dict[str, Any]:
    """`perp account`: totals over every margin account the venue keeps for the account (the
    main one first; Hyperliquid's builder dexes each hold their own collateral), so equity,
    margin used, notional and leverage always describe the same positions; `margin_accounts`
    breaks them down. `margin_ratio` is the highest of the accounts': the one nearest liquidation."""
    ratios = margin_ratios or {}
    parts = []
    for name, s in accounts:
        notional = sum((abs(p.size) * marks.get(p.symbol, p.entry_price) for p in s.positions), ZERO)
        parts.append((name, s, notional))
    # Totals add up the parts as shown (to the cent), so a reader summing the breakdown gets
    # exactly the total: rounding the exact sum instead can differ by a cent.
    equity = sum((shown.usd(s.account_value or ZERO) for _, s, _ in parts), ZERO)
    used = sum((shown.usd(s.margin_used or ZERO) for _, s, _ in parts), ZERO)
    withdrawable = sum((shown.usd(s.withdrawable or ZERO) for _, s, _ in parts), ZERO)
    notional = sum((shown.usd(n) for _, _, n in parts), ZERO)
    known = [r for r in ratios.values() if r is not None]
    main = accounts[0][1]
    return {
        "venue": venue,
        "account": main.account,
        "signer": signer,
        "signer_role": role,
        "equity": shown.usd(equity),
        "margin_used": shown.usd(used),
        "withdrawable": shown.usd(withdrawable),
        "notional": shown.usd(notional),
        "leverage": _ratio(notional, equity),
        "margin_ratio": shown.ratio(max(known)) if known else None,
        "positions": sum(len([p for p in s.positions if p.size != 0]) for _, s, _ in parts),
        "open_orders": sum(len(s.open_orders) for _, s, _ in parts),
        "margin_accounts": [
            {"name": name, "equity": shown.usd(s.account_value or ZERO), "margin_used": shown.usd(s.margin_used or ZERO),
             "withdrawable": shown.usd(s.withdrawable), "notional": shown.usd(n), "leverage": _ratio(n, s.account_value or ZERO),
             "margin_ratio": shown.ratio(ratios.get(name)),
             "positions": len([p for p in s.positions if p.size != 0])}
            for name, s, n in parts
        ],
        # Spot balances (e.g. after `perp transfer --to spot`): not margin, but the trader's money.
        "spot": {b.asset.removeprefix("spot:"): b.total for b in main.balances
                 if b.asset.startswith("spot:") and b.total != 0},
    }


def _ratio(num: Decimal, den: Decimal) -> Decimal | None:
    """A display ratio (leverage, margin ratio); None when the denominator is 0."""
    if den <= 0:
        return None
    return shown.ratio(num / den)


def order_row(o: Order, *, venue: str, inst: Instrument | None = None) -> dict[str, Any]:
    """`price` is the limit price, or for a trigger-market order the worst price it may fill at
    once triggered; `trigger_price` is what the mark must reach. A TP/SL child still waiting
    for its parent (a bracket's entry that rests) names it in `parent_oid`."""
    return {
        "venue": venue,
        "market": o.symbol,
        "side": o.side.value,
        "size": shown.size(inst, o.size),
        "orig_size": shown.size(inst, o.orig_size),
        "price": shown.price(inst, o.price),
        "type": o.order_type.value,
        "trigger_price": shown.price(inst, o.trigger_price),
        "reduce_only": o.reduce_only,
        "tif": o.tif.value if o.tif else None,
        "status": o.status.value,
        "oid": o.oid,
        "cloid": o.cloid,
        "parent_oid": o.parent_oid,
        "time": o.time_ms,
    }


def with_children_after_parents(orders: Sequence[Order]) -> list[Order]:
    """Open orders with each bracket child right after its parent (the venue lists them apart)."""
    children: dict[str, list[Order]] = {}
    for o in orders:
        if o.parent_oid is not None:
            children.setdefault(o.parent_oid, []).append(o)
    out: list[Order] = []
    for o in orders:
        if o.parent_oid is not None and any(p.oid == o.parent_oid for p in orders):
            continue  # placed below its parent
        out.append(o)
        out.extend(children.get(o.oid or "", []))
    return out


def fill_row(f: Fill, inst: Instrument | None = None) -> dict[str, Any]:
    return {
        "venue": f.venue,
        "market": f.symbol,
        "side": f.side.value,
        "size": shown.size(inst, f.size),
        "price": shown.price(inst, f.price),
        "fee": shown.amount(f.fee),
        "fee_token": f.fee_token,
        "closed_pnl": shown.amount(f.closed_pnl),
        "taker": f.is_taker,
        "liquidation": f.liquidation,
        "oid": f.oid,
        "cloid": f.cloid,
        "trade_id": f.trade_id,
        "time": f.time_ms,
    }


def funding_payment_row(f: FundingPayment, inst: Instrument | None = None) -> dict[str, Any]:
    return {
        "venue": f.venue,
        "market": f.symbol,
        "amount": shown.amount(f.amount),
        "rate": shown.rate(f.rate),
        "position_size": shown.size(inst, f.position_size),
        "time": f.time_ms,
    }


def twap_row(t: Any, inst: Instrument | None = None, *, now_ms: int) -> dict[str, Any]:
    """A TWAP (venues/base.py TwapState) as `perp twap list` shows it: how much of the size is
    done, at what average price, and how much of its time has passed (both in %)."""
    span = max(1, t.ends_ms - t.started_ms)
    until = now_ms if t.running or t.ended_ms is None else t.ended_ms
    elapsed = min(max(until - t.started_ms, 0), span)
    return {
        "venue": t.venue,
        "market": t.symbol,
        "twap_id": t.twap_id,
        "side": t.side.value,
        "size": shown.size(inst, t.size),
        "executed_size": shown.size(inst, t.executed_size),
        "executed_pct": (t.progress * 100).quantize(PCT_PLACES),
        "average_price": shown.price(inst, t.average_price),
        "executed_notional": shown.usd(t.executed_notional),
        "minutes": t.minutes,
        "time_elapsed_pct": (Decimal(elapsed) / Decimal(span) * 100).quantize(PCT_PLACES),
        "reduce_only": t.reduce_only,
        "randomize": t.randomize,
        "status": t.status,
        "started_at": t.started_ms,
        "ends_at": t.ends_ms,
        "ended_at": t.ended_ms,
    }


def trade_row(t: Trade) -> dict[str, Any]:
    return {"venue": t.venue, "market": t.symbol, "side": t.side.value, "price": t.price, "size": t.size,
            "time": t.time_ms, "trade_id": t.trade_id}


def book_doc(b: BookSnapshot, depth: int, inst: Instrument | None = None) -> dict[str, Any]:
    bids = [{"price": px, "size": sz} for px, sz in b.bids[:depth]]
    asks = [{"price": px, "size": sz} for px, sz in b.asks[:depth]]
    best_bid = b.bids[0][0] if b.bids else None
    best_ask = b.asks[0][0] if b.asks else None
    spread = (best_ask - best_bid) if best_bid is not None and best_ask is not None else None
    mid = (best_ask + best_bid) / 2 if spread is not None else None
    return {"venue": b.venue, "market": b.symbol, "time": b.time_ms, "bids": bids, "asks": asks,
            "mid": shown.mid(inst, mid), "spread": spread}


def book_rows(b: BookSnapshot, depth: int) -> list[dict[str, Any]]:
    """Side by side: bid size, bid, ask, ask size."""
    rows = []
    for i in range(min(depth, max(len(b.bids), len(b.asks)))):
        bid = b.bids[i] if i < len(b.bids) else None
        ask = b.asks[i] if i < len(b.asks) else None
        rows.append({"bid_size": bid[1] if bid else None, "bid": bid[0] if bid else None,
                     "ask": ask[0] if ask else None, "ask_size": ask[1] if ask else None})
    return rows


def funding_row(r: Any, *, venue: str) -> dict[str, Any]:
    return {
        "venue": venue,
        "market": r.symbol,
        "rate": shown.rate(r.rate),
        "interval_hours": r.interval_hours,
        "apr": shown.rate(r.apr),
        "predicted_rate": shown.rate(r.predicted_rate),
        "predicted_apr": shown.rate(r.predicted_apr),
        "next_time": r.next_time_ms,
    }


def candle_row(c: Any) -> dict[str, Any]:
    return {"market": c.symbol, "interval": c.interval, "open_time": c.open_ms, "close_time": c.close_ms,
            "open": c.open, "high": c.high, "low": c.low, "close": c.close, "volume": c.volume,
            "trades": c.trades}


def rows(items: Sequence[Any], fn: Any, **kw: Any) -> list[dict[str, Any]]:
    return [fn(x, **kw) for x in items]
