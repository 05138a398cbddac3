"""Margin math, Hyperliquid rules first (Hyperliquid docs: margining, liquidations).

A functional API: plain inputs (positions with their marks, the account's cash) in, frozen
results out. The CLI's previews, the TUI's risk column, `perp devnet`'s engine (margin checks,
liquidations, funding) all call these same functions, so the numbers a user sees before
trading are the numbers the local exchange enforces.

Definitions used throughout (they reproduce the venue's clearinghouseState; see tests):
- `cash` is the account's collateral balance, *including* margin moved into isolated
  positions and excluding unrealised PnL (codec: accountValue − Σ uPnL).
- A position's isolated margin is what was allocated to it, excluding its uPnL
  (Hyperliquid: rawUsd + szi × entryPx). Its "margin used" is isolated margin + uPnL.
- Initial margin = |size| × mark / leverage. Maintenance margin rate of a tier = half the
  initial margin rate at the tier's max leverage: 1 / (2 × max leverage). With several
  tiers, MM = notional × mmr(tier) − deduction(tier), deduction(0) = 0,
  deduction(n) = deduction(n−1) + lowerBound(n) × (mmr(n) − mmr(n−1)), which keeps MM
  continuous in notional.
- Account value = cash + Σ uPnL. Cross account value = cash − Σ isolated margins + Σ cross uPnL.
- Withdrawable = cross account value − max(cross initial margin, 10% × cross notional), ≥ 0.
- Liquidation: cross when cross account value < cross maintenance margin; isolated when
  isolated margin + uPnL < the position's maintenance margin. The liquidation price solves
  equity(P) = MM(P) with everything else held at its current mark, tier by tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from perpcli.domain.errors import RiskRefused, ValidationError
from perpcli.domain.instrument import Instrument, MarginMode, MarginTable, Rounding
from perpcli.domain.orders import Side
from perpcli.ledger.book import OrderBook

if TYPE_CHECKING:
    from perpcli.ledger.margin_rules import MarginRules

ZERO = Decimal(0)
ONE = Decimal(1)
TWO = Decimal(2)
WITHDRAW_NOTIONAL_FLOOR = Decimal("0.1")  # transfers must leave >= 10% of position notional
# Funding (Hyperliquid §d.9): per 8 hours, applied 1/8 each hour.
FUNDING_INTEREST_8H = Decimal("0.0001")
FUNDING_CLAMP_8H = Decimal("0.0005")
FUNDING_CAP_HOURLY = Decimal("0.04")


# ----- margin tables --------------------------------------------------------------------------


def maintenance_rate(max_leverage: int) -> Decimal:
    """Maintenance margin rate of a tier: half the initial rate at its max leverage."""
    return ONE / (TWO * max_leverage)


def _deductions(table: MarginTable) -> list[Decimal]:
    out = [ZERO]
    for prev, tier in zip(table.tiers, table.tiers[1:], strict=False):
        out.append(out[-1] + tier.lower_bound * (maintenance_rate(tier.max_leverage) - maintenance_rate(prev.max_leverage)))
    return out


def maintenance_margin(notional: Decimal, table: MarginTable) -> Decimal:
    """Maintenance margin for a position of this (absolute) notional."""
    notional = abs(notional)
    index = table.tier_index(notional)
    tier = table.tiers[index]
    return notional * maintenance_rate(tier.max_leverage) - _deductions(table)[index]


def max_leverage(notional: Decimal, table: MarginTable) -> int:
    """The most leverage allowed for a position of this notional."""
    return table.tier_for(abs(notional)).max_leverage


def initial_margin(notional: Decimal, leverage: int) -> Decimal:
    if leverage < 1:
        raise ValidationError("leverage must be at least 1", rule="leverage")
    return abs(notional) / leverage


# ----- positions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PositionRisk:
    """One position as the margin model needs it (all values at the current mark)."""

    symbol: str
    size: Decimal  # signed
    entry_price: Decimal
    mark_price: Decimal
    leverage: int
    margin_table: MarginTable
    mode: MarginMode = MarginMode.CROSS
    isolated_margin: Decimal = ZERO  # isolated only: allocated margin, excluding uPnL
    # The venue's rules for this market (ledger.margin_rules); None = Hyperliquid's over
    # `margin_table`, computed by this module's functions directly (the devnet's hot path).
    rules: MarginRules | None = None

    @property
    def notional(self) -> Decimal:
        return abs(self.size) * self.mark_price

    @property
    def unrealized_pnl(self) -> Decimal:
        return self.size * (self.mark_price - self.entry_price)

    @property
    def initial_margin(self) -> Decimal:
        return initial_margin(self.notional, self.leverage)

    @property
    def maintenance_margin(self) -> Decimal:
        if self.rules is None:
            return maintenance_margin(self.notional, self.margin_table)
        return self.rules.maintenance_margin(self)

    def liquidation_price(self, equity: Decimal, other_maintenance: Decimal = ZERO) -> Decimal | None:
        """Where this position is liquidated under its venue's rules (see `liquidation_price`)."""
        if self.rules is None:
            return liquidation_price(self, equity, other_maintenance)
        return self.rules.liquidation_price(self, equity, other_maintenance)

    @property
    def margin_used(self) -> Decimal:
        """Cross: the initial margin; isolated: allocated margin + uPnL (the venue's marginUsed),
        or the allocation alone where the venue counts only the collateral (per-trade isolated)."""
        if self.mode is MarginMode.ISOLATED:
            if self.rules is not None and not self.rules.pnl_in_margin_used:
                return self.isolated_margin
            return self.isolated_margin + self.unrealized_pnl
        return self.initial_margin


