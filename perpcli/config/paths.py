"""Where perpcli keeps its state.

PERPCLI_HOME, when set, relocates everything (config, keys, nonce files, logs, caches) under
one folder; tests and sandboxes rely on that. Otherwise the platform's user folders are used.
Folders holding secrets are created 0700.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "perpcli"


def home() -> Path | None:
    value = os.environ.get("PERPCLI_HOME")
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    h = home()
    if h is not None:
        return h
    from platformdirs import user_config_path

    return user_config_path(APP)


def data_dir() -> Path:
    h = home()
    if h is not None:
        return h
    from platformdirs import user_data_path

    return user_data_path(APP)


def state_dir() -> Path:
    """Nonce files, locks, logs."""
    h = home()
    if h is not None:
        return h / "state"
    from platformdirs import user_state_path

    return user_state_path(APP)


def cache_dir() -> Path:
    h = home()
    if h is not None:
        return h / "cache"
    from platformdirs import user_cache_path

    return user_cache_path(APP)


def config_file() -> Path:
    return config_dir() / "config.toml"


def keys_dir() -> Path:
    return data_dir() / "keys"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) and make it 0700: it may hold secrets or locks."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path
