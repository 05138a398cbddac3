"""`perp watch` on Aster through a `perp session` agent that holds the key.

Aster signs its account reads and opens its account socket with the key, so on its face the
watch reads the account through the agent as well as signing and sending there: no key is
decrypted in this process (the keystore's decrypt is refused outright). Also: every tab of a
watch uses the agent where it holds that venue's key, and the others ask once.

The agent is a real background process on a quiet devnet; the watch's LiveSource and
LiveTrader run headless in this process, as the app runs them.
"""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal

import pytest

from perpcli.app import actions
from perpcli.app.order_plan import OrderRequest, PriceSpec, SizeSpec
from perpcli.app.risk import RiskLimits
from perpcli.app.session import Session
from perpcli.cli import output
from perpcli.cli.commands.watch import _account_side, _account_sides
from perpcli.config import settings
from perpcli.domain.events import AccountSnapshot, Balance, ConnectionState, PositionSnapshot
from perpcli.domain.instrument import MarginMode
from perpcli.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from perpcli.keys import keystore
from perpcli.ledger.fees import ACCOUNT, FeeRates
from perpcli.ledger.store import Store
from perpcli.session import seam_codec
from perpcli.tui import session_trading
from perpcli.tui.live import LiveSource, LiveTrader
from perpcli.tui.run import session_reach
from perpcli.venues.base import LeverageSetting, Positions
from tests import session_helpers as sh
from tests.cli_devnet import control
from tests.test_algos_devnet import (  # noqa: F401 - fixtures, used by name
    aster_orders,
    cli,
    devnet,
    maker,
    session_key,
)
from tests.test_tui_session_feed import QUICK, own_sockets, until  # noqa: F401 - own_sockets: a fixture
from tests.test_tui_session_trade import (
    assert_the_agents_errors_read_as_here,
    place_cancel_fill_and_close,
    place_while_the_agent_dies,
)

pytestmark = pytest.mark.timeout(120)

ASTER = "aster-devnet"
BTC = "BTCUSDT"


@pytest.fixture
def decrypts(monkeypatch):
    """Counts keystore decrypts in this process; `refused` makes any decrypt fail the test."""
    calls: list[str] = []
    state = {"refused": True}
    real = keystore.decrypt

    def decrypt(*a, **k):
        if state["refused"]:
            raise AssertionError("the watch decrypted the key")
        calls.append(k.get("source", ""))
        return real(*a, **k)

    monkeypatch.setattr(keystore, "decrypt", decrypt)
    return calls, state


def watch_session(net, venue: str = ASTER, **kw) -> Session:
    settings.configure()
    return Session.open(settings.current(), venue=venue, url=net.url, network="testnet", **kw)


def agent_and_watch(pw, net, *args, **kw):
    """A session agent holding the key, and the Session the watch opens for its venue."""
    return sh.agent_and_session(pw, lambda: watch_session(net, *args, **kw))


def request(side: Side, size: str, *, limit: str | None = None, post_only: bool = False) -> OrderRequest:
    price = PriceSpec("limit", limit=Decimal(limit)) if limit else PriceSpec("market", slippage_pct=Decimal(1))
    return OrderRequest(market=BTC, side=side, size=SizeSpec("base", Decimal(size)), price=price,
                        post_only=post_only)


