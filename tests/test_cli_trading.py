"""Every venue command against a devnet on a free port: human and --json forms, exit codes,
dry runs that send nothing, agents, risk guards, unknown outcomes settled by cloid."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from perpcli.devnet.server import start_in_thread
from tests.cli_devnet import control, devnet_fixture, new_key, run

devnet = devnet_fixture(seed=7, deadman_min_volume=Decimal(0))  # `perp deadman` works


def exchange_count(devnet, address: str) -> int:
    return devnet.call(lambda: devnet.devnet.desk.requests_used.get(address.lower(), 0))


# ----- market data ---------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["markets"], ["markets", "--all"], ["price"], ["price", "BTC", "ETH"], ["book", "BTC", "--depth", "3"],
    ["trades", "BTC"], ["candles", "BTC", "--interval", "1m", "--count", "5"], ["funding"], ["funding", "BTC"],
])
def test_market_data_commands_human_and_json(perp, args):
    human = perp(*args)
    assert human.code == 0, human.err
    assert human.out.strip()
    js = perp("--json", *args)
    assert js.code == 0, js.err
    doc = js.json()
    if args[0] not in ("trades", "candles"):  # a fresh devnet may not have printed a trade yet
        assert doc
    if isinstance(doc, list):
        assert all(isinstance(r, dict) for r in doc)


def test_price_and_book_values_are_decimal_strings(perp):
    rows = perp("--json", "price", "BTC").json()
    assert rows[0]["market"] == "BTC" and Decimal(rows[0]["mid"]) > 0 and isinstance(rows[0]["mid"], str)
    book = perp("--json", "book", "BTC", "--depth", "2").json()
    assert len(book["bids"]) <= 2 and Decimal(book["bids"][0]["price"]) < Decimal(book["asks"][0]["price"])


def test_hip3_market_by_name(perp):
    markets = perp("--json", "markets", "--all").json()
    hip3 = [m["market"] for m in markets if ":" in m["market"]]
    assert hip3, "the devnet lists builder-dex markets"
    rows = perp("--json", "price", hip3[0]).json()
    assert rows[0]["market"] == hip3[0]
    assert [m for m in markets if m["market"] == hip3[0]][0]["asset_id"] >= 110000


def test_unknown_market_is_usage_error(perp):
    r = perp("price", "NOPE")
    assert r.code == 2 and "unknown market" in r.err and r.err.count("\n") == 1


# ----- account -------------------------------------------------------------------------------


def test_account_commands_on_a_fresh_key(perp, devnet):
    key, addr = new_key(devnet.url)
    acct = perp("--json", "account", key=key)
    assert acct.code == 0, acct.err
    doc = acct.json()
    assert doc["account"] == addr and doc["signer_role"] == "user" and Decimal(doc["equity"]) == 10000
    for cmd in (["positions"], ["orders"], ["fills"], ["fills", "--since", "1h"], ["funding-history"]):
        r = perp("--json", *cmd, key=key)
        assert r.code == 0, (cmd, r.err)
        assert r.json() == []
        assert perp(*cmd, key=key).code == 0


def test_unknown_key_is_exit_4_without_auto_fund(monkeypatch):
    key = "0x" + "42" * 32
    h = start_in_thread(port=0, market_interval=0, auto_fund=False)
    try:
        r = run(h.url, "account", key=key, monkeypatch=monkeypatch)
        assert r.code == 4
        assert "is not registered on devnet" in r.err and r.err.strip().count("\n") <= 1
        r = run(h.url, "buy", "BTC", "0.001", "--market", "--slippage", "3%", "--yes", key=key, monkeypatch=monkeypatch)
        assert r.code == 4
    finally:
        h.stop()


def test_fresh_key_works_first_time_on_a_default_devnet(perp, devnet):
    """README: funded on first use. The first read of the key's own state funds it."""
    key, addr = new_key(devnet.url, fund=None)
    r = perp("--json", "account", key=key)
    assert r.code == 0, r.err
    assert Decimal(r.json()["equity"]) == Decimal(100_000)
    key2, _ = new_key(devnet.url, fund=None)
    r = perp("--json", "buy", "BTC", "0.001", "--market", "--slippage", "3%", "--yes", key=key2)
    assert r.code == 0, r.err
    assert r.json()["status"] == "filled"


# ----- orders --------------------------------------------------------------------------------


