"""Which venues exist, without importing them.

Each venue is registered as a name, a "module:factory" string, network defaults and a
function that builds its `Capabilities` from a small module. Nothing heavy is imported until a
command asks for that venue's adapter (`open_venue`), so `perp venues` and `perp --help` stay
cheap.

Third-party adapters register through the entry-point group `perpcli.venues`. The entry point
must name a *cheap* object (no network, no heavy imports at module level): either a
`VenueEntry` or a zero-argument callable returning one. Entry points are only looked at when
a name is not built in, or when every venue is listed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from perpcli.domain.errors import UsageError

if TYPE_CHECKING:  # a frozen record: imported only when capabilities are loaded
    from perpcli.venues.base import MarketData, OfflineSigning
    from perpcli.venues.capabilities import Capabilities

ENTRY_POINT_GROUP = "perpcli.venues"


@dataclass
class VenueConfig:
    """How to reach one venue: the network is explicit, never guessed from a URL."""

    name: str
    network: str  # "mainnet" | "testnet"
    url: str
    ws_url: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def is_mainnet(self) -> bool:
        return self.network == "mainnet"


@dataclass
class VenueEntry:
    name: str
    factory: str  # "package.module:callable" taking a VenueConfig
    capabilities: str  # "package.module:callable" returning Capabilities (cheap module)
    network: str
    url: str
    ws_url: str = ""
    description: str = ""
    builtin: bool = True
    capability_args: tuple[Any, ...] = ()
    # "package.module:callable" building the venue's OfflineSigning from a VenueConfig without
    # its adapter (`perp sign` on a machine that never touches the network); "" = the adapter's.
    offline: str = ""
    # What a given --url's websocket base appends (Hyperliquid's rule: "/ws"); the devnet's
    # Aster face lives under "/aster" because the bare /ws is its Hyperliquid face's.
    ws_path: str = "/ws"

    def load_capabilities(self) -> Capabilities:
        fn = _resolve(self.capabilities)
        return fn(*self.capability_args) if self.capability_args else fn()

    def config(self, *, url: str | None = None, network: str | None = None, **options: Any) -> VenueConfig:
        base_url = (url or self.url).rstrip("/")
        ws = self.ws_url if url is None and self.ws_url else _ws_from_http(base_url, self.ws_path)
        return VenueConfig(name=self.name, network=network or self.network, url=base_url, ws_url=ws, options=options)


def _ws_from_http(url: str, path: str = "/ws") -> str:
    """Hyperliquid's own rule: replace the leading http with ws and append /ws (or `path`)."""
    if url.startswith("https://"):
        return "wss://" + url[len("https://") :] + path
    if url.startswith("http://"):
        return "ws://" + url[len("http://") :] + path
    return url + path


_HL_CAPS = "perpcli.venues.hyperliquid.capabilities:hyperliquid_capabilities"
_HL_FACTORY = "perpcli.venues.hyperliquid.adapter:open_venue"

DEVNET_DEFAULT_URL = "http://127.0.0.1:8787"

_ASTER_CAPS = "perpcli.venues.aster.capabilities:aster_capabilities"
_ASTER_OFFLINE = "perpcli.venues.aster.offline:open_offline"
_ASTER_FACTORY = "perpcli.venues.aster.adapter:open_venue"
# Ostium: the URL is the JSON-RPC node (a public one by default; `--rpc-url` or
# venues.<name>.url for the user's own). Networks: perpcli/venues/ostium/networks.py.
_OSTIUM_CAPS = "perpcli.venues.ostium.capabilities:ostium_capabilities"
_OSTIUM_FACTORY = "perpcli.venues.ostium.adapter:open_venue"
OSTIUM_DEVNET_DEFAULT_URL = "http://127.0.0.1:8545"

