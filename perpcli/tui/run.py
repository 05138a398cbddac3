"""Compose and run `perp watch`: a LiveSource per venue, a LiveTrader when a key is loaded.

Kept apart from the command module so `perp watch` and `perp demo` share it, and so the
command module itself imports only typer (textual is loaded here, when the app starts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from perpcli.config.tui_keys import keymap_from_settings
from perpcli.net.stream import StreamSettings
from perpcli.tui.app import WatchApp, WatchConfig
from perpcli.tui.live import LiveSource, LiveTrader

DEFAULT_MARKET_COUNT = 3


def venue_names(first: str) -> list[str]:
    """The venue in use first, then every other venue the registry knows (the palette lists them)."""
    from perpcli.venues import registry

    return [first, *(n for n in registry.all_venues() if n != first)]


def stream_settings(settings: Any) -> StreamSettings:
    return StreamSettings(
        stale_after=float(settings.get("stream.stale_after_seconds")),
        ping_interval=float(settings.get("stream.ping_interval_seconds")),
    )


def watch_config(settings: Any, **overrides: Any) -> WatchConfig:
    cfg = WatchConfig(
        refresh_hz=int(settings.get("tui.refresh_hz")),
        chart_interval=str(settings.get("tui.chart_interval")),
        keymap=keymap_from_settings(settings.get),
    )
    for k, v in overrides.items():
        setattr(cfg, k, v)
    return cfg


def build_app(
    market_data: Any,
    *,
    markets: Sequence[str],
    trading: Any = None,
    settings: Any,
    limits: Any = None,
    config: WatchConfig | None = None,
    stream: StreamSettings | None = None,
    read_only: bool = False,
    also: Sequence[tuple[Any, Any, Sequence[str]]] = (),
) -> tuple[WatchApp, LiveSource]:
    """The app for one venue's market-data side (+ trading side when a key is loaded).
    `read_only`: `trading` only reads the account (a watched address); no order actions.
    `also`: more venues on screen from the start, each (market data, trading or None, markets),
    their tabs after the first venue's."""
    from perpcli.ledger.store import Store
    from perpcli.tui.live import TRADES_KEPT

    store = Store(trades_kept=TRADES_KEPT)  # the one holder of live state, shared by every venue
    source = LiveSource(market_data, trading=trading, settings=stream or stream_settings(settings), store=store)
    # Load the instruments now (REST), so the screen never waits for them later.
    known = market_data.instruments()
    if not markets:
        markets = [i.symbol for i in known[:DEFAULT_MARKET_COUNT]]
    markets = [market_data.instrument(m).symbol for m in markets]  # unknown market: UsageError now
    traders = {}
    if trading is not None and not read_only:
        if limits is None:
            from perpcli.app.risk import RiskLimits

            limits = RiskLimits.from_settings(settings)
        traders[source.venue] = LiveTrader(source, trading, limits)

    def start_feed(app: WatchApp, src: Any) -> None:
        app.run_worker(src.run(), name=f"feed:{src.venue}", group="feeds", exit_on_error=False)

    def open_other_venue(name: str) -> LiveSource:
        """Another configured venue, market data only (blocking: called from a thread worker)."""
        from perpcli.app.session import choose_venue
        from perpcli.venues import registry

        choice = choose_venue(settings, venue=name)
        md = registry.open_venue(choice.config)
        md.instruments()  # metadata now, in the worker, so the screen never waits for it
        return LiveSource(md, settings=stream or stream_settings(settings), store=store)

    sources: dict[str, Any] = {source.venue: source}
    tabs = [(source.venue, m) for m in markets]
    for other_md, other_trading, other_markets in also:
        other = LiveSource(other_md, trading=other_trading, settings=stream or stream_settings(settings), store=store)
        sources[other.venue] = other
        tabs.extend((other.venue, other_md.instrument(m).symbol) for m in other_markets)
        if other_trading is not None and not read_only:
            if limits is None:
                from perpcli.app.risk import RiskLimits

                limits = RiskLimits.from_settings(settings)
            traders[other.venue] = LiveTrader(other, other_trading, limits)

    app = WatchApp(
        sources,
        tabs,
        traders=traders,
        config=config or watch_config(settings),
        start_feed=start_feed,
        open_venue=open_other_venue,
        venues=venue_names(source.venue),
    )
    return app, source


DEMO_MARKETS = ("BTC", "ETH", "SOL")
DEMO_ASTER_MARKETS = ("ETHUSDT", "SOLUSDT")  # the same devnet's Aster face, in tabs after Hyperliquid's


def watch_devnet(url: str, key_path: Any, markets: Sequence[str] = DEMO_MARKETS) -> None:
    """`perp demo` on a terminal: the live app against the in-process devnet, with the demo key.

    `key_path` is the devnet-only demo key file written by perpcli/cli/demo_setup.py (comment
    lines, then the hex key); the key goes straight into a Signer and nowhere else.
    """
    from pathlib import Path

    from perpcli.config import settings
    from perpcli.keys import files
    from perpcli.keys.signer import Signer
    from perpcli.venues import registry

    # files.lines splits at "\n" only: splitlines() would also cut at \v, \x85, U+2028...
    lines = [ln for ln in files.lines(Path(key_path).read_text()) if ln and not ln.startswith("#")]
    signer = Signer.from_hex(lines[0], name="demo")
    md = registry.open_venue(registry.get_entry("devnet").config(url=url, network="testnet"))
    aster = registry.open_venue(registry.get_entry("aster-devnet").config(url=url, network="testnet"))
    try:
        trading = md.trading(signer)
        app, _ = build_app(md, markets=list(markets), trading=trading, settings=settings.current(),
                           also=[(aster, aster.trading(signer), DEMO_ASTER_MARKETS)])
        app.run()
    finally:
        md.close()
        aster.close()