def test_market_buy_fills_and_position_shows(perp, devnet):
    key, addr = new_key(devnet.url)
    r = perp("--json", "buy", "BTC", "0.01", "--market", "--slippage", "3%", "--yes", key=key)
    assert r.code == 0, r.err
    doc = r.json()
    for field in ("venue", "market", "side", "size", "price", "type", "status", "oid", "cloid", "filled",
                  "avg_price", "error"):
        assert field in doc
    assert doc["status"] == "filled" and doc["filled"] == "0.01" and doc["cloid"].startswith("0x")
    pos = perp("--json", "positions", key=key).json()
    assert len(pos) == 1
    p = pos[0]
    assert p["market"] == "BTC" and p["size"] == "0.01" and p["margin_mode"] == "cross"
    for field in ("venue", "entry_price", "mark_price", "unrealized_pnl", "liquidation_price", "leverage",
                  "margin_used"):
        assert field in p
    fills = perp("--json", "fills", key=key).json()
    assert len(fills) >= 1 and fills[0]["cloid"] == doc["cloid"]
    close = perp("--json", "close", "BTC", "--yes", key=key)
    assert close.code == 0 and close.json()["status"] == "filled"
    assert perp("--json", "positions", key=key).json() == []


def test_relative_limit_rests_and_cancel_by_cloid(perp, devnet):
    key, _ = new_key(devnet.url)
    cloid = "0x" + "ab" * 16
    r = perp("--json", "buy", "ETH", "0.01", "--limit", "-2%", "--cloid", cloid, "--yes", key=key)
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["status"] == "resting" and doc["cloid"] == cloid
    mid = Decimal(perp("--json", "price", "ETH").json()[0]["mid"])
    assert Decimal(doc["price"]) < mid
    orders = perp("--json", "orders", key=key).json()
    assert [o["cloid"] for o in orders] == [cloid]
    c = perp("--json", "cancel", "--cloid", cloid, "--yes", key=key)
    assert c.code == 0 and c.json()[0]["status"] == "canceled"
    assert perp("--json", "orders", key=key).json() == []


def test_modify_keeps_cloid_and_cancel_all(perp, devnet):
    key, _ = new_key(devnet.url)
    first = perp("--json", "buy", "ETH", "0.01", "--limit", "-3%", "--yes", key=key).json()
    m = perp("--json", "modify", str(first["oid"]), "--size", "0.02", "--yes", key=key)
    assert m.code == 0, m.err
    assert m.json()["size"] == "0.02" and m.json()["cloid"] == first["cloid"]
    perp("--json", "sell", "ETH", "0.01", "--limit", "+3%", "--yes", key=key)
    assert len(perp("--json", "orders", key=key).json()) == 2
    c = perp("cancel", "--all", "--yes", key=key)
    assert c.code == 0
    assert perp("--json", "orders", key=key).json() == []


def test_bracket_and_stop_orders(perp, devnet):
    key, _ = new_key(devnet.url)
    mid = Decimal(perp("--json", "price", "BTC").json()[0]["mid"])
    tp, sl = str(int(mid * Decimal("1.03"))), str(int(mid * Decimal("0.97")))
    r = perp("--json", "buy", "BTC", "0.01", "--limit", "-1%", "--tp", tp, "--sl", sl, "--yes", key=key)
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["status"] == "resting" and [c["type"] for c in doc["children"]] == ["take_profit_market", "stop_market"]
    bad = perp("buy", "BTC", "0.01", "--limit", "-1%", "--tp", sl, "--yes", key=key)
    assert bad.code == 2 and "--tp" in bad.err
    stop = perp("--json", "sell", "BTC", "0.01", "--stop", sl, "--reduce-only", "--yes", key=key)
    assert stop.code == 2 and "reduce-only" in stop.err  # no position to reduce: refused before sending
    stop = perp("--json", "sell", "BTC", "0.01", "--stop", sl, "--yes", key=key)
    assert stop.code == 0, stop.err
    assert stop.json()["type"] == "stop_market" and Decimal(stop.json()["trigger_price"]) == Decimal(sl)