async def test_the_aster_watch_reads_places_and_cancels_through_the_session(
        perpcli_home, devnet, maker, session_key, decrypts, own_sockets):  # noqa: F811 - fixtures imported above
    address, pw = session_key
    opened, _ = own_sockets
    with agent_and_watch(pw, devnet) as (doc, session):
        trading = _account_side(session, False, output)  # what `perp watch --venue aster-devnet` does
        assert isinstance(trading, session_trading.SignedReadsTrading)
        assert trading.account_address.lower() == address.lower()
        source = LiveSource(session.market, trading=trading, settings=QUICK, store=Store(), markets=[BTC],
                            attach=session_reach(session.choice.config))
        trader = LiveTrader(source, trading, RiskLimits.from_settings(settings.current()))
        task = asyncio.create_task(source.run())
        try:
            await until("the account", lambda: source.account() is not None)
            await until("the account socket through the session",
                        lambda: source.account_session.connection_state is ConnectionState.CONNECTED)
            assert source._fees.source == ACCOUNT  # the account's own rates, a signed read
            # The margin preview's full bracket table, read with the agent's key.
            assert len(source.margin_rules(BTC).brackets) > 1

            def on_the_agents_socket(_placed) -> None:
                assert source.account_session.stats.frames_in > 0  # its update came on the agent's socket

            # Here the position is read through the agent too (Aster signs its reads).
            await place_cancel_fill_and_close(trader, trading, source, BTC, request, on_shown=on_the_agents_socket)
            await until("no position", lambda: not any(p.size for p in source.account().positions))
            assert source.attached and opened == []  # no socket of its own: no listenKey here
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def test_an_aster_refusal_and_reads_are_the_same_through_the_session_as_without_it(
        perpcli_home, devnet, maker, session_key):  # noqa: F811 - fixtures imported above
    _address, pw = session_key
    with agent_and_watch(pw, devnet) as (doc, session):
        held = session_trading.held_by_session(session)
        assert isinstance(held, session_trading.SignedReadsTrading)
        own = watch_session(devnet, passphrase_file=str(pw)).trading()
        assert not getattr(own, "via_session", False)
        outcomes = []
        for trading in (held, own):  # a post-only buy through the maker's ask: the venue refuses it
            plan = actions.plan(session, trading, request(Side.BUY, "0.01", limit="95100", post_only=True))
            [res] = actions.place(session, trading, plan, dry_run=False).results
            outcomes.append((res.status, res.error, res.error_kind))
        assert outcomes[0] == outcomes[1] and outcomes[0][0] == "rejected" and outcomes[0][1]
        # A resting order, read both ways: the same account, orders, positions and settings.
        [res] = actions.place(session, held, actions.plan(session, held, request(Side.BUY, "0.02", limit="94000")),
                              dry_run=False).results
        assert res.status == "resting"
        served = sh.status()["commands_served"]
        assert held.open_orders() == own.open_orders() and len(own.open_orders()) == 1
        assert held.positions() == own.positions()
        assert held.leverage_setting(BTC) == own.leverage_setting(BTC)
        assert held.fee_rates() == own.fee_rates()
        mine, theirs = held.account(), own.account()
        assert (mine.balances, mine.positions, mine.open_orders) == (theirs.balances, theirs.positions,
                                                                     theirs.open_orders)
        assert sh.status()["commands_served"] == served  # a screen's polls are not a trader's use
        assert_the_agents_errors_read_as_here(held, own)


def test_a_read_only_aster_watch_reads_through_the_session_and_signs_nothing(
        perpcli_home, devnet, maker, session_key, decrypts):  # noqa: F811 - fixtures imported above
    """`perp watch --no-trading` on Aster: its reads are signed by the agent (no passphrase, no
    decrypt here); every keyed call is refused in this process, before the agent is asked."""
    address, pw = session_key
    with agent_and_watch(pw, devnet) as (doc, session):
        reader = _account_side(session, True, output)  # what `perp watch --no-trading` does
        assert isinstance(reader, session_trading.SignedReadsOnly) and not reader.via_session
        assert reader.account_address.lower() == address.lower()
        assert reader.account().open_orders == () and reader.fee_rates().source == ACCOUNT
        served = sh.status()["commands_served"]
        plan = actions.plan(session, reader, request(Side.BUY, "0.01", limit="94000"))
        for call in (lambda: reader.prepare_orders(plan.intents), lambda: reader.submit(plan.intents),
                     lambda: reader.prepare_cancel([]), lambda: reader.prepare_leverage(BTC, 3, cross=True)):
            with pytest.raises(session_trading.AuthError, match="read-only"):
                call()
        assert aster_orders(devnet, address) == [] and sh.status()["commands_served"] == served
        # --address on Aster stays the local refusal (an address cannot read there), keyless.
        assert session_trading.held_by_session(watch_session(devnet, address=address), read_only=True) is None
        # Hyperliquid reads from the address alone: the agent is not asked for a read-only watch.
        assert session_trading.held_by_session(watch_session(devnet, venue="devnet"), read_only=True) is None


def test_a_locked_session_refuses_the_aster_watch_before_signing(
        perpcli_home, devnet, maker, session_key):  # noqa: F811 - fixtures imported above
    address, pw = session_key
    with agent_and_watch(pw, devnet) as (doc, session):
        held = session_trading.held_by_session(session)
        assert held is not None
        plan = actions.plan(session, held, request(Side.BUY, "0.01", limit="94000"))
        assert sh.perp("session", "lock").code == 0
        before = sh.status()["commands_served"]
        with pytest.raises(session_trading.NotHeld, match="holds no unlocked key"):
            actions.place(session, held, plan, dry_run=False)
        with pytest.raises(session_trading.NotHeld):  # nor is the account read with a key it dropped
            held.account()
        assert aster_orders(devnet, address) == []  # nothing rests
        assert sh.status()["commands_served"] == before
        assert session_trading.held_by_session(watch_session(devnet)) is None  # a new watch unlocks its own


