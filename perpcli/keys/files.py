"""Reading the small text files keys depend on: keystores, key files and passphrase files.

Two traps this module exists to avoid. `str.splitlines()` ends a line not only at `\\n` but at
\\v, \\f, \\x1c-\\x1e, \\x85 and U+2028/U+2029, so "the first line" of a passphrase file could be a
short prefix of the passphrase the user wrote, and the key would be protected by that prefix.
And a file that cannot be read or is not UTF-8 must be one error line naming the file with
the key-problem exit code, not an internal error.
"""

from __future__ import annotations

from pathlib import Path

from perpcli.domain.errors import AuthError, UsageError


def first_line(text: str) -> str:
    """Everything before the first `\\n` (a `\\r` before it is dropped too); nothing else ends a line."""
    return text.split("\n", 1)[0].removesuffix("\r")


def lines(text: str) -> list[str]:
    """Lines split at `\\n` only (with `\\r\\n` accepted), unlike `str.splitlines()`."""
    return [ln.removesuffix("\r") for ln in text.split("\n")]


def read_utf8(path: Path, *, what: str) -> str:
    """The text of `path`; a missing file is a UsageError (exit 2), any other failure an AuthError (exit 4)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:  # a mistyped path is bad input, not a key problem
        raise UsageError(f"{what} {path}: cannot read: no such file") from None
    except IsADirectoryError:
        raise AuthError(f"{what} {path} is a folder, not a file") from None
    except OSError as e:
        raise AuthError(f"{what} {path}: cannot read: {e.strerror or e}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AuthError(f"{what} {path} is not UTF-8 text (invalid byte at offset {e.start})") from None