def liquidation_price(
    position: PositionRisk, equity: Decimal, other_maintenance: Decimal = ZERO
) -> Decimal | None:
    """The mark at which `equity` falls to the maintenance margin, others held constant.

    `equity` is the account value backing the position (cross: the cross account value;
    isolated: isolated margin + uPnL) and `other_maintenance` the maintenance margin of the
    other positions sharing it (cross only). Solves, for the tier the answer lands in,
        equity + side·|s|·(P − mark) = other_mm + |s|·P·mmr(t) − deduction(t)
    which is §d.8's `px − side·margin_available/|s|/(1 − mmr·side)` when one tier applies.
    None when no positive price liquidates (a long backed by more than its notional).
    """
    table = position.margin_table
    bounds = [tier.lower_bound for tier in table.tiers]
    rates = [maintenance_rate(tier.max_leverage) for tier in table.tiers]
    return tiered_liquidation_price(position, equity, other_maintenance, bounds, rates, _deductions(table))


def tiered_liquidation_price(
    position: PositionRisk,
    equity: Decimal,
    other_maintenance: Decimal,
    bounds: list[Decimal],
    rates: list[Decimal],
    deductions: list[Decimal],
) -> Decimal | None:
    """The liquidation price when MM = notional × rate(t) − deduction(t) over notional tiers
    starting at `bounds` (Hyperliquid's margin tables and Binance-style brackets alike).

    Each tier's linear equation is solved; the answer is the one whose notional lands in its
    own tier, else the current tier's (the tiers' MM is continuous, so this only happens at a
    boundary). See `liquidation_price` for the equation.
    """
    size = abs(position.size)
    if not size:
        return None
    side = ONE if position.size > 0 else -ONE
    mark = position.mark_price
    current = _tier_index(bounds, position.notional)
    fallback = None
    for index, mmr in enumerate(rates):
        denominator = size * (side - mmr)
        if not denominator:
            continue
        price = (other_maintenance - deductions[index] - equity + side * size * mark) / denominator
        notional = size * price
        upper = bounds[index + 1] if index + 1 < len(bounds) else None
        if notional >= bounds[index] and (upper is None or notional < upper):
            return price if price > 0 else None
        if index == current:
            fallback = price
    return fallback if fallback is not None and fallback > 0 else None


def _tier_index(bounds: list[Decimal], notional: Decimal) -> int:
    index = 0
    for i, lower in enumerate(bounds):
        if notional >= lower:
            index = i
        else:
            break
    return index


# ----- the account ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PositionMargin:
    symbol: str
    mode: MarginMode
    notional: Decimal
    unrealized_pnl: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    margin_used: Decimal
    liquidation_price: Decimal | None
    liquidation_distance: Decimal | None  # |mark − liq| / mark; 0 when already liquidatable


@dataclass(frozen=True, slots=True)
class MarginSummary:
    account_value: Decimal
    cross_account_value: Decimal
    margin_used: Decimal
    cross_margin_used: Decimal
    cross_maintenance_margin: Decimal
    total_notional: Decimal
    withdrawable: Decimal
    leverage: Decimal  # total notional / account value (0 with no equity)
    liquidatable: bool  # cross account below its maintenance margin
    positions: tuple[PositionMargin, ...]

    @property
    def margin_ratio(self) -> Decimal | None:
        """The margin ratio as the venue's web app shows it: cross maintenance margin over the
        cross account value, so 1 (100%) is liquidation. None when the cross account is empty."""
        if self.cross_account_value > 0:
            return self.cross_maintenance_margin / self.cross_account_value
        return Decimal(1) if self.cross_maintenance_margin > 0 else None


