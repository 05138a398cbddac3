"""HIP-3 collateral on the devnet: each perp dex has its own balance, margin and ledger rows,
and `sendAsset` moves collateral between dexs (and spot) as on the venue."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from perpcli.devnet.engine import ActionError, Engine, EngineConfig
from perpcli.devnet.records import Filled, OrderError, OrderSpec
from perpcli.devnet.server import DevnetConfig, start_in_thread
from tests.devnet_helpers import Http

T0 = 1_700_000_000_000
A = "0x" + "a" * 40
B = "0x" + "b" * 40
MM = "0x" + "c" * 40
GOLD = 110000


def _engine(auto_fund: bool = True) -> Engine:
    e = Engine(config=EngineConfig(auto_fund=auto_fund), start_ms=T0)
    e.fund(MM, D(1_000_000), T0, "xyz")
    e.place_orders(MM, [OrderSpec(GOLD, False, D(4000), D(10), False, "Gtc")], "na", T0)
    return e


def _buy_gold(e: Engine, user: str, sz: str = "1"):
    return e.place_orders(user, [OrderSpec(GOLD, True, D(4000), D(sz), False, "Ioc")], "na", T0 + 1)[0]


def test_a_builder_dex_trade_moves_only_that_dex_collateral():
    e = _engine()
    assert isinstance(_buy_gold(e, A), Filled)
    fee = D(4000) * D("0.00045")
    assert e.perp_balance(A, "xyz") == D(100_000) - fee
    assert e.perp_balance(A) == D(100_000)
    main = e.clearinghouse_state(A)
    xyz = e.clearinghouse_state(A, "xyz")
    assert main.asset_positions == () and main.margin_summary.account_value == D(100_000)
    assert [p.coin for p in xyz.asset_positions] == ["xyz:GOLD"]
    assert xyz.margin_summary.account_value == D(100_000) - fee
    assert xyz.margin_summary.total_ntl_pos == D(4000)
    assert main.margin_summary.total_ntl_pos == 0


def test_a_dex_margins_only_on_its_own_collateral():
    e = _engine(auto_fund=False)
    e.fund(A, D(100_000), T0)  # default dex only
    refused = _buy_gold(e, A)
    assert isinstance(refused, OrderError) and "Insufficient margin" in refused.error
    e.send_asset(A, A, "", "xyz", "USDC", D(1_000), T0 + 1)
    assert e.perp_balance(A) == D(99_000) and e.perp_balance(A, "xyz") == D(1_000)
    assert isinstance(_buy_gold(e, A), Filled)
    # what is held as margin on xyz cannot leave it, and nothing more than it has
    with pytest.raises(ActionError, match="Insufficient balance"):
        e.send_asset(A, A, "xyz", "", "USDC", D(900), T0 + 2)
    e.send_asset(A, A, "xyz", "", "USDC", D(500), T0 + 2)
    assert e.perp_balance(A) == D(99_500)


def test_send_asset_between_users_dexs_and_spot_logs_send_rows():
    e = _engine(auto_fund=False)
    e.fund(A, D(10_000), T0)
    e.send_asset(A, B, "", "xyz", "USDC", D(250), T0 + 1, nonce=77)
    assert e.perp_balance(A) == D(9_750)
    assert e.perp_balance(B, "xyz") == D(250) and e.perp_balance(B) == 0
    e.send_asset(B, B, "xyz", "spot", "USDC", D(50), T0 + 2)
    assert e.spot_balances(B)[0].total == D(50) and e.perp_balance(B, "xyz") == D(200)
    rows = e.user_ledger(B, 0)
    assert [r.kind for r in rows] == ["send", "send"]
    first = dict(rows[0].details)
    assert first["user"] == A and first["destination"] == B
    assert (first["sourceDex"], first["destinationDex"], first["token"]) == ("", "xyz", "USDC")
    assert first["amount"] == D(250) and first["usdcValue"] == D(250) and first["nonce"] == 77
    with pytest.raises(ActionError, match="Unknown dex"):
        e.send_asset(A, A, "", "nope", "USDC", D(1), T0 + 3)
    with pytest.raises(ActionError, match="collateral token"):
        e.send_asset(A, A, "spot", "xyz", "PURR", D(1), T0 + 3)


def test_collateral_per_dex_survives_save_and_load():
    e = _engine()
    _buy_gold(e, A)
    again = Engine.from_json(e.to_json())
    assert again.perp_balance(A, "xyz") == e.perp_balance(A, "xyz")
    assert again.margin_available(A, "xyz") == e.margin_available(A, "xyz")
    assert again.to_json() == e.to_json()


def test_official_sdk_send_asset_and_dex_state():
    pytest.importorskip("hyperliquid")
    import eth_account
    from hyperliquid.exchange import Exchange

    from tests.support import register_secret

    key = "0x" + "7e" * 32
    register_secret(key)
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, tick_interval=0.05))
    try:
        wallet = eth_account.Account.from_key(key)
        user = wallet.address.lower()
        http = Http(handle.url)
        http.control("fund", {"user": user, "amount": "1000", "dex": ""})  # the default dex only
        before = http.info({"type": "clearinghouseState", "user": user, "dex": "xyz"})
        exchange = Exchange(wallet, handle.url)
        res = exchange.send_asset(user, "", "xyz", "USDC", 12.5)
        assert res == {"status": "ok", "response": {"type": "default"}}
        main = http.info({"type": "clearinghouseState", "user": user})
        xyz = http.info({"type": "clearinghouseState", "user": user, "dex": "xyz"})
        assert D(xyz["marginSummary"]["accountValue"]) == D(before["marginSummary"]["accountValue"]) + D("12.5")
        assert D(before["marginSummary"]["accountValue"]) == 0
        assert D(main["withdrawable"]) == D(1000) - D("12.5")
        rows = http.info({"type": "userNonFundingLedgerUpdates", "user": user, "startTime": 0})
        send = [r["delta"] for r in rows if r["delta"]["type"] == "send"]
        assert send and send[0]["sourceDex"] == "" and send[0]["destinationDex"] == "xyz"
        assert send[0]["amount"] == "12.5" and send[0]["token"] == "USDC"
        http.close()
    finally:
        handle.stop()


def test_a_state_saved_before_dex_collateral_loads_without_liquidating_anyone():
    e = Engine(config=EngineConfig(auto_fund=False), start_ms=T0)
    e.fund(MM, D(1_000_000), T0, "xyz")
    e.fund(A, D(10_000), T0)
    e.send_asset(A, A, "", "xyz", "USDC", D(5_000), T0)
    e.place_orders(MM, [OrderSpec(GOLD, False, D(4000), D(10), False, "Gtc")], "na", T0)
    e.place_orders(A, [OrderSpec(GOLD, True, D(4000), D(10), False, "Ioc")], "na", T0 + 1)  # 40k at 20x
    e.place_orders(A, [OrderSpec(GOLD, True, D(3900), D(1), False, "Gtc")], "na", T0 + 1)
    saved = e.to_json()
    # the old format: one balance for every dex, no wallets
    for acct in saved["accounts"]:
        shared = sum((D(usdc) for usdc, _ in acct.pop("wallets").values()), D(acct["usdc"]))
        acct["usdc"] = str(shared)
        acct["reserved"] = str(sum((D(o["reserved"]) for o in saved["orders"] if o["user"] == acct["address"]), D(0)))
    old = Engine.from_json(saved)
    assert old.position(A, "xyz:GOLD") == D(10)
    total = old.perp_balance(A) + old.perp_balance(A, "xyz")
    assert total == e.perp_balance(A) + e.perp_balance(A, "xyz")
    assert old.perp_balance(A, "xyz") == D(2000) + D(195)  # initial margin + the resting bid's
    old.set_oracle_price("xyz:GOLD", D(3990), T0 + 2)
    assert old.position(A, "xyz:GOLD") == D(10)  # still there