def test_sizes_by_usd_percent_and_risk(perp, devnet):
    key, _ = new_key(devnet.url)
    mid = Decimal(perp("--json", "price", "ETH").json()[0]["mid"])
    usd = perp("--json", "buy", "ETH", "--usd", "500", "--limit", "-3%", "--dry-run", key=key).json()
    size = Decimal(usd["order"]["size"])
    assert Decimal(490) < size * Decimal(usd["order"]["price"]) <= 500  # notional at the limit, rounded down
    pct = perp("--json", "buy", "ETH", "1%", "--limit", "-1%", "--leverage", "2", "--dry-run", key=key).json()
    assert abs(Decimal(pct["order"]["size"]) * Decimal(pct["order"]["price"]) - 200) < 2  # 1% of 10000 x 2
    assert [b["action"]["type"] for b in pct["requests"]] == ["updateLeverage", "order"]
    sl = str(int(mid * Decimal("0.9")))
    risk = perp("--json", "buy", "ETH", "--risk", "1%", "--sl", sl, "--limit", "-0.1%", "--dry-run", key=key)
    assert risk.code == 0, risk.err
    r = risk.json()["order"]
    loss = Decimal(r["size"]) * (Decimal(r["price"]) - Decimal(sl))
    assert Decimal(90) < loss <= Decimal(100)  # 1% of 10000 equity, sizes rounded down


def test_scale_places_a_ladder(perp, devnet):
    key, _ = new_key(devnet.url)
    mid = Decimal(perp("--json", "price", "ETH").json()[0]["mid"])
    lo, hi = str(int(mid * Decimal("0.97"))), str(int(mid * Decimal("0.99")))
    r = perp("--json", "scale", "buy", "ETH", "0.05", "--from", hi, "--to", lo, "--count", "5", "--yes", key=key)
    assert r.code == 0, r.err
    rows = r.json()
    assert len(rows) == 5 and all(x["status"] == "resting" and x["size"] == "0.01" for x in rows)
    prices = [Decimal(x["price"]) for x in rows]
    assert prices == sorted(prices, reverse=True)


def test_leverage_margin_deadman_twap(perp, devnet):
    key, _ = new_key(devnet.url)
    r = perp("--json", "leverage", "ETH", "5", "--isolated", "--yes", key=key)
    assert r.code == 0 and r.json()["detail"]["margin_mode"] == "isolated", r.err
    perp("buy", "ETH", "0.02", "--market", "--slippage", "3%", "--yes", key=key)
    m = perp("--json", "margin", "ETH", "add", "5", "--yes", key=key)
    assert m.code == 0, m.out + m.err
    pos = perp("--json", "positions", key=key).json()[0]
    assert pos["margin_mode"] == "isolated" and pos["leverage"] == 5
    assert perp("--json", "deadman", "60s", "--yes", key=key).code == 0
    assert perp("--json", "deadman", "off", "--yes", key=key).code == 0
    assert perp("deadman", "3s", "--yes", key=key).code == 2
    t = perp("--json", "twap", "buy", "ETH", "1", "--minutes", "5", "--yes", key=key)
    assert t.code == 0, t.err
    twap_id = t.json()["detail"]["twap_id"]
    assert perp("--json", "twap", "cancel", "ETH", str(twap_id), "--yes", key=key).code == 0


def test_flatten_cancels_and_closes(perp, devnet):
    key, _ = new_key(devnet.url)
    perp("buy", "BTC", "0.01", "--market", "--slippage", "3%", "--yes", key=key)
    perp("buy", "ETH", "0.01", "--limit", "-4%", "--yes", key=key)
    r = perp("--json", "flatten", "--yes", key=key)
    assert r.code == 0, r.err
    doc = r.json()
    assert len(doc["cancels"]) == 1 and len(doc["closes"]) == 1
    assert perp("--json", "positions", key=key).json() == []
    assert perp("--json", "orders", key=key).json() == []


def test_transfers_send_withdraw(perp, devnet):
    key, _ = new_key(devnet.url)
    assert perp("--json", "transfer", "5", "--to", "spot", "--yes", key=key).code == 0
    assert perp("--json", "transfer", "5", "--to", "perp", "--yes", key=key).code == 0
    _, other = new_key(devnet.url, fund=None)
    s = perp("--json", "send", other, "3", "--yes", key=key)
    assert s.code == 0, s.err
    assert perp("--json", "withdraw", "2", "--yes", key=key).code == 0
    equity = Decimal(perp("--json", "account", key=key).json()["equity"])
    assert equity < Decimal(10000) - 4


# ----- the contract: --yes, --dry-run, --preview, risk --------------------------------------


