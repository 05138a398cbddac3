"""How the Aster face checks a signed v3 request: the signature over the bytes received, and
the nonce rules the venue applies.

The venue recovers the EIP-712 `Message{msg}` signer over the exact url-encoded string it
received (everything before `&signature=`), compares it with the `signer` parameter, and
accepts the signer when it is the `user` itself or an agent the user approved. Nonces are
microseconds: within `NONCE_WINDOW_MS` of the server clock, never seen before for that signer,
and, once the signer's last `NONCE_KEEP` nonces are kept, not below the smallest of them
(protocol notes §Aster signing: the ±60 s per-signer rule of the mid-2026 docs).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from perpcli.devnet.aster.errors import AsterError

NONCE_WINDOW_MS = 60_000
NONCE_KEEP = 100


@dataclass(slots=True)
class SignedRequest:
    params: dict[str, str]
    user: str  # lowercase
    signer: str  # lowercase
    nonce: int


@dataclass
class NonceBook:
    """Each signer's most recent nonces, kept sorted (at most NONCE_KEEP)."""

    seen: dict[str, list[int]] = field(default_factory=dict)

    def check(self, signer: str, nonce: int, now_ms: int) -> None:
        if abs(nonce // 1000 - now_ms) > NONCE_WINDOW_MS:
            raise AsterError(-1021, "Timestamp for this request is outside of the recvWindow.")
        kept = self.seen.get(signer, [])
        i = bisect.bisect_left(kept, nonce)
        if i < len(kept) and kept[i] == nonce:
            raise AsterError(-4225, "Nonce already used.")
        if len(kept) >= NONCE_KEEP and nonce < kept[0]:
            raise AsterError(-4225, "Nonce Expired")

    def spend(self, signer: str, nonce: int) -> None:
        kept = self.seen.setdefault(signer, [])
        bisect.insort(kept, nonce)
        if len(kept) > NONCE_KEEP:
            del kept[0]


def parse_params(wire: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(wire, keep_blank_values=True, strict_parsing=bool(wire))
    except ValueError:
        raise AsterError(-1100, "Illegal characters found in a parameter.") from None
    return dict(pairs)


def _address(params: dict[str, str], key: str) -> str:
    value = params.get(key, "")
    if not value:
        raise AsterError(-1102, f"Mandatory parameter '{key}' was not sent, was empty/null, or malformed.")
    low = value.lower()
    if len(low) != 42 or not low.startswith("0x"):
        raise AsterError(-1102, f"Mandatory parameter '{key}' was not sent, was empty/null, or malformed.")
    try:
        int(low[2:], 16)
    except ValueError:
        raise AsterError(-1102, f"Mandatory parameter '{key}' was not sent, was empty/null, or malformed.") from None
    return low


def verify(wire: str, *, chain_id: int, now_ms: int, nonces: NonceBook, may_sign) -> SignedRequest:
    """Check one signed request (`wire` = query or form body as received) and spend its nonce.

    `may_sign(signer, user)` says whether `signer` may act for `user` (itself or an agent).
    """
    from perpcli.venues.aster.signing import recover_signer

    msg, sep, signature = wire.rpartition("&signature=")
    if not sep or not signature or "&" in signature:
        raise AsterError(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
    params = parse_params(msg)
    user = _address(params, "user")
    signer = _address(params, "signer")
    text = params.get("nonce", "")
    if not text.isdigit():
        raise AsterError(-1102, "Mandatory parameter 'nonce' was not sent, was empty/null, or malformed.")
    nonce = int(text)
    try:
        recovered = recover_signer(msg, signature, chain_id=chain_id)
    except ValueError:
        raise AsterError(-1022, "Signature for this request is not valid.") from None
    if recovered != signer:
        raise AsterError(-1022, "Signature for this request is not valid.")
    if not may_sign(signer, user):
        raise AsterError(-2015, "Invalid API-key, IP, or permissions for action.")
    nonces.check(signer, nonce, now_ms)
    nonces.spend(signer, nonce)
    return SignedRequest(params, user, signer, nonce)
