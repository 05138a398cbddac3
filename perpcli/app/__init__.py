"""app layer (see ../shared/DESIGN.md, Layers)."""
