"""config layer (see ../shared/DESIGN.md, Layers)."""
