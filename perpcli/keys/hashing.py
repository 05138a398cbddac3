"""keccak-256, the one hash Ethereum-style signing needs.

safe-pysha3's C extension: a fraction of the per-call Python bookkeeping (and of the import
time) of pycryptodome's public keccak API (bench/sign.py). An L1 signature needs three
keccaks, so the hash is a large part of the signing floor.
"""

from __future__ import annotations

from sha3 import keccak_256 as _keccak_256


def keccak256(data: bytes) -> bytes:
    return _keccak_256(data).digest()
