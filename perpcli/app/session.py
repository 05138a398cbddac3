"""A Session wires one venue, one signer and the settings together for one command.

Market-data commands build only the keyless side (no key is read, no passphrase asked).
Read commands call `reader()`: the venue's trading side built from an address alone (--address,
a configured watch-only account, or the address a stored keystore declares), so no passphrase
is asked and no scrypt is paid; it refuses to sign. Trading commands call `trading()`, which
reads the key, asks the venue whom it signs for, and refuses clearly (exit 4) when the venue
does not know the key — before anything is signed.

Where the venue is reached: `--venue` (or default.venue), then `--url` with an explicit
`--network`, or the venue's configured URL. The network is never guessed from a URL.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from perpcli.domain.errors import UsageError
from perpcli.venues import registry
from perpcli.venues.base import MarketData, Trading, TradingOptions

# Sessions of one command may run in threads (one per venue): keys are resolved one at a time,
# so two venues never prompt for a passphrase at once.
KEY_LOCK = threading.RLock()


@dataclass
class VenueChoice:
    name: str
    config: registry.VenueConfig
    vault_address: str | None = None
    builder: str | None = None
    builder_fee: int = 0
    account: str | None = None  # venues.<name>.account: the key (or address) used here by default


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
    account = _setting(settings, f"venues.{name}.account") or None
    return VenueChoice(name=name, config=cfg, vault_address=vault, builder=builder, builder_fee=fee,
                       account=account)


def _setting(settings: Any, key: str) -> Any:
    try:
        return settings.get(key)
    except KeyError:
        return None


# A long-lived process (the session agent, perpcli/session/server.py) shares one MarketData per
# venue endpoint across commands, so HTTP keep-alive connections stay warm. Only an adapter that
# offers `begin_command()` (drop what one command reads once and trusts: marks, rules) is shared;
# any other is opened and closed per command, as ever, so no command sees another's stale data.
# None (every normal command): each Session opens its own and closes it when done.
_shared_markets: dict[tuple, MarketData] | None = None


def share_markets(on: bool = True) -> None:
    """Keep venues open across Sessions in this process (on) or close them with each Session (off)."""
    global _shared_markets
    if on and _shared_markets is None:
        _shared_markets = {}
    elif not on and _shared_markets is not None:
        for market in _shared_markets.values():
            market.close()
        _shared_markets = None


def _endpoint(cfg: registry.VenueConfig) -> tuple:
    return (cfg.name, cfg.network, cfg.url, cfg.ws_url, repr(sorted(cfg.options.items())))


@dataclass
class Session:
    """One command's view of one venue (and, for trading, one key)."""

    choice: VenueChoice
    account: str | None = None  # key name or address (--account); None = default rules
    passphrase_file: str | None = None
    address: str | None = None  # --address: watch this account; nothing can be signed
    _market: MarketData | None = None
    _trading: Trading | None = None
    _reader: Trading | None = None
    _reader_named: bool = False  # the read address came from a key (not given outright)
    _signer: Any = field(default=None, repr=False)
    _owns_market: bool = False  # False while the market is shared (see share_markets)

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
        address: str | None = None,
    ) -> Session:
        """A session from explicit choices (the CLI passes its global options). Without --account
        (and --address), the venue's own configured account is used (venues.<name>.account)."""
        choice = choose_venue(settings, venue=venue, url=url, network=network, vault_address=vault_address)
        if account is None and address is None:
            account = choice.account
        return cls(choice=choice, account=account, passphrase_file=passphrase_file, address=address)

    @property
    def venue(self) -> str:
        return self.choice.name

    @property
    def market(self) -> MarketData:
        """The keyless side (imports the adapter on first use)."""
        if self._market is None:
            shared = _shared_markets.get(_endpoint(self.choice.config)) if _shared_markets is not None else None
            if shared is not None:
                shared.begin_command()
                self._market = shared
            else:
                self._market = registry.open_venue(self.choice.config)
                if _shared_markets is not None and hasattr(self._market, "begin_command"):
                    _shared_markets[_endpoint(self.choice.config)] = self._market
                else:
                    self._owns_market = True
        return self._market

    def signer(self) -> Any:
        """The key that signs (with --address: the watched address, which refuses to sign)."""
        if self._signer is None:
            from perpcli.keys import sources

            with KEY_LOCK:
                if self.address:
                    self._signer = sources.resolve_reader(address=self.address)
                else:
                    self._signer = sources.resolve_signer(self.account, passphrase_file=self.passphrase_file,
                                                          venue=self.venue)
        return self._signer

    def adopt_signer(self, signer: Any) -> None:
        """Sign with a key another venue's session of this command already unlocked (one EVM key
        serving several venues: one passphrase, not one per venue). A stored agent key approved
        on another venue is refused here, as resolve_signer would refuse it (exit 4)."""
        from perpcli.keys import sources

        name = getattr(signer, "name", "")
        if name and name != sources.ENV_KEY:
            sources.check_binding(name, self.venue)
        self._signer = signer

    @property
    def watch_only(self) -> bool:
        """True when this session was opened on an address: nothing can be signed in it."""
        return bool(self.address)

    def _options(self) -> TradingOptions:
        return TradingOptions(account_override=self.choice.vault_address, builder=self.choice.builder,
                              builder_fee_tenths_bp=self.choice.builder_fee)

    def trading(self, *, check_key: bool = True) -> Trading:
        """The keyed side; by default verifies the venue knows the key (AuthError, exit 4)."""
        if self._trading is None:
            self._trading = self.market.trading(self.signer(), options=self._options())
        if check_key:
            self._trading.require_registered()
        return self._trading

    def reader(self) -> Trading:
        """The account's read side, built from an address: no passphrase, no decryption.

        An address given outright (--address, default.address, any 0x --account) is read as is;
        one taken from a key must be known to the venue (AuthError, exit 4), as for trading.
        """
        if self._trading is not None:
            return self._trading
        if self.market.capabilities.signed_reads:
            # The venue signs every account read: an address alone cannot read it.
            if self.address:
                raise UsageError(f"{self.venue} signs every account read, so --address cannot read an account "
                                 "there; use a key (--account NAME)")
            return self.trading()
        if self._reader is None:
            from perpcli.keys import sources

            with KEY_LOCK:
                who = sources.resolve_reader(self.account, address=self.address,
                                             passphrase_file=self.passphrase_file, venue=self.venue)
            self._reader = self.market.trading(who, options=self._options())
            self._reader_named = bool(getattr(who, "name", ""))
        if self._reader_named:
            self._reader.require_registered()
        return self._reader

    def close(self) -> None:
        if self._market is not None and self._owns_market:
            self._market.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