def summarize(
    cash: Decimal, positions: list[PositionRisk] | tuple[PositionRisk, ...], reserved: Decimal = ZERO
) -> MarginSummary:
    """Everything the venue's clearinghouseState reports, from cash and marked positions.

    `reserved` is the part of `cash` held by open orders on a venue that takes an order's
    collateral at placement (Ostium): it is margin used and not withdrawable, and still equity."""
    cross = [p for p in positions if p.mode is MarginMode.CROSS and p.size]
    isolated = [p for p in positions if p.mode is MarginMode.ISOLATED and p.size]
    upnl = sum((p.unrealized_pnl for p in positions), ZERO)
    account_value = cash + upnl
    cross_value = cash - sum((p.isolated_margin for p in isolated), ZERO) + sum(
        (p.unrealized_pnl for p in cross), ZERO
    )
    cross_im = sum((p.initial_margin for p in cross), ZERO)
    cross_mm = sum((p.maintenance_margin for p in cross), ZERO)
    cross_notional = sum((p.notional for p in cross), ZERO)
    total_notional = sum((p.notional for p in positions), ZERO)
    margin_used = cross_im + sum((p.margin_used for p in isolated), ZERO) + reserved
    venue_rules = next((p.rules for p in positions if p.rules is not None), None)
    if venue_rules is None:
        withdrawable = hyperliquid_withdrawable(cross_value, cross_im, cross_notional)
    else:  # one account is on one venue: any of its positions' rules speaks for the account
        cross_upnl = sum((p.unrealized_pnl for p in cross), ZERO)
        withdrawable = venue_rules.withdrawable(
            cross_value=cross_value, cross_initial_margin=cross_im, cross_notional=cross_notional,
            cross_unrealized_pnl=cross_upnl,
        )
    withdrawable = max(ZERO, withdrawable - reserved)
    rows = []
    for p in positions:
        if not p.size:
            continue
        mm = p.maintenance_margin
        if p.mode is MarginMode.ISOLATED:
            liq = p.liquidation_price(p.isolated_margin + p.unrealized_pnl)
        else:
            liq = p.liquidation_price(cross_value, cross_mm - mm)
        rows.append(
            PositionMargin(
                p.symbol,
                p.mode,
                p.notional,
                p.unrealized_pnl,
                p.initial_margin,
                mm,
                p.margin_used,
                liq,
                liquidation_distance(p.size, p.mark_price, liq),
            )
        )
    return MarginSummary(
        account_value=account_value,
        cross_account_value=cross_value,
        margin_used=margin_used,
        cross_margin_used=cross_im,
        cross_maintenance_margin=cross_mm,
        total_notional=total_notional,
        withdrawable=withdrawable,
        leverage=total_notional / account_value if account_value > 0 else ZERO,
        liquidatable=bool(cross) and cross_value < cross_mm,
        positions=tuple(rows),
    )


def hyperliquid_withdrawable(cross_value: Decimal, cross_initial_margin: Decimal, cross_notional: Decimal) -> Decimal:
    """What a transfer may take: it must leave max(initial margin, 10% of notional) (§d.7)."""
    return max(ZERO, cross_value - max(cross_initial_margin, cross_notional * WITHDRAW_NOTIONAL_FLOOR))


def liquidation_distance(size: Decimal, mark: Decimal, liq: Decimal | None) -> Decimal | None:
    """How far the mark may move against the position before liquidation, as a fraction."""
    if liq is None or not mark:
        return None
    move = (mark - liq) / mark if size > 0 else (liq - mark) / mark
    return max(ZERO, move)


# ----- funding --------------------------------------------------------------------------------


def funding_payment(size: Decimal, oracle_price: Decimal, hourly_rate: Decimal) -> Decimal:
    """Funding received (> 0) or paid (< 0) for one hour: longs pay when the rate is positive.

    Uses the oracle price, not the mark (§d.9).
    """
    return -size * oracle_price * hourly_rate


