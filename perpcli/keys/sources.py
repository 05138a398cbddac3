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


def unlock(name: str, *, passphrase_file: str | None = None) -> Signer:
    """Decrypt a named keystore into a Signer."""
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


def resolve_signer(account: str | None = None, *, passphrase_file: str | None = None,
                   warn: bool | None = None) -> Signer:
    """The Signer for this command.

    Order: an explicit account name (or the address of a stored key); else PERPCLI_PRIVATE_KEY;
    else config default.account; else the only stored key. A one-line warning goes to stderr
    when the environment key is used in human mode.
    """
    if account:
        name = account
        if account.startswith("0x") and len(account) == 42:
            entry = store.find_by_address(account)
            if entry is None:
                env = env_signer()
                if env is not None and env.address == account.lower():
                    return env
                raise AuthError(f"no stored key has address {account.lower()} (see `perp keys list`)")
            name = entry.name
        return unlock(name, passphrase_file=passphrase_file)
    env = env_signer()
    if env is not None:
        if warn is None:
            warn = bool(_defaults["human"])
        if warn:
            sys.stderr.write(f"perp: warning: signing with the key in {ENV_KEY} ({env.address})\n")
        return env
    from perpcli.config import settings

    default = settings.current().get("default.account")
    if default:
        return unlock(default, passphrase_file=passphrase_file)
    keys = store.list_keys()
    if len(keys) == 1:
        return unlock(keys[0].name, passphrase_file=passphrase_file)
    if not keys:
        raise AuthError(f"no key: create one with `perp keys new NAME`, or set {ENV_KEY}")
    raise AuthError("several keys are stored: choose one with --account NAME or default.account in config")
