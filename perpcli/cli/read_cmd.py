"""Bodies of `perp account`, `perp positions` and `perp orders`, free of Typer so the fast
entry path (perpcli/cli/fast.py) can run them too."""

from __future__ import annotations

from perpcli.app import views
from perpcli.cli import venue_cmd


def show_account() -> None:
    with venue_cmd.session() as s:
        t = s.reader()
        snap = t.account()
        marks = {mp.symbol: mp.mark_price for mp in s.market.mark_prices([p.symbol for p in snap.positions])}
        row = views.account_row(snap, venue=s.venue, signer=t.signer_address, role=t.resolve_account().role,
                                marks=marks, margin_ratio=views.margin_ratio(s.market, snap, marks))
    venue_cmd.emit_doc(row)


def show_positions() -> None:
    with venue_cmd.session() as s:
        held = s.reader().positions()
        rows = [views.position_row(p, venue=s.venue, mark=held.marks.get(p.symbol), inst=s.market.instrument(p.symbol))
                for p in held.positions]
    venue_cmd.emit_rows(rows, ["market", "size", "entry_price", "mark_price", "unrealized_pnl",
                               "return_on_margin_pct", "liquidation_price", "liquidation_distance_pct",
                               "leverage", "margin_mode", "margin_used"])


def show_orders(market: str | None = None) -> None:
    with venue_cmd.session() as s:
        orders = s.reader().open_orders()
        if market:
            sym = s.market.instrument(market).symbol
            orders = [o for o in orders if o.symbol == sym]
        rows = [views.order_row(o, venue=s.venue, inst=s.market.instrument(o.symbol))
                for o in views.with_children_after_parents(orders)]
    venue_cmd.emit_rows(rows, ["oid", "market", "side", "size", "type", "trigger_price", "price",
                               "reduce_only", "status", "parent_oid", "cloid"])
