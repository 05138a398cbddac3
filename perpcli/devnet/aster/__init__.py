"""The devnet's Aster face (Pro API v3) over the one engine."""
