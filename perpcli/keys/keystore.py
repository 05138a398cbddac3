"""Ethereum keystore v3 (Web3 Secret Storage), as geth, Foundry's `cast wallet` and MetaMask write it.

Written here rather than taken from eth-keyfile/eth-account because importing either costs
~0.4 s (they pull pydantic and eth-utils), which every trading command that unlocks a key would
pay. The format is small and fixed: scrypt (or pbkdf2-hmac-sha256) derives a key; AES-128-CTR
encrypts the secret; keccak256(dk[16:32] + ciphertext) is the MAC. Interop with eth-account is
proven in tests in both directions.
"""

from __future__ import annotations

import json
import os
from typing import Any

from perpcli.domain.errors import AuthError, UsageError

DEFAULT_SCRYPT_N = 262144  # geth's "standard" work factor
SCRYPT_R = 8
SCRYPT_P = 1
DKLEN = 32


def _aes_ctr(key16: bytes, iv: bytes, data: bytes) -> bytes:
    from Crypto.Cipher import AES  # pycryptodome, C implementation
    from Crypto.Util import Counter

    ctr = Counter.new(128, initial_value=int.from_bytes(iv, "big"))
    return AES.new(key16, AES.MODE_CTR, counter=ctr).encrypt(data)


def _derive(passphrase: str, kdf: str, params: dict[str, Any]) -> bytes:
    import hashlib  # loads OpenSSL: only when a key is encrypted or unlocked

    pw = passphrase.encode("utf-8")
    try:
        salt = bytes.fromhex(params["salt"])
        dklen = int(params.get("dklen", DKLEN))
        if kdf == "scrypt":
            n, r, p = int(params["n"]), int(params["r"]), int(params["p"])
            return hashlib.scrypt(pw, salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=256 * r * n + (1 << 24))
        if kdf == "pbkdf2":
            if params.get("prf", "hmac-sha256") != "hmac-sha256":
                raise AuthError(f"unsupported keystore pbkdf2 prf {params.get('prf')!r}")
            return hashlib.pbkdf2_hmac("sha256", pw, salt, int(params["c"]), dklen)
    except (KeyError, ValueError, TypeError) as e:
        raise AuthError(f"malformed keystore kdfparams ({e})") from None
    raise AuthError(f"unsupported keystore kdf {kdf!r} (expected scrypt or pbkdf2)")


def encrypt(private_key: bytes, passphrase: str, *, address: str, scrypt_n: int = DEFAULT_SCRYPT_N) -> dict:
    """Return a keystore v3 document for `private_key` (32 bytes) under `passphrase`."""
    if scrypt_n < 2 or scrypt_n & (scrypt_n - 1):
        raise UsageError(f"keys.scrypt_n must be a power of two >= 2, got {scrypt_n}")
    from perpcli.keys.hashing import keccak256

    salt = os.urandom(32)
    iv = os.urandom(16)
    params = {"dklen": DKLEN, "n": scrypt_n, "p": SCRYPT_P, "r": SCRYPT_R, "salt": salt.hex()}
    dk = _derive(passphrase, "scrypt", params)
    ciphertext = _aes_ctr(dk[:16], iv, private_key)
    mac = keccak256(dk[16:32] + ciphertext)
    import uuid

    return {
        "address": address.lower().removeprefix("0x"),
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": {"iv": iv.hex()},
            "ciphertext": ciphertext.hex(),
            "kdf": "scrypt",
            "kdfparams": params,
            "mac": mac.hex(),
        },
        "id": str(uuid.uuid4()),
        "version": 3,
    }


def parse(text: str, *, source: str = "keystore") -> dict:
    """Parse and shape-check a keystore document; errors name the source, never secrets."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise AuthError(f"{source}: not a keystore (invalid JSON at line {e.lineno})") from None
    if not isinstance(doc, dict):
        raise AuthError(f"{source}: not a keystore (expected a JSON object)")
    crypto = doc.get("crypto", doc.get("Crypto"))
    if doc.get("version") != 3 or not isinstance(crypto, dict):
        raise AuthError(f"{source}: not a keystore v3 document (need version 3 and a crypto section)")
    for field in ("cipher", "ciphertext", "kdf", "kdfparams", "mac", "cipherparams"):
        if field not in crypto:
            raise AuthError(f"{source}: keystore is missing crypto.{field}")
    if crypto["cipher"] != "aes-128-ctr":
        raise AuthError(f"{source}: unsupported keystore cipher {crypto['cipher']!r}")
    return doc


def address_of(doc: dict) -> str | None:
    """The address a keystore declares (lowercase 0x form), or None when it has none."""
    a = doc.get("address")
    if not isinstance(a, str) or not a:
        return None
    a = a.lower()
    return a if a.startswith("0x") else "0x" + a


def decrypt(doc: dict, passphrase: str, *, source: str = "keystore") -> bytes:
    """Return the 32-byte secret; a wrong passphrase raises AuthError (MAC mismatch)."""
    from perpcli.keys.hashing import keccak256

    crypto = doc.get("crypto", doc.get("Crypto"))
    try:
        ciphertext = bytes.fromhex(crypto["ciphertext"])
        iv = bytes.fromhex(crypto["cipherparams"]["iv"])
        mac = bytes.fromhex(crypto["mac"])
    except (KeyError, ValueError, TypeError):
        raise AuthError(f"{source}: malformed keystore crypto section") from None
    import hmac

    dk = _derive(passphrase, crypto["kdf"], crypto["kdfparams"])
    if not hmac.compare_digest(keccak256(dk[16:32] + ciphertext), mac):
        raise AuthError(f"{source}: wrong passphrase")
    secret = _aes_ctr(dk[:16], iv, ciphertext)
    if len(secret) != 32:
        raise AuthError(f"{source}: keystore secret is not a 32-byte key")
    return secret
