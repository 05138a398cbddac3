"""The order grammar: from what a person types to fully resolved, venue-valid order intents.

`perp buy BTC 0.1 --limit -0.5%` goes through three steps, each with one job:
1. parse: `parse_size`, `parse_price_flags` turn strings into SizeSpec / PriceSpec, refusing
   anything malformed with a UsageError (exit 2) that names the flag;
2. resolve: `plan_order` reads the market's rules and reference prices (mid, mark, free
   collateral) and computes the size and prices, rounding in the direction that never makes
   the order worse than asked (sizes toward zero; passive buys down, passive sells up);
3. the result, an `OrderPlan`, holds OrderIntents (with client order ids) plus what the risk
   guards and the preview need. Nothing here signs or sends.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from perpcli.domain import order_rules as rules
from perpcli.domain.errors import UsageError, ValidationError
from perpcli.domain.instrument import Instrument
from perpcli.domain.order_rules import Rounding, safe_price_rounding
from perpcli.domain.orders import OrderIntent, OrderType, Side, TimeInForce
from perpcli.ledger.fees import FeeRates, takes_liquidity

ZERO = Decimal(0)
HUNDRED = Decimal(100)
DEFAULT_SLIPPAGE_PCT = Decimal(1)
TRIGGER_SLIPPAGE_PCT = Decimal(10)  # worst price of a stop/TP that executes as market (venue UI default)

# ASCII digits only: `\d` and Decimal() also take any Unicode digit, so a Bengali ৪ (which
# looks like 8) would be read as 4. The digit limits keep every later computation inside the
# 28-digit Decimal context (a 38-digit --usd would otherwise fail deep in the rounding code).
MAX_INT_DIGITS = 15
MAX_FRACTION_DIGITS = 18
_NUM = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"


def _shown(text: str, limit: int = 24) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def parse_decimal(text: str, *, what: str, allow_zero: bool = False) -> Decimal:
    t = text.strip().replace("_", "")
    if not re.fullmatch(_NUM, t):
        raise UsageError(f"{what}: {_shown(text)} is not a positive decimal number (ASCII digits 0-9)")
    whole, _, fraction = t.partition(".")
    if len(whole.lstrip("0")) > MAX_INT_DIGITS or len(fraction) > MAX_FRACTION_DIGITS:
        raise UsageError(f"{what}: {_shown(text)} has too many digits (at most {MAX_INT_DIGITS} before the "
                         f"point and {MAX_FRACTION_DIGITS} after)")
    try:
        d = Decimal(t)
    except InvalidOperation:
        raise UsageError(f"{what}: {_shown(text)} is not a decimal number") from None
    if d <= 0 and not (allow_zero and d == 0):
        raise UsageError(f"{what} must be positive, got {_shown(text)}")
    return d


def parse_percent(text: str, *, what: str) -> Decimal:
    """'1%' or '1' -> Decimal(1) (a percentage, not a fraction)."""
    t = text.strip()
    if t.endswith("%"):
        t = t[:-1]
    return parse_decimal(t, what=what)


@dataclass
class SizeSpec:
    kind: str  # "base" | "usd" | "pct" (of free collateral) | "risk" (% of equity lost at the stop)
    value: Decimal


def parse_size(size: str | None, *, usd: str | None = None, risk: str | None = None) -> SizeSpec:
    given = [x for x in (size, usd, risk) if x is not None]
    if len(given) != 1:
        raise UsageError("give exactly one size: SIZE (base units or N% of free collateral), --usd N, or --risk N%")
    if usd is not None:
        return SizeSpec("usd", parse_decimal(usd.lstrip("$"), what="--usd"))
    if risk is not None:
        pct = parse_percent(risk, what="--risk")
        if pct > HUNDRED:
            raise UsageError(f"--risk {risk}: cannot risk more than 100%")
        return SizeSpec("risk", pct)
    assert size is not None
    if size.strip().endswith("%"):
        pct = parse_percent(size, what="SIZE")
        if pct > HUNDRED:
            raise UsageError(f"SIZE {size}: more than 100% of free collateral")
        return SizeSpec("pct", pct)
    return SizeSpec("base", parse_decimal(size, what="SIZE"))


@dataclass
class PriceSpec:
    kind: str  # "limit" | "market" | "stop"
    limit: Decimal | None = None  # absolute limit price
    limit_offset_pct: Decimal | None = None  # relative limit: signed % from mid
    slippage_pct: Decimal = DEFAULT_SLIPPAGE_PCT
    trigger: Decimal | None = None


def parse_limit(text: str) -> tuple[Decimal | None, Decimal | None]:
    """'65000' -> (65000, None); '-0.5%' / '+1%' -> (None, signed percent)."""
    t = text.strip()
    if t.endswith("%"):
        sign = Decimal(1)
        body = t[:-1]
        if body.startswith(("+", "-")):
            sign = Decimal(-1) if body[0] == "-" else Decimal(1)
            body = body[1:]
        pct = parse_decimal(body, what="--limit", allow_zero=True)
        if pct >= HUNDRED and sign < 0:
            raise UsageError(f"--limit {text}: a price cannot be {pct}% below mid")
        return None, sign * pct
    return parse_decimal(t, what="--limit"), None


def parse_price_flags(
    *, limit: str | None, market: bool, stop: str | None, slippage: str | None
) -> PriceSpec:
    """Exactly one of --limit, --market, --stop (with an optional --limit for stop-limit)."""
    slip = parse_percent(slippage, what="--slippage") if slippage is not None else None
    if slip is not None and slip >= HUNDRED:
        raise UsageError("--slippage must be below 100%")
    if stop is not None:
        if market:
            raise UsageError("--stop and --market cannot be combined (a stop without --limit is a stop-market)")
        trig = parse_decimal(stop, what="--stop")
        lim, off = parse_limit(limit) if limit is not None else (None, None)
        if off is not None:
            raise UsageError("--limit with --stop must be an absolute price")
        return PriceSpec("stop", limit=lim, trigger=trig, slippage_pct=slip or TRIGGER_SLIPPAGE_PCT)
    if market and limit is not None:
        raise UsageError("give exactly one of --limit PX, --market or --stop PX")
    if market:
        return PriceSpec("market", slippage_pct=slip or DEFAULT_SLIPPAGE_PCT)
    if limit is not None:
        if slip is not None:
            raise UsageError("--slippage applies to --market and --stop orders only")
        lim, off = parse_limit(limit)
        return PriceSpec("limit", limit=lim, limit_offset_pct=off)
    raise UsageError("an order needs a price: --limit PX (or -0.5% from mid), --market [--slippage 1%], or --stop PX")


@dataclass
class OrderRequest:
    market: str
    side: Side
    size: SizeSpec
    price: PriceSpec
    tp: Decimal | None = None
    sl: Decimal | None = None
    reduce_only: bool = False
    post_only: bool = False
    ioc: bool = False
    cloid: str | None = None
    leverage: int | None = None
    isolated: bool = False


@dataclass
class MarketContext:
    """Reference data the plan needs, fetched by the caller (so planning stays pure)."""

    instrument: Instrument
    mid: Decimal
    mark: Decimal
    free_collateral: Decimal = ZERO  # withdrawable
    equity: Decimal = ZERO  # account value
    current_leverage: int | None = None
    now_ms: int | None = None  # set for markets with trading hours: an order is refused while closed
    fees: FeeRates | None = None  # the account's (or the public schedule): risk sizing counts them
    best_bid: Decimal | None = None  # top of the book: whether a limit entry takes or rests
    best_ask: Decimal | None = None
    position_size: Decimal | None = None  # signed size held on this market; None: not read (no local check)


@dataclass
class OrderPlan:
    venue: str
    market: str
    side: Side
    intents: list[OrderIntent]
    grouping: str
    reference_price: Decimal  # what the notional is computed at (limit or worst price)
    mark: Decimal
    leverage: int | None
    isolated: bool
    labels: list[str] = field(default_factory=list)  # JSON "type" per intent
    # The leverage the order is margined at: what it sets (`leverage`), else the held
    # position's, the account's setting or the venue's default (app/preview.order_leverage);
    # None when the caller did not read it. The max_leverage guard checks this one.
    leverage_used: int | None = None
    instrument: Instrument | None = None  # the market's rules (results are shown at its precision)

    @property
    def main(self) -> OrderIntent:
        return self.intents[0]

    @property
    def notional(self) -> Decimal:
        return self.main.size * self.reference_price


def _round_px(inst: Instrument, px: Decimal, rounding: Rounding, what: str) -> Decimal:
    return rules.conform_price(inst, px, rounding, what=what)


def _check_px(inst: Instrument, px: Decimal, what: str) -> Decimal:
    return rules.conform_price(inst, px, what=what)


def _trigger_worst(inst: Instrument, trigger: Decimal, *, is_buy: bool, slippage_pct: Decimal) -> Decimal:
    factor = (HUNDRED + slippage_pct) / HUNDRED if is_buy else (HUNDRED - slippage_pct) / HUNDRED
    return _round_px(inst, trigger * factor, safe_price_rounding(is_buy, passive=True), "worst price")


def plan_order(
    venue: str, req: OrderRequest, ctx: MarketContext, *, new_cloid: Callable[[], str]
) -> OrderPlan:
    """Resolve a request against the market into intents (main order first, then TP/SL children)."""
    inst = ctx.instrument
    is_buy = req.side is Side.BUY
    p = req.price
    flags = [req.post_only, req.ioc]
    if sum(flags) > 1:
        raise UsageError("--post-only and --ioc cannot be combined")
    if (req.post_only or req.ioc) and p.kind != "limit":
        raise UsageError("--post-only and --ioc apply to --limit orders only")
    if req.leverage is not None:
        rules.check_leverage(inst, req.leverage)
    if req.reduce_only and ctx.position_size is not None:
        check_reduce_only(inst, req.side, ctx.position_size)

    # --- price -----------------------------------------------------------------------------
    order_type = OrderType.LIMIT
    tif = TimeInForce.GTC
    trigger = None
    if p.kind == "limit":
        if p.limit is not None:
            price = _check_px(inst, p.limit, "--limit")
        else:
            assert p.limit_offset_pct is not None
            raw = ctx.mid * (HUNDRED + p.limit_offset_pct) / HUNDRED
            price = _round_px(inst, raw, safe_price_rounding(is_buy, passive=True), "--limit")
        tif = TimeInForce.ALO if req.post_only else TimeInForce.IOC if req.ioc else TimeInForce.GTC
        reference = price
    elif p.kind == "market":
        raw = ctx.mid * ((HUNDRED + p.slippage_pct) if is_buy else (HUNDRED - p.slippage_pct)) / HUNDRED
        price = _round_px(inst, raw, safe_price_rounding(is_buy, passive=True), "worst price")
        order_type, tif = OrderType.MARKET, TimeInForce.IOC
        reference = ctx.mid
    else:
        assert p.trigger is not None
        trigger = _check_px(inst, p.trigger, "--stop")
        # Which way the trigger lies from mark decides stop (adverse) vs take-profit (favourable).
        is_stop = trigger >= ctx.mark if is_buy else trigger <= ctx.mark
        if p.limit is not None:
            price = _check_px(inst, p.limit, "--limit")
            order_type = OrderType.STOP_LIMIT if is_stop else OrderType.TAKE_PROFIT_LIMIT
        else:
            price = _trigger_worst(inst, trigger, is_buy=is_buy, slippage_pct=p.slippage_pct)
            order_type = OrderType.STOP_MARKET if is_stop else OrderType.TAKE_PROFIT_MARKET
        reference = trigger

    # --- size ------------------------------------------------------------------------------
    s = req.size
    lev = req.leverage or ctx.current_leverage or 1
    if s.kind == "base":
        size = rules.conform_size(inst, s.value)
    else:
        if s.kind == "usd":
            raw_size = s.value / reference
        elif s.kind == "pct":
            if ctx.free_collateral <= 0:
                raise ValidationError("no free collateral to size the order from", rule="free-collateral")
            raw_size = ctx.free_collateral * s.value / HUNDRED * lev / reference
        else:  # risk: lose s.value % of equity if the stop is hit
            if req.sl is None:
                raise UsageError("--risk needs --sl PX (the stop that bounds the loss)")
            distance = abs(reference - req.sl)
            if distance == 0:
                raise UsageError("--sl equals the entry price: the risk per unit is zero")
            if ctx.equity <= 0:
                raise ValidationError("account equity is zero: nothing to risk", rule="equity")
            if (req.sl < reference) != is_buy:
                raise UsageError(f"--sl {req.sl} must be {'below' if is_buy else 'above'} the entry {reference}")
            if ctx.fees is None:
                raise ValidationError("risk sizing needs the account's fee rates", rule="fees")
            from perpcli.ledger.margin import size_for_risk  # counts both fees, rounds down to the lot

            # The entry pays what the preview will show (maker if it rests, taker if it takes);
            # the stop fires into the book as a market order: taker.
            entry_takes = takes_liquidity(
                side=req.side, order_type=order_type, tif=tif, price=price,
                best_opposite=ctx.best_ask if is_buy else ctx.best_bid,
            )
            raw_size = size_for_risk(instrument=inst, entry_price=reference, stop_price=req.sl,
                                     risk_fraction=s.value / HUNDRED, equity=ctx.equity,
                                     fee_rate=ctx.fees.rate(entry_takes), exit_fee_rate=ctx.fees.taker)
        size = rules.conform_size(inst, raw_size, Rounding.TOWARD_ZERO)
    # The whole order against the market's rules: the venue's price band around the mark, the
    # minimum order value at the limit (or worst) price, and the trading hours.
    rules.check_order(inst, price=price, size=size, trigger_price=trigger, reduce_only=req.reduce_only,
                      reference=ctx.mark, time_ms=ctx.now_ms)

    cloid = req.cloid or new_cloid()
    main = OrderIntent(
        venue=venue, symbol=inst.symbol, side=req.side, size=size, order_type=order_type, price=price, tif=tif,
        reduce_only=req.reduce_only, trigger_price=trigger, cloid=cloid,
    )
    intents = [main]
    labels = [order_type.value]

    # --- bracket children: reduce-only triggers on the other side -------------------------
    if req.tp is not None or req.sl is not None:
        if p.kind == "stop":
            raise UsageError("--tp/--sl attach to --limit or --market orders, not to --stop orders")
        exit_side = req.side.opposite
        for px, kind in ((req.tp, OrderType.TAKE_PROFIT_MARKET), (req.sl, OrderType.STOP_MARKET)):
            if px is None:
                continue
            flag = "--tp" if kind is OrderType.TAKE_PROFIT_MARKET else "--sl"
            trig = _check_px(inst, px, flag)
            rules.check_price_band(inst, trig, ctx.mark, what=flag)
            favourable = trig > reference if is_buy else trig < reference
            if (kind is OrderType.TAKE_PROFIT_MARKET) != favourable:
                where = "above" if (kind is OrderType.TAKE_PROFIT_MARKET) == is_buy else "below"
                raise UsageError(f"{flag} {trig} must be {where} the entry price {reference} for a {req.side.value}")
            worst = _trigger_worst(inst, trig, is_buy=exit_side is Side.BUY, slippage_pct=TRIGGER_SLIPPAGE_PCT)
            intents.append(OrderIntent(
                venue=venue, symbol=inst.symbol, side=exit_side, size=size, order_type=kind, price=worst,
                tif=TimeInForce.GTC, reduce_only=True, trigger_price=trig, cloid=new_cloid(),
            ))
            labels.append(kind.value)

    return OrderPlan(
        venue=venue, market=inst.symbol, side=req.side, intents=intents,
        grouping="normalTpsl" if len(intents) > 1 else "na", reference_price=reference, mark=ctx.mark,
        leverage=req.leverage, isolated=req.isolated, labels=labels, instrument=inst,
        leverage_used=req.leverage or ctx.current_leverage,
    )


def check_reduce_only(inst: Instrument, side: Side, position: Decimal) -> None:
    """A reduce-only order must face an open position on the other side: refused here, before
    anything is signed, rather than by the venue after sending (exit 2, rule reduce-only)."""
    if position == 0:
        raise ValidationError(f"reduce-only {side.value} on {inst.symbol}: there is no open position to reduce"
                              " (rule reduce-only)", rule="reduce-only")
    if (position > 0) == (side is Side.BUY):
        held = "long" if position > 0 else "short"
        raise ValidationError(f"reduce-only {side.value} on {inst.symbol} would increase the {held} position of"
                              f" {rules.plain(abs(position))} (rule reduce-only; a reduce-only order must"
                              f" {side.opposite.value})", rule="reduce-only")


def scale_prices(inst: Instrument, start: Decimal, end: Decimal, count: int, *, is_buy: bool) -> list[Decimal]:
    """`count` prices evenly from start to end, each rounded passively to the tick rules."""
    if count < 2:
        raise UsageError("--count must be at least 2")
    if count > 100:
        raise UsageError("--count must be at most 100")
    step = (end - start) / (count - 1)
    rounding = safe_price_rounding(is_buy, passive=True)
    return [_round_px(inst, start + step * i, rounding, "scale price") for i in range(count)]
