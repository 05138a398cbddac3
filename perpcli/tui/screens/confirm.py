"""A yes/no confirmation (flatten, large orders, closes). Returns True only on an explicit yes.

An order's confirmation can be *live*: `reprice` re-plans the order against the book as it
is now and returns (question, payload). The app calls `reprice_now()` on every repaint while
the dialog is up, so the question always shows the very order a yes would send (`payload`):
a quick buy at the touch is priced when it is confirmed, not when the key was pressed.
When the order cannot be priced any more (stale book, nothing at the touch) the payload is
None and a yes sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

Reprice = Callable[[], tuple[Text, Any]]


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str | Text, *, payload: Any = None, reprice: Reprice | None = None) -> None:
        super().__init__()
        self.question = Text(question) if isinstance(question, str) else question  # plain, never markup
        self.payload = payload  # what a yes sends (a live confirmation keeps it current)
        self._reprice = reprice

    @property
    def is_live(self) -> bool:
        return self._reprice is not None

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.question, id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button("Yes (y)", variant="error", id="confirm-yes")
                yield Button("No (n)", id="confirm-no")

    def reprice_now(self) -> None:
        """Re-plan the order at the current book and show it (live confirmations only)."""
        if self._reprice is None:
            return
        question, self.payload = self._reprice()
        if question != self.question:
            self.question = question
            if self.is_mounted:
                self.query_one("#confirm-question", Static).update(question)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")
