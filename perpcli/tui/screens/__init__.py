"""Modal screens of `perp watch`: help (key list) and confirmations."""
