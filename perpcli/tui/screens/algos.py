"""The session's algos, from the TUI: what each one does and how far it got, and a key to cancel one.

The algos run in the `perp session` agent, not in the TUI, so closing the TUI leaves them
running; this screen is a window onto them over the session socket (session/client.py: the
`algo` op, actions `list` and `cancel`), the same requests `perp algo list|cancel` make.
Without a session it says so (algos started without one run in their own foreground command).
Socket calls block, so they run in worker threads; the table refreshes once a second.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from perpcli.config.tui_keys import BY_ID

COLUMNS = ("id", "kind", "venue", "market", "side", "progress", "state", "why")
REFRESH_S = 1.0
CANCEL_TIMEOUT_S = 15.0
NO_SESSION = "no session is running: start one with `perp session start` (algos run there, outliving this screen)"


def session_request(doc: dict, timeout_s: float = 10.0) -> dict | None:
    """One request to this user's session agent (None: none runs)."""
    from perpcli.session import client

    return client.request(doc, timeout_s=timeout_s)


def progress(row: dict[str, Any]) -> str:
    """`0.02/0.05 (40%) @ 95000`: filled of size, and the average price once something filled."""
    size, filled = Decimal(str(row["size"])), Decimal(str(row["filled"]))
    pct = f" ({filled * 100 / size:.0f}%)" if size else ""
    avg = f" @ {row['avg_price']}" if row.get("avg_price") else ""
    return f"{filled.normalize():f}/{size.normalize():f}{pct}{avg}"


def table_rows(algos: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return [(a["id"], a["kind"], str(a.get("venue") or ""), a["market"], a["side"], progress(a), a["status"],
             (a.get("reason") or "")[:60]) for a in algos]


class AlgosScreen(Screen[None]):
    """The session's algos; the cancel key (the main screen's, `c` unless remapped) cancels the
    selected one after a confirmation."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding(BY_ID["cancel_selected"].key, "cancel_algo", "Cancel algo", id="cancel_selected"),
    ]

    def __init__(self, request: Callable[..., dict | None] | None = None) -> None:
        super().__init__()
        self._request = request or session_request
        self.rows: list[tuple[str, ...]] = []
        self.note = ""
        self.said = ""  # the last cancel's outcome, kept on the note line across refreshes

    def compose(self) -> ComposeResult:
        yield Static("Session algos", id="algos-note")
        yield DataTable(id="algos-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.refresh_algos()
        self.set_interval(REFRESH_S, self.refresh_algos, name="algos")

    def refresh_algos(self) -> None:
        self.run_worker(self._fetch, thread=True, exclusive=True, group="algos-list")

    def _fetch(self) -> None:
        reply = self._request({"op": "algo", "action": "list"})
        self.app.call_from_thread(self.show, reply)

    def show(self, reply: dict | None) -> None:
        if not self.is_mounted:
            return
        selected = self.selected_id()  # kept across the refresh
        if reply is None:
            self.rows, note = [], NO_SESSION
        elif not reply.get("handled"):
            self.rows, note = [], "the session runs no algo host"
        else:
            self.rows = table_rows(reply.get("algos") or [])
            note = f"Session algos: {len(self.rows)} running" if self.rows else "Session algos: none running"
        self.set_note(note)
        table = self.query_one(DataTable)
        table.clear()
        for row in self.rows:
            table.add_row(*row, key=row[0])
        if selected is not None and any(r[0] == selected for r in self.rows):
            table.move_cursor(row=table.get_row_index(selected))

    def set_note(self, note: str) -> None:
        self.note = f"{note} · {self.said}" if self.said else note
        self.query_one("#algos-note", Static).update(self.note)

    def say(self, outcome: str) -> None:
        self.said = outcome
        self.refresh_algos()

    def selected_id(self) -> str | None:
        table = self.query_one(DataTable)
        if table.cursor_row is None or not 0 <= table.cursor_row < table.row_count:
            return None
        return str(table.get_row_at(table.cursor_row)[0])

    def action_cancel_algo(self) -> None:
        from perpcli.tui.screens.confirm import ConfirmScreen

        algo_id = self.selected_id()
        if algo_id is None:
            self.said = "no algo selected"
            self.refresh_algos()
            return
        row = next(r for r in self.rows if r[0] == algo_id)

        def answered(yes: bool | None) -> None:
            if yes:
                self.say(f"canceling {algo_id}...")
                self.run_worker(lambda: self._cancel(algo_id), thread=True, group="algos-cancel")

        self.app.push_screen(ConfirmScreen(f"Cancel {row[1]} {row[4]} {row[3]} ({algo_id}) and its orders?"), answered)

    def _cancel(self, algo_id: str) -> None:
        reply = self._request({"op": "algo", "action": "cancel", "id": algo_id}, CANCEL_TIMEOUT_S)
        if reply is None:
            note = NO_SESSION
        elif not reply.get("handled"):
            note = f"{algo_id} is not one of this session's algos (`perp algo cancel {algo_id}`)"
        else:
            note = f"{algo_id}: {reply['algo']['status']}"
        self.app.call_from_thread(self.say, note)
