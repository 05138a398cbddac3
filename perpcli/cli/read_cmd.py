"""Bodies of `perp account`, `perp positions` and `perp orders`, free of Typer so the fast
entry path (perpcli/cli/fast.py) can run them too."""

from __future__ import annotations

from perpcli.app import views
from perpcli.cli import venue_cmd


def show_account() -> None:
    with venue_cmd.session() as s:
        t = s.reader()
        accounts = t.margin_accounts()  # the main one, and each HIP-3 dex's where there is something
        held = [p.symbol for a in accounts for p in a.snapshot.positions]
        marks = {mp.symbol: mp.mark_price for mp in s.market.mark_prices(held)} if held else {}
        ratios = {a.name: views.margin_ratio(s.market, a.snapshot, marks) for a in accounts}
        row = views.account_row([(a.name, a.snapshot) for a in accounts], venue=s.venue, signer=t.signer_address,
                                role=t.resolve_account().role, marks=marks, margin_ratios=ratios)
    # People read the breakdown as dotted keys (margin_accounts.xyz.equity), and only when
    # there is more than the main account; JSON always carries the list.
    human = {k: v for k, v in row.items() if k != "margin_accounts"}
    if len(row["margin_accounts"]) > 1:
        human["margin_accounts"] = {(a["name"] or "main"): {k: v for k, v in a.items() if k != "name"}
                                    for a in row["margin_accounts"]}
    venue_cmd.emit_doc(row, human=human)


def show_positions() -> None:
    with venue_cmd.session() as s:
        held = s.reader().positions()
        rows = [views.position_row(p, venue=s.venue, mark=held.marks.get(p.symbol), inst=s.market.instrument(p.symbol))
                for p in held.positions]
    venue_cmd.emit_rows(rows, ["market", "size", "entry_price", "mark_price", "unrealized_pnl",
                               "return_on_margin_pct", "liquidation_price", "liquidation_distance_pct",
                               "leverage", "margin_mode", "margin_used",
                               *(["position_id"] if any(r["position_id"] for r in rows) else [])])


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
