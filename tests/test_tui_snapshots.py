"""Snapshot tests: the whole screen as text at a fixed terminal size, against golden files.

The source is the in-memory fake with fixed books, trades, account and stream health, so the
screen is deterministic. When the layout changes on purpose, regenerate the goldens with
PERPCLI_UPDATE_SNAPSHOTS=1 and review the diff like any other code change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from perpcli.domain.events import ConnectionState
from perpcli.domain.orders import Side
from perpcli.tui.app import WatchApp, WatchConfig
from perpcli.tui.screens.help import HelpScreen
from tests.tui_support import FakeSource, FakeTrader, order, position, screen_text, wait_until

GOLDEN = Path(__file__).resolve().parent / "tui_snapshots"
UPDATE = os.environ.get("PERPCLI_UPDATE_SNAPSHOTS") == "1"


@pytest.fixture(autouse=True)
def utc_clock(monkeypatch):
    """The tape prints local times: pin the zone so the goldens hold on any machine."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def check(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"missing golden {path}; run with PERPCLI_UPDATE_SNAPSHOTS=1 to create it")
        path.write_text(text + "\n")
        return
    expected = path.read_text().rstrip("\n")
    assert text == expected, f"screen differs from {path} (PERPCLI_UPDATE_SNAPSHOTS=1 to accept)"


def seeded() -> tuple[WatchApp, FakeSource]:
    src = FakeSource()
    app = WatchApp({"fake": src}, [("fake", "BTC"), ("fake", "ETH")], traders={"fake": FakeTrader(src)},
                   config=WatchConfig(chart_interval="1d"))  # mid samples: one bar a day
    return app, src


def fill(src: FakeSource) -> None:
    src.leverages["BTC"] = (10, True)
    src.push_book("BTC", [("100", "1.5"), ("99.5", "2"), ("99", "4.25"), ("98.5", "0.5")],
                  [("100.5", "1"), ("101", "3"), ("101.5", "0.75"), ("102", "6")])
    for i, (side, px, sz) in enumerate([(Side.BUY, "100.5", "0.2"), (Side.SELL, "100", "1.1"),
                                        (Side.BUY, "100.5", "0.05")]):
        src.push_trade("BTC", side, px, sz, 1_700_000_000_000 + i * 1000, i + 1)
    src.push_mark("BTC", "100.25")
    # leveraged: the liquidation price and the distance to it are on screen
    src.set_account(equity="10000", positions=[position("BTC", "250", "95", lev=10)],
                    orders=[order(41, price="98"), order(42, side=Side.SELL, price="104", size="0.5")])


async def test_main_screen_160x48():
    app, src = seeded()
    async with app.run_test(size=(160, 48)) as pilot:
        fill(src)
        assert await wait_until(pilot, lambda: "mid 100.250" in app.active_view.ladder.text())
        assert await wait_until(pilot, lambda: "mid 100.250" in screen_text(app))  # painted
        await pilot.pause(0.3)
        check("main_160x48", screen_text(app))


async def test_main_screen_80x24():
    """The smallest usual terminal: chart, tape, ticket and the liquidation column all show."""
    app, src = seeded()
    async with app.run_test(size=(80, 24)) as pilot:
        fill(src)
        assert await wait_until(pilot, lambda: "mid 100.250" in screen_text(app))  # painted
        assert await wait_until(pilot, lambda: "BTC" in app.query_one("#positions").positions)
        await pilot.pause(0.3)
        check("main_80x24", screen_text(app))


async def test_stale_feed_120x36():
    app, src = seeded()
    async with app.run_test(size=(120, 36)) as pilot:
        fill(src)
        src.set_health(ConnectionState.STALE, age_ms=15_000)
        assert await wait_until(pilot, lambda: "STALE" in app.active_view.ladder.text())
        assert await wait_until(pilot, lambda: "STALE" in screen_text(app))  # painted
        await pilot.pause(0.3)
        check("stale_120x36", screen_text(app))


async def test_help_screen_120x40():
    app, src = seeded()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert await wait_until(pilot, lambda: "tui.keys.quit" in screen_text(app))  # painted
        await pilot.pause(0.2)
        check("help_120x40", screen_text(app))


async def test_seeded_devnet_screen_140x40():
    """A devnet with no synthetic flow and a book made of our own two orders: deterministic but
    for stream ages and latencies, which are masked."""
    import re
    from decimal import Decimal as D

    from perpcli.config import settings
    from perpcli.devnet.server import start_in_thread
    from perpcli.domain.orders import OrderIntent
    from perpcli.keys.signer import Signer
    from perpcli.tui.run import build_app, watch_config
    from perpcli.venues.hyperliquid.adapter import HyperliquidMarketData
    from perpcli.venues.hyperliquid.endpoints import endpoint
    from tests.support import register_secret

    key = "0x" + "5e" * 32
    register_secret(key)
    handle = start_in_thread(market_interval=0, seed=11, history_days=0)  # no seeded past: it moves with the clock
    try:
        settings.configure()
        md = HyperliquidMarketData(endpoint(handle.url, "testnet"), venue="devnet")
        trading = md.trading(Signer.from_hex(key))
        handle.call(handle.devnet.control, "fund", {"user": trading.signer_address, "amount": "25000"})
        trading.submit([
            OrderIntent("devnet", "BTC", Side.BUY, D("0.002"), price=D("94000"), cloid="0x" + "1" * 32),
            OrderIntent("devnet", "BTC", Side.SELL, D("0.001"), price=D("96500"), cloid="0x" + "2" * 32),
        ])
        config = watch_config(settings.current(), chart_interval="1d")  # mid samples: one bar a day
        app, source = build_app(md, markets=["BTC", "ETH"], trading=trading, settings=settings.current(),
                                config=config)
        async with app.run_test(size=(140, 40)) as pilot:
            def settled() -> bool:
                # On a loaded machine a socket can take a second try to open: snap the screen
                # once both book streams are up again, not while they reconnect.
                screen = screen_text(app)
                return ("mid 95,250.00" in app.active_view.ladder.text()
                        and app.query_one("#orders").row_count == 2
                        and "funding" in app.active_view.chart.text()
                        and "● l2Book:BTC" in screen and "● l2Book:ETH" in screen and "RECONNECTING" not in screen)

            assert await wait_until(pilot, settled, timeout=30)
            await pilot.pause(0.5)
            assert await wait_until(pilot, settled, timeout=15)
            text = screen_text(app)
        md.close()
    finally:
        handle.stop()
    text = re.sub(r"\d+(\.\d+)?(ms|s)\b", "N", text)  # stream ages and latencies
    text = re.sub(r"age never", "age N", text)
    text = re.sub(r"funding -?[\d.]+%", "funding N%", text)  # from the devnet's premium samples
    check("devnet_140x40", text)
