"""tui layer (see the README, Architecture)."""
