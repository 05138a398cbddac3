"""`perp venues`: which venues this install knows and what each supports (for scripts to branch on)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("venues", help="List venues and their capabilities.")
    def venues() -> None:
        from perpcli.cli import context, output
        from perpcli.config import settings
        from perpcli.venues import registry  # cheap: capability records only, no adapters

        def configured_url(name: str, default: str) -> str:
            """The URL commands will use (config or PERPCLI_VENUES_<NAME>_URL), not the built-in one."""
            try:
                return settings.current().get(f"venues.{name}.url") or default
            except KeyError:  # a plugin venue without a url setting
                return default

        rows = []
        for name, entry in registry.all_venues().items():
            caps = entry.load_capabilities()
            rows.append(
                {
                    "name": name,
                    "network": entry.network,
                    "url": configured_url(name, entry.url),
                    "builtin": entry.builtin,
                    "description": entry.description,
                    "capabilities": caps.to_json(),
                }
            )
        if context.current().json:
            output.emit_json(rows)
            return
        output.emit_table(
            [
                {
                    "venue": r["name"],
                    "network": r["network"],
                    "url": r["url"],
                    "kind": r["capabilities"]["kind"],
                    "orders": ",".join(r["capabilities"]["order_types"]),
                    "description": r["description"],
                }
                for r in rows
            ]
        )
