"""cli/commands layer (see the README, Architecture)."""
