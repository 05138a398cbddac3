"""domain layer (see the README, Architecture)."""
