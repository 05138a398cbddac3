"""The TUI's key bindings, defined once: id, default key, action, and what it does.

WHY a table outside the app class: the config schema (`tui.keys.<id>`), the footer, the help
screen and the tests all need the same list. Textual bindings carry an `id`, and the app
applies the user's remapping with `App.set_keymap({id: keys})`, so a remapped key shows in the
footer and the help screen with no other code knowing about it. This module imports nothing
from textual and lives in config/ (below the TUI) so the config schema can read the defaults
without loading the UI or depending on an outer layer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KeySpec:
    id: str  # binding id and config key suffix: tui.keys.<id>
    key: str  # default key(s), Textual spelling; several separated by commas
    action: str  # Textual action string
    label: str  # short footer label
    doc: str  # one line for the help screen and config file
    show: bool = True  # shown in the footer
    # Handled as the key arrives, before keys already typed after it are routed (see
    # WatchApp.check_action): keys typed right after `t` must land in the ticket.
    priority: bool = False


KEYS: tuple[KeySpec, ...] = (
    KeySpec("buy_best", "b", "buy_best", "Buy", "Buy the ticket size at the best ask now (limit IOC at the touch)."),
    KeySpec("sell_best", "s", "sell_best", "Sell", "Sell the ticket size at the best bid now (limit IOC at the touch)."),
    KeySpec("ticket", "t", "focus_ticket", "Ticket", "Move the focus to the order ticket.", priority=True),
    KeySpec("cancel_selected", "c", "cancel_selected", "Cancel", "Cancel the order selected in the orders table."),
    KeySpec("cancel_all", "C", "cancel_all", "Cancel all", "Cancel every open order (on every venue with a key)."),
    KeySpec("close_position", "x", "close_position", "Close", "Close the selected position (or this market's) at market."),
    KeySpec("flatten", "F", "flatten", "Flatten", "Cancel all orders and close every position, after a confirmation."),
    KeySpec("next_market", "]", "next_market", "Next", "Show the next market tab."),
    KeySpec("prev_market", "[", "prev_market", "Prev", "Show the previous market tab.", show=False),
    KeySpec("close_market", "w", "close_market", "Close tab", "Close this market's tab.", show=False),
    KeySpec("chart_interval", "i", "chart_interval", "Interval", "Switch the chart to the next candle interval."),
    KeySpec("focus_book", "l", "focus_book", "Ladder", "Move the focus to the order book ladder.", show=False),
    KeySpec("focus_orders", "o", "focus_orders", "Orders", "Move the focus to the open orders table.", show=False),
    KeySpec("focus_positions", "p", "focus_positions", "Positions", "Move the focus to the positions table.", show=False),
    KeySpec("leave_field", "escape", "focus_book", "Leave field",
            "Leave a ticket field (focus the ladder) so the one-key hotkeys work again.", show=False),
    KeySpec("portfolio", "P", "portfolio", "Portfolio",
            "Show the portfolio: totals, every venue, every position, net exposure (again: back).",
            show=False),
    KeySpec("funding_board", "f", "funding_board", "Funding",
            "Show the funding board: funding APR per venue, basis, best long/short pair (again: back).",
            show=False),
    KeySpec("algos", "A", "algos", "Algos",
            "Show the session's algos (chase, twap, trail, OCO): progress and state; c there cancels one.",
            show=False),
    KeySpec("help", "question_mark", "help", "Help", "Show every key binding."),
    KeySpec("quit", "q", "quit", "Quit", "Leave perp watch (orders stay on the venue)."),
)

BY_ID: dict[str, KeySpec] = {k.id: k for k in KEYS}


def keymap_from_settings(get) -> dict[str, str]:
    """The user's remapped keys: {binding id: keys} for every `tui.keys.<id>` that differs.

    `get(key)` reads a setting (Settings.get); unknown or empty values keep the default.
    """
    out: dict[str, str] = {}
    for spec in KEYS:
        try:
            value = get(f"tui.keys.{spec.id}")
        except KeyError:
            continue
        if value and value != spec.key:
            out[spec.id] = str(value)
    return out
