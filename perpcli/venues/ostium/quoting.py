"""Quoting an Ostium open: every rule the contracts would enforce, checked before anything is
built, and what the trade costs — the oracle price, collateral x leverage, the fees the
contracts compute, and the wallet (and allowance) the collateral comes from.

Pure reads: nothing is signed here. The quote carries the checked openTrade so what is signed
later is exactly what was previewed and confirmed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpcli.domain.errors import NetworkError, UsageError, ValidationError, VenueRejected
from perpcli.domain.orders import Side
from perpcli.venues.base import CollateralOrder, OpenQuote
from perpcli.venues.ostium import calls, sizing
from perpcli.venues.ostium import instruments as pairs
from perpcli.venues.ostium.scaling import usdc_from_wire

if TYPE_CHECKING:
    from perpcli.venues.ostium.trading import OstiumTrading

KINDS = {"market": calls.OrderType.MARKET, "limit": calls.OrderType.LIMIT, "stop": calls.OrderType.STOP}


@dataclass
class OstiumOpenQuote(OpenQuote):
    """The seam's OpenQuote plus the checked openTrade it was priced from (read back only by
    the adapter that made it)."""

    planned: sizing.PlannedTrade | None = None
    allowance: Decimal = Decimal(0)


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
