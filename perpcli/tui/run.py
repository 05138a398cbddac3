"""Compose and run `perp watch`: a LiveSource per venue, a LiveTrader when a key is loaded.

Kept apart from the command module so `perp watch` and `perp demo` share it, and so the
command module itself imports only typer (textual is loaded here, when the app starts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass
class VenueFeed:
    """One venue of `perp watch`: its market-data side, the account side when a key (or an
    address) is loaded, and the markets to open as tabs."""

    market_data: Any
    trading: Any = None
    markets: Sequence[str] = ()
    read_only: bool = False  # `trading` only reads the account (a watched address): no order actions
    reach: dict[str, str] | None = None  # how a session agent opens this venue (session_reach)


def session_reach(config: Any) -> dict[str, str]:
    """How a session agent would open this venue (its VenueConfig), so the watch takes its streams
    from the agent whenever one runs: at the start, or later (tui/live.py `_follow_session`)."""
    return {"venue": config.name, "url": config.url, "network": config.network}


def make_source(market_data: Any, *, store: Any, trading: Any = None, markets: Sequence[str] = (),
                stream: StreamSettings, reach: dict[str, str] | None = None) -> Any:
    """The live source for a venue: a streamed book (through the session agent when `reach`
    says how it opens the venue), or (no book, per its Capabilities) the oracle's quotes."""
    from perpcli.tui.oracle_source import OracleSource, has_book

    if has_book(market_data):
        return LiveSource(market_data, trading=trading, settings=stream, store=store, markets=markets, attach=reach)
    return OracleSource(market_data, trading=trading, markets=markets, store=store, stale_after=stream.stale_after)


def trader_for(source: Any, trading: Any, limits: Any) -> Any:
    """The venue's own way to act from the screen: order-book orders, or collateral trades."""
    from perpcli.app.collateral import uses_collateral_orders

    if uses_collateral_orders(getattr(source.md, "capabilities", None)):
        from perpcli.tui.collateral_trader import CollateralTrader

        return CollateralTrader(source, trading, limits)
    return LiveTrader(source, trading, limits)


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
    others: Sequence[VenueFeed] = (),
    reach: dict[str, str] | None = None,
) -> tuple[WatchApp, Any]:
    """The app for one venue's market-data side (+ trading side when a key is loaded), and
    `others`: more venues opened as tabs beside it (`perp watch BTC aster-devnet:BTCUSDT`).
    Returns the app and the first venue's source."""
    app, sources = build_watch([VenueFeed(market_data, trading, markets, read_only, reach), *others], settings=settings,
                               limits=limits, config=config, stream=stream)
    return app, sources[0]


def build_watch(
    feeds: Sequence[VenueFeed],
    *,
    settings: Any,
    limits: Any = None,
    config: WatchConfig | None = None,
    stream: StreamSettings | None = None,
) -> tuple[WatchApp, list[Any]]:
    """The app over several venues sharing one Store: a source per venue, a trader for each
    venue with a key. The first venue's markets default to its first three."""
    from perpcli.ledger.store import Store
    from perpcli.tui.live import TRADES_KEPT

    store = Store(trades_kept=TRADES_KEPT)  # the one holder of live state, shared by every venue
    stream = stream or stream_settings(settings)
    sources: list[Any] = []
    tabs: list[tuple[str, str]] = []
    traders = {}
    for i, feed in enumerate(feeds):
        md = feed.market_data
        # Load the instruments now (REST), so the screen never waits for them later.
        known = md.instruments()
        markets = list(feed.markets)
        if not markets and i == 0:
            markets = [inst.symbol for inst in known[:DEFAULT_MARKET_COUNT]]
        markets = [md.instrument(m).symbol for m in markets]  # unknown market: UsageError now
        source = make_source(md, store=store, trading=feed.trading, stream=stream, reach=feed.reach)  # tabs subscribe
        sources.append(source)
        tabs.extend((source.venue, m) for m in markets)
        if feed.trading is not None and not feed.read_only:
            if limits is None:
                from perpcli.app.risk import RiskLimits

                limits = RiskLimits.from_settings(settings)
            traders[source.venue] = trader_for(source, feed.trading, limits)

    def start_feed(app: WatchApp, src: Any) -> None:
        app.run_worker(src.run(), name=f"feed:{src.venue}", group="feeds", exit_on_error=False)

    def open_other_venue(name: str) -> Any:
        """Another configured venue, market data only (blocking: called from a thread worker)."""
        from perpcli.app.session import choose_venue
        from perpcli.venues import registry

        choice = choose_venue(settings, venue=name)
        md = registry.open_venue(choice.config)
        md.instruments()  # metadata now, in the worker, so the screen never waits for it
        return make_source(md, store=store, stream=stream, reach=session_reach(choice.config))

    first = sources[0].venue
    app = WatchApp(
        {s.venue: s for s in sources},
        tabs,
        traders=traders,
        config=config or watch_config(settings),
        start_feed=start_feed,
        open_venue=open_other_venue,
        venues=[*(s.venue for s in sources), *(n for n in venue_names(first) if n not in {s.venue for s in sources})],
    )
    return app, sources


DEMO_MARKETS = ("BTC", "ETH", "SOL")
DEMO_ASTER_MARKETS = ("ETHUSDT", "SOLUSDT")  # the same devnet's Aster face, in tabs after Hyperliquid's
DEMO_OSTIUM_MARKETS = ("XAU",)  # the demo's Ostium chain (when anvil is installed), after Aster's


def watch_devnet(url: str, key_path: Any, markets: Sequence[str] = DEMO_MARKETS, *, ostium: Any = None) -> None:
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
    others = [VenueFeed(aster, aster.trading(signer), DEMO_ASTER_MARKETS)]
    gold = None
    if ostium is not None:  # the demo's Ostium chain (demo_setup.OstiumFace): its tab after Aster's
        gold = registry.open_venue(registry.get_entry("ostium-devnet").config(url=ostium.url,
                                                                               price_url=ostium.prices_url))
        others.append(VenueFeed(gold, gold.trading(signer), DEMO_OSTIUM_MARKETS))
    try:
        trading = md.trading(signer)
        app, _ = build_app(md, markets=list(markets), trading=trading, settings=settings.current(), others=others)
        app.run()
    finally:
        md.close()
        aster.close()
        if gold is not None:
            gold.close()
