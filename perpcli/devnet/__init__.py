"""devnet layer (see the README, Architecture)."""
