"""The chain side of an Ostium action: simulate, price the gas, take a nonce, sign, broadcast,
await the receipt, and — when an answer is lost — settle by hash and nonce.

The rule that shapes everything here: a signed transaction that may have reached the network
is never sent again as a *new* transaction. Its hash is known before broadcasting (and written
to the journal first), so a lost answer, a timeout, or a killed process is settled later by
asking the chain about that hash, and, if the hash is unknown, about its nonce:
- a receipt: mined (succeeded, or reverted with a decoded reason);
- known but unmined: still pending (exit 6 with the hash; wait, or replace it to cancel);
- unknown, and the account's mined nonce has passed it: another transaction with that nonce
  won (a replacement), so this one can never execute;
- unknown, nonce not yet used: dropped from this node's view; re-broadcasting the *same bytes*
  is safe (same hash, it can execute at most once) and a same-nonce replacement cancels it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from perpcli.domain.errors import NetworkError, OutcomeUnknown, RiskRefused, UsageError, VenueRejected
from perpcli.venues.ostium import abi, abicodec, errors
from perpcli.venues.ostium.rpc import NoAnswer, RpcError
from perpcli.venues.ostium.transactions import Eip1559Tx, SignedTx, sign

if TYPE_CHECKING:
    from perpcli.keys.signer import Signer
    from perpcli.venues.ostium.journal import TxJournal
    from perpcli.venues.ostium.networks import OstiumNetwork
    from perpcli.venues.ostium.nonces import EvmNonceAllocator
    from perpcli.venues.ostium.rpc import JsonRpc

GWEI = Decimal(10**9)
REPLACEMENT_BUMP = Decimal("1.125")  # nodes want >= 10% more on both fees to replace a pending tx


@dataclass(frozen=True, slots=True)
class FeePolicy:
    """How much gas a transaction may buy. `max_fee_gwei` is the trader's cap (config): a base
    fee so high that base + tip exceeds it refuses the action locally (exit 7) instead of
    paying it."""

    max_fee_gwei: Decimal = Decimal("1")
    priority_fee_gwei: Decimal = Decimal("0")  # Arbitrum ignores tips; the sequencer is first-come
    gas_limit_multiplier: Decimal = Decimal("1.25")  # headroom over eth_estimateGas
    gas_limit_cap: int = 5_000_000

    def __post_init__(self) -> None:
        if self.max_fee_gwei <= 0 or self.priority_fee_gwei < 0 or self.priority_fee_gwei > self.max_fee_gwei:
            raise UsageError("gas fees: need 0 <= priority fee <= max fee, and max fee > 0")
        if self.gas_limit_multiplier < 1 or self.gas_limit_cap < 21_000:
            raise UsageError("gas limit: multiplier must be >= 1 and the cap >= 21000")

    @property
    def cap_wei(self) -> int:
        return int(self.max_fee_gwei * GWEI)

    @property
    def tip_wei(self) -> int:
        return int(self.priority_fee_gwei * GWEI)


class TxState(StrEnum):
    SUCCEEDED = "succeeded"
    REVERTED = "reverted"
    PENDING = "pending"  # known to the node, not mined (or not yet at the wanted depth)
    REPLACED = "replaced"  # its nonce was used by another transaction: it can never execute
    DROPPED = "dropped"  # unknown to the node and its nonce is still free


@dataclass
class Receipt:
    tx_hash: str
    succeeded: bool
    block_number: int
    gas_used: int
    effective_gas_price: int
    logs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def fee_wei(self) -> int:
        return self.gas_used * self.effective_gas_price


@dataclass
class Settlement:
    state: TxState
    tx_hash: str
    nonce: int
    receipt: Receipt | None = None
    confirmations: int = 0
    revert: abi.DecodedRevert | None = None

    @property
    def final(self) -> bool:
        return self.state in (TxState.SUCCEEDED, TxState.REVERTED, TxState.REPLACED)


def _int(hex_text: Any) -> int:
    if not isinstance(hex_text, str) or not hex_text.startswith("0x"):
        raise NetworkError(f"the RPC node sent a malformed quantity {str(hex_text)[:40]!r}", retryable=False)
    return int(hex_text, 16)


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


class Chain:
    """One network's node, as the Ostium adapter uses it."""

    def __init__(self, rpc: JsonRpc, network: OstiumNetwork, *, fees: FeePolicy | None = None,
                 confirmations: int = 1, receipt_timeout_s: float = 60.0, poll_s: float = 0.25,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        if confirmations < 1:
            raise UsageError("confirmations must be at least 1 (the block that includes the transaction)")
        self.rpc = rpc
        self.network = network
        self.fees = fees or FeePolicy()
        self.confirmations = confirmations
        self.receipt_timeout_s = receipt_timeout_s
        self.poll_s = poll_s
        self._clock = clock
        self._sleep = sleep
        self._chain_checked = False

    # ----- reads -------------------------------------------------------------------------

    def check_chain_id(self) -> None:
        """Refuse to sign for a node on another chain than the venue's (a wrong --rpc-url)."""
        if self._chain_checked:
            return
        got = _int(self.rpc.call("eth_chainId"))
        if got != self.network.chain_id:
            raise UsageError(f"the RPC node is on chain {got}, but Ostium {self.network.name} is chain "
                             f"{self.network.chain_id}: check the RPC URL")
        self._chain_checked = True

    def block_number(self) -> int:
        return _int(self.rpc.call("eth_blockNumber"))

    def nonce(self, address: str, block: str = "latest") -> int:
        return _int(self.rpc.call("eth_getTransactionCount", [address, block]))

    def eth_call(self, to: str, data: bytes, *, sender: str | None = None, block: str | int = "latest") -> bytes:
        """Result bytes; a revert is VenueRejected with the decoded custom error."""
        call: dict[str, str] = {"to": to, "data": _hex(data)}
        if sender:
            call["from"] = sender
        tag = hex(block) if isinstance(block, int) else block
        try:
            result = self.rpc.call("eth_call", [call, tag])
        except RpcError as e:
            raise self._rejection(e) from None
        return bytes.fromhex(result[2:]) if isinstance(result, str) and result.startswith("0x") else b""

    def logs(self, address: str, topics: list[str | None], from_block: int, to_block: int | str = "latest") -> list[dict]:
        """eth_getLogs for one contract; topics as 0x-hex (None: any)."""
        query = {"address": address, "fromBlock": hex(from_block),
                 "toBlock": hex(to_block) if isinstance(to_block, int) else to_block, "topics": topics}
        result = self.rpc.call("eth_getLogs", [query])
        if not isinstance(result, list):
            raise NetworkError("the RPC node answered eth_getLogs with something other than a list", retryable=False)
        return [log for log in result if isinstance(log, dict)]

    def call_function(self, contract: str, name: str, to: str, *args: Any) -> tuple[Any, ...]:
        """A view's decoded outputs. An empty answer means no contract is there (a wrong RPC URL,
        or a devnet without Ostium deployed); an answer of the wrong shape is the node's fault."""
        fn = abi.function(contract, name)
        raw = self.eth_call(to, fn.encode(*args))
        if not raw and fn.output_types:
            raise UsageError(f"no Ostium {contract} contract answers at {to} on this RPC node (chain "
                             f"{self.network.chain_id}): is the RPC URL right, and is Ostium deployed there?")
        try:
            return fn.decode_output(raw)
        except abicodec.AbiDecodeError:  # an answer shaped unlike the ABI
            raise NetworkError(f"the RPC node's answer to {contract}.{name} does not decode", retryable=False) from None

    # ----- gas ---------------------------------------------------------------------------

    def fee_caps(self) -> tuple[int, int]:
        """(maxFeePerGas, maxPriorityFeePerGas) in wei: twice the base fee plus the tip, but
        never above the configured cap; refused locally when the cap cannot even cover
        base + tip now (the transaction would sit unmined)."""
        block = self.rpc.call("eth_getBlockByNumber", ["latest", False])
        base = _int(block.get("baseFeePerGas", "0x0")) if isinstance(block, dict) else 0
        tip = self.fees.tip_wei
        cap = self.fees.cap_wei
        if base + tip > cap:
            raise RiskRefused(
                f"gas price too high: base fee {Decimal(base) / GWEI} gwei + tip {self.fees.priority_fee_gwei} gwei "
                f"is above your cap of {self.fees.max_fee_gwei} gwei (venues.<name>.max_fee_gwei); nothing was sent",
                guard="gas-cap")
        return min(2 * base + tip, cap), tip

    def estimate_gas(self, sender: str, to: str, data: bytes) -> int:
        """Gas limit with headroom; a revert in simulation is the venue refusing (exit 3) before
        anything was signed or sent."""
        try:
            estimate = _int(self.rpc.call("eth_estimateGas", [{"from": sender, "to": to, "data": _hex(data)}]))
        except RpcError as e:
            raise self._rejection(e) from None
        limit = int(Decimal(estimate) * self.fees.gas_limit_multiplier)
        if limit > self.fees.gas_limit_cap:
            raise RiskRefused(f"the transaction needs {limit} gas, above the cap of {self.fees.gas_limit_cap}",
                              guard="gas-limit")
        return limit

    # ----- sending -----------------------------------------------------------------------

    def prepare(self, signer: Signer, to: str, data: bytes, nonces: EvmNonceAllocator) -> SignedTx:
        """Simulate, price and sign; takes a nonce last, after everything that can refuse."""
        self.check_chain_id()
        gas = self.estimate_gas(signer.address, to, data)
        max_fee, tip = self.fee_caps()
        nonce = nonces.allocate(lambda: self.nonce(signer.address, "pending"))
        try:
            tx = Eip1559Tx(chain_id=self.network.chain_id, nonce=nonce, max_priority_fee_per_gas=tip,
                           max_fee_per_gas=max_fee, gas=gas, to=to, data=data)
            return sign(tx, signer)
        except BaseException:
            nonces.release(nonce)
            raise

    def broadcast(self, signed: SignedTx, *, nonces: EvmNonceAllocator | None = None) -> bool:
        """True when the node took it (or already had it), False when no answer came (the
        caller settles by hash). A refusal raises; a refused transaction gives its nonce back."""
        try:
            self.rpc.call("eth_sendRawTransaction", [signed.raw_hex], retry_read=False)
            return True
        except NoAnswer:
            return False
        except RpcError as e:
            kind = errors.kind_of_message(e.message)
            if "already known" in e.message.lower():
                return True  # these very bytes are in the pool already
            if kind is errors.K.NONCE:  # maybe our own earlier broadcast of this transaction was mined
                settled = self.settle(signed)
                if settled.state in (TxState.SUCCEEDED, TxState.REVERTED, TxState.PENDING):
                    return True
            elif nonces is not None:
                nonces.release(signed.tx.nonce)
            raise VenueRejected(f"the node refused the transaction: {e.message}", kind=kind) from None

    def send_and_wait(self, signed: SignedTx, *, nonces: EvmNonceAllocator | None = None,
                      journal: TxJournal | None = None, label: str = "") -> Settlement:
        """Broadcast once, then wait for the receipt at the configured depth.

        Raises OutcomeUnknown (exit 6, naming hash and nonce) when it is still not final at the
        timeout; VenueRejected when it was mined but reverted (gas was spent)."""
        if journal is not None:
            journal.record(signed, label)  # before the bytes leave: a killed process can settle later
        try:
            self.broadcast(signed, nonces=nonces)
        except VenueRejected:
            if journal is not None:
                journal.forget(signed.hash_hex)  # refused outright: nothing to settle
            raise
        settled = self.wait(signed)
        if journal is not None and settled.final:
            journal.forget(signed.hash_hex)
        return self.raise_unless_succeeded(settled)

    def wait(self, signed: SignedTx, timeout_s: float | None = None) -> Settlement:
        deadline = self._clock() + (self.receipt_timeout_s if timeout_s is None else timeout_s)
        while True:
            try:
                settled = self.settle(signed)
            except NetworkError:
                settled = None  # a failed poll is not an outcome; keep asking until the deadline
            if settled is not None and (settled.state is TxState.REPLACED or (
                    settled.final and settled.confirmations >= self.confirmations)):
                return settled
            if self._clock() >= deadline:
                if settled is None:
                    return Settlement(TxState.PENDING, signed.hash_hex, signed.tx.nonce)
                if settled.receipt is not None:  # mined, but not yet as deep as asked: not final
                    settled.state = TxState.PENDING
                return settled
            self._sleep(self.poll_s)

    def raise_unless_succeeded(self, settled: Settlement) -> Settlement:
        if settled.state is TxState.SUCCEEDED:
            return settled
        where = f"transaction {settled.tx_hash} (nonce {settled.nonce})"
        if settled.state is TxState.REVERTED:
            revert = settled.revert or abi.DecodedRevert("", (), b"")
            raise VenueRejected(f"Ostium refused: {errors.describe_revert(revert)} ({where}, mined and reverted)",
                                kind=errors.kind_of_revert(revert))
        if settled.state is TxState.REPLACED:
            raise VenueRejected(f"{where} was replaced by another transaction with the same nonce; it will "
                                "never execute", kind=errors.K.NONCE)
        if settled.state is TxState.PENDING and settled.receipt is not None:
            raise OutcomeUnknown(f"{where} is mined with {settled.confirmations} of {self.confirmations} "
                                 "confirmations; ask again to settle it")
        raise OutcomeUnknown(f"{where} is not mined yet ({settled.state}); it may still execute. Settle it by "
                             "hash later; do not send the order again")

    # ----- settling ----------------------------------------------------------------------

    def settle(self, signed: SignedTx) -> Settlement:
        """Where this transaction stands, from the chain alone (never sends anything)."""
        h, nonce = signed.hash_hex, signed.tx.nonce
        receipt = self.receipt(h)
        if receipt is not None:
            depth = max(0, self.block_number() - receipt.block_number + 1)
            if not receipt.succeeded:
                return Settlement(TxState.REVERTED, h, nonce, receipt, depth, self.revert_reason(signed, receipt))
            return Settlement(TxState.SUCCEEDED, h, nonce, receipt, depth)
        if self.rpc.call("eth_getTransactionByHash", [h]) is not None:
            return Settlement(TxState.PENDING, h, nonce)
        if self.nonce(signed.sender, "latest") > nonce:
            receipt = self.receipt(h)  # mined between the two questions?
            if receipt is not None:
                return self.settle(signed)
            return Settlement(TxState.REPLACED, h, nonce)
        return Settlement(TxState.DROPPED, h, nonce)

    def receipt(self, tx_hash: str) -> Receipt | None:
        r = self.rpc.call("eth_getTransactionReceipt", [tx_hash])
        if not isinstance(r, dict) or r.get("blockNumber") is None:
            return None
        return Receipt(tx_hash=tx_hash, succeeded=_int(r.get("status", "0x0")) == 1,
                       block_number=_int(r["blockNumber"]), gas_used=_int(r.get("gasUsed", "0x0")),
                       effective_gas_price=_int(r.get("effectiveGasPrice", "0x0")), logs=list(r.get("logs") or []))

    def revert_reason(self, signed: SignedTx, receipt: Receipt) -> abi.DecodedRevert:
        """Replays the reverted call on the state before its block to read the revert data."""
        call = {"from": signed.sender, "to": signed.tx.to, "data": _hex(signed.tx.data), "gas": hex(signed.tx.gas)}
        try:
            self.rpc.call("eth_call", [call, hex(max(0, receipt.block_number - 1))])
        except RpcError as e:
            return abi.decode_revert(e.revert_data() or b"")
        except NetworkError:
            pass
        return abi.DecodedRevert("", (), b"")

    def replacement(self, signed: SignedTx) -> Eip1559Tx:
        """A zero-value self-transfer with the same nonce and >= 12.5% higher fees: mined
        first, it cancels `signed` for good (the only way to cancel a pending transaction)."""
        tx = signed.tx
        tip = max(int(tx.max_priority_fee_per_gas * REPLACEMENT_BUMP) + 1, self.fees.tip_wei)
        max_fee = max(int(tx.max_fee_per_gas * REPLACEMENT_BUMP) + 1, tip)
        if max_fee > self.fees.cap_wei:
            raise RiskRefused(f"cancelling needs a max fee of {Decimal(max_fee) / GWEI} gwei, above your cap of "
                              f"{self.fees.max_fee_gwei} gwei", guard="gas-cap")
        return Eip1559Tx(chain_id=tx.chain_id, nonce=tx.nonce, max_priority_fee_per_gas=tip, max_fee_per_gas=max_fee,
                         gas=21_000, to=signed.sender, data=b"")

    # ----- errors ------------------------------------------------------------------------

    @staticmethod
    def _rejection(e: RpcError) -> VenueRejected:
        data = e.revert_data()
        if data is not None or "revert" in e.message.lower():
            revert = abi.decode_revert(data or b"")
            if not revert.name and not data:
                return VenueRejected(f"Ostium refused: {e.message}", kind=errors.kind_of_message(e.message))
            return VenueRejected(f"Ostium refused: {errors.describe_revert(revert)}", kind=errors.kind_of_revert(revert))
        return VenueRejected(f"the RPC node refused: {e.message}", kind=errors.kind_of_message(e.message))