def hourly_funding_rate(average_premium: Decimal, multiplier: Decimal = ONE) -> Decimal:
    """Hyperliquid's hourly rate from the hour's average premium.

    F(8h) = P + clamp(r − P, −0.05%, +0.05%) with r = 0.01% per 8h; hourly = F/8, capped at
    4% per hour. `multiplier` is a HIP-3 dex's per-asset funding multiplier.
    """
    clamp = min(max(FUNDING_INTEREST_8H - average_premium, -FUNDING_CLAMP_8H), FUNDING_CLAMP_8H)
    rate = (average_premium + clamp) / 8 * multiplier
    return min(max(rate, -FUNDING_CAP_HOURLY), FUNDING_CAP_HOURLY)


# ----- pre-trade ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderPreview:
    side: Side
    size: Decimal
    average_price: Decimal
    worst_price: Decimal | None
    slippage: Decimal | None  # vs mid, > 0 = cost
    fillable: bool  # the book holds the whole size (market orders)
    notional: Decimal
    fee: Decimal
    margin_required: Decimal  # initial margin of the resulting position
    margin_change: Decimal  # how much more margin that takes than now (< 0 frees margin)
    resulting_size: Decimal
    resulting_entry: Decimal | None
    account_leverage: Decimal  # total notional / account value after the trade
    liquidation_price: Decimal | None
    max_leverage: int  # allowed at the resulting notional
    sufficient_margin: bool
    filled: Decimal | None = None  # what fills now or eventually (an IOC: only what the book holds)


def resulting_position(
    size: Decimal, entry: Decimal, trade_size: Decimal, trade_price: Decimal
) -> tuple[Decimal, Decimal | None, Decimal]:
    """(new signed size, new entry, realised PnL) after a trade of signed `trade_size`.

    Entry is the size-weighted average of opening fills and is unchanged by closing fills;
    a flip opens the remainder at the trade price (§d.10).
    """
    new = size + trade_size
    if not size or (size > 0) == (trade_size > 0):
        entry_out = (size * entry + trade_size * trade_price) / new if new else None
        return new, entry_out, ZERO
    closed = min(abs(size), abs(trade_size))
    realised = closed * (trade_price - entry) * (1 if size > 0 else -1)
    if not new:
        return new, None, realised
    if (new > 0) == (size > 0):
        return new, entry, realised
    return new, trade_price, realised


