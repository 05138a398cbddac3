"""EIP-1559 (type 2) transactions: build, sign with perpcli's Signer, and read back.

Signing goes through keys/signer.Signer so the private key never leaves it (eth-account
would want the key bytes). The serialisation is EIP-2718/1559:
`0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data,
accessList, yParity, r, s])`, signed over keccak(0x02 || rlp(first nine fields)). The
transaction hash (keccak of the raw bytes) is known before broadcasting, which is what lets
a broadcast whose answer was lost be settled by hash and nonce instead of being resent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from perpcli.keys.hashing import keccak256
from perpcli.keys.signer import SECP256K1_N, recover_address
from perpcli.venues.ostium import rlp
from perpcli.venues.ostium.calls import address

if TYPE_CHECKING:
    from perpcli.keys.signer import Signer

TX_TYPE = 0x02
_HALF_N = SECP256K1_N // 2


@dataclass(frozen=True, slots=True)
class Eip1559Tx:
    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int  # wei
    max_fee_per_gas: int  # wei
    gas: int
    to: str
    data: bytes
    value: int = 0

    def __post_init__(self) -> None:
        for name in ("chain_id", "nonce", "max_priority_fee_per_gas", "max_fee_per_gas", "gas", "value"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v >= 2**256:
                raise ValueError(f"{name} must be a uint256, got {v!r}")
        if self.max_priority_fee_per_gas > self.max_fee_per_gas:
            raise ValueError("max priority fee above max fee")
        object.__setattr__(self, "to", address(self.to, "to"))

    def _fields(self) -> list:
        return [self.chain_id, self.nonce, self.max_priority_fee_per_gas, self.max_fee_per_gas, self.gas,
                bytes.fromhex(self.to[2:]), self.value, bytes(self.data), []]

    def signing_digest(self) -> bytes:
        return keccak256(bytes([TX_TYPE]) + rlp.encode(self._fields()))

    def max_cost_wei(self) -> int:
        """The most this transaction can cost in gas plus value."""
        return self.gas * self.max_fee_per_gas + self.value


@dataclass(frozen=True, slots=True)
class SignedTx:
    tx: Eip1559Tx
    sender: str
    raw: bytes

    @property
    def hash(self) -> bytes:
        return keccak256(self.raw)

    @property
    def hash_hex(self) -> str:
        return "0x" + self.hash.hex()

    @property
    def raw_hex(self) -> str:
        return "0x" + self.raw.hex()


def sign(tx: Eip1559Tx, signer: Signer) -> SignedTx:
    sig = signer.sign_digest(tx.signing_digest())
    if sig.s > _HALF_N:  # EIP-2: high-s is invalid; libsecp256k1 never produces one, but say so if it does
        raise ValueError("signer produced a high-s signature")
    raw = bytes([TX_TYPE]) + rlp.encode([*tx._fields(), sig.v - 27, sig.r, sig.s])
    return SignedTx(tx=tx, sender=signer.address, raw=raw)


def decode(raw: bytes) -> SignedTx:
    """A raw type-2 transaction with its recovered sender; ValueError for anything else."""
    if not raw or raw[0] != TX_TYPE:
        raise ValueError("not an EIP-1559 (type 2) transaction")
    try:
        items = rlp.decode(raw[1:])
    except rlp.RlpDecodeError as e:
        raise ValueError(f"bad RLP: {e}") from None
    if not isinstance(items, list) or len(items) != 12 or items[8] != []:
        raise ValueError("a type-2 transaction has 12 fields and (here) an empty access list")
    ints = [int.from_bytes(items[i], "big") for i in (0, 1, 2, 3, 4, 6, 9, 10, 11)]
    chain_id, nonce, tip, max_fee, gas, value, y_parity, r, s = ints
    if len(items[5]) != 20:
        raise ValueError("contract creation and odd recipients are not Ostium transactions")
    tx = Eip1559Tx(chain_id=chain_id, nonce=nonce, max_priority_fee_per_gas=tip, max_fee_per_gas=max_fee,
                   gas=gas, to="0x" + items[5].hex(), data=items[7], value=value)
    if y_parity not in (0, 1):
        raise ValueError("bad y parity")
    sender = recover_address(tx.signing_digest(), r, s, y_parity)
    return SignedTx(tx=tx, sender=sender, raw=bytes(raw))
