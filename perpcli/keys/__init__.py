"""keys layer (see the README, Architecture)."""