def preview_order(
    *,
    instrument: Instrument,
    side: Side,
    size: Decimal,
    mark_price: Decimal,
    cash: Decimal,
    positions: list[PositionRisk] | tuple[PositionRisk, ...] = (),
    leverage: int,
    mode: MarginMode = MarginMode.CROSS,
    fee_rate: Decimal,
    book: OrderBook | None = None,
    limit_price: Decimal | None = None,
    rules: MarginRules | None = None,
    immediate_only: bool = False,
) -> OrderPreview:
    """What an order would do: expected fill from the live book (or at the limit price for a
    resting order), fee, margin, resulting position, account leverage and liquidation price.

    `rules` are the venue's margin rules for the market (default: Hyperliquid's over the
    instrument's margin table). A market order (`limit_price` None) needs a usable book: a
    stale, gapped or crossed book never prices a market order (RiskRefused). Isolated mode
    assumes the margin required is added to the position from cash. On a venue where every
    trade is its own position (`rules.nets_positions` False) the order opens a new position
    beside any held one. An `immediate_only` (IOC) limit fills only what the book holds up to
    its price: the rest is cancelled, so the preview counts only that part (`filled`).
    """
    if size <= 0:
        raise ValidationError("order size must be positive", rule="size_positive")
    worst = slippage = None
    fillable = True
    if limit_price is None:
        if book is None or not book.is_usable:
            raise RiskRefused(f"no usable book for {instrument.symbol}: cannot price a market order", guard="book")
        execution = book.execution(side, size)
        if execution.average_price is None:
            raise RiskRefused(f"the {instrument.symbol} book is empty on the side you would take", guard="book")
        fillable = execution.complete
        price = execution.average_price
        worst, slippage = execution.worst_price, execution.slippage
        filled = execution.filled
    else:
        price = limit_price
        filled = size
        if immediate_only:
            if book is None or not book.is_usable:
                raise RiskRefused(f"no usable book for {instrument.symbol}: cannot price an IOC order", guard="book")
            execution = book.execution(side, size, limit=limit_price)
            if execution.average_price is None:
                raise RiskRefused(f"nothing on the {instrument.symbol} book at {limit_price} or better: "
                                  "an IOC there would not fill", guard="book")
            price, worst, slippage = execution.average_price, execution.worst_price, execution.slippage
            filled, fillable = execution.filled, execution.complete
        elif book is not None and book.is_usable:  # a marketable limit takes liquidity up to its price
            execution = book.execution(side, size)
            if execution.average_price is not None and (
                (side is Side.BUY and execution.worst_price <= limit_price)
                or (side is Side.SELL and execution.worst_price >= limit_price)
            ):
                price, worst, slippage = execution.average_price, execution.worst_price, execution.slippage
    if rules is None:
        from perpcli.ledger.margin_rules import HyperliquidRules  # the default venue's rules

        rules = HyperliquidRules.for_instrument(instrument)
    notional = filled * price
    fee = notional * fee_rate
    nets = rules.nets_positions
    current = next((p for p in positions if p.symbol == instrument.symbol), None) if nets else None
    others = [p for p in positions if p is not current]
    cur_size = current.size if current else ZERO
    cur_entry = current.entry_price if current else ZERO
    new_size, new_entry, realised = resulting_position(cur_size, cur_entry, filled * side.sign, price)
    table = instrument.margin_tiers
    new_notional = abs(new_size) * mark_price
    required = rules.initial_margin(new_notional, leverage)
    change = required - (current.initial_margin if current else ZERO)
    allowed = rules.max_leverage(new_notional)
    cash_after = cash - fee + realised
    liq = None
    resulting = others
    if new_size:
        isolated_margin = ZERO
        if mode is MarginMode.ISOLATED:  # allocated as the initial margin at the entry price
            isolated_margin = rules.initial_margin(abs(new_size) * (new_entry or price), leverage)
        after = PositionRisk(
            instrument.symbol, new_size, new_entry or price, mark_price, leverage, table, mode, isolated_margin,
            rules,
        )
        resulting = [*others, after]
        summary = summarize(cash_after, resulting)
        liq = summary.positions[-1].liquidation_price  # `after` is last, and not flat
    else:
        summary = summarize(cash_after, resulting)
    before = summarize(cash, positions)
    free_before = before.cross_account_value - before.cross_margin_used
    sufficient = leverage <= allowed and (change <= 0 or change + fee <= free_before)
    if immediate_only and filled < size and limit_price is not None:
        # The venue checks the margin of the whole order before any of it fills.
        whole, _, _ = resulting_position(cur_size, cur_entry, size * side.sign, limit_price)
        whole_change = rules.initial_margin(abs(whole) * limit_price, leverage) - (
            current.initial_margin if current else ZERO)
        sufficient = sufficient and (whole_change <= 0 or whole_change + fee <= free_before)
    return OrderPreview(
        side=side,
        size=size,
        average_price=price,
        worst_price=worst,
        slippage=slippage,
        fillable=fillable,
        notional=notional,
        fee=fee,
        margin_required=required,
        margin_change=change,
        resulting_size=new_size,
        resulting_entry=new_entry,
        account_leverage=summary.leverage,
        liquidation_price=liq,
        max_leverage=allowed,
        sufficient_margin=sufficient,
        filled=filled,
    )


def size_for_risk(
    *,
    instrument: Instrument,
    entry_price: Decimal,
    stop_price: Decimal,
    risk: Decimal | None = None,
    risk_fraction: Decimal | None = None,
    equity: Decimal | None = None,
    fee_rate: Decimal,
    exit_fee_rate: Decimal | None = None,
) -> Decimal:
    """The size that loses `risk` (or `risk_fraction` × `equity`) if stopped out at
    `stop_price`, counting the fee to enter (`fee_rate`) and the fee to exit
    (`exit_fee_rate`, default the same); rounded DOWN to the lot.

    The direction follows the stop: a stop below the entry sizes a long, above a short.
    """
    if risk is None:
        if risk_fraction is None or equity is None:
            raise ValidationError("give a risk amount, or a risk fraction and the equity", rule="risk")
        risk = equity * risk_fraction
    if risk <= 0:
        raise ValidationError("risk must be positive", rule="risk")
    if entry_price <= 0 or stop_price <= 0 or entry_price == stop_price:
        raise ValidationError("stop price must be positive and differ from the entry", rule="stop_price")
    if exit_fee_rate is None or exit_fee_rate == fee_rate:
        fees = fee_rate * (entry_price + stop_price)
    else:
        fees = fee_rate * entry_price + exit_fee_rate * stop_price
    loss_per_unit = abs(entry_price - stop_price) + fees
    return instrument.round_size(risk / loss_per_unit, Rounding.TOWARD_ZERO)
