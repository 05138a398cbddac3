"""Every setting perpcli reads, defined once: key, type, default, and what it is for.

config.example.toml is rendered from this table (a test keeps the two in step), `perp config
show` walks it, and the loader validates against it, so a setting cannot exist in one place only.
Environment overrides are PERPCLI_<SECTION>_<KEY> in upper case, dots and dashes as underscores
(risk.max_leverage -> PERPCLI_RISK_MAX_LEVERAGE; venues.devnet.url -> PERPCLI_VENUES_DEVNET_URL).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from perpcli.config.tui_keys import KEYS as _TUI_KEYS


@dataclass(frozen=True)
class Setting:
    key: str  # dotted: "risk.max_leverage"
    kind: str  # "str" | "int" | "bool" | "decimal" | "address" | "url" | "list" (of names)
    default: Any
    doc: str
    secret: bool = False
    choices: tuple[str, ...] = ()

    @property
    def env_var(self) -> str:
        return "PERPCLI_" + self.key.upper().replace(".", "_").replace("-", "_")


_OSTIUM_PRICES = "https://metadata-backend.prod.bedrock.ostium.io/PricePublish/latest-prices"

VENUE_NAMES = ("devnet", "hyperliquid", "hyperliquid-testnet", "aster", "aster-testnet", "aster-devnet",
               "ostium", "ostium-testnet", "ostium-devnet")


def _account(venue: str) -> Setting:
    """One EVM key may hold accounts on several venues, or each venue its own key (or agent key):
    this names the one used on `venue` when --account is not given."""
    return Setting(f"venues.{venue}.account", "str", "",
                   f"Key name (or 0x address, read-only) used on {venue} when --account is not given; an "
                   "agent key must be one approved on this venue. Empty: default.account rules. A venue "
                   "with an account here is part of your portfolio unless portfolio.venues says otherwise.")


SETTINGS: tuple[Setting, ...] = (
    Setting("default.venue", "str", "devnet",
            "Venue used when --venue is not given. 'devnet' is the local practice exchange; "
            "'hyperliquid' trades real money on mainnet. `perp venues` lists them all."),
    Setting("default.account", "str", "",
            "Key name (see `perp keys list`) used when --account is not given. Empty: the only key that is not "
            "an agent key, if there is one."),
    Setting("default.address", "address", "",
            "Watch-only account: read commands (account, positions, orders, fills, funding-history, agent "
            "list, watch --no-trading) show this address when no key is named. Nothing is ever signed for it."),
    Setting("keys.scrypt_n", "int", 262144,
            "scrypt work factor for new keystores (a power of two; geth's standard is 262144). "
            "Lower unlocks faster and resists guessing less."),
    Setting("venues.devnet.url", "url", "http://127.0.0.1:8787", "Base URL of the local devnet (perp devnet)."),
    _account("devnet"),
    Setting("venues.devnet.mainnet", "bool", False,
            "Sign for mainnet semantics on the devnet (the devnet defaults to testnet semantics)."),
    Setting("venues.hyperliquid.url", "url", "https://api.hyperliquid.xyz", "Hyperliquid mainnet API."),
    _account("hyperliquid"),
    Setting("venues.hyperliquid.vault_address", "address", "",
            "Trade for this vault or sub-account (signed by your key). Empty: your own account."),
    Setting("venues.hyperliquid.builder", "address", "",
            "Builder code address to attach to orders. Empty (default): none. perpcli never adds one itself."),
    Setting("venues.hyperliquid.builder_fee_tenths_bp", "int", 0,
            "Builder fee in tenths of a basis point, used only when a builder is set."),
    Setting("venues.hyperliquid-testnet.url", "url", "https://api.hyperliquid-testnet.xyz", "Hyperliquid testnet API."),
    _account("hyperliquid-testnet"),
    *(s for name, url in (
        ("aster", "https://fapi.asterdex.com"),
        ("aster-testnet", "https://fapi.asterdex-testnet.com"),
        ("aster-devnet", "http://127.0.0.1:8787")) for s in (
        Setting(f"venues.{name}.url", "url", url,
                f"Base URL of {name}'s REST API (--url overrides); its websocket follows the same host."),
        _account(name),
        Setting(f"venues.{name}.vault_address", "address", "",
                f"Trade on {name} for this account with an approved agent key (Aster's agent trades for "
                "the account that approved it). Empty: the account the key belongs to or was approved for."),
    )),
    *(s for name, rpc, prices in (
        ("ostium", "https://arb1.arbitrum.io/rpc", _OSTIUM_PRICES),
        ("ostium-testnet", "https://sepolia-rollup.arbitrum.io/rpc", _OSTIUM_PRICES),
        ("ostium-devnet", "http://127.0.0.1:8545", "http://127.0.0.1:8545/latest-prices")) for s in (
        Setting(f"venues.{name}.url", "url", rpc,
                f"JSON-RPC node for {name} (--rpc-url overrides). A public one by default; your own RPC is "
                "faster and keeps your trading pattern to yourself."),
        _account(name),
        Setting(f"venues.{name}.price_url", "str", prices,
                f"Oracle price feed for {name} (Ostium's latest-prices shape). Empty: none configured."),
        Setting(f"venues.{name}.max_fee_gwei", "decimal", Decimal("1"),
                f"Highest gas price (maxFeePerGas, gwei) a {name} transaction may pay; above it the action "
                "is refused (exit 7)."),
        Setting(f"venues.{name}.priority_fee_gwei", "decimal", Decimal("0"),
                "Priority fee (gwei) per transaction; Arbitrum's sequencer ignores it, so 0."),
        Setting(f"venues.{name}.confirmations", "int", 1,
                "Blocks a transaction must be under (1: the block that mined it) before perpcli calls it done."),
        Setting(f"venues.{name}.receipt_timeout_s", "decimal", Decimal("60"),
                "Longest perpcli waits for a receipt; later, the outcome is unknown (exit 6) and is "
                "settled by transaction hash, never by sending again."),
    )),
    Setting("portfolio.venues", "list", (),
            "Venues that make up your book in `perp portfolio` and `perp funding --compare`, e.g. "
            "[\"hyperliquid\", \"ostium\"] (environment: comma-separated). Empty: every venue with a "
            "venues.<name>.account, else default.venue alone."),
    Setting("risk.max_order_notional", "decimal", Decimal("1000000"),
            "Refuse any single order above this notional in USD (exit 7). 0 disables the guard."),
    Setting("risk.max_leverage", "int", 20,
            "Refuse orders or leverage changes above this leverage (exit 7). An order is checked at the leverage "
            "it will use: what it sets, else the account's setting for the market or the venue's default."),
    Setting("risk.price_band_pct", "decimal", Decimal("5"),
            "Refuse orders that would execute at a price further than this % from mark: a buy above mark or a "
            "sell below it (fat-finger guard, exit 7). Passive orders may rest anywhere. 0 disables."),
    Setting("risk.confirm_above_notional", "decimal", Decimal("1000"),
            "On a terminal, ask for confirmation above this notional in USD (off a terminal --yes is always needed)."),
    Setting("risk.on_bracket_failure", "str", "retry",
            "When a bracket's parent fills but the venue refuses its TP/SL: warn (say so and stop), retry "
            "(place the protective order again, once, then warn), or close (close the new position at market)."),
    Setting("stream.stale_after_seconds", "decimal", Decimal("10"),
            "A stream silent this long is shown STALE and its book is never used to price an order."),
    Setting("stream.ping_interval_seconds", "int", 30,
            "Application ping interval on websockets (Hyperliquid closes sockets idle for 60 s)."),
    Setting("net.request_timeout_s", "decimal", Decimal("10"),
            "Longest one HTTP request to a venue may take, answer included (an /info read: retries too). "
            "An order whose answer misses it is settled by client order id (exit 6 if still unknown)."),
    Setting("net.connect_timeout_s", "decimal", Decimal("5"),
            "Longest a TCP connect, and then a TLS handshake, may take (exit 5: nothing was sent)."),
    Setting("net.max_body_bytes", "int", 32 * 1024 * 1024,
            "Largest HTTP answer body accepted from a venue, in bytes; a bigger one is a failed request."),
    Setting("session.idle_lock_minutes", "int", 30,
            "A running `perp session` drops its unlocked keys after this many minutes without a command "
            "(reads keep working; the next order asks for the passphrase again). 0: never."),
    Setting("session.max_hours", "int", 8,
            "How long `perp session start` runs when --for is not given; it then stops on its own."),
    Setting("session.algo_poll_ms", "int", 1000,
            "How often each algo (chase, twap, oco) reads its venue: the touch and its own orders, about 4 "
            "request weight per read on Hyperliquid (1200 a minute per IP); a trail also reads the mark (20) "
            "and does it every third interval."),
    Setting("devnet.host", "str", "127.0.0.1", "Address `perp devnet` listens on (anything but loopback needs --public)."),
    Setting("devnet.port", "int", 8787, "Port `perp devnet` listens on."),
    Setting("devnet.initial_balance", "decimal", Decimal("100000"),
            "USDC credited to a new address on first use of the devnet."),
    Setting("devnet.auto_fund", "bool", True, "Fund a never-seen address when its own state is first read (unknown signers are always refused)."),
    Setting("tui.refresh_hz", "int", 20,
            "Most screen repaints per second in `perp watch`; book updates in between are merged (coalesced)."),
    Setting("tui.chart_interval", "str", "1m", "Candle interval the `perp watch` chart opens with.",
            choices=("1m", "5m", "15m", "1h", "4h", "1d")),
    # One remappable key per `perp watch` binding (the table lives in perpcli/config/tui_keys.py,
    # which is plain data and imports no UI).
    *(Setting(f"tui.keys.{_k.id}", "str", _k.key, f"perp watch key: {_k.doc}") for _k in _TUI_KEYS),
)

BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}

KINDS = ("str", "int", "bool", "decimal", "address", "url", "list")


def plugin_venue_settings(entry: Any) -> tuple[Setting, ...]:
    """The settings of a venue a plugin registers (venues/registry.py VenueEntry): its URL and
    account, as every venue has, then the ones its entry declares. A declaration that is not one
    (a key that is not a plain name, an unknown kind, a default of the wrong type) is refused
    with the plugin named, rather than read some other way."""
    from perpcli.domain.errors import ConfigError

    name = entry.name
    # The URL is the plugin's to read (an in-memory or non-HTTP venue has its own scheme).
    out = [Setting(f"venues.{name}.url", "str", entry.url, f"Base URL of {name} (a venue plugin)."), _account(name)]
    for declared in entry.settings:
        try:
            key, kind, default, doc = declared
        except (TypeError, ValueError):
            raise ConfigError(f"venue plugin {name!r}: a setting must be (key, kind, default, doc), "
                              f"got {declared!r:.60}") from None
        if not (isinstance(key, str) and key.replace("_", "").isalnum() and key.isascii()) or kind not in KINDS:
            raise ConfigError(f"venue plugin {name!r}: setting {key!r:.40} of kind {kind!r:.20} is not one "
                              f"(keys: letters, digits and '_'; kinds: {', '.join(KINDS)})")
        if f"venues.{name}.{key}" in {s.key for s in out}:
            raise ConfigError(f"venue plugin {name!r}: setting {key!r} is declared twice (url and account are given)")
        out.append(Setting(f"venues.{name}.{key}", kind, default, str(doc)))
    return tuple(out)
