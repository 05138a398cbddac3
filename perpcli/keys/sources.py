"""Where a signing key comes from, and how a passphrase is obtained.

A key comes from a named keystore (--account NAME, or default.account in config, or the only
key there is), or from PERPCLI_PRIVATE_KEY (hex) for scripts and CI. Passphrases come from
PERPCLI_PASSPHRASE, --passphrase-file, or a hidden prompt when a person is at the terminal.
Never from argv: process listings and shell history would show it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from perpcli.domain.errors import AuthError, UsageError
from perpcli.keys import keystore, store

if TYPE_CHECKING:  # the signer pulls keccak and libsecp256k1: load it only when a key is used
    from perpcli.keys.signer import Signer
    from perpcli.keys.watch_only import WatchOnly

ENV_KEY = "PERPCLI_PRIVATE_KEY"
ENV_PASSPHRASE = "PERPCLI_PASSPHRASE"


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def read_passphrase_file(path: str) -> str:
    """The passphrase is the file's first line, ended by `\n` (or `\r\n`) only: see keys/files.py."""
    from perpcli.keys import files

    return files.first_line(files.read_utf8(Path(path).expanduser(), what="passphrase file"))


def get_passphrase(*, purpose: str, confirm: bool = False, passphrase_file: str | None = None,
                   missing_exit_auth: bool = True) -> str:
    """The passphrase from --passphrase-file, PERPCLI_PASSPHRASE, or a hidden prompt."""
    if passphrase_file:
        return read_passphrase_file(passphrase_file)
    if ENV_PASSPHRASE in os.environ:
        return os.environ[ENV_PASSPHRASE]
    if not _interactive():
        msg = f"a passphrase is needed to {purpose}: set {ENV_PASSPHRASE} or use --passphrase-file"
        raise AuthError(msg) if missing_exit_auth else UsageError(msg)
    import getpass

    first = getpass.getpass(f"Passphrase to {purpose}: ")
    if confirm:
        again = getpass.getpass("Repeat passphrase: ")
        if again != first:
            raise UsageError("passphrases do not match")
    return first


# Set by the CLI's root callback (the keys layer never imports the CLI): the global
# --passphrase-file, and whether a person reads stderr (human mode) or a script reads JSON.
_defaults = {"passphrase_file": None, "human": True}


def configure(*, passphrase_file: str | None = None, human: bool = True) -> None:
    _defaults["passphrase_file"] = passphrase_file
    _defaults["human"] = human


def _default_passphrase_file() -> str | None:
    return _defaults["passphrase_file"]


class KeyNotHeld(AuthError):
    """Inside a session agent: the command needs a key the agent has not unlocked (or has locked).
    The agent answers "run it yourself" and the client asks its own passphrase, as without a session."""


# A session agent (perpcli/session/server.py) unlocks keys once and keeps them here, by name; with
# `held_only` it never asks for a passphrase (it has no terminal): an unheld key raises KeyNotHeld.
_held: dict[str, Signer] = {}
_agent = {"held_only": False, "missed": False}


def hold(signer: Signer) -> None:
    _held[signer.name] = signer


def drop_held() -> None:
    """Forget every held key (`perp session lock`, idle lock): the Signer objects go with them."""
    _held.clear()


def held_names() -> list[str]:
    return sorted(_held)


def serve_held_only(on: bool = True) -> None:
    _agent["held_only"] = on


def missed_key(*, reset: bool = False) -> bool:
    """Whether a command asked for a key the agent does not hold (since the last reset). The
    command's own error handling may swallow KeyNotHeld; this flag survives it."""
    missed = bool(_agent["missed"])
    if reset:
        _agent["missed"] = False
    return missed


def unlock(name: str, *, passphrase_file: str | None = None) -> Signer:
    """Decrypt a named keystore into a Signer (or, in a session agent, hand out the held one)."""
    held = _held.get(name)
    if held is not None:
        return held
    if _agent["held_only"]:
        _agent["missed"] = True
        raise KeyNotHeld(f"the session holds no unlocked key {name!r}")
    from perpcli.keys.signer import Signer

    doc = store.read(name)
    pf = passphrase_file if passphrase_file is not None else _default_passphrase_file()
    passphrase = get_passphrase(purpose=f"unlock key {name!r}", passphrase_file=pf)
    secret = keystore.decrypt(doc, passphrase, source=f"key {name!r}")
    signer = Signer(secret, name=name)
    declared = keystore.address_of(doc)
    if declared and declared != signer.address:
        raise AuthError(f"key {name!r}: keystore declares {declared} but the key is {signer.address}")
    return signer


def env_signer() -> Signer | None:
    """The PERPCLI_PRIVATE_KEY signer, if that variable is set."""
    raw = os.environ.get(ENV_KEY)
    if raw is None:
        return None
    from perpcli.keys.signer import Signer

    try:
        return Signer.from_hex(raw, name=ENV_KEY)
    except AuthError as e:
        raise AuthError(f"{ENV_KEY}: {e.message}") from None


def _is_address(text: str) -> bool:
    return text.startswith("0x") and len(text) == 42


