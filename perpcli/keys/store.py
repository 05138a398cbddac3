"""Named keys on disk: one keystore v3 file per key under <data dir>/keys, files 0600 in a 0700 folder.

Listing reads only the address each file declares (no decryption, no crypto imports), so
`perp keys list` stays instant. Reading a key file that others can read, or that someone else
owns, or that sits in a folder others can write or list, is refused: a leaked keystore is only as
safe as its passphrase, and a swapped one signs for someone else.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from perpcli.config import paths
from perpcli.domain.errors import AuthError, UsageError
from perpcli.keys import keystore

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # used with fullmatch: "$" would allow a final "\n"


@dataclass(frozen=True)
class KeyEntry:
    name: str
    address: str | None
    path: Path
    agent_for: str | None = None  # an agent (API) key: the master account it trades for
    venue: str | None = None  # ... and the venue it was approved on

    @property
    def is_agent(self) -> bool:
        return self.agent_for is not None


# Keystore v3 readers (geth, Foundry, eth-account) ignore fields they do not know, so an agent
# key's binding travels inside its own file, beside the address.
BINDING_FIELD = "perpcli"


def agent_binding(master: str, venue: str) -> dict:
    """What an agent key's file records: whom it trades for, and where."""
    return {"role": "agent", "master": master.lower(), "venue": venue}


def binding_of(doc: dict) -> tuple[str | None, str | None]:
    """(master, venue) for an agent key's document; (None, None) for an ordinary key."""
    b = doc.get(BINDING_FIELD)
    if not isinstance(b, dict) or b.get("role") != "agent":
        return None, None
    master, venue = b.get("master"), b.get("venue")
    return (master if isinstance(master, str) else None), (venue if isinstance(venue, str) else None)


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name or ""):
        raise UsageError(
            f"bad key name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def keys_dir(create: bool = False) -> Path:
    d = paths.keys_dir()
    if create:
        paths.ensure_private_dir(d.parent)
        paths.ensure_private_dir(d)
    return d


def path_for(name: str) -> Path:
    return keys_dir() / f"{check_name(name)}.json"


def check_private(path: Path) -> None:
    """Refuse a key file that is not a regular file of ours, or that group or others can use."""
    try:
        st = path.stat()
    except OSError as e:
        raise AuthError(f"key file {path}: cannot read: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise AuthError(f"key file {path} is not a regular file; refusing to use it")
    _check_owner(path, st, "key file")
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode = stat.S_IMODE(st.st_mode)
        raise AuthError(
            f"key file {path} is accessible by other users (mode {mode:04o}); refusing to use it. "
            f"Fix with: chmod 600 {path}"
        )


def check_private_dir(path: Path) -> None:
    """Refuse a keys folder owned by someone else or open to group/others: they could swap a key file."""
    st = path.stat()
    _check_owner(path, st, "keys folder")
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode = stat.S_IMODE(st.st_mode)
        raise AuthError(
            f"keys folder {path} is accessible by other users (mode {mode:04o}); refusing to use it. "
            f"Fix with: chmod 700 {path}"
        )


def _check_owner(path: Path, st: os.stat_result, what: str) -> None:
    uid = os.getuid()
    if st.st_uid != uid:
        raise AuthError(f"{what} {path} is owned by uid {st.st_uid}, not by you (uid {uid}); "
                        "refusing to use it")


def list_keys() -> list[KeyEntry]:
    d = keys_dir()
    if not d.is_dir():
        return []
    out = []
    for p in sorted(d.glob("*.json")):
        master = venue = None
        try:
            doc = json.loads(p.read_text())
            addr = keystore.address_of(doc) if isinstance(doc, dict) else None
            if isinstance(doc, dict):
                master, venue = binding_of(doc)
        except (OSError, ValueError):
            addr = None
        out.append(KeyEntry(p.stem, addr, p, master, venue))
    return out


def exists(name: str) -> bool:
    return path_for(name).exists()


def write(name: str, doc: dict, *, overwrite: bool = False) -> Path:
    """Write a keystore document atomically with mode 0600."""
    path = path_for(name)
    keys_dir(create=True)
    if path.exists() and not overwrite:
        raise UsageError(f"a key named {name!r} already exists ({path}); choose another name or remove it first")
    tmp = path.with_suffix(".json.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def read(name: str) -> dict:
    """Read a named keystore, refusing a missing file, or a file or folder others own or can use."""
    from perpcli.keys import files

    path = path_for(name)
    if not path.exists():
        raise AuthError(f"no key named {name!r} (see `perp keys list`)")
    check_private_dir(path.parent)
    check_private(path)
    return keystore.parse(files.read_utf8(path, what="key file"), source=f"key {name!r} ({path})")


def find_by_address(address: str) -> KeyEntry | None:
    a = address.lower()
    for e in list_keys():
        if e.address == a:
            return e
    return None


def remove(name: str) -> Path:
    """Move a key to keys/.removed/ (not deleted: a lost key can mean lost funds). Returns the new path."""
    path = path_for(name)
    if not path.exists():
        raise UsageError(f"no key named {name!r} (see `perp keys list`)")
    trash = paths.ensure_private_dir(keys_dir() / ".removed")
    dest = trash / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    os.replace(path, dest)
    return dest
