"""venues/hyperliquid layer (see the README, Architecture)."""