def test_off_a_tty_orders_need_yes(perp, devnet):
    key, addr = new_key(devnet.url)
    before = exchange_count(devnet, addr)
    for args in (["buy", "BTC", "0.001", "--market"], ["cancel", "--all"], ["leverage", "BTC", "3"],
                 ["transfer", "1", "--to", "spot"], ["deadman", "60s"]):
        perp("buy", "ETH", "0.01", "--limit", "-4%", "--yes", key=key) if args[0] == "cancel" else None
        r = perp(*args, key=key)
        assert r.code == 2 and "--yes" in r.err, (args, r.err)
    after = exchange_count(devnet, addr)
    assert after - before == 1  # only the order placed for the cancel case


def test_bare_order_is_refused(perp, devnet):
    key, _ = new_key(devnet.url)
    r = perp("buy", "BTC", "0.01", "--yes", key=key)
    assert r.code == 2 and "needs a price" in r.err and r.out == ""


def test_dry_run_and_preview_send_nothing(perp, devnet):
    key, addr = new_key(devnet.url)
    before = exchange_count(devnet, addr)
    dry = perp("--json", "buy", "BTC", "0.01", "--market", "--dry-run", key=key)
    assert dry.code == 0, dry.err
    body = dry.json()["requests"][0]
    assert body["action"]["type"] == "order" and set(body) == {"action", "nonce", "signature", "vaultAddress",
                                                               "expiresAfter"}
    human = perp("sell", "BTC", "0.01", "--limit", "+1%", "--dry-run", key=key)
    assert human.code == 0 and json.loads(human.out)["dry_run"] is True
    pv = perp("--json", "buy", "BTC", "0.01", "--market", "--preview", key=key)
    assert pv.code == 0, pv.err
    p = pv.json()
    assert Decimal(p["margin_change"]) > 0 and Decimal(p["free_collateral_after"]) < Decimal(p["free_collateral"])
    assert p["position_after"] == "0.01" and p["fillable"] is True and Decimal(p["expected_price"]) > 0
    assert p["liquidation_price"] is None  # 0.01 BTC cross on 10000 USD: no liquidation price
    iso = perp("--json", "buy", "BTC", "0.01", "--market", "--leverage", "10", "--isolated", "--preview", key=key).json()
    assert iso["margin_mode"] == "isolated" and iso["leverage"] == 10
    assert Decimal("0.85") < Decimal(iso["liquidation_price"]) / Decimal(iso["expected_price"]) < Decimal("0.95")
    for args in (["cancel", "--all"], ["leverage", "BTC", "3"], ["transfer", "1", "--to", "spot"],
                 ["withdraw", "1"], ["deadman", "60s"], ["flatten"]):
        assert perp("--dry-run", *args, key=key).code == 0, args
    assert exchange_count(devnet, addr) == before
    assert perp("--json", "orders", key=key).json() == []


def test_dry_run_signature_verifies_as_the_key(perp, devnet):
    from perpcli.venues.hyperliquid import verify

    key, addr = new_key(devnet.url)
    body = perp("--json", "buy", "BTC", "0.01", "--limit", "-1%", "--dry-run", key=key).json()["requests"][0]
    assert verify.recover_exchange_signer(body, is_mainnet=False).lower() == addr
    assert verify.recover_exchange_signer(body, is_mainnet=True).lower() != addr  # bound to the network


@pytest.mark.parametrize("args,guard", [
    (["buy", "BTC", "15", "--market"], "max_order_notional"),
    (["sell", "BTC", "0.01", "--limit", "-20%"], "price_band"),  # a sell 20% under mark would execute there
    (["buy", "BTC", "0.01", "--market", "--leverage", "30"], "max_leverage"),
    (["leverage", "BTC", "30"], "max_leverage"),
])
def test_risk_guards_exit_7(perp, devnet, args, guard):
    key, addr = new_key(devnet.url)
    before = exchange_count(devnet, addr)
    r = perp(*args, "--yes", key=key)
    assert r.code == 7, r.err
    assert f"guard {guard}" in r.err
    assert exchange_count(devnet, addr) == before


def test_validation_names_rule_and_nearest(perp, devnet):
    key, _ = new_key(devnet.url)
    r = perp("buy", "BTC", "0.000001", "--market", "--slippage", "3%", "--yes", key=key)
    assert r.code == 2 and "size-lot" in r.err and "nearest valid 0.00001" in r.err
    r = perp("buy", "ETH", "0.001", "--limit", "-1%", "--yes", key=key)
    assert r.code == 2 and "min-notional" in r.err


