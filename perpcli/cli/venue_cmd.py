"""Helpers shared by the venue commands (market data, account, trading): one way to open a
session, print rows or a document, refuse without --yes, and print a dry run.

Imported inside command functions only; it pulls in nothing heavier than the app layer.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from perpcli.cli import context, output
from perpcli.domain.errors import ExitCode, PerpError, UsageError


def session() -> Any:
    """The Session for this command, from the global options and the settings."""
    from perpcli.app.session import Session
    from perpcli.config import settings

    opts = context.current()
    extra = opts.extra or {}
    return Session.open(
        settings.current(), venue=opts.venue, url=extra.get("url"), network=extra.get("network"),
        vault_address=extra.get("vault_address"), account=opts.account, passphrase_file=opts.passphrase_file,
        address=opts.address,
    )


def json_mode() -> bool:
    return context.current().json


def emit_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None, *,
              title: str | None = None) -> None:
    if json_mode():
        output.emit_json(list(rows))
    else:
        output.emit_table(rows, columns, title=title)


def emit_doc(doc: Any, *, human: Mapping[str, Any] | None = None) -> None:
    if json_mode():
        output.emit_json(doc)
    else:
        output.emit_kv(human if human is not None else doc)


def require_yes_or_confirm(what: str, *, notional: Decimal | None = None, threshold: Decimal | None = None) -> None:
    """Off a terminal: --yes or exit 2. On a terminal: ask when above the confirmation notional
    (or always, when no threshold applies, e.g. transfers)."""
    opts = context.current()
    if opts.yes:
        return
    if not opts.interactive:
        raise UsageError(f"refusing to {what} without --yes (no terminal to confirm on)")
    if threshold is not None and notional is not None and notional <= threshold:
        return
    from perpcli.cli.prompts import confirm

    confirm(f"{what[0].upper()}{what[1:]}?", action=what)


def emit_dry_run(requests: list[dict], extra: Mapping[str, Any] | None = None) -> None:
    """The exact signed request bodies, on stdout (they are the data); a note on stderr."""
    doc = {"dry_run": True, "requests": requests}
    if extra:
        doc.update(extra)
    if json_mode():
        output.emit_json(doc)
    else:
        import json

        sys.stdout.write(json.dumps(output.to_jsonable(doc), indent=2) + "\n")
    output.info("dry run: signed but not sent")


class CommandFailed(PerpError):
    """A command that already printed its results ends with this code and one stderr line."""

    results_printed = True  # --json: stdout already holds the command's one document

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = ExitCode(code)


def exit_with(code: int, message: str | None = None) -> None:
    """Finish a command with a non-zero contract code; the entry point prints the one line."""
    if code == ExitCode.OK:
        return
    raise CommandFailed(int(code), message or f"exit {int(code)}")


def parse_time_ms(text: str | None) -> int | None:
    """'1h', '30m', '2d' ago, or an ISO date/time (UTC), or Unix ms."""
    if text is None:
        return None
    import re
    import time

    t = text.strip()
    # ASCII digits only ("²".isdigit() is True, and int() takes any Unicode digit), and few
    # enough of them that the result is a plausible Unix time.
    m = re.fullmatch(r"([0-9]{1,9})([smhdw])", t)
    if m:
        mult = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
        since = time.time_ns() // 1_000_000 - int(m.group(1)) * mult * 1000
        if since < 0:
            raise UsageError(f"--since {text!r} reaches back before 1970")
        return since
    if re.fullmatch(r"[0-9]+", t):
        if len(t) > 15:
            raise UsageError(f"--since {t[:24]!r}...: too many digits for Unix milliseconds")
        return int(t)
    from datetime import UTC, datetime

    try:
        dt = datetime.fromisoformat(t) if t.isascii() else None
    except ValueError:
        dt = None
    if dt is None:
        shown = text if len(text) <= 24 else text[:24] + "..."
        raise UsageError(f"--since {shown!r}: use 1h / 2d, an ISO date (2026-01-31T12:00), or Unix ms")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)
