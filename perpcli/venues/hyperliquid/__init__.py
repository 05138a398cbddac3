"""venues/hyperliquid layer (see ../shared/DESIGN.md, Layers)."""
