"""Ostium's published transactions replay on the devnet's contracts.

The signed vectors (ostium_vectors.json, made by Ostium's SDK) are for Arbitrum One: chain id
42161, nonces 6 and 7 of the public test account, 0.5 gwei max fee. They replay on a devnet
started with chain id 42161 (the default devnet is 31337, where a chain-42161 signature is
refused by design) once the account's nonce is set to 6 and it holds USDC and gas: both are
mined with status 1 at the mainnet addresses, and the keeper settles the open. The calldata
vectors are then sent by the same account (impersonated on anvil's private port, as they are
unsigned) in an order where each has something to act on. One cannot succeed, and the test
says why: the stop-order vector puts XAU-sized TP/SL (2800/2600) on EURUSD at 1.08765, a
stop-loss above a long's price, which the contract refuses with WrongSL; the two timeout
vectors name order 123456, which does not exist (NoTradeToTimeoutFound).
"""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from perpcli.venues.ostium import abi, calls, events, settlement
from perpcli.venues.ostium.chain import Chain, FeePolicy, TxState
from perpcli.venues.ostium.networks import MAINNET
from perpcli.venues.ostium.reads import ChainReads
from perpcli.venues.ostium.rpc import JsonRpc, RpcError
from perpcli.venues.ostium.transactions import decode
from tests.anvil_node import DEV_ADDRESS
from tests.ostium_devnet import control, ostium_devnet_fixture, skip_without_anvil
from tests.support import REPO

skip_without_anvil()

VECTORS = json.loads((REPO / "tests" / "vectors" / "ostium_vectors.json").read_text())
CALLDATA = {v["name"]: v["calldata"] for v in VECTORS["calldata_vectors"]}
DELEGATE = "0x2222222222222222222222222222222222222222"

ostium = ostium_devnet_fixture(chain_id=42161)


@pytest.fixture(scope="module")
def chain(ostium):
    rpc = JsonRpc(ostium.rpc_url)
    yield Chain(rpc, MAINNET, fees=FeePolicy(max_fee_gwei=D(1)), receipt_timeout_s=10, poll_s=0.02)
    rpc.close()


@pytest.fixture(scope="module")
def node(ostium):
    rpc = JsonRpc(ostium.node_url)
    for who in (DEV_ADDRESS, DELEGATE):
        rpc.call("anvil_impersonateAccount", [who])
        rpc.call("anvil_setBalance", [who, hex(10**18)])
    yield rpc
    rpc.close()


def send_as(node: JsonRpc, chain: Chain, sender: str, name: str) -> dict:
    tx_hash = node.call("eth_sendTransaction", [{"from": sender, "to": MAINNET.trading, "data": CALLDATA[name],
                                                 "gas": hex(2_500_000)}])
    receipt = chain.rpc.call("eth_getTransactionReceipt", [tx_hash])
    for _ in range(200):
        if receipt:
            break
        receipt = chain.rpc.call("eth_getTransactionReceipt", [tx_hash])
    assert int(receipt["status"], 16) == 1, name
    return receipt


def settled(ostium, chain: Chain, receipt: dict) -> events.OrderOutcome:
    order_id = events.initiated_order_id(receipt["logs"])
    callbacks = ChainReads(chain).contract("callbacks")
    out = settlement.await_outcome(chain, callbacks, order_id, int(receipt["blockNumber"], 16), 10, poll_s=0.02)
    assert out is not None, f"order {order_id} was not settled"
    return out


