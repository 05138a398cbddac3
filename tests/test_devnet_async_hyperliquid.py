"""async-hyperliquid (an aiohttp client people trade with), unchanged, against a devnet.

The client reads meta to learn assets and rounding, signs with its own code, and parses the
answers into its own types: a shape or signature the devnet gets wrong shows up here as it
would for its users. Test-only dependency; perpcli never imports it.
"""

from __future__ import annotations

import time

import pytest

pytest.importorskip("async_hyperliquid")

import eth_account  # noqa: E402
from async_hyperliquid.async_hyperliquid import AsyncHyperliquid  # noqa: E402
from async_hyperliquid.exchange import ExchangeAPI  # noqa: E402
from async_hyperliquid.info import InfoAPI  # noqa: E402
from async_hyperliquid.utils.types import CandleInterval, LimitTif, limit_order_type  # noqa: E402

from perpcli.devnet.server import DevnetConfig, start_in_thread  # noqa: E402
from tests.devnet_helpers import first_look  # noqa: E402
from tests.support import register_secret  # noqa: E402

pytestmark = pytest.mark.timeout(90)

TRADER_KEY = "0x" + "4d" * 32
MAKER_KEY = "0x" + "5e" * 32
register_secret(TRADER_KEY)
register_secret(MAKER_KEY)
SOMEONE = "0x" + "3c" * 20


@pytest.fixture(scope="module")
def devnet():
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, tick_interval=0.05))
    first_look(handle.url, *(eth_account.Account.from_key(k).address for k in (TRADER_KEY, MAKER_KEY)))
    yield handle
    handle.stop()


def _client(devnet, key: str) -> AsyncHyperliquid:
    """The client pointed at the devnet: it knows only the venue's two URLs, so its info and
    exchange halves are rebuilt on the devnet's URL (testnet signing, as the devnet expects)."""
    address = eth_account.Account.from_key(key).address
    client = AsyncHyperliquid(address, key, is_mainnet=False, perp_dexs=["", "xyz"])
    client.info = InfoAPI(devnet.url, client.session)
    client.exchange = ExchangeAPI(
        client.account, client.session, devnet.url, address=address, nonce_factory=client.next_nonce
    )
    return client


def _ok(res):
    assert res["status"] == "ok", res
    return res["response"]


async def test_reads_parse(devnet):
    client = _client(devnet, TRADER_KEY)
    try:
        me = client.address
        await client.init_metas()
        assert await client.get_coin_asset("BTC") == 0
        assert await client.get_coin_asset("xyz:GOLD") == 110000
        state = await client.get_account_state()
        assert float(state["perp"]["withdrawable"]) > 0 and "xyz" in state["dexs"]
        info = client.info
        assert (await info.get_user_role(me))["role"] == "user"
        now = int(time.time() * 1000)
        assert isinstance(await info.get_candles("BTC", CandleInterval("1m"), now - 3_600_000, now), list)
        assert isinstance(await info.get_user_fills(me), list)
        assert (await info.get_user_rate_limit(me))["nRequestsCap"] >= 10_000
        assert await info.get_user_abstraction(me) == "default"
        assert await info.get_user_dex_abstraction(me) is False
        assert (await info.get_user_referral(me))["referrerState"]["stage"] == "needToTrade"
        assert await info.get_user_subaccounts(me) is None
        assert set(await info.get_perp_deploy_status()) >= {"startTimeSeconds", "currentGas"}
        assert (await info.get_spot_deploy_state(me))["states"] == []
        assert isinstance(await info.get_predicted_funding(), list)
        assert isinstance(await info.get_perps_at_open_interest_cap(), list)
        assert isinstance(await info.get_user_portfolio(me), list)
        assert (await info.get_perp_dexs())[0] is None
        assert (await info.get_spot_meta())["tokens"][0]["name"] == "USDC"
        assert isinstance(await info.get_user_order_history(me), list)
        assert isinstance(await info.get_user_twap_fills(me), list)
        assert isinstance(await info.get_user_vault_deposits(me), list)
        assert (await info.get_user_staking_summary(me))["delegated"] == "0.0"
        depth = await info.get_depth("BTC")
        assert depth["coin"] == "BTC" and len(depth["levels"]) == 2
    finally:
        await client.close()


async def test_orders_fill_modify_cancel_and_close(devnet):
    maker, trader = _client(devnet, MAKER_KEY), _client(devnet, TRADER_KEY)
    gtc = limit_order_type(LimitTif.GTC)
    try:
        # A two-sided book gives the market a mid, which the client's market orders price from.
        _ok(await maker.place_order("ETH", False, 0.5, 3020, False, order_type=gtc))
        _ok(await maker.place_order("ETH", True, 0.5, 2980, False, order_type=gtc))
        assert await trader.get_mid_price("ETH") == 3000
        _ok(await trader.update_leverage(5, "ETH"))
        res = _ok(await trader.place_order("ETH", True, 0.1, 0, True))  # market: mid + 5%, IOC
        assert res["data"]["statuses"][0]["filled"]["totalSz"] == "0.1"
        positions = await trader.get_all_positions()  # both dexs the client was given
        assert [(p["coin"], p["szi"], p["leverage"]["value"]) for p in positions] == [("ETH", "0.1", 5)]

        res = _ok(await trader.place_order("ETH", True, 0.02, 2900, False, order_type=gtc))
        oid = res["data"]["statuses"][0]["resting"]["oid"]
        res = _ok(await trader.modify_order(oid, "ETH", True, 0.03, 2910, False, gtc))  # sent as batchModify
        assert "resting" in res["data"]["statuses"][0]
        opened = await trader.get_user_open_orders()
        assert [o["limitPx"] for o in opened] == ["2910.0"]
        cancel = _ok(await trader.cancel_order("ETH", opened[0]["oid"]))
        assert cancel["data"]["statuses"] == ["success"]
        _ok(await trader.close_position("ETH"))
        state = await trader.get_perp_account_state()
        assert state["assetPositions"] == []
    finally:
        await maker.close()
        await trader.close()


async def test_transfers_agents_builders_and_refusals(devnet):
    client = _client(devnet, TRADER_KEY)
    try:
        assert _ok(await client.usd_class_transfer(10, to_perp=False)) == {"type": "default"}
        assert _ok(await client.usd_transfer(2, SOMEONE)) == {"type": "default"}
        assert _ok(await client.spot_transfer("USDC", 1, SOMEONE)) == {"type": "default"}
        assert _ok(await client.approve_builder_fee(0.0001, SOMEONE)) == {"type": "default"}
        assert await client.info.check_user_builder_fee(client.address, SOMEONE) == 10  # "0.010%"
        agent = eth_account.Account.create()
        register_secret(agent.key.hex())
        assert _ok(await client.approve_agent(agent.address, "async-bot")) == {"type": "default"}
        sub = _ok(await client.create_sub_account("async-sub"))["data"]
        assert (await client.info.get_user_subaccounts(client.address))[0]["subAccountUser"] == sub
        assert _ok(await client.use_big_block(False)) == {"type": "default"}
        # VENUE_REFUSES: no account owns the code; no vault lives at the address; no volume yet.
        assert (await client.set_referrer_code("NOPE")) == {"status": "err", "response": "Referral code does not exist"}
        assert (await client.vault_transfer(SOMEONE, 1))["status"] == "err"
        res = await client.schedule_cancel(int(time.time() * 1000) + 60_000)
        assert res["status"] == "err" and "enough volume traded" in res["response"]
    finally:
        await client.close()
