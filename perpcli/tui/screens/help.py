"""The help screen: every key binding with its id (the config key), current key and meaning."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from perpcli.config.tui_keys import KEYS


def bindings_table(active_keys: dict[str, str], display=lambda key: key) -> Table:
    table = Table(title="perp watch keys (remap with tui.keys.<id> in the config file)", expand=True)
    table.add_column("key", style="bold")
    table.add_column("id (config)")
    table.add_column("what it does")
    for spec in KEYS:
        keys = active_keys.get(spec.id, spec.key)
        shown = ", ".join(display(k.strip()) for k in keys.split(","))
        table.add_row(shown, f"tui.keys.{spec.id}", spec.doc)
    table.add_row("ctrl+p", "-", "Command palette: switch market or venue, add a market tab.")
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, active_keys: dict[str, str]) -> None:
        super().__init__()
        self.active_keys = active_keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(bindings_table(self.active_keys, self._display), id="help-table")

    def _display(self, key: str) -> str:
        """How the footer writes a key ("?" for question_mark, "^p" for ctrl+p)."""
        return self.app.get_key_display(Binding(key, ""))
