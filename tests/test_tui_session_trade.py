"""`perp watch` order actions through a `perp session` agent that holds the key.

The agent is a real background process on a quiet devnet; the watch's LiveSource and
LiveTrader run headless in this process, as the app runs them, with no passphrase anywhere in
this process (and the keystore's decrypt refused outright while the agent is meant to sign).
"""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal

import pytest

from perpcli.app import actions
from perpcli.app.order_plan import OrderRequest, PriceSpec, SizeSpec
from perpcli.app.risk import RiskLimits
from perpcli.app.session import Session
from perpcli.config import settings
from perpcli.domain.errors import ErrorKind, NetworkError, OutcomeUnknown, ValidationError
from perpcli.domain.orders import OrderIntent, Side
from perpcli.keys import keystore
from perpcli.ledger.store import Store
from perpcli.session import seam_codec
from perpcli.tui import session_trading
from perpcli.tui.live import LiveSource, LiveTrader
from perpcli.tui.run import session_reach
from perpcli.venues.base import Ack, AckStatus, CancelTarget, Prepared, TradingOptions
from tests import session_helpers as sh
from tests.cli_devnet import control
from tests.test_algos_devnet import (  # noqa: F401 - fixtures, used by name
    cli,
    devnet,
    maker,
    session_key,
)
from tests.test_tui_session_feed import QUICK, until

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def no_decrypt(monkeypatch):
    """The watch must never decrypt the key: any attempt fails the test."""

    def refuse(*_a, **_k):
        raise AssertionError("the watch decrypted the key")

    monkeypatch.setattr(keystore, "decrypt", refuse)


def watch_session(net) -> Session:
    settings.configure()
    return Session.open(settings.current(), venue="devnet", url=net.url, network="testnet")


def agent_and_watch(pw, net, *args, **kw):
    """A session agent holding the key, and the Session the watch opens for its venue."""
    return sh.agent_and_session(pw, lambda: watch_session(net, *args, **kw))


def request(side: Side, size: str, *, limit: str | None = None, post_only: bool = False) -> OrderRequest:
    price = PriceSpec("limit", limit=Decimal(limit)) if limit else PriceSpec("market", slippage_pct=Decimal(1))
    return OrderRequest(market="BTC", side=side, size=SizeSpec("base", Decimal(size)), price=price,
                        post_only=post_only)


def served() -> int:
    return sh.status()["commands_served"]


async def test_the_watch_places_and_cancels_with_the_sessions_key_and_no_passphrase(
        perpcli_home, devnet, maker, session_key, no_decrypt):  # noqa: F811 - fixtures imported above
    address, pw = session_key
    with agent_and_watch(pw, devnet) as (doc, session):
        from perpcli.cli import output
        from perpcli.cli.commands.watch import _account_side

        trading = _account_side(session, False, output)  # what `perp watch` does for its venue
        assert trading is not None and trading.via_session
        assert trading.account_address.lower() == address.lower()
        source = LiveSource(session.market, trading=trading, settings=QUICK, store=Store(), markets=["BTC"],
                            attach=session_reach(session.choice.config))
        trader = LiveTrader(source, trading, RiskLimits.from_settings(settings.current()))
        task = asyncio.create_task(source.run())
        try:
            await until("the account", lambda: source.account() is not None)
            before = served()

            def signed_and_sent_there(_placed) -> None:
                assert served() == before + 2  # signed, then sent, by the agent

            await place_cancel_fill_and_close(trader, trading, source, "BTC", request, on_shown=signed_and_sent_there)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def place_cancel_fill_and_close(trader, trading, source, market: str, request, *, on_shown=None) -> None:
    """The watch's trading through the agent as a trader runs it: a resting limit buy shown in the
    account, then cancelled; a market buy against the maker's ask, shown as a position; that
    position closed (a plan that reads it here, a reduce-only order signed there). `request`
    builds the venue's OrderRequest; `on_shown(placed)` runs once the resting order is shown."""
    plan = actions.plan(trader.session, trading, request(Side.BUY, "0.01", limit="94000"))
    trader.check_risk(plan)
    [placed] = await asyncio.to_thread(trader.place, plan)
    assert placed.status == "resting" and placed.error is None, placed
    await until("the order in the watch", lambda: any(o.oid == placed.oid for o in source.account().open_orders))
    if on_shown is not None:
        on_shown(placed)
    order = next(o for o in source.account().open_orders if o.oid == placed.oid)
    [cancelled] = await asyncio.to_thread(trader.cancel, [order])
    assert cancelled.status == "canceled", cancelled
    await until("the order gone", lambda: not any(o.oid == placed.oid for o in source.account().open_orders))
    [bought] = await asyncio.to_thread(trader.place, actions.plan(trader.session, trading, request(Side.BUY, "0.01")))
    assert bought.status == "filled", bought
    await until("the position in the watch", lambda: any(p.size == Decimal("0.01") for p in source.account().positions))
    closed = await asyncio.to_thread(trader.close, market)
    assert [r.status for r in closed] == ["filled"]


