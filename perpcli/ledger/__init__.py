"""ledger layer (see the README, Architecture)."""
