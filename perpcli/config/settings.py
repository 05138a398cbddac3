"""Effective settings, and where each value came from.

Precedence: defaults < config file < PERPCLI_* environment < command-line flags. Every value is
validated against perpcli/config/schema.py; a bad one raises ConfigError naming the file (or
variable), the key and what was expected, which the CLI turns into exit 2.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from perpcli.config import paths
from perpcli.config.schema import BY_KEY, SETTINGS, Setting
from perpcli.domain.errors import ConfigError

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


@dataclass(frozen=True)
class Value:
    value: Any
    source: str  # "default" | "file:<path>" | "env:<VAR>" | "flag:<--name>"


def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def coerce(setting: Setting, raw: Any, where: str) -> Any:
    """Turn a TOML or environment value into the setting's type, or raise ConfigError."""

    def bad(expected: str) -> ConfigError:
        shown = repr(raw)
        if len(shown) > 42:  # keep the error one short line, also for a 300-digit number
            shown = shown[:40] + "..."
        return ConfigError(f"{where}: {setting.key}: expected {expected}, got {shown}")

    kind = setting.kind
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return raw.strip().lower() in ("1", "true", "yes", "on")
        raise bad("true or false")
    if kind == "int":
        if isinstance(raw, bool):
            raise bad("a whole number")
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, str) and re.fullmatch(r"\s*-?[0-9]{1,18}\s*", raw):  # ASCII: \d takes any digit
            value = int(raw)
        else:
            raise bad("a whole number")
        if value < 0:
            raise bad("a number >= 0")
        if value >= 10**18:
            raise bad("a whole number of at most 18 digits")
        return value
    if kind == "decimal":
        if isinstance(raw, bool) or isinstance(raw, float):
            # TOML floats are binary: ask for a string so the value stays exact.
            if isinstance(raw, float):
                raise ConfigError(
                    f"{where}: {setting.key}: write decimals as strings (e.g. \"{raw}\") so they stay exact"
                )
            raise bad("a decimal number")
        text = str(raw).strip()
        if not text.isascii() or len(text) > 40:  # Decimal() takes any Unicode digit: ৪ is 4
            raise bad("a decimal number written with ASCII digits")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise bad("a decimal number") from None
        if not value.is_finite() or value < 0:
            raise bad("a finite decimal number >= 0")
        return value
    if kind == "list":
        # TOML gives an array; the environment a comma-separated string ("hyperliquid,ostium").
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, list | tuple) or not all(isinstance(x, str) for x in items):
            raise bad("a list of names")
        names = tuple(x.strip() for x in items if x.strip())
        if any(not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", x) for x in names):
            raise bad("a list of names (letters, digits, '-', '_' and '.')")
        return tuple(dict.fromkeys(names))  # a name given twice counts once
    if not isinstance(raw, str):
        raise bad("a string")
    if setting.choices and raw not in setting.choices:
        raise bad("one of " + ", ".join(setting.choices))
    if kind == "address" and raw and not _ADDRESS.match(raw):
        raise bad("an address (0x followed by 40 hex digits) or an empty string")
    if kind == "url" and not re.match(r"^(https?|wss?)://[^\s/]+", raw):
        raise bad("an http(s) URL")
    return raw.lower() if kind == "address" else raw


def load_file(path: Path) -> dict[str, Any]:
    """Read and flatten a TOML config file; a syntax error names the file and line."""
    import tomllib

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path}: invalid TOML: {e}") from None
    except UnicodeDecodeError as e:  # tomllib decodes UTF-8 itself and lets this through
        raise ConfigError(f"config file {path}: not UTF-8 text (invalid byte at offset {e.start})") from None
    except ValueError as e:  # int() inside tomllib: more than 4300 digits
        raise ConfigError(f"config file {path}: invalid TOML value ({str(e)[:80]})") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder, not a file") from None
    except OSError as e:
        raise ConfigError(f"config file {path}: cannot read: {e.strerror}") from None
    return _flatten(data)


# PERPCLI_* variables that are not settings (read by keys/, config/paths.py and the test suite).
OTHER_VARIABLES = frozenset({"PERPCLI_HOME", "PERPCLI_CONFIG", "PERPCLI_PRIVATE_KEY", "PERPCLI_PASSPHRASE"})
_SECTIONS = tuple(sorted({"PERPCLI_" + s.key.split(".", 1)[0].upper() + "_" for s in SETTINGS}))
_BUILTIN_VENUE_VARS = frozenset(s.env_var for s in SETTINGS if s.key.startswith("venues."))


def plugin_settings() -> dict[str, Setting]:
    """Every venue plugin's settings by key (schema.plugin_venue_settings), their defaults
    checked as a file's values are. Loads the plugins' entry points: only asked for when a
    venues.* key, variable or read names no built-in setting."""
    from perpcli.config.schema import plugin_venue_settings
    from perpcli.venues import registry

    out: dict[str, Setting] = {}
    for entry in registry.plugin_venues().values():
        for setting in plugin_venue_settings(entry):
            coerce(setting, setting.default, f"venue plugin {entry.name!r} default")
            out[setting.key] = setting
    return out


