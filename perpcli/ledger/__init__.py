"""ledger layer (see ../shared/DESIGN.md, Layers)."""
