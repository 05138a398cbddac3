"""Staleness with a manual clock (no sleeping), and the latest-wins mailbox."""

from __future__ import annotations

import asyncio

import pytest

from perpcli.net.coalesce import LatestByKey, MailboxClosed
from perpcli.net.staleness import FreshnessChange, StalenessTracker


def test_feed_turns_stale_after_silence_and_fresh_on_next_message():
    t = StalenessTracker(stale_after=5.0)
    t.watch("book", now=100.0)
    assert t.check(104.9) == []
    assert t.check(105.0) == []  # exactly at the line is still fresh
    assert t.check(105.1) == [FreshnessChange("book", stale=True, age=pytest.approx(5.1))]
    assert t.is_stale("book")
    assert t.check(200.0) == []  # reported once, not on every check
    assert t.touch("book", 201.0) == FreshnessChange("book", stale=False, age=0.0)
    assert not t.is_stale("book")
    assert t.touch("book", 202.0) is None  # already fresh: no change to report


def test_never_heard_from_counts_from_registration():
    t = StalenessTracker(stale_after=1.0)
    t.watch("fills", now=10.0)
    assert t.age("fills", 10.5) == 0.5
    assert [c.key for c in t.check(11.5)] == ["fills"]
    assert t.age("unknown", 11.5) == float("inf")


def test_each_feed_has_its_own_clock():
    t = StalenessTracker(stale_after=2.0)
    t.watch("a", 0.0)
    t.watch("b", 0.0)
    t.touch("b", 1.5)
    assert [c.key for c in t.check(2.5)] == ["a"]
    assert [c.key for c in t.check(3.6)] == ["b"]


def test_mark_all_stale_reports_each_fresh_feed_once():
    t = StalenessTracker(stale_after=10.0)
    for key in ("a", "b", "c"):
        t.watch(key, 0.0)
    t.check(0.0)
    assert {c.key for c in t.mark_all_stale(1.0)} == {"a", "b", "c"}
    assert t.mark_all_stale(2.0) == []
    t.forget("a")
    assert set(t.keys()) == {"b", "c"}


def test_watch_restarts_the_timer_so_a_new_silence_is_reported_again():
    t = StalenessTracker(stale_after=1.0)
    t.watch("book", 0.0)
    assert [c.key for c in t.mark_all_stale(0.5)] == ["book"]  # the connection dropped
    t.watch("book", 10.0)  # resubscribed after the reconnect; the snapshot never comes
    assert not t.is_stale("book")
    assert [c.key for c in t.check(11.5)] == ["book"]


def test_per_feed_limits_override_the_default():
    t = StalenessTracker(stale_after=1.0)
    t.watch("book", 0.0)
    t.watch("fills", 0.0, stale_after=float("inf"))
    t.watch("slow", 0.0, stale_after=5.0)
    assert [c.key for c in t.check(2.0)] == ["book"]
    assert [c.key for c in t.check(6.0)] == ["slow"]
    assert t.check(1e9) == []
    with pytest.raises(ValueError):
        t.watch("x", 0.0, stale_after=0)


def test_next_deadline_is_the_earliest_fresh_feed():
    t = StalenessTracker(stale_after=3.0)
    assert t.next_deadline() is None
    t.watch("a", 1.0)
    t.watch("b", 2.0)
    assert t.next_deadline() == 4.0
    t.check(4.5)
    assert t.next_deadline() == 5.0


def test_rejects_nonpositive_threshold():
    with pytest.raises(ValueError):
        StalenessTracker(0)


async def test_mailbox_keeps_only_the_latest_value_per_key():
    box: LatestByKey[str, int] = LatestByKey()
    for i in range(10_000):
        box.put("ETH", i)
        box.put("BTC", -i)
        assert len(box) <= 2  # bounded by keys, not by the producer's rate
    assert await box.take() == {"ETH": 9_999, "BTC": -9_999}
    assert box.superseded == 2 * 9_999
    assert len(box) == 0


async def test_mailbox_take_waits_for_news_and_close_drains_first():
    box: LatestByKey[str, int] = LatestByKey()
    waiter = asyncio.create_task(box.take())
    await asyncio.sleep(0)
    assert not waiter.done()
    box.put("x", 1)
    assert await asyncio.wait_for(waiter, 1) == {"x": 1}
    box.put("y", 2)
    box.close()
    box.put("z", 3)  # ignored after close
    assert [batch async for batch in box] == [{"y": 2}]
    with pytest.raises(MailboxClosed):
        await box.take()
