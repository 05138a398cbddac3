"""The Ostium chain side against a real local EVM node (anvil): nonces across processes, gas
caps, receipts at depth, reverts decoded into ErrorKind, and broadcasts settled by hash/nonce."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal as D

import pytest

from perpcli.domain.errors import ErrorKind, OutcomeUnknown, RiskRefused, UsageError, VenueRejected
from perpcli.keys.hashing import keccak256
from perpcli.keys.signer import Signer
from perpcli.venues.ostium import calls, networks
from perpcli.venues.ostium.chain import Chain, FeePolicy, TxState
from perpcli.venues.ostium.journal import TxJournal
from perpcli.venues.ostium.nonces import EvmNonceAllocator
from perpcli.venues.ostium.rpc import JsonRpc, NoAnswer
from perpcli.venues.ostium.transactions import Eip1559Tx, sign
from tests.anvil_node import DEV_ADDRESS, DEV_KEY, DEV_KEY_2, SKIP_REASON, anvil_binary, running_anvil
from tests.support import REPO, register_secret

if anvil_binary() is None:
    pytest.skip(SKIP_REASON, allow_module_level=True)

register_secret(DEV_KEY)
register_secret(DEV_KEY_2)

LOCAL = networks.DEVNET
FEES = FeePolicy(max_fee_gwei=D("50"))


def revert_stub(error_sig: bytes, arg: int) -> str:
    """EVM runtime code that always reverts with `error_sig`(arg): mstore selector, mstore arg, revert(0, 36)."""
    selector = keccak256(error_sig)[:4]
    code = (b"\x7f" + selector + bytes(28) + b"\x60\x00\x52" + b"\x7f" + arg.to_bytes(32, "big") + b"\x60\x04\x52"
            + b"\x60\x24\x60\x00\xfd")
    return "0x" + code.hex()


@pytest.fixture(scope="module")
def node():
    with running_anvil() as url:
        yield url


@pytest.fixture
def chain(node):
    rpc = JsonRpc(node)
    yield Chain(rpc, LOCAL, fees=FEES, receipt_timeout_s=10, poll_s=0.02)
    rpc.close()


@pytest.fixture
def signer():
    return Signer.from_hex(DEV_KEY)


@pytest.fixture
def nonces(tmp_path, signer):
    return EvmNonceAllocator(LOCAL.chain_id, signer.address, directory=tmp_path / "nonces")


def approve_data(amount: str = "100") -> bytes:
    return calls.approve(LOCAL.trading_storage, D(amount))


def test_a_real_chain_id_is_refused_for_a_local_node(node):
    rpc = JsonRpc(node)
    with pytest.raises(UsageError, match="chain 31337"):
        Chain(rpc, networks.MAINNET).check_chain_id()
    rpc.close()


def test_send_waits_for_the_receipt_and_reports_success(chain, signer, nonces):
    signed = chain.prepare(signer, LOCAL.usdc, approve_data(), nonces)
    settled = chain.send_and_wait(signed, nonces=nonces)
    assert settled.state is TxState.SUCCEEDED and settled.confirmations >= 1
    assert settled.receipt is not None and settled.receipt.gas_used > 0
    assert signed.tx.max_fee_per_gas <= FEES.cap_wei


def test_a_revert_in_simulation_is_decoded_and_takes_no_nonce(chain, signer, nonces):
    chain.rpc.call("anvil_setCode", [LOCAL.trading, revert_stub(b"WrongLeverage(uint32)", 20000)])
    data = calls.cancel_open_limit_order(7, 0)
    with pytest.raises(VenueRejected, match=r"WrongLeverage\(20000\)") as info:
        chain.prepare(signer, LOCAL.trading, data, nonces)
    assert info.value.error_kind is ErrorKind.MAX_LEVERAGE
    assert nonces.last() is None  # nothing was allocated: the next action does not leave a gap


def test_a_mined_revert_is_decoded_from_a_replay(chain, signer, nonces):
    chain.rpc.call("anvil_setCode", [LOCAL.trading, revert_stub(b"BelowMinLevPos()", 0)])
    max_fee, tip = chain.fee_caps()
    nonce = nonces.allocate(lambda: chain.nonce(signer.address, "pending"))
    tx = Eip1559Tx(chain_id=LOCAL.chain_id, nonce=nonce, max_priority_fee_per_gas=tip, max_fee_per_gas=max_fee,
                   gas=100_000, to=LOCAL.trading, data=calls.cancel_open_limit_order(7, 0))
    with pytest.raises(VenueRejected, match="BelowMinLevPos") as info:
        chain.send_and_wait(sign(tx, signer), nonces=nonces)
    assert info.value.error_kind is ErrorKind.MIN_NOTIONAL
    assert "mined and reverted" in info.value.message


def test_gas_above_the_cap_is_refused_locally(node, signer, nonces):
    rpc = JsonRpc(node)
    cheap = Chain(rpc, LOCAL, fees=FeePolicy(max_fee_gwei=D("0.000000001")))
    with pytest.raises(RiskRefused, match="above your cap"):
        cheap.prepare(signer, LOCAL.usdc, approve_data(), nonces)
    assert nonces.last() is None
    rpc.close()


def test_confirmation_depth_is_awaited(node, signer, nonces):
    rpc = JsonRpc(node)
    deep = Chain(rpc, LOCAL, fees=FEES, confirmations=3, receipt_timeout_s=0.3, poll_s=0.02)
    signed = deep.prepare(signer, LOCAL.usdc, approve_data("1"), nonces)
    with pytest.raises(OutcomeUnknown, match="1 of 3 confirmations"):
        deep.send_and_wait(signed, nonces=nonces)
    rpc.call("anvil_mine", ["0x2"])
    settled = deep.wait(signed, timeout_s=1)
    assert settled.state is TxState.SUCCEEDED and settled.confirmations == 3
    rpc.close()


class LostAnswer:
    """An RPC that delivers eth_sendRawTransaction to the node but loses the answer."""

    def __init__(self, rpc: JsonRpc) -> None:
        self.rpc = rpc
        self.sent = 0

    def call(self, method, params=None, *, retry_read=True):
        result = self.rpc.call(method, params, retry_read=retry_read)
        if method == "eth_sendRawTransaction":
            self.sent += 1
            raise NoAnswer("connection reset after the request was written")
        return result


def test_a_lost_broadcast_answer_is_settled_by_hash_never_resent(node, signer, tmp_path, nonces):
    rpc = JsonRpc(node)
    rpc.call("evm_setAutomine", [False])
    try:
        lossy = LostAnswer(rpc)
        chain = Chain(lossy, LOCAL, fees=FEES, receipt_timeout_s=0.2, poll_s=0.02)  # type: ignore[arg-type]
        journal = TxJournal(LOCAL.chain_id, signer.address, directory=tmp_path / "journal")
        signed = chain.prepare(signer, LOCAL.usdc, approve_data("2"), nonces)
        with pytest.raises(OutcomeUnknown, match=signed.hash_hex):
            chain.send_and_wait(signed, nonces=nonces, journal=journal, label="approve 2 USDC")
        assert lossy.sent == 1

        # A later command (a new process: fresh objects) finds the broadcast in the journal.
        later = Chain(JsonRpc(node), LOCAL, fees=FEES, receipt_timeout_s=1, poll_s=0.02)
        [pending] = TxJournal(LOCAL.chain_id, signer.address, directory=tmp_path / "journal").unsettled()
        assert pending.hash_hex == signed.hash_hex and later.settle(pending).state is TxState.PENDING
        rpc.call("evm_mine", [])
        assert later.settle(pending).state is TxState.SUCCEEDED
        assert lossy.sent == 1  # nothing was sent again
    finally:
        rpc.call("evm_setAutomine", [True])
        rpc.close()


def test_a_same_nonce_replacement_cancels_a_pending_transaction(node, signer, nonces):
    rpc = JsonRpc(node)
    rpc.call("evm_setAutomine", [False])
    try:
        chain = Chain(rpc, LOCAL, fees=FEES, receipt_timeout_s=0.1, poll_s=0.02)
        original = chain.prepare(signer, LOCAL.usdc, approve_data("3"), nonces)
        assert chain.broadcast(original)
        cancel = sign(chain.replacement(original), signer)
        assert cancel.tx.nonce == original.tx.nonce and cancel.tx.to == signer.address
        assert chain.broadcast(cancel)
        rpc.call("evm_mine", [])
        assert chain.settle(cancel).state is TxState.SUCCEEDED
        assert chain.settle(original).state is TxState.REPLACED
        with pytest.raises(VenueRejected, match="replaced"):
            chain.raise_unless_succeeded(chain.settle(original))
    finally:
        rpc.call("evm_setAutomine", [True])
        rpc.close()


def test_a_refused_broadcast_gives_its_nonce_back(chain, nonces):
    poor = Signer.from_hex(DEV_KEY_2)
    chain.rpc.call("anvil_setBalance", [poor.address, "0x0"])
    poor_nonces = EvmNonceAllocator(LOCAL.chain_id, poor.address, directory=nonces._dir)
    max_fee, tip = chain.fee_caps()
    nonce = poor_nonces.allocate(lambda: chain.nonce(poor.address, "pending"))
    tx = Eip1559Tx(chain_id=LOCAL.chain_id, nonce=nonce, max_priority_fee_per_gas=tip, max_fee_per_gas=max_fee,
                   gas=60_000, to=LOCAL.usdc, data=approve_data())
    with pytest.raises(VenueRejected) as info:
        chain.broadcast(sign(tx, poor), nonces=poor_nonces)
    assert info.value.error_kind is ErrorKind.INSUFFICIENT_MARGIN
    assert poor_nonces.allocate(lambda: chain.nonce(poor.address, "pending")) == nonce


CONCURRENT = """
import json, sys
from decimal import Decimal
from pathlib import Path
from perpcli.keys.signer import Signer
from perpcli.venues.ostium import calls, networks
from perpcli.venues.ostium.chain import Chain, FeePolicy
from perpcli.venues.ostium.nonces import EvmNonceAllocator
from perpcli.venues.ostium.rpc import JsonRpc
url, directory, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
key = sys.stdin.readline().strip()
signer = Signer.from_hex(key)
chain = Chain(JsonRpc(url), networks.DEVNET, fees=FeePolicy(max_fee_gwei=Decimal("50")), poll_s=0.01)
nonces = EvmNonceAllocator(networks.DEVNET.chain_id, signer.address, directory=Path(directory))
out = []
for i in range(count):
    signed = chain.prepare(signer, networks.DEVNET.usdc, calls.approve(networks.DEVNET.trading_storage, Decimal(i + 1)),
                           nonces)
    settled = chain.send_and_wait(signed, nonces=nonces)
    out.append([signed.tx.nonce, settled.state.value])
