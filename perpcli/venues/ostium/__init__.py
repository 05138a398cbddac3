"""Ostium: RWA perps (gold, oil, FX, indices, US stocks) as EVM transactions on Arbitrum."""