def assert_the_agents_errors_read_as_here(held, own) -> None:
    """An error raised on the agent's side arrives as the same class, message and attributes."""
    with pytest.raises(ValidationError) as there:
        held.prepare_cancel([CancelTarget("NOPE", oid="1")])
    with pytest.raises(ValidationError) as here:
        own.prepare_cancel([CancelTarget("NOPE", oid="1")])
    assert (there.value.message, there.value.rule) == (here.value.message, here.value.rule)


def test_a_refused_order_reads_the_same_through_the_session_as_without_it(
        perpcli_home, devnet, maker, session_key):  # noqa: F811 - fixtures imported above
    _address, pw = session_key
    with agent_and_watch(pw, devnet) as (doc, session):
        held = session_trading.held_by_session(session)
        assert held is not None
        own = Session.open(settings.current(), venue="devnet", url=devnet.url, network="testnet",
                           passphrase_file=str(pw)).trading()
        assert not getattr(own, "via_session", False)
        outcomes = []
        for trading in (held, own):  # a post-only buy through the maker's ask: the venue refuses it
            plan = actions.plan(session, trading, request(Side.BUY, "0.01", limit="95100", post_only=True))
            [res] = actions.place(session, trading, plan, dry_run=False).results
            outcomes.append((res.status, res.error, res.error_kind))
        assert outcomes[0] == outcomes[1] and outcomes[0][0] == "rejected" and outcomes[0][1]
        assert_the_agents_errors_read_as_here(held, own)


def test_a_locked_session_leaves_the_watch_to_unlock_its_own_key(
        perpcli_home, devnet, maker, session_key):  # noqa: F811 - fixtures imported above
    _address, pw = session_key
    with agent_and_watch(pw, devnet) as (doc, session):
        held = session_trading.held_by_session(session)
        assert held is not None
        assert sh.perp("session", "lock").code == 0
        # Locked while watching: refused before anything is signed, and nothing rests.
        plan = actions.plan(session, held, request(Side.BUY, "0.01", limit="94000"))
        with pytest.raises(session_trading.NotHeld, match="holds no unlocked key"):
            actions.place(session, held, plan, dry_run=False)
        assert held.open_orders() == []
        # A watch started now falls back to its own key (today's path: the passphrase, here a file).
        assert session_trading.held_by_session(watch_session(devnet)) is None
        from perpcli.cli import output
        from perpcli.cli.commands.watch import _account_side

        own = _account_side(Session.open(settings.current(), venue="devnet", url=devnet.url, network="testnet",
                                         passphrase_file=str(pw)), False, output)
        assert own is not None and not getattr(own, "via_session", False)
        [res] = actions.place(session, own, plan, dry_run=False).results
        assert res.status == "resting"


def test_another_key_in_the_session_is_not_used(perpcli_home, devnet, session_key, monkeypatch):  # noqa: F811
    _address, pw = session_key
    sh.stored_key(perpcli_home, "other")  # same passphrase file; the session unlocks "main" only
    r = sh.perp("--passphrase-file", str(pw), "--account", "main", "--json", "session", "start", "--venues", "devnet")
    assert r.code == 0, r.err
    doc = r.json()
    try:
        settings.configure()
        other = Session.open(settings.current(), venue="devnet", url=devnet.url, network="testnet", account="other")
        assert session_trading.held_by_session(other) is None
        main = Session.open(settings.current(), venue="devnet", url=devnet.url, network="testnet", account="main")
        assert session_trading.held_by_session(main) is not None
        # A key in the environment signs here, as every command signs with it: the session is not asked.
        monkeypatch.setenv("PERPCLI_PRIVATE_KEY", "0x" + "11" * 32)
        plain = Session.open(settings.current(), venue="devnet", url=devnet.url, network="testnet")
        assert session_trading.held_by_session(plain) is None
    finally:
        sh.perp("session", "stop")
        sh.kill(doc["pid"])


def place_while_the_agent_dies(net, doc: dict, session, held, plan, reached) -> object:
    """Place `plan` through the agent while the venue executes but never answers, kill the agent
    once `reached()` says the order is at the venue, and return the one order's result."""
    import time

    control(net.url, "faults", {"rate_silence": 1})  # executed, never answered: the agent waits
    out: list = []
    worker = threading.Thread(target=lambda: out.append(actions.place(session, held, plan, dry_run=False)))
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while not reached() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reached(), "the order never reached the venue"
        sh.kill(doc["pid"])  # the agent dies while it waits for the venue's answer
        worker.join(20)
    finally:
        control(net.url, "faults", {"rate_silence": 0})
    [res] = out[0].results
    return res


