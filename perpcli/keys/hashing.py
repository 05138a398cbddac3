"""keccak-256, the one hash Ethereum-style signing needs (pycryptodome's C implementation)."""

from __future__ import annotations

from Crypto.Hash import keccak as _keccak


def keccak256(data: bytes) -> bytes:
    return _keccak.new(digest_bits=256, data=data).digest()
