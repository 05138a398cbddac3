"""config layer (see the README, Architecture)."""
