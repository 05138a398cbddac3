"""app layer (see the README, Architecture)."""
