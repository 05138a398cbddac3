"""Account bar and positions table figures from the ledger's margin model at live marks.

WHY recompute instead of showing the venue's last snapshot: the snapshot is seconds old; marks
move every second. The margin model (ledger/margin.py) reproduces the venue's clearinghouse
figures from cash and marked positions, so the equity, margin ratio, uPnL and liquidation
prices shown move with the mark, and agree with what `perp` previews and the devnet enforces.
Positions are valued under their venue's margin rules (`WatchSource.margin_rules`).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from perpcli.app import display as shown
from perpcli.app.preview import cash_of, position_risks  # the same figures the preview uses
from perpcli.domain.events import AccountSnapshot
from perpcli.domain.instrument import Instrument, MarginMode
from perpcli.ledger import margin
from perpcli.ledger.margin_rules import MarginRules
from perpcli.tui.viewmodel import AccountView, PositionView, account_view

ZERO = Decimal(0)


def account_figures(
    snapshot: AccountSnapshot,
    instrument_of: Callable[[str], Instrument | None],
    mark_of: Callable[[str], Decimal | None],
    rules_of: Callable[[Instrument], MarginRules],
    quote: str,
) -> tuple[AccountView, list[PositionView], margin.MarginSummary]:
    risks = position_risks(snapshot, instrument_of, mark_of, rules_of)
    summary = margin.summarize(cash_of(snapshot, quote), risks, snapshot.reserved)
    by_symbol = {r.symbol: r for r in summary.positions}
    views = []
    for p in snapshot.positions:
        if not p.size:
            continue
        row = by_symbol.get(p.symbol)
        mark = mark_of(p.symbol)
        upnl = row.unrealized_pnl if row else (p.size * (mark - p.entry_price) if mark else None)
        backing = (p.isolated_margin if p.margin_mode is MarginMode.ISOLATED and p.isolated_margin
                   else row.initial_margin if row else None)
        roe = (upnl / backing * 100).quantize(Decimal("0.01")) if upnl is not None and backing else None
        liq = row.liquidation_price if row else p.liquidation_price
        dist = (row.liquidation_distance * 100).quantize(Decimal("0.01")) if row and row.liquidation_distance is not None else None
        inst = instrument_of(p.symbol)  # figures at the market's precision (app/display.py)
        views.append(PositionView(p.symbol, shown.size(inst, p.size) or p.size, shown.price(inst, p.entry_price)
                                  or p.entry_price, shown.price(inst, mark), shown.usd(upnl), roe,
                                  shown.price(inst, liq), dist, shown.amount(p.funding_since_open), p.leverage))
    acct = account_view(
        summary.account_value, summary.margin_used, summary.total_notional,
        free_collateral=summary.withdrawable, maintenance=summary.cross_maintenance_margin,
    )
    # One margin ratio everywhere: the ledger's (maintenance / cross account value, 100% = liquidation).
    acct = AccountView(acct.equity, acct.margin_used, acct.free_collateral, acct.notional,
                       summary.leverage.quantize(Decimal("0.01")), summary.cross_maintenance_margin,
                       summary.margin_ratio)
    return acct, views, summary