def _names_a_plugin_setting(key: str) -> bool:
    """venues.<name>.<key> of a venue that is not built in: only a plugin can define it."""
    from perpcli.config.schema import VENUE_NAMES

    parts = key.split(".")
    return len(parts) == 3 and parts[0] == "venues" and parts[1] not in VENUE_NAMES


def check_environment(env: Any, more: Any = ()) -> None:
    """A misspelled PERPCLI_* variable is an error, as a misspelled key in the file is: silently
    ignoring PERPCLI_RISK_MAX_LEVRAGE=5 would trade with a guard the user believes is set.

    Checked: variables in a settings section (PERPCLI_RISK_..., PERPCLI_VENUES_...) and any other
    PERPCLI_* name within a typo of a known one; unrelated tools' PERPCLI_* names are left alone."""
    import difflib

    known = {s.env_var for s in (*SETTINGS, *more)} | OTHER_VARIABLES
    for name in env:
        if not name.startswith("PERPCLI_") or name in known:
            continue
        near = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.85)
        if name.startswith(_SECTIONS) or near:
            hint = f"; did you mean {near[0]}?" if near else ""
            what = "unknown setting" if name.startswith(_SECTIONS) else "unknown variable"
            raise ConfigError(f"environment {name}: {what}{hint} (see config.example.toml)")


class Settings:
    """Resolved settings with provenance. Build with `Settings.load()`."""

    def __init__(self, values: dict[str, Value], file: Path, plugins: dict[str, Setting] | None = None) -> None:
        self._values = values
        self.file = file
        self._plugins = plugins  # venue plugins' settings, once looked up (None: not yet)

    @classmethod
    def load(cls, *, config_path: str | os.PathLike | None = None, flags: dict[str, Any] | None = None,
             environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        explicit = config_path or env.get("PERPCLI_CONFIG")
        file = Path(explicit).expanduser() if explicit else paths.config_file()
        if explicit and not file.exists():
            raise ConfigError(f"config file {file}: does not exist")
        in_file = load_file(file)
        plugins: dict[str, Setting] | None = None
        if any(key not in BY_KEY and _names_a_plugin_setting(key) for key in in_file) or any(
                name.startswith("PERPCLI_VENUES_") and name not in _BUILTIN_VENUE_VARS for name in env):
            plugins = plugin_settings()  # a plugin venue's settings are named: look them up
        extra = tuple((plugins or {}).values())
        values = {s.key: Value(s.default, "default") for s in (*SETTINGS, *extra)}
        for key, raw in in_file.items():
            setting = BY_KEY.get(key) or (plugins or {}).get(key)
            if setting is None:
                raise ConfigError(f"config file {file}: unknown setting {key!r} (see config.example.toml)")
            values[key] = Value(coerce(setting, raw, f"config file {file}"), f"file:{file}")
        check_environment(env, extra)
        for setting in (*SETTINGS, *extra):
            if setting.env_var in env:
                raw = env[setting.env_var]
                values[setting.key] = Value(coerce(setting, raw, f"environment {setting.env_var}"),
                                            f"env:{setting.env_var}")
        for key, raw in (flags or {}).items():
            if raw is None:
                continue
            setting = BY_KEY[key]
            values[key] = Value(coerce(setting, raw, f"option for {key}"), f"flag:{key}")
        return cls(values, file, plugins)

    def include_plugins(self) -> Settings:
        """Look up the venue plugins' settings (once), at their defaults where nothing set them."""
        if self._plugins is None:
            self._plugins = plugin_settings()
            for setting in self._plugins.values():
                self._values.setdefault(setting.key, Value(setting.default, "default"))
        return self

    def _value(self, key: str) -> Value:
        value = self._values.get(key)
        if value is None and self._plugins is None and _names_a_plugin_setting(key):
            value = self.include_plugins()._values.get(key)  # a plugin venue's setting nobody set
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: str) -> Any:
        return self._value(key).value

    def source(self, key: str) -> str:
        return self._value(key).source

    def items(self):
        for s in (*SETTINGS, *(self._plugins or {}).values()):
            yield s, self._values[s.key]

    def __getitem__(self, key: str) -> Any:
        return self.get(key)


_cached: Settings | None = None
_config_path: str | None = None
_flags: dict[str, Any] = {}


def configure(*, config_path: str | None = None, flags: dict[str, Any] | None = None) -> None:
    """Record the command line's --config and flag overrides; loading stays lazy.

    Called by the CLI's root callback, so a command that never reads settings never pays for
    (or fails on) the config file.
    """
    global _config_path, _flags, _cached
    _config_path = config_path
    _flags = dict(flags or {})
    _cached = None


def current() -> Settings:
    """Settings for this process (loaded once, on first use)."""
    global _cached
    if _cached is None:
        _cached = Settings.load(config_path=_config_path, flags=_flags)
    return _cached
