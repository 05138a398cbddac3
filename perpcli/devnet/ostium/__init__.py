"""The Ostium face of `perp devnet`: a real EVM node (anvil) with perpcli's own Ostium
contracts at the mainnet addresses, a keeper that settles orders at synthetic prices, and a
JSON-RPC proxy that funds addresses on first sight and serves Ostium's latest-prices feed."""
