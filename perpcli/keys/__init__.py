"""keys layer (see ../shared/DESIGN.md, Layers)."""
