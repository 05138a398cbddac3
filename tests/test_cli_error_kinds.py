"""`error_kind` end to end against a devnet: the venue's refusals reach `--json` as one word
(exit 3), local refusals of the same rule carry the same word, and nothing outside the adapter
reads the venue's text."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli_devnet import devnet_fixture, new_key

devnet = devnet_fixture(seed=11)


def test_post_only_that_would_cross_is_post_only_would_cross(perp, devnet):
    key, _ = new_key(devnet.url)
    r = perp("--json", "buy", "ETH", "0.01", "--limit", "+2%", "--post-only", "--yes", key=key)
    assert r.code == 3, r.err
    doc = r.json()
    assert doc["status"] == "rejected" and doc["error_kind"] == "post_only_would_cross"
    assert doc["error"].startswith("Post only order would have immediately matched")
    assert r.err.count("\n") == 1


def test_order_too_large_for_margin_is_insufficient_margin(perp, devnet):
    key, _ = new_key(devnet.url, fund="50")
    r = perp("--json", "buy", "BTC", "0.5", "--limit", "-1%", "--yes", key=key)
    assert r.code == 3, r.err
    assert r.json()["error_kind"] == "insufficient_margin"


def test_reduce_only_without_a_position_is_refused_before_sending(perp, devnet):
    key, _ = new_key(devnet.url)
    r = perp("--json", "sell", "ETH", "0.01", "--market", "--slippage", "3%", "--reduce-only", "--yes", key=key)
    assert r.code == 2, r.err  # checked locally, as the venue would refuse it (kind reduce_only in batch)
    assert "rule reduce-only" in r.err and r.err.count("perp: error:") == 1


def test_accepted_orders_have_no_kind(perp, devnet):
    key, _ = new_key(devnet.url)
    r = perp("--json", "buy", "ETH", "0.01", "--limit", "-3%", "--yes", key=key)
    assert r.code == 0, r.err
    assert r.json()["status"] == "resting" and r.json()["error_kind"] is None and r.json()["error"] is None
    c = perp("--json", "cancel", str(r.json()["oid"]), "--market", "ETH", "--yes", key=key)  # straight to the venue
    assert c.code == 0, c.err
    assert c.json()[0]["status"] == "canceled" and c.json()[0]["error_kind"] is None


def test_cancel_of_an_unknown_oid_is_order_not_found(perp, devnet):
    key, _ = new_key(devnet.url)
    # With its market the cancel goes to the venue, which answers for it: exit 3.
    r = perp("--json", "cancel", "123456789", "--market", "ETH", "--yes", key=key)
    assert r.code == 3, r.err
    (doc,) = r.json()
    assert doc["status"] == "rejected" and doc["oid"] == "123456789"
    assert doc["error_kind"] == "order_not_found" and "never placed" in doc["error"]
    # Without it, the open orders say there is no such order; nothing is sent: exit 2.
    local = perp("--json", "cancel", "123456789", "--yes", key=key)
    assert local.code == 2 and "no open order with oid 123456789" in local.err
    assert local.json()["error"]["kind"] == "order_not_found"  # --json: the error object, nothing else


def test_action_refusal_carries_its_kind(perp, devnet):
    key, _ = new_key(devnet.url)
    r = perp("--json", "margin", "ETH", "add", "5", "--yes", key=key)  # no isolated position to add to
    assert r.code == 3, r.err
    doc = r.json()
    assert doc["status"] == "rejected" and doc["error_kind"] == "margin_mode"


def test_batch_lines_speak_one_vocabulary_local_or_venue(perp, devnet):
    key, _ = new_key(devnet.url)
    lines = "\n".join([
        json.dumps({"side": "buy", "market": "ETH", "size": "0.001", "limit": "-3%"}),  # local min notional
        json.dumps({"side": "buy", "market": "ETH", "size": "0.01", "limit": "+2%", "post_only": True}),
        json.dumps({"side": "buy", "market": "ETH", "size": "0.01", "limit": "-3%"}),
        "not json",
        json.dumps({"side": "buy", "market": "NOPE", "size": "1", "limit": "10"}),
        "[" * 20_000 + "]" * 20_000,  # nesting the JSON parser refuses (RecursionError)
    ]) + "\n"
    r = perp("batch", "--yes", key=key, stdin=lines)
    out = [json.loads(x) for x in r.out.splitlines()]
    assert [(o["status"], o["error_kind"]) for o in out] == [
        ("invalid", "min_notional"), ("rejected", "post_only_would_cross"), ("resting", None), ("invalid", None),
        ("invalid", "unknown_market"), ("invalid", None),
    ]
    assert r.code == 3


def test_nothing_outside_the_adapter_reads_venue_text():
    """app/, cli/ and tui/ branch on error_kind; the venue's words are only ever shown."""
    root = Path(__file__).resolve().parents[1] / "perpcli"
    venue_words = re.compile(
        r"""["'](?:[^"']*(?:nonce|does not exist|insufficient|never placed|would have immediately|"""
        r"""reduce only|tick size|minimum value|too many)[^"']*)["']\s+in\s""", re.IGNORECASE)
    offenders = []
    for layer in ("app", "cli", "tui"):
        for path in (root / layer).rglob("*.py"):
            for n, line in enumerate(path.read_text().splitlines(), start=1):
                if venue_words.search(line):
                    offenders.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert offenders == []
