"""perpcli: a fast terminal for trading on-chain perpetual futures with your own key.

Importing this package must stay cheap: `perp --version` pays for it on every run.
"""

__version__ = "0.1.0"
