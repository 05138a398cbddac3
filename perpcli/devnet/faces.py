"""Whose account an engine account is: the Hyperliquid face's or the Aster face's.

The devnet runs one engine behind two faces. The books are shared on purpose: an order sent
through either face rests in, and fills against, the same book (one exchange's liquidity,
served in two protocols). Accounts are not shared: one EVM key on two real venues is two
separate accounts, so each face keys its own — balances, positions, orders, fills, funding,
agents, listenKeys and margin rules never cross from one face to the other.

The Hyperliquid face's account for an address is the bare lowercase address, as the engine
has always keyed accounts (so every state saved before the faces had their own accounts
loads as the Hyperliquid face's). The Aster face's account for the same address is
`aster:<address>`; its margin rules are always Aster's Binance-style brackets. The prefix
keeps the id impossible to pass through the Hyperliquid face, whose every address parameter
must be 0x + 40 hex digits.
"""

from __future__ import annotations

from hashlib import blake2b

from perpcli.devnet import margin_rules as mr

ASTER_PREFIX = "aster:"


def aster_account(address: str) -> str:
    """The Aster face's engine account for `address` (any case)."""
    return ASTER_PREFIX + address.lower()


def is_aster_account(account: str) -> bool:
    return account.startswith(ASTER_PREFIX)


def address_of(account: str) -> str:
    """The EVM address an engine account belongs to, whichever face's it is."""
    return account[len(ASTER_PREFIX):] if account.startswith(ASTER_PREFIX) else account


def margin_venue_of(account: str) -> str:
    """The margin rules an account is valued by (margin_rules.MARGIN_VENUES), fixed by its face."""
    return mr.ASTER if account.startswith(ASTER_PREFIX) else mr.HYPERLIQUID


def public_address(account: str) -> str:
    """How the Hyperliquid face names an account in public data (a trade's users, a
    liquidated counterparty): itself for its own accounts, and for another face's a stable
    0x-address derived from its id — on the venue the counterparty from the shared book is
    some other address, never the trader's own key."""
    if not account.startswith(ASTER_PREFIX):
        return account
    return "0x" + blake2b(account.encode(), digest_size=20).hexdigest()
