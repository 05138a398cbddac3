"""venues layer (see the README, Architecture)."""
