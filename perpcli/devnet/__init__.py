"""devnet layer (see ../shared/DESIGN.md, Layers)."""
