"""The TUI's algos screen: the session's algos over its socket, and a key that cancels one."""

from __future__ import annotations

from perpcli.tui.app import WatchApp
from perpcli.tui.screens import algos as algos_screen
from perpcli.tui.screens.algos import NO_SESSION, AlgosScreen, progress
from perpcli.tui.screens.confirm import ConfirmScreen
from tests.tui_support import FakeSource, FakeTrader, wait_until

SIZE = (160, 48)


def algo(aid: str, kind: str, side: str, size: str, filled: str, status: str = "running", avg=None) -> dict:
    return {"id": aid, "kind": kind, "venue": "devnet", "market": "BTC", "side": side, "size": size,
            "filled": filled, "avg_price": avg, "status": status, "reason": None}


class FakeSession:
    """The session socket as the screen sees it: answers `list`, records `cancel`."""

    def __init__(self, running: bool = True) -> None:
        self.running = running
        self.algos = [algo("a1", "chase", "buy", "0.05", "0.02", avg="95000"), algo("a2", "twap", "sell", "1", "0")]
        self.canceled: list[str] = []

    def __call__(self, doc: dict, timeout_s: float = 10.0) -> dict | None:
        if not self.running:
            return None
        if doc["action"] == "list":
            return {"handled": True, "algos": [a for a in self.algos if a["status"] == "running"]}
        assert doc["action"] == "cancel"
        self.canceled.append(doc["id"])
        for a in self.algos:
            if a["id"] == doc["id"]:
                a["status"] = "canceled"
                return {"handled": True, "algo": a}
        return {"handled": False}


def app_with(monkeypatch, session: FakeSession) -> WatchApp:
    monkeypatch.setattr(algos_screen, "session_request", session)
    src = FakeSource(("BTC",))
    return WatchApp({src.venue: src}, [(src.venue, "BTC")], traders={src.venue: FakeTrader(src)})


def test_progress_says_filled_of_size_and_the_average_price():
    assert progress(algo("a", "chase", "buy", "0.05", "0.02", avg="95000")) == "0.02/0.05 (40%) @ 95000"
    assert progress(algo("a", "twap", "sell", "1", "0")) == "0/1 (0%)"


async def test_the_algos_key_lists_the_session_algos_and_cancels_the_selected_one(monkeypatch):
    session = FakeSession()
    app = app_with(monkeypatch, session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("A")
        assert await wait_until(pilot, lambda: isinstance(app.screen, AlgosScreen) and len(app.screen.rows) == 2)
        screen = app.screen
        assert screen.rows[0] == ("a1", "chase", "devnet", "BTC", "buy", "0.02/0.05 (40%) @ 95000", "running", "")
        assert screen.note == "Session algos: 2 running"
        await pilot.press("down")  # the twap
        await pilot.press("c")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await wait_until(pilot, lambda: session.canceled == ["a2"])
        assert await wait_until(pilot, lambda: screen.note == "Session algos: 1 running · a2: canceled" and len(screen.rows) == 1)
        await pilot.press("A")  # the same key goes back
        assert await wait_until(pilot, lambda: not isinstance(app.screen, AlgosScreen))
    assert session.canceled == ["a2"]  # and the chase was left alone


async def test_declining_the_confirmation_cancels_nothing(monkeypatch):
    session = FakeSession()
    app = app_with(monkeypatch, session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("A")
        assert await wait_until(pilot, lambda: isinstance(app.screen, AlgosScreen) and app.screen.rows)
        await pilot.press("c")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await pilot.pause(0.2)
    assert session.canceled == []


async def test_without_a_session_the_screen_says_how_to_start_one(monkeypatch):
    app = app_with(monkeypatch, FakeSession(running=False))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("A")
        assert await wait_until(pilot, lambda: isinstance(app.screen, AlgosScreen) and app.screen.note == NO_SESSION)
        assert app.screen.rows == []