def test_an_aster_order_the_agent_died_on_is_unknown_and_never_sent_again(
        perpcli_home, devnet, maker, session_key, decrypts):  # noqa: F811 - fixtures imported above
    address, pw = session_key
    with agent_and_watch(pw, devnet) as (doc, session):
        held = session_trading.held_by_session(session)
        assert held is not None
        plan = actions.plan(session, held, request(Side.BUY, "0.01", limit="94000"))
        res = place_while_the_agent_dies(devnet, doc, session, held, plan, lambda: aster_orders(devnet, address))
        assert res.status == "unknown" and "may have been sent" in res.error
        assert actions.exit_code_for([res]) == 6
        time.sleep(0.5)  # anything sent again would have landed by now
        assert len(aster_orders(devnet, address)) == 1  # the one order: nothing was sent twice
        # The next look (no agent now: the key unlocked here) finds it by its client id.
        _calls, state = decrypts
        state["refused"] = False
        own = watch_session(devnet, passphrase_file=str(pw)).trading()
        assert [o.cloid for o in own.open_orders()] == [plan.intents[0].cloid]


def test_every_tab_whose_key_the_agent_holds_uses_it_and_the_others_ask_once(
        perpcli_home, devnet, session_key, decrypts):  # noqa: F811 - fixtures imported above
    _address, pw = session_key
    other, _ = sh.stored_key(perpcli_home, "other")  # same passphrase file; the session unlocks "main" only
    control(devnet.url, "fund", {"user": other, "amount": "1000"})
    calls, state = decrypts
    r = sh.perp("--passphrase-file", str(pw), "--account", "main", "--json", "session", "start", "--venues", "devnet")
    assert r.code == 0, r.err
    doc = r.json()
    try:
        def tabs(account: str) -> list:
            return _account_sides([watch_session(devnet, "devnet", account=account, passphrase_file=str(pw)),
                                   watch_session(devnet, ASTER, account=account, passphrase_file=str(pw))],
                                  False, output)

        # Held: the Hyperliquid tab and the Aster tab both sign (and Aster reads) in the agent.
        held = tabs("main")
        assert [type(t) for t in held] == [session_trading.SessionTrading, session_trading.SignedReadsTrading]
        with pytest.raises(RuntimeError, match="reads an account without its key"):  # the watch reads it itself
            held[0]._link.call("account", read=True)
        state["refused"] = False
        # Not held ("other"): asked once, for the first tab; the Aster tab adopts that key.
        sides = tabs("other")
        assert calls == ["key 'other'"] and not any(getattr(t, "via_session", False) for t in sides)
        assert sides[0].signer_address == sides[1].signer_address
        # A tab the agent holds uses it even after another tab unlocked a key here.
        calls.clear()
        mixed = _account_sides([watch_session(devnet, "devnet", account="other", passphrase_file=str(pw)),
                                watch_session(devnet, ASTER, account="main", passphrase_file=str(pw))],
                               False, output)
        assert calls == ["key 'other'"] and isinstance(mixed[1], session_trading.SignedReadsTrading)
    finally:
        sh.perp("session", "stop")
        sh.kill(doc["pid"])


# ----- without a devnet ------------------------------------------------------------------------


def test_account_reads_cross_as_explicit_json():
    order = Order("aster", BTC, Side.BUY, Decimal("94000.0"), Decimal("0.01"), Decimal("0.02"), OrderStatus.OPEN,
                  oid="12", cloid="abc", order_type=OrderType.LIMIT, tif=TimeInForce.GTC, time_ms=5)
    position = PositionSnapshot(BTC, Decimal("-0.5"), Decimal("95000"), MarginMode.ISOLATED, 7,
                                isolated_margin=Decimal("10.5"), liquidation_price=Decimal("99000"))
    snap = AccountSnapshot("aster", "0xabc", 9, balances=(Balance("USDT", Decimal("100.25")),),
                           positions=(position,), open_orders=(order,), account_value=Decimal("99"))
    for value in (snap, Positions([position], {BTC: Decimal("95010")}), LeverageSetting(7, cross=False),
                  FeeRates(Decimal("0.0001"), Decimal("0.00035"), ACCOUNT), [order]):
        back = seam_codec.decode(json.loads(json.dumps(seam_codec.encode(value))))
        assert back == value and type(back) is type(value)
    assert type(seam_codec.decode(seam_codec.encode(snap)).balances) is tuple
