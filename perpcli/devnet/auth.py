"""Who sent this /exchange request, and may it act? (protocol notes §b.3, §b.5, §d.5)

Steps, as the venue does them: recover the signer X from the canonicalised action (via the
venue package's verify module), resolve X to the account it acts for (X itself, or the
master that approved X as an agent), check X's nonce window and `expiresAfter`, and check
`vaultAddress`. Nothing here does I/O or reads a clock: `now_ms` is an argument.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from perpcli.devnet.records import ActionError

NONCE_SET_SIZE = 100
NONCE_PAST_MS = 2 * 24 * 3600 * 1000  # a nonce may be up to 2 days old...
NONCE_FUTURE_MS = 1 * 24 * 3600 * 1000  # ...and up to 1 day ahead of the server clock

# Actions an agent (API wallet) can never perform: everything that moves money out or
# manages permissions is user-signed by the master's own key on the venue.
USER_SIGNED_TYPES = frozenset(
    {
        "usdSend",
        "spotSend",
        "withdraw3",
        "usdClassTransfer",
        "sendAsset",
        "approveAgent",
        "approveBuilderFee",
        "tokenDelegate",
        "cDeposit",
        "cWithdraw",
        "userSetAbstraction",
        "userDexAbstraction",
    }
)


class NonceWindow:
    """One signer's 100 highest nonces (§d.5): reject reuse, too-small and out-of-time nonces."""

    __slots__ = ("_nonces",)

    def __init__(self, nonces: list[int] | None = None) -> None:
        self._nonces: list[int] = sorted(nonces or [])

    def check(self, nonce: int, now_ms: int) -> None:
        """Raise ActionError with the venue's wording if `nonce` may not be used now."""
        if nonce in self:
            raise ActionError(f"Invalid nonce: duplicate nonce {nonce}")
        if len(self._nonces) >= NONCE_SET_SIZE and nonce <= self._nonces[0]:
            raise ActionError(
                f"Invalid nonce: nonce {nonce} is not greater than the smallest of the last "
                f"{NONCE_SET_SIZE} nonces ({self._nonces[0]})"
            )
        if nonce <= now_ms - NONCE_PAST_MS:
            raise ActionError(f"Invalid nonce: nonce {nonce} is too far in the past (server time {now_ms})")
        if nonce >= now_ms + NONCE_FUTURE_MS:
            raise ActionError(f"Invalid nonce: nonce {nonce} is too far in the future (server time {now_ms})")

    def __contains__(self, nonce: int) -> bool:
        i = bisect.bisect_left(self._nonces, nonce)
        return i < len(self._nonces) and self._nonces[i] == nonce

    def use(self, nonce: int) -> None:
        bisect.insort(self._nonces, nonce)
        if len(self._nonces) > NONCE_SET_SIZE:
            del self._nonces[0]

    def to_list(self) -> list[int]:
        return list(self._nonces)


@dataclass
class NonceBook:
    """Nonce windows of every signer seen (agents and users alike)."""

    windows: dict[str, NonceWindow] = field(default_factory=dict)

    def check_and_use(self, signer: str, nonce: int, now_ms: int) -> None:
        window = self.windows.get(signer)
        if window is None:
            window = self.windows[signer] = NonceWindow()
        if nonce in window:
            raise ActionError(f"Invalid nonce: duplicate nonce {nonce}")
        window.check(nonce, now_ms)
        window.use(nonce)

    def check_only(self, signer: str, nonce: int, now_ms: int) -> None:
        window = self.windows.get(signer)
        if window is None:
            window = NonceWindow()
        if nonce in window:
            raise ActionError(f"Invalid nonce: duplicate nonce {nonce}")
        window.check(nonce, now_ms)

    def use(self, signer: str, nonce: int) -> None:
        self.windows.setdefault(signer, NonceWindow()).use(nonce)

    def to_json(self) -> dict:
        return {k: w.to_list() for k, w in self.windows.items()}

    @classmethod
    def from_json(cls, data: dict) -> NonceBook:
        return cls({k: NonceWindow([int(n) for n in v]) for k, v in data.items()})


@dataclass(frozen=True)
class Authorised:
    """The outcome of authentication: who signed, and which account the action moves."""

    signer: str  # recovered address (lowercase)
    account: str  # the account acted for (master, or vault/sub-account)
    is_agent: bool


def check_expires_after(expires_after: object, now_ms: int, *, user_signed: bool) -> None:
    """`expiresAfter` (§a.2.1, §b.5 step 7): stale → refused; user-signed → not allowed at all."""
    if expires_after is None:
        return
    if user_signed:
        raise ActionError("expiresAfter is not supported for user-signed actions")
    if isinstance(expires_after, bool) or not isinstance(expires_after, int):
        raise ActionError("Invalid expiresAfter")
    if now_ms > expires_after:
        raise ActionError(f"Action expired: expiresAfter {expires_after} is before server time {now_ms}")


def recover_signer(envelope: dict, is_mainnet: bool) -> str:
    """The lowercase address that signed this /exchange envelope (§b.5 steps 2-4).

    L1 actions are canonicalised first (key order, decimals, hex case) the way the venue
    re-serialises them (the venue package's verify module), so a client that hashed something
    else recovers a different address. A body the canonicaliser cannot read raises
    `SignatureShapeError` (HTTP 422); a signature that recovers nothing raises ActionError.
    """
    from perpcli.domain.errors import AuthError, ValidationError
    from perpcli.venues.hyperliquid.verify import recover_exchange_signer

    try:
        return recover_exchange_signer(envelope, is_mainnet=is_mainnet).lower()
    except AuthError as e:
        raise ActionError(f"Invalid signature: {e.message}") from None
    except ValidationError as e:
        raise SignatureShapeError(e.message) from None


class SignatureShapeError(Exception):
    """The action or signature does not deserialize into the venue's types (→ HTTP 422)."""
