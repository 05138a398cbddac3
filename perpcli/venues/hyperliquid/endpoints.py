"""Where Hyperliquid lives, per network.

The network is always explicit. Hyperliquid's own SDK decides mainnet-vs-testnet signing by
comparing the base URL with one string, so a trailing slash or a proxy silently flips it to
testnet; here the flag travels beside the URL and signing reads only the flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from perpcli.domain.errors import UsageError
from perpcli.net.http1 import parse_http_url

MAINNET_URL = "https://api.hyperliquid.xyz"
TESTNET_URL = "https://api.hyperliquid-testnet.xyz"
DEVNET_URL = "http://127.0.0.1:8787"

NETWORKS = ("mainnet", "testnet")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One reachable Hyperliquid-protocol server and the network its signatures are for."""

    url: str  # base, no trailing slash; /info and /exchange are appended
    is_mainnet: bool

    @property
    def ws_url(self) -> str:
        parts = urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return f"{scheme}://{parts.netloc}{parts.path}/ws"

    @property
    def network(self) -> str:
        return "mainnet" if self.is_mainnet else "testnet"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    @property
    def path_prefix(self) -> str:
        return urlsplit(self.url).path.rstrip("/")


def endpoint(url: str, network: str) -> Endpoint:
    """Build an Endpoint from a URL and an explicit network name."""
    if network not in NETWORKS:
        raise UsageError(f"network must be one of {', '.join(NETWORKS)}, got {network!r}")
    try:
        parse_http_url(url)
    except ValueError as e:
        raise UsageError(f"venue URL {url!r} is not usable: {e}; expected http(s)://host[:port]") from None
    return Endpoint(url=url.strip().rstrip("/"), is_mainnet=network == "mainnet")
