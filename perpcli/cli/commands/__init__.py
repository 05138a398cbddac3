"""cli/commands layer (see ../shared/DESIGN.md, Layers)."""
