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

from perpcli.domain.orders import Order, OrderStatus, Side
from perpcli.tui.viewmodel import PositionView, fmt_num


def _signed(value: Decimal | None, places: int) -> Text:
    if value is None:
        return Text("-")
    return Text(fmt_num(value, places, sign=True), style="green" if value >= 0 else "red")


class FittedTable(DataTable):
    """A DataTable showing the columns that fit its width, by priority, in a fixed order, each
    as wide as its widest cell; numbers right-aligned. Rows are (key, {column: Text})."""

    COLUMNS: tuple[str, ...] = ()
    PRIORITY: tuple[str, ...] = ()  # most important first; default: COLUMNS order
    NUMERIC: frozenset[str] = frozenset()

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._rows: list[tuple[str, dict[str, Text]]] = []
        self._layout: tuple = ()  # (columns, widths) on screen
        self.visible_columns: tuple[str, ...] = self.COLUMNS

    def on_mount(self) -> None:
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def show_rows(self, rows: list[tuple[str, dict[str, Text]]]) -> None:
        self._rows = rows
        self._redraw()

    def _fit(self) -> tuple[tuple[str, ...], dict[str, int]]:
        widths = {c: max([len(c), *(cells[c].cell_len for _, cells in self._rows)]) for c in self.COLUMNS}
        room = self.size.width - 2  # a vertical scrollbar may take a column
        if room <= 0:
            return self.COLUMNS, widths
        chosen: set[str] = set()
        used = 0
        for c in self.PRIORITY or self.COLUMNS:
            need = widths[c] + 2 * self.cell_padding
            if used + need > room and chosen:
                continue
            chosen.add(c)
            used += need
        return tuple(c for c in self.COLUMNS if c in chosen), widths

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        columns, widths = self._fit()
        layout = (columns, tuple(widths[c] for c in columns))
        selected = self.selected_key()
        if layout != self._layout:
            self._layout = layout
            self.visible_columns = columns
            self.clear(columns=True)
            for c in columns:
                self.add_column(Text(c, justify="right" if c in self.NUMERIC else "left"), width=widths[c], key=c)
        else:
            self.clear()
        for key, cells in self._rows:
            self.add_row(*(_aligned(cells[c], c in self.NUMERIC) for c in columns), key=key)
        if selected is not None and any(key == selected for key, _ in self._rows):
            self.move_cursor(row=self.get_row_index(selected))

    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - an empty or shrinking table has no valid cursor
            return None


def _aligned(text: Text, numeric: bool) -> Text | str:
    """Numbers right-aligned so their digits line up, as on any trading screen; plain text
    (a market, an oid) stays a plain string."""
    if not numeric and not text.style and not text.spans:
        return text.plain
    text.justify = "right" if numeric else "left"
    return text