def test_rejected_by_venue_is_exit_3(perp, devnet):
    key, _ = new_key(devnet.url, fund="50")
    r = perp("--json", "buy", "BTC", "0.5", "--limit", "-1%", "--yes", key=key)
    assert r.code == 3, r.err
    assert r.json()["status"] == "rejected" and r.json()["error"]


# ----- agents --------------------------------------------------------------------------------


def test_agent_trades_for_master_and_cannot_withdraw(perp, devnet, monkeypatch):
    monkeypatch.setenv("PERPCLI_PASSPHRASE", "test-pass")
    key, master = new_key(devnet.url)
    a = perp("--json", "agent", "approve", "bot", "--valid-days", "2", "--yes", key=key)
    assert a.code == 0, a.err
    agent = a.json()["detail"]["agent"]
    listed = perp("--json", "agent", "list", key=key).json()
    assert [x["address"] for x in listed] == [agent]
    acct = perp("--json", "--account", "bot", "account").json()
    assert acct["account"] == master and acct["signer"] == agent and acct["signer_role"] == "agent"
    buy = perp("--json", "--account", "bot", "buy", "ETH", "0.01", "--market", "--slippage", "3%", "--yes")
    assert buy.code == 0 and buy.json()["status"] == "filled", buy.err
    assert perp("--json", "positions", key=key).json()[0]["market"] == "ETH"  # the master's position
    w = perp("--account", "bot", "withdraw", "1", "--yes")
    assert w.code == 4 and "agent" in w.err
    rv = perp("--json", "agent", "revoke", "bot", "--yes", key=key)
    assert rv.code == 0, rv.err
    gone = perp("--account", "bot", "account")
    assert gone.code == 4


# ----- unknown outcomes ----------------------------------------------------------------------


def test_timeout_after_execution_is_settled_by_cloid(perp, devnet):
    key, _ = new_key(devnet.url)
    control(devnet.url, "faults", {"rate_timeout": 1})
    try:
        r = perp("--json", "buy", "ETH", "0.01", "--limit", "-2%", "--yes", key=key)
    finally:
        control(devnet.url, "faults", {"rate_timeout": 0})
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["status"] == "resting" and doc["oid"]
    orders = perp("--json", "orders", key=key).json()
    assert [o["cloid"] for o in orders] == [doc["cloid"]]  # exactly once


def test_batch_reads_ndjson(perp, devnet):
    key, _ = new_key(devnet.url)
    lines = "\n".join([
        json.dumps({"side": "buy", "market": "ETH", "size": "0.01", "limit": "-3%"}),
        "not json",
        json.dumps({"side": "sell", "market": "ETH", "size": "0.01", "limit": "+3%", "post_only": True}),
        json.dumps({"side": "buy", "market": "ETH", "size": 0.01, "limit": "-3%"}),
    ]) + "\n"
    r = perp("batch", "--yes", key=key, stdin=lines)
    out = [json.loads(x) for x in r.out.splitlines()]
    assert [o.get("status") for o in out] == ["resting", "invalid", "resting", "invalid"]
    assert r.code == 2
    assert len(perp("--json", "orders", key=key).json()) == 2


def test_hip3_trade_position_close(perp, devnet):
    key, _ = new_key(devnet.url)
    market = [m["market"] for m in perp("--json", "markets", "--all").json() if ":" in m["market"]][0]
    r = perp("--json", "buy", market, "--usd", "50", "--market", "--slippage", "3%", "--yes", key=key)
    assert r.code == 0 and r.json()["status"] == "filled", r.err
    pos = perp("--json", "positions", key=key).json()
    assert [p["market"] for p in pos] == [market]
    rest = perp("--json", "buy", market, "--usd", "50", "--limit", "-2%", "--yes", key=key).json()
    assert [o["oid"] for o in perp("--json", "orders", key=key).json()] == [rest["oid"]]
    assert perp("--json", "close", market, "--yes", key=key).json()["status"] == "filled"
    assert perp("--json", "cancel", "--all", "--yes", key=key).json()[0]["status"] == "canceled"
    assert perp("--json", "positions", key=key).json() == [] and perp("--json", "orders", key=key).json() == []


