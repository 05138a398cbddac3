"""Positions and open orders as DataTables whose rows are replaced only when they change.

WHY compare before updating: rebuilding a DataTable on every book tick would cost more than
the whole ladder; account state changes a few times a minute, so each table keeps the last
rows it showed and does nothing when they are equal. Row keys are the order id / symbol, so
the cursor stays on the same order across updates.
"""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.widgets import DataTable

from perpcli.domain.orders import Order, Side
from perpcli.tui.viewmodel import PositionView, fmt_num


def _signed(value: Decimal | None, places: int) -> Text:
    if value is None:
        return Text("-")
    return Text(fmt_num(value, places, sign=True), style="green" if value >= 0 else "red")


class OrdersTable(DataTable):
    # price: the limit, or for a trigger-market order the worst price it may fill at once
    # triggered; trigger: what the mark must reach. Flag "waits": a bracket's TP/SL waiting for
    # its parent to fill.
    COLUMNS = ("market", "side", "type", "price", "size", "filled", "trigger", "flags", "oid")

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._shown: tuple = ()
        self.orders: dict[str, Order] = {}

    def on_mount(self) -> None:
        self.add_columns(*self.COLUMNS)

    @staticmethod
    def row_key(order: Order) -> str:
        return str(order.oid) if order.oid is not None else f"c:{order.cloid}"

    def set_orders(self, orders: list[Order]) -> None:
        orders = sorted(orders, key=lambda o: (o.symbol, o.side.value, -o.price))
        shown = tuple((self.row_key(o), o.price, o.size, o.status) for o in orders)
        if shown == self._shown:
            return
        selected = self.selected_key()
        self._shown = shown
        self.orders = {self.row_key(o): o for o in orders}
        self.clear()
        for o in orders:
            flags = " ".join(f for f, on in (("RO", o.reduce_only), ("post", o.tif is not None and o.tif.value == "alo"),
                                             ("waits", o.parent_oid is not None)) if on)
            self.add_row(
                o.symbol,
                Text(o.side.value, style="green" if o.side is Side.BUY else "red"),
                o.order_type.value,
                fmt_num(o.price),
                fmt_num(o.size),
                fmt_num(o.filled_size),
                fmt_num(o.trigger_price),
                flags,
                str(o.oid) if o.oid is not None else "-",
                key=self.row_key(o),
            )
        if selected in self.orders:
            self.move_cursor(row=self.get_row_index(selected))

    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - an empty or shrinking table has no valid cursor
            return None

    def selected_order(self) -> Order | None:
        key = self.selected_key()
        return self.orders.get(key) if key else None


class PositionsTable(DataTable):
    COLUMNS = ("market", "size", "entry", "mark", "uPnL", "ROE %", "liq", "to liq %", "funding", "lev")

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._shown: tuple = ()
        self.positions: dict[str, PositionView] = {}

    def on_mount(self) -> None:
        self.add_columns(*self.COLUMNS)

    def set_positions(self, views: list[PositionView]) -> None:
        views = sorted(views, key=lambda v: v.symbol)
        shown = tuple(views)
        if shown == self._shown:
            return
        selected = self.selected_symbol()
        self._shown = shown
        self.positions = {v.symbol: v for v in views}
        self.clear()
        for v in views:
            dist = v.liq_distance_pct
            dist_text = Text(fmt_num(dist, 2) if dist is not None else "-",
                             style="bold red" if dist is not None and dist < 5 else "")
            self.add_row(
                v.symbol,
                Text(fmt_num(v.size), style="green" if v.size > 0 else "red"),
                fmt_num(v.entry),
                fmt_num(v.mark),
                _signed(v.upnl, 2),
                _signed(v.roe_pct, 2),
                fmt_num(v.liq_price),
                dist_text,
                fmt_num(v.funding, 4),
                f"{v.leverage}x" if v.leverage else "-",
                key=v.symbol,
            )
        if selected in self.positions:
            self.move_cursor(row=self.get_row_index(selected))

    def selected_symbol(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001
            return None