class OrdersTable(FittedTable):
    # price: the limit, or for a trigger-market order the worst price it may fill at once
    # triggered; trigger: what the mark must reach. Flag "waits": a bracket's TP/SL waiting for
    # its parent to fill.
    COLUMNS = ("market", "side", "type", "price", "size", "filled", "trigger", "flags", "oid")
    PRIORITY = ("market", "side", "price", "size", "trigger", "type", "flags", "oid", "filled")
    NUMERIC = frozenset({"price", "size", "filled", "trigger"})

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: tuple = ()
        self.orders: dict[str, Order] = {}

    @staticmethod
    def row_key(order: Order) -> str:
        """Venue and id: ids are the venue's own, so two venues may issue the same one."""
        return f"{order.venue}:" + (str(order.oid) if order.oid is not None else f"c:{order.cloid}")

    def set_orders(self, orders: list[Order]) -> None:
        """`orders` of every venue; rows are named `venue:market` once two venues hold orders."""
        orders = sorted(orders, key=lambda o: (o.symbol, o.side.value, -o.price, o.venue))
        shown = tuple((self.row_key(o), o.price, o.size, o.status) for o in orders)
        if shown == self._shown:
            return
        self._shown = shown
        self.orders = {self.row_key(o): o for o in orders}
        qualify = len({o.venue for o in orders}) > 1
        self.show_rows([(self.row_key(o), self.cells(o, f"{o.venue}:{o.symbol}" if qualify else None))
                        for o in orders])

    @staticmethod
    def cells(o: Order, name: str | None = None) -> dict[str, Text]:
        flags = " ".join(f for f, on in (("RO", o.reduce_only), ("post", o.tif is not None and o.tif.value == "alo"),
                                         ("waits", o.parent_oid is not None),
                                         # not yet settled: with Ostium's keeper, or a transaction not mined
                                         ("pending", o.status is OrderStatus.PENDING),
                                         ("unknown", o.status is OrderStatus.UNKNOWN)) if on)
        return {
            "market": Text(name or o.symbol),
            "side": Text(o.side.value, style="green" if o.side is Side.BUY else "red"),
            "type": Text(o.order_type.value),
            "price": Text(fmt_num(o.price)),
            "size": Text(fmt_num(o.size)),
            "filled": Text(fmt_num(o.filled_size)),
            "trigger": Text(fmt_num(o.trigger_price)),
            "flags": Text(flags),
            "oid": Text(str(o.oid) if o.oid is not None else "-"),
        }

    def selected_order(self) -> Order | None:
        key = self.selected_key()
        return self.orders.get(key) if key else None


class PositionsTable(FittedTable):
    """Open positions. A narrow terminal drops funding, ROE and the like before it would cut
    the liquidation price or the distance to it."""

    COLUMNS = ("market", "size", "entry", "mark", "uPnL", "ROE %", "liq", "to liq %", "funding", "lev")
    PRIORITY = ("market", "size", "liq", "to liq %", "uPnL", "mark", "entry", "lev", "ROE %", "funding")
    NUMERIC = frozenset(COLUMNS) - {"market"}

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: tuple = ()
        self.positions: dict[str, PositionView] = {}

    def set_positions(self, views: list[PositionView]) -> None:
        """`views` of every venue; rows are named `venue:market` once two venues hold positions."""
        views = sorted(views, key=lambda v: (v.symbol, v.venue))
        shown = tuple(views)
        if shown == self._shown:
            return
        self._shown = shown
        qualify = len({v.venue for v in views}) > 1
        keyed = [(f"{v.venue}:{v.symbol}" if qualify else v.symbol, v) for v in views]
        self.positions = dict(keyed)
        self.show_rows([(key, self.cells(v, key)) for key, v in keyed])

    @staticmethod
    def cells(v: PositionView, name: str | None = None) -> dict[str, Text]:
        dist = v.liq_distance_pct
        return {
            "market": Text(name or v.symbol),
            "size": Text(fmt_num(v.size), style="green" if v.size > 0 else "red"),
            "entry": Text(fmt_num(v.entry)),
            "mark": Text(fmt_num(v.mark)),
            "uPnL": _signed(v.upnl, 2),
            "ROE %": _signed(v.roe_pct, 2),
            "liq": Text(fmt_num(v.liq_price)),
            "to liq %": Text(fmt_num(dist, 2) if dist is not None else "-",
                             style="bold red" if dist is not None and dist < 5 else ""),
            "funding": Text(fmt_num(v.funding, 4)),
            "lev": Text(f"{v.leverage}x" if v.leverage else "-"),
        }

    def selected_symbol(self) -> str | None:
        view = self.selected_position()
        return view.symbol if view is not None else None

    def selected_position(self) -> PositionView | None:
        key = self.selected_key()
        return self.positions.get(key) if key else None

    def position_of(self, venue: str, symbol: str) -> PositionView | None:
        """This market's position on this venue."""
        return next((v for v in self.positions.values() if v.symbol == symbol and v.venue in ("", venue)), None)
