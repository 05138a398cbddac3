"""The panels of `perp watch`; each renders view-model values and posts messages, never fetches."""
