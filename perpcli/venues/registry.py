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
    # A plugin venue's own settings beyond venues.<name>.url and .account (which every venue
    # takes): (key, kind, default, doc) tuples, read as venues.<name>.<key> from the config file
    # and PERPCLI_VENUES_<NAME>_<KEY>, validated as the built-in settings are (config/schema.py
    # kinds: str, int, bool, decimal, address, url, list). Built-in venues' settings live in
    # config/schema.py itself.
    settings: tuple[tuple[str, str, Any, str], ...] = ()

    def load_capabilities(self) -> Capabilities:
        fn = _resolve(self.capabilities)
        return fn(*self.capability_args) if self.capability_args else fn()

    def config(self, *, url: str | None = None, network: str | None = None, **options: Any) -> VenueConfig:
        base_url = (url or self.url).rstrip("/")
        # The venue's own URL (also what a config default names) keeps its own websocket host
        # (Aster's REST and stream hosts differ); another URL gets its websocket by the rule.
        own = url is None or base_url == self.url.rstrip("/")
        ws = self.ws_url if own and self.ws_url else _ws_from_http(base_url, self.ws_path)
        return VenueConfig(name=self.name, network=network or self.network, url=base_url, ws_url=ws, options=options)


def _ws_from_http(url: str, path: str = "/ws") -> str:
    """Hyperliquid's own rule: replace the leading http with ws and append /ws (or `path`)."""
    if url.startswith("https://"):
        return "wss://" + url[len("https://") :] + path
    if url.startswith("http://"):
        return "ws://" + url[len("http://") :] + path
    return url + path


DEVNET_DEFAULT_URL = "http://127.0.0.1:8787"
# Ostium: the URL is the JSON-RPC node (a public one by default; `--rpc-url` or
# venues.<name>.url for the user's own). Networks: perpcli/venues/ostium/networks.py.
OSTIUM_DEVNET_DEFAULT_URL = "http://127.0.0.1:8545"


def _builtin(package: str, name: str, title: str, network: str, url: str, description: str, *,
             ws_url: str = "", ws_path: str = "/ws", offline: bool = False) -> VenueEntry:
    """A built-in venue: its package's adapter, capabilities (and offline signer) by convention
    (`perpcli.venues.<package>.adapter:open_venue`, `.capabilities:<package>_capabilities`,
    `.offline:open_offline`), named as strings so nothing is imported until it is used."""
    base = f"perpcli.venues.{package}"
    return VenueEntry(
        name=name, factory=f"{base}.adapter:open_venue", capabilities=f"{base}.capabilities:{package}_capabilities",
        network=network, url=url, ws_url=ws_url, ws_path=ws_path, description=description,
        capability_args=(name, title, network), offline=f"{base}.offline:open_offline" if offline else "",
    )


BUILTIN: dict[str, VenueEntry] = {e.name: e for e in (
    _builtin("hyperliquid", "hyperliquid", "Hyperliquid", "mainnet", "https://api.hyperliquid.xyz",
             "Hyperliquid mainnet (real money)", ws_url="wss://api.hyperliquid.xyz/ws"),
    _builtin("hyperliquid", "hyperliquid-testnet", "Hyperliquid testnet", "testnet",
             "https://api.hyperliquid-testnet.xyz", "Hyperliquid testnet (test funds)",
             ws_url="wss://api.hyperliquid-testnet.xyz/ws"),
    _builtin("hyperliquid", "devnet", "perp devnet (local)", "testnet", DEVNET_DEFAULT_URL,
             "local perp devnet (Hyperliquid protocol, testnet semantics)"),
    # Aster: REST + websocket adapter and offline signing (`perp sign/submit --venue aster`).
    _builtin("aster", "aster", "Aster", "mainnet", "https://fapi.asterdex.com", "Aster Pro API v3 mainnet (real money)",
             ws_url="wss://fstream.asterdex.com", offline=True),
    _builtin("aster", "aster-testnet", "Aster testnet", "testnet", "https://fapi.asterdex-testnet.com",
             "Aster Pro API v3 testnet (test funds)", ws_url="wss://fstream.asterdex-testnet.com", offline=True),
    _builtin("aster", "aster-devnet", "perp devnet, Aster face (local)", "testnet", DEVNET_DEFAULT_URL,
             "local perp devnet, Aster face (testnet semantics)", ws_url="ws://127.0.0.1:8787/aster",
             ws_path="/aster", offline=True),
    _builtin("ostium", "ostium", "Ostium (Arbitrum One)", "mainnet", "https://arb1.arbitrum.io/rpc",
             "Ostium on Arbitrum One: gold, oil, FX, indices, stocks (real money)"),
    _builtin("ostium", "ostium-testnet", "Ostium testnet (Arbitrum Sepolia)", "testnet",
             "https://sepolia-rollup.arbitrum.io/rpc", "Ostium on Arbitrum Sepolia (test funds)"),
    _builtin("ostium", "ostium-devnet", "Ostium devnet (local EVM node)", "testnet", OSTIUM_DEVNET_DEFAULT_URL,
             "Ostium on a local EVM node (chain 31337)"),
)}


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


def plugin_venues() -> dict[str, VenueEntry]:
    """The venues third-party packages register (entry points), by name; none built in."""
    return _entry_point_venues()


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
