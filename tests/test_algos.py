"""The algo engine's pure core (chase, twap, trail, oco), its journal and the host's restart
rules, driven synchronously: quotes and child updates in, actions out. No venue, no clock."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from perpcli.app.algos import journal as J
from perpcli.app.algos.core import Cancel, ChildUpdate, Place, Quote, build
from perpcli.app.algos.link import intent_for, update_of
from perpcli.domain.instrument import Instrument
from perpcli.domain.orders import OrderType, TimeInForce
from perpcli.venues.base import Ack, AckStatus


def ids():
    n = iter(range(1000))
    return lambda: f"c{next(n)}"


def q(bid=None, ask=None, mark=None, t=0):
    return Quote(t, D(bid) if bid else None, D(ask) if ask else None, D(mark) if mark else None)


# ----- chase -------------------------------------------------------------------------------


def chase(**kw):
    spec = {"kind": "chase", "market": "BTC", "side": "buy", "size": "1", "tick": "1", "ticks": 1, "cap": None, **kw}
    return build(spec, None, ids())


def test_chase_joins_the_touch_then_follows_it_cancel_first():
    a = chase()
    (p,) = a.on_quote(q(100, 101))
    assert isinstance(p, Place) and (p.kind, p.price, p.size, p.side) == ("post", D(100), D(1), "buy")
    assert a.on_quote(q(101, 102)) == []  # the child's fate is not known yet: nothing more
    a.on_child(ChildUpdate("c0", "open"))
    assert a.on_quote(q(100, 101)) == []  # still at the touch
    assert a.on_quote(q(102, 103)) == [Cancel("c0")]
    assert a.on_quote(q(103, 104)) == []  # one cancel in flight, never a second child
    a.on_child(ChildUpdate("c0", "done", D("0.4")))
    (p2,) = a.on_quote(q(103, 104))
    assert (p2.cloid, p2.price, p2.size) == ("c1", D(103), D("0.6"))
    a.on_child(ChildUpdate("c1", "done", D("0.6")))
    assert a.status == "done" and a.filled == D(1)
    assert a.avg_price == (D("0.4") * 100 + D("0.6") * 103) / 1


def test_chase_never_follows_past_its_cap_and_sells_mirror_it():
    a = chase(cap="102")
    a.on_quote(q(101, 102))
    a.on_child(ChildUpdate("c0", "open"))
    assert a.on_quote(q(110, 111)) == [Cancel("c0")]
    a.on_child(ChildUpdate("c0", "done"))
    (p,) = a.on_quote(q(110, 111))
    assert p.price == D(102)  # waits at the cap
    s = chase(side="sell", cap="99")
    (p,) = s.on_quote(q(100, 101))
    assert (p.side, p.price) == ("sell", D(101))
    s.on_child(ChildUpdate("c0", "open"))
    s.on_quote(q(90, 91))
    s.on_child(ChildUpdate("c0", "done"))
    assert s.on_quote(q(90, 91))[0].price == D(99)


def test_chase_moves_only_past_its_tick_threshold_and_retries_post_only_refusals():
    a = chase(ticks=3)
    a.on_quote(q(100, 101))
    a.on_child(ChildUpdate("c0", "open"))
    assert a.on_quote(q(102, 103)) == []
    assert a.on_quote(q(103, 104)) == [Cancel("c0")]
    b = chase()
    b.on_quote(q(100, 101))
    b.on_child(ChildUpdate("c0", "done", error="Post only order would have immediately matched"))
    assert b.status == "running" and b.state["refusals"] == 1
    assert b.on_quote(q(100, 101))[0].cloid == "c1"


def test_cancelling_takes_down_the_working_child():
    a = chase()
    a.on_quote(q(100, 101))
    a.on_child(ChildUpdate("c0", "open"))
    assert a.cancel() == [Cancel("c0")] and a.status == "canceled"
    assert a.on_quote(q(105, 106)) == []


# ----- twap --------------------------------------------------------------------------------


def twap(**kw):
    spec = {"kind": "twap", "market": "BTC", "side": "buy", "size": "0.3", "slices": ["0.1", "0.1", "0.1"],
            "interval_ms": 1000, "start_ms": 0, "slippage": "1", "reduce_only": False, **kw}
    return build(spec, None, ids())


def test_twap_sends_each_slice_when_due_and_rolls_a_short_fill_forward():
    a = twap()
    (p,) = a.on_quote(q(100, 200, t=0))
    assert (p.kind, p.size, p.price) == ("ioc", D("0.1"), D(202))  # far touch + 1%
    a.on_child(ChildUpdate("c0", "done", D("0.04"), D(200)))
    assert a.on_quote(q(100, 200, t=500)) == []  # slice 2 not due yet; the short fill waits for it
    (p,) = a.on_quote(q(100, 200, t=1000))
    assert p.size == D("0.16")
    a.on_child(ChildUpdate("c1", "done", D("0.16"), D(200)))
    (p,) = a.on_quote(q(100, 200, t=5000))
    assert p.size == D("0.1") and a.state["due"] == 3
    a.on_child(ChildUpdate("c2", "done", D("0.1"), D(201)))
    assert a.status == "done" and a.filled == D("0.3")


def test_twap_gives_up_after_a_few_tries_past_the_end():
    a = twap(slices=["0.1"])
    for i in range(4):
        (p,) = a.on_quote(q(100, 200, t=10 + i))
        a.on_child(ChildUpdate(p.cloid, "done", D(0), error="no liquidity"))
    assert a.on_quote(q(100, 200, t=99)) == [] and a.status == "done" and "unfilled" in a.state["reason"]


# ----- trail -------------------------------------------------------------------------------


def trail(**kw):
    spec = {"kind": "trail", "market": "BTC", "side": "sell", "size": "0.5", "distance": "1", "slippage": "1", **kw}
    return build(spec, None, ids())


def test_trail_follows_the_best_mark_and_fires_at_the_distance():
    a = trail()
    assert a.on_quote(q(99, 101, 100)) == []
    assert a.on_quote(q(109, 111, 110)) == [] and a.state["extreme"] == "110"
    assert a.on_quote(q(109, 110, D("109.5"))) == [] and D(a.state["stop"]) == D("108.9")  # never moves back
    (p,) = a.on_quote(q(108, 109, D("108.9")))
    assert (p.side, p.kind, p.reduce_only, p.size) == ("sell", "ioc", True, D("0.5"))
    assert p.price == D(108) * D("0.99")
    a.on_child(ChildUpdate(p.cloid, "done", D("0.5"), D(108)))
    assert a.status == "done"


def test_a_buy_trail_trails_the_lowest_mark():
    a = trail(side="buy")
    a.on_quote(q(99, 101, 100))
    a.on_quote(q(89, 91, 90))
    assert a.on_quote(q(90, 91, D("90.8"))) == []
    (p,) = a.on_quote(q(90, 91, D("90.9")))
    assert p.side == "buy" and p.price == D(91) * D("1.01")


# ----- oco ---------------------------------------------------------------------------------


def oco(**kw):
    spec = {"kind": "oco", "market": "BTCUSDT", "side": "buy", "size": "0.01", "entry_cloid": "e",
            "tp": "110", "sl": "90", **kw}
    return build(spec, None, ids())


def test_oco_places_both_legs_once_the_entry_fills_then_one_cancels_the_other():
    a = oco()
    assert a.on_child(ChildUpdate("e", "open")) == []
    tp, sl = a.on_child(ChildUpdate("e", "open", D("0.004")))
    assert (tp.kind, tp.trigger, tp.side, tp.role) == ("take_profit", D(110), "sell", "tp")
    assert (sl.kind, sl.trigger, sl.role) == ("stop", D(90), "sl")
    a.on_child(ChildUpdate("c0", "open"))
    a.on_child(ChildUpdate("c1", "open"))
    assert a.on_child(ChildUpdate("e", "open", D("0.01"))) == []  # legs close the whole position: not again
    actions = a.on_child(ChildUpdate("c0", "done", D("0.01"), D(110)))
    assert actions == [Cancel("c1"), Cancel("e")]
    a.on_child(ChildUpdate("c1", "done"))
    assert a.status == "running"
    a.on_child(ChildUpdate("e", "done", D("0.01")))
    assert a.status == "done" and a.state["reason"] == "tp executed"


def test_oco_with_an_entry_that_never_fills_places_nothing():
    a = oco()
    assert a.on_child(ChildUpdate("e", "done", error="canceled")) == []
    assert a.status == "done" and a.state["legs"] == {}


def test_a_session_stop_never_cancels_an_oco_leg():
    a = oco()
    a.on_child(ChildUpdate("e", "done", D("0.01")))
    a.on_child(ChildUpdate("c0", "open"))
    a.on_child(ChildUpdate("c1", "open"))
    assert [c for c in a.working() if a.cancelable(c)] == []


# ----- from actions to orders and back -------------------------------------------------------


def inst():
    return Instrument(venue="x", symbol="BTC", underlying="BTC", asset_id=0, lot_size=D("0.001"), max_leverage=20,
                      tick_size=D("0.5"))


def test_intents_are_on_the_grid_and_never_worse_than_asked():
    i = intent_for("x", inst(), Place("c", "buy", D("0.0123"), "post", price=D("100.7")))
    assert (i.price, i.size, i.tif, i.order_type) == (D("100.5"), D("0.012"), TimeInForce.ALO, OrderType.LIMIT)
    i = intent_for("x", inst(), Place("c", "sell", D("1"), "ioc", price=D("99.2")))
    assert (i.price, i.tif) == (D("99.5"), TimeInForce.IOC)  # a worst price never beyond the bound
    i = intent_for("x", inst(), Place("c", "sell", D("1"), "take_profit", trigger=D("110")))
    assert (i.order_type, i.trigger_price, i.close_position, i.reduce_only) == (
        OrderType.TAKE_PROFIT_MARKET, D(110), True, True)


@pytest.mark.parametrize("ack, kind, state", [
    (None, "post", "done"),
    (Ack(AckStatus.UNKNOWN), "post", "unknown"),
    (Ack(AckStatus.RESTING), "post", "open"),
    (Ack(AckStatus.RESTING), "ioc", "done"),
    (Ack(AckStatus.PARTIALLY_FILLED, filled=D(1)), "post", "open"),
    (Ack(AckStatus.PARTIALLY_FILLED, filled=D(1), error="canceled"), "post", "done"),
    (Ack(AckStatus.PARTIALLY_FILLED, filled=D(1)), "ioc", "done"),
    (Ack(AckStatus.FILLED, filled=D(1)), "stop", "done"),
    (Ack(AckStatus.REJECTED, error="no"), "post", "done"),
])
def test_answers_become_child_states(ack, kind, state):
    assert update_of("c", ack, kind=kind).state == state


# ----- journal and restart ------------------------------------------------------------------


class FakeLink:
    """A venue that knows some client order ids (for the host's restart rules)."""

    def __init__(self, known: dict[str, Ack]):
        self.known = known
        self.placed: list[str] = []
        self.reach = {"venue": "fake"}

    def status(self, cloid):
        return self.known.get(cloid)

    def drop(self):
        pass


def _rebuild(monkeypatch, rep, link):
    from perpcli.app.algos import host as H

    monkeypatch.setattr(H, "VenueLink", lambda *a, **k: link)
    monkeypatch.setattr(H.Host, "_limits", lambda self: None)
    return H.Host(owner="session", poll_s=0).rebuild(rep)


def _journal_with_unanswered_place(perpcli_home):
    j = J.Journal.create("a-test-1")
    spec = {"kind": "chase", "market": "BTC", "side": "buy", "size": "1", "tick": "1", "ticks": 1, "cap": None}
    j.write({"t": "start", "spec": spec, "reach": {"venue": "fake"}, "owner": "session"})
    a = build(spec, None, lambda: "c-1")
    (p,) = a.on_quote(q(100, 101))
    j.before(p.to_json(), a.state)  # sent; the process died before the answer was written
    return J.read(j.path)


def test_a_step_sent_but_never_answered_is_settled_by_client_id_and_adopted(perpcli_home, monkeypatch):
    rep = _journal_with_unanswered_place(perpcli_home)
    assert [r["action"]["cloid"] for r in rep.unknown] == ["c-1"]
    link = FakeLink({"c-1": Ack(AckStatus.RESTING, cloid="c-1", oid="9")})
    run = _rebuild(monkeypatch, rep, link)
    assert run.algo.working() == ["c-1"] and run.algo.state["child"] == "c-1"
    assert run.pending == []  # adopted: no second child for one the venue holds
    assert run.algo.on_quote(q(100, 101)) == []
    again = J.read(rep_path := run.journal.path)
    assert again.unknown == [] and any("settled place c-1" in r["msg"] for r in again.logs), rep_path


def test_a_step_the_venue_never_saw_is_placed_afresh(perpcli_home, monkeypatch):
    rep = _journal_with_unanswered_place(perpcli_home)
    run = _rebuild(monkeypatch, rep, FakeLink({}))
    assert run.algo.working() == []
    run.algo.new_cloid = lambda: "c-2"
    (p,) = run.algo.on_quote(q(100, 101))
    assert p.cloid == "c-2"


def test_answers_written_after_the_last_state_are_applied_again(perpcli_home, monkeypatch):
    j = J.Journal.create("a-test-2")
    spec = {"kind": "oco", "market": "BTCUSDT", "side": "buy", "size": "0.01", "entry_cloid": "e", "tp": "110",
            "sl": "90"}
    j.write({"t": "start", "spec": spec, "reach": {"venue": "fake"}, "owner": "session"})
    a = build(spec, None, ids())
    a.on_child(ChildUpdate("e", "done", D("0.01")))
    a.on_child(ChildUpdate("c0", "open"))
    a.on_child(ChildUpdate("c1", "open"))
    j.state(a.state)
    n = j.before({"op": "poll"}, a.state)
    j.after(n, {"cloid": "c0", "state": "done", "filled": "0.01", "avg_price": "110", "error": None})
    rep = J.read(j.path)
    assert rep.unknown == [] and len(rep.replay) == 1
    run = _rebuild(monkeypatch, rep, FakeLink({}))
    assert run.pending == [Cancel("c1")]  # the TP executed before the crash: the SL still goes


def test_a_torn_last_line_is_a_record_that_never_happened(perpcli_home):
    j = J.Journal.create("a-test-3")
    j.write({"t": "start", "spec": {"kind": "chase"}, "reach": {}, "owner": "session"})
    j.state({"status": "running", "children": {}, "filled": "0", "notional": "0"})
    with open(j.path, "a") as f:
        f.write('{"t": "befo')
    rep = J.read(j.path)
    assert rep.status == "running" and rep.unknown == []


def test_cancelling_an_oco_takes_down_its_legs():
    a = oco()
    a.on_child(ChildUpdate("e", "done", D("0.01")))
    a.on_child(ChildUpdate("c0", "open"))
    a.on_child(ChildUpdate("c1", "open"))
    assert a.cancel() == [Cancel("c0"), Cancel("c1")] and a.status == "canceled"


def test_running_algos_keep_the_session_from_idle_locking_but_not_from_expiring():
    from perpcli.session.server import AgentState

    st = AgentState(started_at=0.0, expires_at=10_000.0, idle_lock_s=60, venues=["devnet"], last_used=0.0)
    st.keys["main"] = "0x" + "ab" * 20
    assert st.due(100.0) == "lock"
    assert st.due(100.0, algos_running=True) is None
    assert st.due(10_000.0, algos_running=True) == "expire"


class SteppingLink(FakeLink):
    """A scripted venue for driving the host step by step."""

    def __init__(self):
        super().__init__({})
        self.quotes = [q(100, 101, 100)]
        self.fail_place: Exception | None = None
        self.fail_quote = False

    def quote(self, *, with_mark):
        if self.fail_quote:
            raise ConnectionError("connection refused")
        return self.quotes[-1]

    def intent(self, p):
        return intent_for("fake", inst(), p)

    def check(self, intent, mark):
        pass

    def mark(self):
        return self.quotes[-1].mark

    def place(self, intent):
        self.placed.append(intent.cloid)
        self.known[intent.cloid] = Ack(AckStatus.RESTING, cloid=intent.cloid)
        if self.fail_place is not None:
            raise self.fail_place
        return self.known[intent.cloid]

    def cancel(self, cloid):
        self.known[cloid] = Ack(AckStatus.CANCELED, cloid=cloid)
        return True


def _host_run(perpcli_home, monkeypatch, link):
    from perpcli.app.algos import host as H

    monkeypatch.setattr(H, "VenueLink", lambda *a, **k: link)
    monkeypatch.setattr(H.Host, "_limits", lambda self: None)
    monkeypatch.setattr(H, "link_cloids", lambda _link: ids())
    spec = {"kind": "chase", "market": "BTC", "side": "buy", "size": "1", "tick": "0.5", "ticks": 1, "cap": None}
    return H.Host(owner="process", poll_s=0).launch(spec, {"venue": "fake"}, background=False)


def test_an_order_whose_answer_never_came_is_looked_up_not_sent_again(perpcli_home, monkeypatch):
    from perpcli.domain.errors import OutcomeUnknown

    link = SteppingLink()
    run = _host_run(perpcli_home, monkeypatch, link)
    link.fail_place = OutcomeUnknown("no answer")
    run.step()
    assert link.placed == ["c0"] and run.algo.state["children"]["c0"]["state"] == "unknown"
    link.fail_place = None
    run.step()  # the venue holds it: adopted as the working child
    run.step()
    assert link.placed == ["c0"] and run.algo.working() == ["c0"]
    assert run.algo.state["children"]["c0"]["state"] == "open"


def test_a_failed_read_pauses_and_the_first_good_one_resyncs_then_resumes(perpcli_home, monkeypatch):
    link = SteppingLink()
    run = _host_run(perpcli_home, monkeypatch, link)
    run.step()
    link.fail_quote = True
    link.quotes.append(q(105, 106, 105))
    link.known["c0"] = Ack(AckStatus.FILLED, cloid="c0", filled=D(1))  # filled while we could not see
    run.step()
    assert run.status == "paused" and link.placed == ["c0"]  # nothing traded on no data
    link.fail_quote = False
    run.step()
    assert run.status == "done" and link.placed == ["c0"]
    messages = [r["msg"] for r in J.read(run.journal.path).logs]
    assert any(m.startswith("paused: no fresh market data") for m in messages)
    assert any(m.startswith("resumed after") for m in messages)


def test_an_oco_asks_again_for_a_cancel_that_did_not_take():
    a = oco()
    a.on_child(ChildUpdate("e", "done", D("0.01")))
    a.on_child(ChildUpdate("c0", "open"))
    a.on_child(ChildUpdate("c1", "open"))
    assert a.on_child(ChildUpdate("c1", "done", D("0.01"))) == [Cancel("c0")]
    assert a.on_quote(q(1, 2)) == []  # in flight
    a.state["children"]["c0"].pop("cancel_sent")  # the host saw it still open: the cancel did not take
    assert a.on_quote(q(1, 2)) == [Cancel("c0")]
    a.on_child(ChildUpdate("c0", "done"))
    assert a.status == "done" and a.state["reason"] == "sl executed"


def test_a_cancel_lost_in_a_pause_is_asked_again(perpcli_home, monkeypatch):
    link = SteppingLink()
    run = _host_run(perpcli_home, monkeypatch, link)
    run.step()
    link.quotes.append(q(102, 103, 102))
    link.cancel = lambda cloid: (_ for _ in ()).throw(ConnectionError("reset"))  # noqa: E731
    link.status = lambda cloid, real=link.status: (_ for _ in ()).throw(ConnectionError("reset")) \
        if cloid == "c0" and link.fail_status else real(cloid)
    link.fail_status = True
    run.step()
    assert run.status == "paused"
    link.fail_status = False
    del link.cancel
    run.step()  # resync: c0 still open, its cancel may be asked again
    assert run.algo.state["children"]["c0"].get("cancel_sent") is True  # and it was, at once
    run.step()
    assert link.placed == ["c0", "c1"] and run.algo.working() == ["c1"]


def test_a_child_refused_by_a_risk_guard_is_never_sent_and_ends_the_algo(perpcli_home, monkeypatch):
    from perpcli.domain.errors import RiskRefused

    link = SteppingLink()

    def refuse(intent, mark):
        raise RiskRefused("order notional above risk.max_order_notional (guard max_order_notional)",
                          guard="max_order_notional")

    link.check = refuse
    run = _host_run(perpcli_home, monkeypatch, link)
    run.step()
    assert link.placed == [] and run.status == "failed" and "guard max_order_notional" in run.algo.state["reason"]
    rep = J.read(run.journal.path)
    assert rep.unknown == [] and any(r["msg"].startswith("not sent") for r in rep.logs)
