"""The Signer: the only object that ever holds private-key material.

Its repr and str are redacted, it refuses to be pickled, and it exposes only what signing
needs: the address and `sign_digest`. Nothing here reads a clock or does I/O; creating one
turns core dumps off for the process (keys/process_guard.py).
secp256k1 comes from coincurve (libsecp256k1): RFC 6979 deterministic signatures, ~30x
faster than eth-keys' pure-Python fallback.
"""

from __future__ import annotations

from dataclasses import dataclass

from perpcli.domain.errors import AuthError
from perpcli.keys.hashing import keccak256

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@dataclass(frozen=True, slots=True)
class Signature:
    """An Ethereum-style signature: r, s as integers, v in {27, 28}."""

    r: int
    s: int
    v: int

    def to_wire(self) -> dict:
        """The shape Hyperliquid's /exchange takes: r and s as 0x + 64 hex, v as an int."""
        return {"r": f"0x{self.r:064x}", "s": f"0x{self.s:064x}", "v": self.v}

    def to_bytes(self) -> bytes:
        return self.r.to_bytes(32, "big") + self.s.to_bytes(32, "big") + bytes([self.v])


def parse_private_key(text: str) -> bytes:
    """Turn '0x…' or bare 64-hex into 32 key bytes; the error never echoes the input."""
    t = text.strip()
    if t.startswith(("0x", "0X")):
        t = t[2:]
    if len(t) != 64:
        raise AuthError("malformed private key: expected 64 hex digits (optionally 0x-prefixed)")
    try:
        raw = bytes.fromhex(t)
    except ValueError:
        raise AuthError("malformed private key: not hexadecimal") from None
    k = int.from_bytes(raw, "big")
    if not 0 < k < SECP256K1_N:
        raise AuthError("malformed private key: outside the secp256k1 range")
    return raw


def address_of_public_key(uncompressed: bytes) -> str:
    """0x-address (lowercase) of a 65-byte uncompressed public key."""
    return "0x" + keccak256(uncompressed[1:])[-20:].hex()


class Signer:
    """Holds one private key; signs 32-byte digests. The key never leaves this object."""

    __slots__ = ("_key", "_address", "name")

    def __init__(self, private_key: bytes, *, name: str = "") -> None:
        from coincurve import PrivateKey  # C library; loaded only when a key is used

        from perpcli.keys.process_guard import protect_key_material

        protect_key_material()  # before the key is copied into libsecp256k1's memory
        if len(private_key) != 32:
            raise AuthError("malformed private key: expected 32 bytes")
        self._key = PrivateKey(private_key)
        self._address = address_of_public_key(self._key.public_key.format(compressed=False))
        self.name = name

    @classmethod
    def from_hex(cls, text: str, *, name: str = "") -> Signer:
        return cls(parse_private_key(text), name=name)

    @property
    def address(self) -> str:
        """Lowercase 0x-address of this key."""
        return self._address

    def sign_digest(self, digest: bytes) -> Signature:
        """Sign a 32-byte digest as is (no further hashing)."""
        if len(digest) != 32:
            raise ValueError("digest must be 32 bytes")
        sig = self._key.sign_recoverable(digest, hasher=None)
        return Signature(
            r=int.from_bytes(sig[0:32], "big"), s=int.from_bytes(sig[32:64], "big"), v=27 + sig[64]
        )

    def export_private_key_bytes(self) -> bytes:
        """Only for writing an encrypted keystore; never print or log the result."""
        return self._key.secret

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<Signer{label} {self._address} key=<redacted>>"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("a Signer cannot be pickled")


def recover_address(digest: bytes, r: int, s: int, v: int) -> str:
    """Address that produced (r, s, v) over `digest`; raises ValueError when it cannot recover."""
    from coincurve import PublicKey

    if v in (27, 28):
        rec = v - 27
    elif v in (0, 1):
        rec = v
    else:
        raise ValueError(f"bad signature v={v}")
    if not (0 < r < SECP256K1_N and 0 < s < SECP256K1_N):
        raise ValueError("bad signature r/s")
    sig = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([rec])
    pub = PublicKey.from_signature_and_message(sig, digest, hasher=None)
    return address_of_public_key(pub.format(compressed=False))