print(json.dumps(out))
"""


def test_two_processes_with_one_key_never_clash_on_a_nonce(node, tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, node, str(tmp_path / "n"), "6"], cwd=str(REPO),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for p in procs:  # the key goes in on stdin, never in argv
        assert p.stdin is not None
        p.stdin.write(DEV_KEY + "\n")
        p.stdin.flush()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=90)
        assert p.returncode == 0, err[-2000:]
        results.extend(json.loads(out.strip().splitlines()[-1]))
    assert len(results) == 12 and all(state == "succeeded" for _, state in results)
    assert len({nonce for nonce, _ in results}) == 12


def test_the_dev_account_is_the_vector_account():
    assert Signer.from_hex(DEV_KEY).address == DEV_ADDRESS


def test_the_published_raw_transactions_replay_on_a_real_node():
    """The SDK-signed vectors (chain 42161, 0.5 gwei max fee) are valid transactions to a real
    EVM: a node on that chain id accepts them and names the same hashes perpcli computes."""
    vectors = json.loads((REPO / "tests" / "vectors" / "ostium_vectors.json").read_text())["signed_tx_vectors"]
    with running_anvil(chain_id=42161, extra=("--base-fee", "0")) as url:
        rpc = JsonRpc(url)
        chain = Chain(rpc, networks.MAINNET, fees=FEES, receipt_timeout_s=5, poll_s=0.02)
        chain.check_chain_id()
        for vector in sorted(vectors, key=lambda v: v["tx"]["nonce"]):
            rpc.call("anvil_setNonce", [DEV_ADDRESS, hex(vector["tx"]["nonce"])])
            signed = txs_decode(vector["raw_tx"])
            assert rpc.call("eth_sendRawTransaction", [vector["raw_tx"]]) == signed.hash_hex
            assert chain.wait(signed).state is TxState.SUCCEEDED  # no contract code there: a plain call
        rpc.close()


def txs_decode(raw_hex: str):
    from perpcli.venues.ostium.transactions import decode

    return decode(bytes.fromhex(raw_hex[2:]))


# EVM runtime that emits LOG4(topics = calldata[0:128] in 32-byte words, data = calldata[128:]): a
# stand-in for the keeper's Callbacks transaction, so finding the settlement runs against a real node.
LOG4_EMITTER = "0x" + bytes([0x60, 0x60, 0x35, 0x60, 0x40, 0x35, 0x60, 0x20, 0x35, 0x60, 0x00, 0x35,
                              0x60, 0x80, 0x36, 0x03, 0x80, 0x60, 0x80, 0x60, 0x00, 0x37, 0x60, 0x00, 0xA4, 0x00]).hex()


def test_the_settlement_event_is_found_by_order_id(chain, signer, nonces):
    from eth_abi import encode

    from perpcli.venues.ostium import events, settlement

    callbacks = "0x" + "cc" * 20
    chain.rpc.call("anvil_setCode", [callbacks, LOG4_EMITTER])
    start = chain.block_number()

    def keeper_cancels(order_id: int, reason: events.CancelReason) -> None:
        """MarketOpenCanceled(orderId indexed, trader indexed, pairIndex indexed, cancelReason)."""
        topics = [bytes.fromhex(events.event_topic("MarketOpenCanceled")[2:]), order_id.to_bytes(32, "big"),
                  bytes(12) + bytes.fromhex(signer.address[2:]), (5).to_bytes(32, "big")]
        signed = chain.prepare(signer, callbacks, b"".join(topics) + encode(["uint8"], [reason.value]), nonces)
        chain.send_and_wait(signed, nonces=nonces)

    assert settlement.find_outcome(chain, callbacks, 4242, start) is None  # accepted: nothing settled yet
    keeper_cancels(4243, events.CancelReason.SLIPPAGE)  # someone else's order
    assert settlement.find_outcome(chain, callbacks, 4242, start) is None
    assert settlement.await_outcome(chain, callbacks, 4242, start, timeout_s=0.05, poll_s=0.01) is None
    keeper_cancels(4242, events.CancelReason.MARKET_CLOSED)
    outcome = settlement.await_outcome(chain, callbacks, 4242, start, timeout_s=2, poll_s=0.01)
    assert outcome is not None and not outcome.executed
    assert outcome.cancel_reason is events.CancelReason.MARKET_CLOSED


def test_a_node_without_ostium_deployed_is_one_clear_line(chain):
    with pytest.raises(UsageError, match="no Ostium trading contract answers"):
        chain.call_function("trading", "registry", "0x" + "ee" * 20)
