"""A Session wires one venue, one signer and the settings together for one command.

Market-data commands build only the keyless side (no key is read, no passphrase asked).
Trading commands call `trading()`, which reads the key, asks the venue whom it signs for, and
refuses clearly (exit 4) when the venue does not know the key — before anything is signed.

Where the venue is reached: `--venue` (or default.venue), then `--url` with an explicit
`--network`, or the venue's configured URL. The network is never guessed from a URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perpcli.domain.errors import UsageError
from perpcli.venues import registry
from perpcli.venues.base import MarketData, Trading, TradingOptions


@dataclass
class VenueChoice:
    name: str
    config: registry.VenueConfig
    vault_address: str | None = None
    builder: str | None = None
    builder_fee: int = 0


def choose_venue(
    settings: Any,
    *,
    venue: str | None = None,
    url: str | None = None,
    network: str | None = None,
    vault_address: str | None = None,
) -> VenueChoice:
    """Resolve which venue, URL, network, vault and builder this command uses."""
    name = venue or settings.get("default.venue")
    entry = registry.get_entry(name)
    if network is not None and network not in ("mainnet", "testnet"):
        raise UsageError(f"--network must be mainnet or testnet, got {network!r}")
    if url is not None and network is None:
        raise UsageError("--url needs an explicit --network mainnet|testnet (signatures differ per network)")
    configured_url = _setting(settings, f"venues.{name}.url")
    net = network or entry.network
    if network is None and _setting(settings, f"venues.{name}.mainnet"):  # e.g. a devnet run with --mainnet
        net = "mainnet"
    cfg = entry.config(url=url or configured_url or None, network=net)
    vault = vault_address or _setting(settings, f"venues.{name}.vault_address") or None
    builder = _setting(settings, f"venues.{name}.builder") or None
    fee = int(_setting(settings, f"venues.{name}.builder_fee_tenths_bp") or 0)
    return VenueChoice(name=name, config=cfg, vault_address=vault, builder=builder, builder_fee=fee)


def _setting(settings: Any, key: str) -> Any:
    try:
        return settings.get(key)
    except KeyError:
        return None


@dataclass
class Session:
    """One command's view of one venue (and, for trading, one key)."""

    choice: VenueChoice
    account: str | None = None  # key name or address (--account); None = default rules
    passphrase_file: str | None = None
    _market: MarketData | None = None
    _trading: Trading | None = None
    _signer: Any = field(default=None, repr=False)

    @classmethod
    def open(
        cls,
        settings: Any,
        *,
        venue: str | None = None,
        url: str | None = None,
        network: str | None = None,
        vault_address: str | None = None,
        account: str | None = None,
        passphrase_file: str | None = None,
    ) -> Session:
        """A session from explicit choices (the CLI passes its global options)."""
        choice = choose_venue(settings, venue=venue, url=url, network=network, vault_address=vault_address)
        return cls(choice=choice, account=account, passphrase_file=passphrase_file)

    @property
    def venue(self) -> str:
        return self.choice.name

    @property
    def market(self) -> MarketData:
        """The keyless side (imports the adapter on first use)."""
        if self._market is None:
            self._market = registry.open_venue(self.choice.config)
        return self._market

    def signer(self) -> Any:
        if self._signer is None:
            from perpcli.keys.sources import resolve_signer

            self._signer = resolve_signer(self.account, passphrase_file=self.passphrase_file)
        return self._signer

    def trading(self, *, check_key: bool = True) -> Trading:
        """The keyed side; by default verifies the venue knows the key (AuthError, exit 4)."""
        if self._trading is None:
            options = TradingOptions(account_override=self.choice.vault_address, builder=self.choice.builder,
                                     builder_fee_tenths_bp=self.choice.builder_fee)
            self._trading = self.market.trading(self.signer(), options=options)
        if check_key:
            self._trading.require_registered()
        return self._trading

    def close(self) -> None:
        if self._market is not None:
            self._market.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