def test_the_signed_vectors_are_mined_with_status_1_and_the_open_is_settled(ostium, chain, node):
    control(ostium.rpc_url, "fund", {"user": DEV_ADDRESS, "amount": "10000"})
    node.call("anvil_setNonce", [DEV_ADDRESS, hex(6)])
    chain.check_chain_id()
    by_nonce = sorted(VECTORS["signed_tx_vectors"], key=lambda v: v["tx"]["nonce"])
    assert [v["name"] for v in by_nonce] == ["usdc_approve_tradingStorage", "signed_eip1559_openTrade"]
    receipts = []
    for vector in by_nonce:
        signed = decode(bytes.fromhex(vector["raw_tx"][2:]))
        assert chain.rpc.call("eth_sendRawTransaction", [vector["raw_tx"]]) == signed.hash_hex
        done = chain.wait(signed)
        assert done.state is TxState.SUCCEEDED, vector["name"]
        receipts.append(done.receipt)
    open_receipt = {"logs": receipts[1].logs, "blockNumber": hex(receipts[1].block_number)}
    outcome = settled(ostium, chain, open_receipt)
    assert outcome.executed and outcome.trade.pair_index == 5 and outcome.trade.collateral == D(100)
    assert outcome.trade.tp == D(2800) and outcome.trade.sl == D(2600) and outcome.trade.leverage == D(10)


def test_the_calldata_vectors_act_on_that_trade(ostium, chain, node):
    reads = ChainReads(chain)

    def trade():
        (t,) = reads.open_trades(DEV_ADDRESS, [5])
        return t.trade

    # The approve vector allowed exactly the first trade's 100 USDC; allow the rest.
    node.call("eth_sendTransaction", [{"from": DEV_ADDRESS, "to": MAINNET.usdc,
                                       "data": "0x" + calls.approve(MAINNET.trading_storage, D(10_000)).hex()}])
    send_as(node, chain, DEV_ADDRESS, "openTrade_limit_short_cl_nobrackets")  # rests: CL bid is below 71.5
    ostium.set_open("CL", False)  # the updated limit (70) would fill at once; keep it resting
    send_as(node, chain, DEV_ADDRESS, "updateOpenLimitOrder")
    send_as(node, chain, DEV_ADDRESS, "cancelOpenLimitOrder")
    ostium.set_open("CL", None)
    assert reads.open_trades(DEV_ADDRESS, [7]) == []

    send_as(node, chain, DEV_ADDRESS, "updateTp")
    send_as(node, chain, DEV_ADDRESS, "updateSl")
    assert (trade().tp, trade().sl) == (D(2900), D(2550))
    send_as(node, chain, DEV_ADDRESS, "topUpCollateral")
    assert trade().collateral == D(125)
    send_as(node, chain, DEV_ADDRESS, "removeCollateral")
    ostium.wait_until(lambda: trade().collateral == D(115), what="the keeper's removeCollateral answer")
    partial = settled(ostium, chain, send_as(node, chain, DEV_ADDRESS, "closeTradeMarket_partial_25"))
    assert partial.executed and partial.percent_closed == D(25)
    send_as(node, chain, DEV_ADDRESS, "setDelegate")
    send_as(node, chain, DELEGATE, "delegatedAction_updateTp")  # the delegate acts for the trader
    full = settled(ostium, chain, send_as(node, chain, DEV_ADDRESS, "closeTradeMarket_full"))
    assert full.executed and full.percent_closed == D(100)
    assert reads.open_trades(DEV_ADDRESS, [5]) == []
    again = settled(ostium, chain, send_as(node, chain, DEV_ADDRESS, "openTrade_market_long_xau_10x"))
    assert again.executed


@pytest.mark.parametrize(("name", "error"), [
    ("openTrade_stop_long_eurusd_builderfee", "WrongSL"),
    ("openTradeMarketTimeout", "NoTradeToTimeoutFound"),
    ("closeTradeMarketTimeout", "NoTradeToTimeoutFound"),
])
def test_the_vectors_that_cannot_succeed_revert_with_the_deployed_error(ostium, chain, node, name, error):
    with pytest.raises(RpcError) as refused:
        node.call("eth_call", [{"from": DEV_ADDRESS, "to": MAINNET.trading, "data": CALLDATA[name]}, "latest"])
    assert abi.decode_revert(refused.value.revert_data() or b"").name == error
