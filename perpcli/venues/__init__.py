"""venues layer (see ../shared/DESIGN.md, Layers)."""
