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

# The most work a keystore read from disk may ask for. geth's standard scrypt is n=2^18, r=8,
# p=1 (its "light" one n=2^12, p=6), as Foundry and MetaMask write it; pbkdf2 keystores use
# c <= 10^6 (eth-account's default). The limits leave 4x (scrypt) and 10x (pbkdf2) headroom:
# anything beyond is refused, because a hostile file could otherwise pin the CPU or memory
# for minutes (n=2^19 with p=1000, or c=2^31-1) before the passphrase is even checked.
MAX_SCRYPT_N = 1 << 20
MAX_SCRYPT_R = 32
MAX_SCRYPT_P = 16
MAX_SCRYPT_MEMORY = 1 << 30  # bytes: 128 * r * n, 1 GiB is n=2^20 with r=8
MAX_SCRYPT_WORK = 1 << 24  # n * r * p: n=2^20, r=8, p=2
MAX_PBKDF2_C = 10_000_000
DKLEN_RANGE = (32, 64)  # the MAC needs dk[16:32]


def _aes_ctr(key16: bytes, iv: bytes, data: bytes) -> bytes:
    from Crypto.Cipher import AES  # pycryptodome, C implementation
    from Crypto.Util import Counter

    ctr = Counter.new(128, initial_value=int.from_bytes(iv, "big"))
    return AES.new(key16, AES.MODE_CTR, counter=ctr).encrypt(data)


def _int_param(params: dict[str, Any], name: str, kdf: str, lo: int, hi: int, source: str,
               default: int | None = None) -> int:
    """A KDF parameter as a JSON integer in [lo, hi]; the error names the parameter."""
    value = params.get(name, default)
    if value is None:
        raise AuthError(f"{source}: keystore {kdf} parameters lack {name!r}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise AuthError(f"{source}: keystore {kdf} parameter {name} must be a whole number, "
                        f"got {type(value).__name__}")
    if not lo <= value <= hi:
        digits = len(str(abs(value)))
        shown = str(value) if digits <= 24 else f"<a {digits}-digit number>"
        raise AuthError(f"{source}: keystore {kdf} parameter {name}={shown} is outside the range perp "
                        f"accepts ({lo}..{hi}); refusing it rather than spending minutes on it")
    return value


def _kdf_call(passphrase: str, kdf: str, params: Any, source: str):
    """Check the parameters against the limits above and return (function, kwargs) that derive the key."""
    import hashlib  # loads OpenSSL: only when a key is encrypted or unlocked

    if not isinstance(params, dict):
        raise AuthError(f"{source}: keystore kdfparams must be a JSON object")
    try:
        salt = bytes.fromhex(params["salt"])
    except (KeyError, ValueError, TypeError):
        raise AuthError(f"{source}: keystore kdfparams salt is missing or not hexadecimal") from None
    dklen = _int_param(params, "dklen", kdf, *DKLEN_RANGE, source, default=DKLEN)
    pw = passphrase.encode("utf-8")
    if kdf == "scrypt":
        n = _int_param(params, "n", kdf, 2, MAX_SCRYPT_N, source)
        r = _int_param(params, "r", kdf, 1, MAX_SCRYPT_R, source)
        p = _int_param(params, "p", kdf, 1, MAX_SCRYPT_P, source)
        if n & (n - 1):
            raise AuthError(f"{source}: keystore scrypt parameter n={n} is not a power of two")
        if 128 * r * n > MAX_SCRYPT_MEMORY:
            raise AuthError(f"{source}: keystore scrypt parameters n={n}, r={r} need {128 * r * n >> 20} MiB "
                            f"(perp accepts up to {MAX_SCRYPT_MEMORY >> 20} MiB)")
        if n * r * p > MAX_SCRYPT_WORK:
            raise AuthError(f"{source}: keystore scrypt parameters n={n}, r={r}, p={p} ask for more work "
                            f"than perp accepts (n*r*p up to {MAX_SCRYPT_WORK})")
        maxmem = 128 * r * (n + p + 2) + (1 << 20)  # OpenSSL's own need, plus slack
        return hashlib.scrypt, dict(password=pw, salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=maxmem)
    if kdf == "pbkdf2":
        if params.get("prf", "hmac-sha256") != "hmac-sha256":
            raise AuthError(f"{source}: unsupported keystore pbkdf2 prf {params.get('prf')!r}")
        c = _int_param(params, "c", kdf, 1, MAX_PBKDF2_C, source)
        kwargs = dict(hash_name="sha256", password=pw, salt=salt, iterations=c, dklen=dklen)
        return hashlib.pbkdf2_hmac, kwargs
    raise AuthError(f"{source}: unsupported keystore kdf {kdf!r} (expected scrypt or pbkdf2)")


def _derive(passphrase: str, kdf: str, params: Any, *, source: str = "keystore") -> bytes:
    """The derived key. The slow C call runs in a worker thread while this (main) thread waits
    on an Event: a wait Ctrl-C interrupts, where a C call holding the main thread would not
    notice SIGINT until it returned, seconds later."""
    fn, kwargs = _kdf_call(passphrase, kdf, params, source)
    try:
        return _interruptible(fn, kwargs)
    except (ValueError, MemoryError) as e:  # e.g. OpenSSL refusing the memory on a small machine
        raise AuthError(f"{source}: cannot derive the keystore key ({type(e).__name__}: {e})") from None


def _interruptible(fn, kwargs: dict[str, Any]) -> bytes:
    import threading

    outcome: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            outcome["value"] = fn(**kwargs)
        except BaseException as e:  # handed to the waiting thread
            outcome["error"] = e
        finally:
            done.set()

    # A daemon thread: after Ctrl-C the process exits without waiting for the derivation.
    threading.Thread(target=work, name="perp-keystore-kdf", daemon=True).start()
    done.wait()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def encrypt(private_key: bytes, passphrase: str, *, address: str, scrypt_n: int = DEFAULT_SCRYPT_N) -> dict:
    """Return a keystore v3 document for `private_key` (32 bytes) under `passphrase`."""
    if scrypt_n < 2 or scrypt_n & (scrypt_n - 1):
        raise UsageError(f"keys.scrypt_n must be a power of two >= 2, got {scrypt_n}")
    if scrypt_n > MAX_SCRYPT_N:  # never write a keystore perp itself would refuse to read
        raise UsageError(f"keys.scrypt_n must be at most {MAX_SCRYPT_N}, got {scrypt_n}")
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
    except ValueError:  # json refuses integers of more than 4300 digits this way
        raise AuthError(f"{source}: not a keystore (a number in it is absurdly long)") from None
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

    from perpcli.keys.process_guard import protect_key_material

    protect_key_material()  # the derived key and the secret are about to be in memory
    dk = _derive(passphrase, crypto["kdf"], crypto["kdfparams"], source=source)
    if not hmac.compare_digest(keccak256(dk[16:32] + ciphertext), mac):
        raise AuthError(f"{source}: wrong passphrase")
    secret = _aes_ctr(dk[:16], iv, ciphertext)
    if len(secret) != 32:
        raise AuthError(f"{source}: keystore secret is not a 32-byte key")
    return secret