def test_an_order_the_agent_died_on_is_unknown_and_never_sent_again(
        perpcli_home, devnet, maker, session_key, no_decrypt):  # noqa: F811 - fixtures imported above
    _address, pw = session_key
    with agent_and_watch(pw, devnet) as (doc, session):
        held = session_trading.held_by_session(session)
        assert held is not None
        plan = actions.plan(session, held, request(Side.BUY, "0.01", limit="94000"))
        res = place_while_the_agent_dies(devnet, doc, session, held, plan, lambda: held.open_orders())
        assert res.status == "unknown" and "may have been sent" in res.error
        assert actions.exit_code_for([res]) == 6
        # The venue has exactly the one order, found by its client id: nothing was sent twice.
        assert [o.cloid for o in held.open_orders()] == [plan.intents[0].cloid]


# ----- without a devnet ------------------------------------------------------------------------


def test_seam_values_cross_as_explicit_json_and_nothing_else_is_rebuilt():
    import json

    intent = OrderIntent(venue="devnet", symbol="BTC", side=Side.SELL, size=Decimal("0.010"),
                         price=Decimal("95000.5"), cloid="0x" + "ab" * 16)
    prepared = Prepared(kind="order", body={"action": {"type": "order"}, "nonce": 7},
                        requests=[("0x1", Decimal("1.50"))], markets=["BTC"])
    ack = Ack(AckStatus.REJECTED, cloid="0x1", error="nope", error_kind=ErrorKind.POST_ONLY_WOULD_CROSS,
              detail={"settled": "executed", "n": 1.5})
    opts = TradingOptions(account_override=None, builder="0xb", builder_fee_tenths_bp=5)
    for value in (intent, prepared, ack, opts, [ack, ack], {"k": (Decimal("1"), None)}):
        wire = json.loads(json.dumps(seam_codec.encode(value)))
        assert seam_codec.decode(wire) == value
    assert type(seam_codec.decode(seam_codec.encode(actions.OpenOrderTarget("BTC", oid="5", order_cloid="0x2")))) \
        is CancelTarget  # the venue is given the target, the caller keeps its own
    with pytest.raises(TypeError):
        seam_codec.encode(object())
    for bad in ({"$C": "Popen", "f": {}}, {"$E": "Signal", "v": 9}, {"x": 1, "y": 2, "z": 3}):
        with pytest.raises(ValueError):
            seam_codec.decode(bad)
    err = ValidationError("too small", rule="min-size", nearest=Decimal("0.001"))
    back = seam_codec.decode_error(json.loads(json.dumps(seam_codec.encode_error(err))))
    assert type(back) is ValidationError and (back.message, back.rule, back.nearest) == ("too small", "min-size",
                                                                                         Decimal("0.001"))


def _link() -> session_trading.SessionTrading:
    link = session_trading._Link({"venue": "devnet"}, "main", TradingOptions())
    return session_trading.SessionTrading(object(), link, "0xabc")


@pytest.mark.parametrize("call", ["send_cancel", "send"])
def test_a_send_the_agent_died_on_raises_outcome_unknown(perpcli_home, call):
    trading = _link()
    prepared = Prepared(kind="cancel", body={}, requests=[(None, Decimal(0))])
    sh.fake_agent(answer=False)
    with pytest.raises(OutcomeUnknown, match="may have been sent"):
        if call == "send":
            trading.send(prepared)
        else:
            trading.send_cancel(prepared, [CancelTarget("BTC", oid="1")])


def test_an_order_the_agent_died_on_comes_back_unknown_per_order(perpcli_home):
    trading = _link()
    prepared = Prepared(kind="order", body={}, requests=[("0x1", Decimal(1)), ("0x2", Decimal(1))])
    sh.fake_agent(answer=False)
    acks = trading.send_orders(prepared)
    assert [(a.status, a.cloid) for a in acks] == [(AckStatus.UNKNOWN, "0x1"), (AckStatus.UNKNOWN, "0x2")]


def test_signing_the_agent_died_on_sent_nothing(perpcli_home):
    trading = _link()
    sh.fake_agent(answer=False)
    with pytest.raises(NetworkError, match="nothing was sent"):
        trading.prepare_leverage("BTC", 3, cross=True)
    with pytest.raises(NetworkError, match="not answering"):  # no agent at all now
        trading.prepare_leverage("BTC", 3, cross=True)


async def test_the_status_line_says_the_sessions_key_signs_the_orders(
        perpcli_home, devnet, session_key, no_decrypt):  # noqa: F811 - fixtures imported above
    from perpcli.tui.run import build_app
    from perpcli.tui.widgets.account import StatusLine
    from tests.tui_support import wait_until

    _address, pw = session_key
    with agent_and_watch(pw, devnet) as (doc, session):
        trading = session_trading.held_by_session(session)
        assert trading is not None
        with pytest.raises(AttributeError, match="not signed through the session"):
            trading.prepare_modify  # noqa: B018 - a keyed call the watch never makes is not the reader's
        app, _ = build_app(session.market, markets=["BTC"], trading=trading, settings=settings.current(),
                           stream=QUICK, reach=session_reach(session.choice.config))
        async with app.run_test(size=(160, 48)) as pilot:
            status = app.query_one(StatusLine)
            assert await wait_until(pilot, lambda: "orders signed by the session: devnet" in status.render().plain,
                                    timeout=10)
            await app.action_quit()
