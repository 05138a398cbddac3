"""Aster (asterdex) Pro API v3: a Binance-style perp venue whose private requests are signed
with an EVM key (EIP-712). Only the registry and this package import these modules."""
