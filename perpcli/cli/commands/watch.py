"""`perp watch [MARKET...]`: the live trading terminal (Textual).

Market data needs no key. With a key (--account, PERPCLI_PRIVATE_KEY, or the only stored key)
the ticket, the hotkeys and the account panels come alive; without one the terminal says
"market data only" and every order action is refused before anything is signed.
`--no-trading` (or `--address 0x...`) shows the account panels read-only, from the address
alone: no passphrase is asked and no key is decrypted.

With a `perp session` running, books, trades and account events come from the session's own
venue connections (no websocket of its own); without one, or when it goes, the watch streams on
its own (tui/attached.py). When the session holds the key, the watch's orders are signed and
sent by the session (tui/session_trading.py): no passphrase is asked here.

Markets of other venues open as tabs beside the venue in use: `VENUE:MARKET` names a market
on another venue (`perp watch BTC aster-devnet:BTCUSDT ostium:XAU`). A prefix that is not a
venue's name is part of the market's own name (Hyperliquid's builder markets: `xyz:GOLD`).
The same key serves every venue it is valid on (one passphrase); a venue where it is not
known opens market data only, with one warning line.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import typer


def split_markets(args: Sequence[str], default_venue: str, venues: Collection[str]) -> dict[str, list[str]]:
    """Market arguments grouped by venue, in the order given (the default venue first).
    `VENUE:MARKET` is a market of VENUE when VENUE is a venue's name; anything else is a
    market of the default venue."""
    out: dict[str, list[str]] = {default_venue: []}
    for arg in args:
        prefix, sep, rest = arg.partition(":")
        if sep and prefix.lower() in venues and rest:
            out.setdefault(prefix.lower(), []).append(rest)
        else:
            out[default_venue].append(arg)
    return out


def register(app: typer.Typer) -> None:
    @app.command("watch", help="Live terminal: order book, chart, trades, positions, orders and an order ticket. "
                               "With a `perp session` running it streams through the session's connections "
                               "(its own sockets without one, or if the session goes).")
    def watch(
        markets: list[str] = typer.Argument(
            None, help="Markets to open as tabs (default: the first three); VENUE:MARKET opens another venue's "
                       "market beside them, e.g. aster-devnet:BTCUSDT."),
        no_trading: bool = typer.Option(
            False, "--no-trading",
            help="Read-only: account panels from --address or the stored key's address; never decrypt a key."),
    ) -> None:
        import sys

        from perpcli.cli import output, venue_cmd
        from perpcli.config import settings
        from perpcli.domain.errors import UsageError

        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise UsageError("perp watch needs a terminal (stdin and stdout must be a TTY)")
        session = venue_cmd.session()  # global options -> Session (app/ must not read the CLI context)
        sessions = [session]
        try:
            read_only = no_trading or session.watch_only
            from perpcli.venues import registry

            grouped = split_markets(markets or [], session.venue, registry.all_venues())
            sessions.extend(_open_other(name) for name in grouped if name != session.venue)
            trading, *sides = _account_sides(sessions, read_only, output)
            others = [(o, grouped[o.venue], t) for o, t in zip(sessions[1:], sides, strict=True)]
            # textual is imported here, not at module level: `perp --help` must not pay for it.
            from perpcli.tui.run import VenueFeed, build_app, session_reach

            feeds = [VenueFeed(o.market, t, symbols, read_only, session_reach(o.choice.config))
                     for o, symbols, t in others]
            app, _ = build_app(session.market, markets=grouped[session.venue], trading=trading,
                               settings=settings.current(), read_only=read_only, others=feeds,
                               reach=session_reach(session.choice.config))
            app.run()
        finally:
            for s in sessions:
                s.close()


def _open_other(name: str):
    """Another venue's session: the same --account / --address, that venue's own settings."""
    from perpcli.app.session import Session
    from perpcli.cli import context
    from perpcli.config import settings

    opts = context.current()
    return Session.open(settings.current(), venue=name, account=opts.account, passphrase_file=opts.passphrase_file,
                        address=opts.address)


def _account_sides(sessions, read_only: bool, output) -> list:
    """Each tab's account side, the venue in use first: the session agent's where it holds that
    venue's key, else the key unlocked here — asked once, then adopted by the tabs after it."""
    sides: list = []
    unlocked = None
    for i, s in enumerate(sessions):
        side = _account_side(s, read_only, output, named=i > 0, key=None if s.watch_only else unlocked)
        sides.append(side)
        unlocked = unlocked or _unlocked_here(s, side, read_only)
    return sides


def _unlocked_here(session, trading, read_only: bool):
    """The key this process unlocked for `session`'s tab (for the next tabs to adopt), or None:
    read-only, market data only, or signed by the session agent (no key here)."""
    if read_only or trading is None or session.watch_only or getattr(trading, "via_session", False):
        return None
    return session.signer()


def _account_side(session, read_only: bool, output, *, named: bool = False, key=None):
    """The venue's account side, or None (market data only) with one warning line saying why.
    With a session agent holding this venue's key, orders are signed there and nothing is
    unlocked here (read-only on a venue that signs its account reads: those reads are signed
    there); otherwise `key` is a signer another tab of this watch already unlocked (one
    key, one passphrase), else the key is unlocked here."""
    from perpcli.domain.errors import AuthError, UsageError

    try:
        from perpcli.tui.session_trading import held_by_session

        held = held_by_session(session, read_only=read_only)
        if held is not None:
            return held
        if key is not None and not read_only:
            session.adopt_signer(key)
        return session.reader() if read_only else session.trading()
    except (AuthError, UsageError) as e:
        output.warn(f"{session.venue + ': ' if named else ''}market data only: {e}")
        return None