def test_builder_only_when_configured_and_vault_in_signature(perp, devnet, monkeypatch):
    key, _ = new_key(devnet.url)
    plain = perp("--json", "buy", "BTC", "0.001", "--limit", "-1%", "--dry-run", key=key).json()["requests"][0]
    assert "builder" not in plain["action"] and plain["vaultAddress"] is None
    monkeypatch.setenv("PERPCLI_VENUES_HYPERLIQUID_BUILDER", "0x" + "aa" * 20)
    monkeypatch.setenv("PERPCLI_VENUES_HYPERLIQUID_BUILDER_FEE_TENTHS_BP", "10")
    hl = perp("--json", "--venue", "hyperliquid", "buy", "BTC", "0.001", "--limit", "-1%", "--dry-run", key=key)
    assert hl.code == 0, hl.err
    assert hl.json()["requests"][0]["action"]["builder"] == {"b": "0x" + "aa" * 20, "f": 10}
    vault = "0x" + "bb" * 20
    v = perp("--json", "--vault-address", vault, "buy", "BTC", "0.001", "--limit", "-1%", "--dry-run", key=key)
    assert v.json()["requests"][0]["vaultAddress"] == vault


def test_url_needs_explicit_network(devnet, monkeypatch):
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from perpcli.cli.main import main

    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        code = main(["--url", devnet.url, "price", "BTC"])
    assert code == 2 and "--network" in err.getvalue()


def test_trading_commands_in_human_form(perp, devnet):
    """The same commands without --json: a table or key/value lines on stdout, exit codes as in JSON."""
    key, _ = new_key(devnet.url)
    steps = [
        (["buy", "ETH", "0.01", "--market", "--slippage", "3%", "--yes"], 0, "filled"),
        (["sell", "ETH", "0.01", "--limit", "+3%", "--yes"], 0, "resting"),
        (["orders"], 0, "ETH"),
        (["positions"], 0, "ETH"),
        (["account"], 0, "withdrawable"),
        (["fills"], 0, "ETH"),
        (["leverage", "ETH", "3", "--yes"], 0, "leverage"),
        (["cancel", "--all", "--yes"], 0, "canceled"),
        (["close", "ETH", "--slippage", "3%", "--yes"], 0, "filled"),
        (["buy", "BTC", "0.01", "--yes"], 2, ""),
        (["buy", "BTC", "20", "--limit", "-1%", "--yes"], 7, ""),
    ]
    for args, code, needle in steps:
        r = perp(*args, key=key)
        assert r.code == code, (args, r.err)
        assert needle in r.out, (args, r.out)
        if code:
            assert r.err.count("perp: error:") == 1


def test_stream_commands_print_ndjson(perp, devnet):
    key, _ = new_key(devnet.url)
    assert perp("buy", "BTC", "0.001", "--market", "--slippage", "3%", "--yes", key=key).code == 0
    book = perp("stream", "book", "BTC", "--depth", "3", "--seconds", "1.5")
    assert book.code == 0, book.err
    lines = [json.loads(x) for x in book.out.splitlines()]
    books = [x for x in lines if x["event"] == "book"]
    assert books and len(books[0]["bids"]) == 3 and Decimal(books[0]["bids"][0][0]) < Decimal(books[0]["asks"][0][0])
    assert any(x["event"] == "status" and x["state"] == "connected" for x in lines)
    fills = perp("stream", "fills", "--seconds", "1.5", key=key)
    assert fills.code == 0, fills.err
    got = [json.loads(x) for x in fills.out.splitlines() if '"event":"fill"' in x]
    assert len(got) == 1 and got[0]["market"] == "BTC"
    assert perp("stream", "book").code == 2


def test_batch_gives_every_line_its_own_result_whatever_the_line(perp, devnet):
    """Odd lines (deep nesting, absurd numbers, NaN, a list, huge lines) are `invalid` and the
    batch goes on: the good lines after them are still sent."""
    key, _ = new_key(devnet.url)
    good = json.dumps({"side": "buy", "market": "ETH", "size": "0.01", "limit": "-3%"})
    lines = [
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"side": "buy", "market": "ETH", "size": "1e999999", "limit": "-3%"}),
        '{"side": "buy", "market": "ETH", "size": NaN, "limit": "-3%"}',
        "[1, 2]",
        json.dumps({"side": "buy", "market": "ETH", "size": "0.01", "limit": "-3%", "note": "x" * 70_000}),
        good,
    ]
    r = perp("batch", "--yes", key=key, stdin="\n".join(lines) + "\n")
    out = [json.loads(x) for x in r.out.splitlines()]
    assert [o["line"] for o in out] == [1, 2, 3, 4, 5, 6]
    assert [o.get("status") for o in out] == ["invalid"] * 5 + ["resting"]
    assert r.code == 2 and r.err.count("perp: error:") == 1


