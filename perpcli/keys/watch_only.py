"""An address to read, standing where a Signer would stand, that refuses to sign.

Reads (positions, orders, fills, account, the TUI's panels) need only the address whose
state is read, and paying for scrypt or asking for a passphrase to learn an address already
written in the keystore is waste. Every venue's trading side is built with "something that has
an `address` and signs digests"; giving it this object makes a read-only view of the account
through the same seam, with no venue code changed: the first attempt to sign fails with an
AuthError (exit 4) before anything is sent. No crypto is imported here.
"""

from __future__ import annotations

from perpcli.domain.errors import AuthError, UsageError


class WatchOnly:
    """The address of an account (or of a stored key) with no key material behind it."""

    __slots__ = ("_address", "name")
    can_sign = False

    def __init__(self, address: str, *, name: str = "") -> None:
        a = address.strip().lower()
        if not (a.startswith("0x") and len(a) == 42 and all(c in "0123456789abcdef" for c in a[2:])):
            raise UsageError(f"{address!r} is not an address (0x followed by 40 hex digits)")
        self._address = a
        self.name = name

    @property
    def address(self) -> str:
        return self._address

    def sign_digest(self, digest: bytes) -> object:
        what = f"key {self.name!r}" if self.name else f"address {self._address}"
        raise AuthError(f"{what} is open read-only (watch-only): signing needs the key; "
                        "drop --address, or choose a key with --account NAME")

    def export_private_key_bytes(self) -> bytes:
        raise AuthError(f"address {self._address} is watch-only: there is no key to export")

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<WatchOnly{label} {self._address}>"

    __str__ = __repr__