def default_key_name() -> str | None:
    """The key a command uses when none is named: config default.account, else the only stored
    key that is not an agent key. Agent keys (`perp agent approve`) are stored beside their
    master and never become the default by being there: trade with one by naming it."""
    from perpcli.config import settings

    default = settings.current().get("default.account")
    if default:
        return default
    keys = store.list_keys()
    own = [k for k in keys if not k.is_agent]
    if len(own) == 1:
        return own[0].name
    if not keys:
        return None
    if not own:
        names = ", ".join(k.name for k in keys)
        raise AuthError(f"only agent keys are stored ({names}): choose one with --account NAME")
    names = ", ".join(k.name for k in own)
    raise AuthError(f"several keys are stored ({names}): choose one with --account NAME "
                    "or default.account in config")


def _no_key() -> AuthError:
    return AuthError(f"no key: create one with `perp keys new NAME`, or set {ENV_KEY} "
                     "(reads also work with --address 0x...)")


def _named(account: str) -> str:
    """The stored key's name for --account NAME or --account 0xADDRESS-of-a-stored-key."""
    if _is_address(account):
        entry = store.find_by_address(account)
        if entry is None:
            raise AuthError(f"no stored key has address {account.lower()} (see `perp keys list`)")
        return entry.name
    return account


def check_binding(name: str, venue: str | None) -> None:
    """Refuse an agent key on a venue other than the one it was approved on: there it is no
    agent of anyone, and its orders would be refused (or, worse, trade an empty account)."""
    if venue is None or not name or _is_address(name):
        return
    doc = store.read(name)
    master, bound = store.binding_of(doc)
    if master and bound and bound != venue:
        raise AuthError(f"key {name!r} is an agent for {master} on {bound}, not on {venue}")


def resolve_signer(account: str | None = None, *, passphrase_file: str | None = None,
                   warn: bool | None = None, venue: str | None = None) -> Signer:
    """The Signer for this command.

    Order: an explicit account name (or the address of a stored key); else PERPCLI_PRIVATE_KEY;
    else config default.account; else the only stored key that is not an agent key. A one-line
    warning goes to stderr when the environment key is used in human mode. `venue`, when given,
    refuses an agent key approved on another venue.
    """
    if account:
        if _is_address(account) and store.find_by_address(account) is None:
            env = env_signer()
            if env is not None and env.address == account.lower():
                return env
        name = _named(account)
        check_binding(name, venue)
        return unlock(name, passphrase_file=passphrase_file)
    env = env_signer()
    if env is not None:
        if warn is None:
            warn = bool(_defaults["human"])
        if warn:
            sys.stderr.write(f"perp: warning: signing with the key in {ENV_KEY} ({env.address})\n")
        return env
    name = default_key_name()
    if name is None:
        raise _no_key()
    check_binding(name, venue)
    return unlock(name, passphrase_file=passphrase_file)


def stored_key_name(account: str | None = None, *, venue: str | None = None) -> str | None:
    """The stored key `resolve_signer` would unlock for `account`, found without unlocking it;
    None when it would sign with PERPCLI_PRIVATE_KEY instead. Refuses as resolve_signer would
    (no key, several, an agent key of another venue). `perp watch` names it to a session agent."""
    if account:
        if _is_address(account) and store.find_by_address(account) is None:
            return None  # the environment's key of that address, or resolve_signer's refusal
        name = _named(account)
    elif env_signer() is not None:
        return None
    else:
        name = default_key_name()
        if name is None:
            raise _no_key()
    check_binding(name, venue)
    return name


def _stored_address(name: str) -> WatchOnly | None:
    """The address a stored keystore declares, read without decrypting (None: it declares none)."""
    from perpcli.keys.watch_only import WatchOnly

    address = keystore.address_of(store.read(name))  # store.read checks owner and permissions
    return WatchOnly(address, name=name) if address else None


def resolve_reader(account: str | None = None, *, address: str | None = None,
                   passphrase_file: str | None = None, venue: str | None = None) -> Signer | WatchOnly:
    """Whose account a read command shows, paying for no key it does not need.

    Order: --address; else --account (a stored key's declared address, or any 0x address);
    else PERPCLI_PRIVATE_KEY; else default.account; else default.address (a configured
    watch-only account); else the only stored non-agent key. A stored key is never decrypted
    for a read unless its file declares no address.
    """
    from perpcli.keys.watch_only import WatchOnly

    if address:
        return WatchOnly(address)
    if account:
        if _is_address(account) and store.find_by_address(account) is None:
            env = env_signer()
            if env is not None and env.address == account.lower():
                return env
            return WatchOnly(account)
        name = _named(account)
        check_binding(name, venue)
        return _stored_address(name) or unlock(name, passphrase_file=passphrase_file)
    env = env_signer()
    if env is not None:
        return env
    from perpcli.config import settings

    s = settings.current()
    if not s.get("default.account") and s.get("default.address"):
        return WatchOnly(s.get("default.address"))
    name = default_key_name()
    if name is None:
        raise _no_key()
    check_binding(name, venue)
    return _stored_address(name) or unlock(name, passphrase_file=passphrase_file)