def test_retry_with_the_same_cloid_reports_the_existing_order(perp, devnet):
    """What a client order id is for: a retry after a crash or exit 6 must not read as a rejection."""
    key, _ = new_key(devnet.url)
    cloid = "0x" + "5e" * 16
    args = ("--json", "buy", "ETH", "0.01", "--limit", "-2%", "--cloid", cloid, "--yes")
    first = perp(*args, key=key)
    assert first.code == 0 and first.json()["status"] == "resting"
    retry_args = tuple("-3%" if a == "-2%" else a for a in args)  # the retry prices itself anew
    again = perp(*retry_args, key=key)
    assert again.code == 0, again.err
    doc = again.json()
    assert doc["status"] == "resting" and doc["oid"] == first.json()["oid"] and doc["note"]
    assert doc["price"] == first.json()["price"] and doc["size"] == first.json()["size"]  # the order that exists
    assert "already exists" in again.err
    assert [o["cloid"] for o in perp("--json", "orders", key=key).json()] == [cloid]  # still one order


def test_stream_orders_backfills_what_a_reconnect_lost(devnet, monkeypatch):
    """Sockets dropped every second while orders rest and are cancelled: every order's final
    state still reaches `perp stream orders`, the missed ones marked backfilled."""
    import subprocess
    import sys
    import time

    from tests.support import REPO, record, register_secret

    key, _ = new_key(devnet.url)
    register_secret(key)
    env = {**__import__("os").environ, "PERPCLI_PRIVATE_KEY": key}
    proc = subprocess.Popen([sys.executable, "-m", "perpcli", "--url", devnet.url, "--network", "testnet",
                             "stream", "orders", "--seconds", "9"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=str(REPO))
    cloids = []
    try:
        time.sleep(2.0)  # connected and subscribed
        control(devnet.url, "faults", {"drop_ws_every": 1.0})
        for i in range(6):
            cloid = "0x" + f"{0x70 + i:02x}" * 16
            cloids.append(cloid)
            assert run(devnet.url, "--json", "buy", "ETH", "0.01", "--limit", "-4%", "--cloid", cloid, "--yes",
                       key=key, monkeypatch=monkeypatch).code == 0
            assert run(devnet.url, "--json", "cancel", "--cloid", cloid, "--yes", key=key,
                       monkeypatch=monkeypatch).code == 0
            time.sleep(0.5)
    finally:
        control(devnet.url, "faults", {"drop_ws_every": 0})
        out, err = proc.communicate(timeout=30)
        record("perp stream orders", out, err)
    events = [json.loads(x) for x in out.splitlines() if '"event":"order"' in x]
    final = {e["cloid"]: e["status"] for e in events if e["cloid"] in cloids and e["status"] == "canceled"}
    assert sorted(final) == sorted(cloids), (out, err)
    reconnects = [x for x in out.splitlines() if '"state":"connected"' in x]
    assert len(reconnects) >= 2  # the drops really happened


def test_account_totals_cover_every_margin_account_with_positions(perp, devnet):
    """Issue 13 item 9: a position on a builder dex (its own collateral) is in `perp account`'s
    totals, and equity, margin used, notional and leverage all describe the same positions."""
    key, _ = new_key(devnet.url)
    assert perp("buy", "BTC", "0.002", "--market", "--slippage", "3%", "--yes", key=key).code == 0
    assert perp("buy", "xyz:GOLD", "0.1", "--market", "--slippage", "3%", "--yes", key=key).code == 0
    doc = perp("--json", "account", key=key).json()
    parts = {a["name"]: a for a in doc["margin_accounts"]}
    assert set(parts) == {"", "xyz"} and doc["positions"] == 2
    for field in ("equity", "margin_used", "notional"):
        assert Decimal(doc[field]) == sum(Decimal(a[field]) for a in parts.values()), field
    assert Decimal(parts["xyz"]["notional"]) > 0 and Decimal(parts[""]["notional"]) > 0
    assert Decimal(doc["leverage"]) == (Decimal(doc["notional"]) / Decimal(doc["equity"])).quantize(Decimal("0.0001"))
    human = perp("account", key=key)
    assert human.code == 0 and "margin_accounts.xyz.equity" in human.out and "{" not in human.out
