"""A small in-memory venue with conventions deliberately unlike Hyperliquid's, plugged in only
through the venue seam (perpcli/venues/base.py) and the registry's entry-point group: the
contract suite (tests/test_venue_contract.py) runs the same checks on it as on the devnet.

Cheap on purpose: the registry loads `venue_entry` (and the capabilities) without importing
the adapter, as it must for any plugin.
"""

from __future__ import annotations

from perpcli.venues.registry import VenueEntry

NAME = "fakex"


def venue_entry() -> VenueEntry:
    """The entry point object (group `perpcli.venues`)."""
    return VenueEntry(
        name=NAME,
        factory="tests.fake_venue.adapter:open_venue",
        capabilities="tests.fake_venue.capabilities:fake_capabilities",
        network="testnet",
        url="fake://default",
        description="in-memory fake venue for the contract suite",
        builtin=False,
    )