BUILTIN: dict[str, VenueEntry] = {
    "hyperliquid": VenueEntry(
        name="hyperliquid",
        factory=_HL_FACTORY,
        capabilities=_HL_CAPS,
        network="mainnet",
        url="https://api.hyperliquid.xyz",
        ws_url="wss://api.hyperliquid.xyz/ws",
        description="Hyperliquid mainnet (real money)",
        capability_args=("hyperliquid", "Hyperliquid", "mainnet"),
    ),
    "hyperliquid-testnet": VenueEntry(
        name="hyperliquid-testnet",
        factory=_HL_FACTORY,
        capabilities=_HL_CAPS,
        network="testnet",
        url="https://api.hyperliquid-testnet.xyz",
        ws_url="wss://api.hyperliquid-testnet.xyz/ws",
        description="Hyperliquid testnet (test funds)",
        capability_args=("hyperliquid-testnet", "Hyperliquid testnet", "testnet"),
    ),
    "devnet": VenueEntry(
        name="devnet",
        factory=_HL_FACTORY,
        capabilities=_HL_CAPS,
        network="testnet",
        url=DEVNET_DEFAULT_URL,
        description="local perp devnet (Hyperliquid protocol, testnet semantics)",
        capability_args=("devnet", "perp devnet (local)", "testnet"),
    ),
    # Aster: market data over REST and offline signing (`perp sign/submit --venue aster`).
    "aster": VenueEntry(
        name="aster",
        factory=_ASTER_FACTORY,
        capabilities=_ASTER_CAPS,
        network="mainnet",
        url="https://fapi.asterdex.com",
        ws_url="wss://fstream.asterdex.com",
        description="Aster Pro API v3 mainnet (real money)",
        capability_args=("aster", "Aster", "mainnet"),
        offline=_ASTER_OFFLINE,
    ),
    "aster-testnet": VenueEntry(
        name="aster-testnet",
        factory=_ASTER_FACTORY,
        capabilities=_ASTER_CAPS,
        network="testnet",
        url="https://fapi.asterdex-testnet.com",
        ws_url="wss://fstream.asterdex-testnet.com",
        description="Aster Pro API v3 testnet (test funds)",
        capability_args=("aster-testnet", "Aster testnet", "testnet"),
        offline=_ASTER_OFFLINE,
    ),
    "aster-devnet": VenueEntry(
        name="aster-devnet",
        factory=_ASTER_FACTORY,
        capabilities=_ASTER_CAPS,
        network="testnet",
        url=DEVNET_DEFAULT_URL,
        ws_url="ws://127.0.0.1:8787/aster",
        ws_path="/aster",
        description="local perp devnet, Aster face (testnet semantics)",
        capability_args=("aster-devnet", "perp devnet, Aster face (local)", "testnet"),
        offline=_ASTER_OFFLINE,
    ),
    "ostium": VenueEntry(
        name="ostium",
        factory=_OSTIUM_FACTORY,
        capabilities=_OSTIUM_CAPS,
        network="mainnet",
        url="https://arb1.arbitrum.io/rpc",
        description="Ostium on Arbitrum One: gold, oil, FX, indices, stocks (real money)",
        capability_args=("ostium", "Ostium (Arbitrum One)", "mainnet"),
    ),
    "ostium-testnet": VenueEntry(
        name="ostium-testnet",
        factory=_OSTIUM_FACTORY,
        capabilities=_OSTIUM_CAPS,
        network="testnet",
        url="https://sepolia-rollup.arbitrum.io/rpc",
        description="Ostium on Arbitrum Sepolia (test funds)",
        capability_args=("ostium-testnet", "Ostium testnet (Arbitrum Sepolia)", "testnet"),
    ),
    "ostium-devnet": VenueEntry(
        name="ostium-devnet",
        factory=_OSTIUM_FACTORY,
        capabilities=_OSTIUM_CAPS,
        network="testnet",
        url=OSTIUM_DEVNET_DEFAULT_URL,
        description="Ostium on a local EVM node (chain 31337)",
        capability_args=("ostium-devnet", "Ostium devnet (local EVM node)", "testnet"),
    ),
}


def _resolve(ref: str) -> Callable[..., Any]:
    module, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _entry_point_venues() -> dict[str, VenueEntry]:
    from importlib.metadata import entry_points  # only when a non-built-in name is needed

    found: dict[str, VenueEntry] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            entry = obj() if callable(obj) and not isinstance(obj, VenueEntry) else obj
        except Exception as e:  # a broken plugin must not break `perp venues`
            import sys  # venues never import the CLI: warn on stderr directly

            sys.stderr.write(f"perp: warning: venue plugin {ep.name!r} failed to load: {type(e).__name__}: {e}\n")
            continue
        if isinstance(entry, VenueEntry) and entry.name not in BUILTIN:
            found[entry.name] = replace(entry, builtin=False)
    return found


def all_venues() -> dict[str, VenueEntry]:
    out = dict(BUILTIN)
    out.update(_entry_point_venues())
    return out


def get_entry(name: str) -> VenueEntry:
    if name in BUILTIN:
        return BUILTIN[name]
    plugins = _entry_point_venues()
    if name in plugins:
        return plugins[name]
    known = ", ".join(sorted({*BUILTIN, *plugins}))
    raise UsageError(f"unknown venue {name!r} (known: {known})")


def open_venue(config: VenueConfig, entry: VenueEntry | None = None) -> MarketData:
    """Import the adapter for `config.name` and build its keyless side."""
    entry = entry or get_entry(config.name)
    return _resolve(entry.factory)(config)


def open_offline(config: VenueConfig, entry: VenueEntry | None = None) -> OfflineSigning:
    """The venue's offline signing side, without its adapter where the venue provides one."""
    entry = entry or get_entry(config.name)
    if entry.offline:
        return _resolve(entry.offline)(config)
    return open_venue(config, entry).offline()
