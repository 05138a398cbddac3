"""cli layer (see the README, Architecture)."""
