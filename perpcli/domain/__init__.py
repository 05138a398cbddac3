"""domain layer (see ../shared/DESIGN.md, Layers)."""
