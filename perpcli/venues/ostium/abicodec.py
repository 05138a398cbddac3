"""Solidity ABI encoding and decoding for exactly the types Ostium's contracts use.

Written here rather than taken from eth-abi because of import cost: eth-abi (with eth-utils
and its registry of every ABI type) is a large share of a whole `perp` process on Ostium, and
every Ostium command, a read as much as a trade, needs a codec. This module handles address,
bool, uint<N>/int<N>, bytes<N>, bytes, string, fixed and dynamic arrays and tuples (nested
structs) — what the deployed ABIs and the devnet's contracts declare — and refuses any other
type (fixed-point, function) with AbiTypeError instead of guessing.

Values follow eth-abi's conventions so callers need not change: tuples and arrays decode to
Python tuples, addresses to lower-case 0x-hex strings, bytes<N> and bytes to bytes. Encoding is
strict: an int out of its type's range, a bool that is not a bool, a bytes<N> of another length
or a mixed-case address with a wrong checksum is refused (AbiEncodeError). Decoding is strict
too: data shorter than the types, an offset or length pointing outside it, non-zero padding,
a bool other than 0/1 or invalid UTF-8 raises AbiDecodeError, never a wrong value. Trailing
bytes after the encoded values are ignored (a node may return more than the ABI names).

Pure: no I/O, no clock.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from perpcli.keys.hashing import keccak256

__all__ = ["AbiDecodeError", "AbiEncodeError", "AbiTypeError", "decode", "encode", "to_checksum_address"]

WORD = 32


class AbiTypeError(ValueError):
    """A type string this codec does not handle (or that is not an ABI type at all)."""


class AbiEncodeError(ValueError):
    """A value that does not fit its ABI type."""


class AbiDecodeError(ValueError):
    """Bytes that are not a valid encoding of the given types."""


# ----- types ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Type:
    kind: str  # "uint", "int", "address", "bool", "fixed_bytes", "bytes", "string", "array", "tuple"
    size: int = 0  # bits for uint/int, bytes for fixed_bytes, length for a fixed array (-1: dynamic)
    items: tuple[_Type, ...] = ()  # tuple components, or the one element type of an array
    dynamic: bool = False  # encoded out of line (behind an offset word)
    head_size: int = WORD  # bytes it takes in its enclosing head: one word when dynamic, else its full size


def _make(kind: str, size: int = 0, items: tuple[_Type, ...] = ()) -> _Type:
    if kind in ("bytes", "string"):
        return _Type(kind, size, items, True, WORD)
    if kind == "array":
        dynamic = size < 0 or items[0].dynamic
        return _Type(kind, size, items, dynamic, WORD if dynamic else size * items[0].head_size)
    if kind == "tuple":
        dynamic = any(t.dynamic for t in items)
        return _Type(kind, size, items, dynamic, WORD if dynamic else sum(t.head_size for t in items))
    return _Type(kind, size, items)


_ARRAY_SUFFIX = re.compile(r"\[(\d*)\]$")
_ELEMENTARY = re.compile(r"(uint|int|bytes)(\d*)|address|bool|string")


def _split_components(inner: str, whole: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise AbiTypeError(f"unbalanced parentheses in ABI type {whole!r}")
        elif ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    if depth:
        raise AbiTypeError(f"unbalanced parentheses in ABI type {whole!r}")
    parts.append(inner[start:])
    return parts


@functools.cache
def parse_type(text: str) -> _Type:
    """The parsed form of a canonical ABI type string ("uint256", "(address,bool)[]", ...)."""
    m = _ARRAY_SUFFIX.search(text)
    if m:
        elem = parse_type(text[: m.start()])
        length = int(m.group(1)) if m.group(1) else -1
        if length == 0:
            raise AbiTypeError(f"zero-length array type {text!r} is not supported")
        return _make("array", length, (elem,))
    if text.startswith("(") and text.endswith(")"):
        inner = text[1:-1]
        return _make("tuple", 0, tuple(parse_type(p) for p in _split_components(inner, text)) if inner else ())
    m = _ELEMENTARY.fullmatch(text)
    if not m:
        raise AbiTypeError(f"ABI type {text!r} is not supported by perpcli's codec")
    base, digits = m.group(1), m.group(2)
    if base in ("uint", "int"):
        if not digits or digits.startswith("0") or not (8 <= int(digits) <= 256) or int(digits) % 8:
            raise AbiTypeError(f"ABI type {text!r}: {base} needs a size of 8..256 in steps of 8, spelled out")
        return _make(base, int(digits))
    if base == "bytes":
        if not digits:
            return _make("bytes")
        if digits.startswith("0") or not (1 <= int(digits) <= 32):
            raise AbiTypeError(f"ABI type {text!r}: bytes<N> needs N of 1..32")
        return _make("fixed_bytes", int(digits))
    return _make(text)


# ----- encoding ------------------------------------------------------------------------------


def encode(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """ABI-encode `values` as the tuple of `types` (what follows a 4-byte selector)."""
    if len(types) != len(values):
        raise AbiEncodeError(f"{len(types)} types but {len(values)} values")
    return _encode_sequence([parse_type(t) for t in types], list(values), "value")


def _encode_sequence(types: Sequence[_Type], values: Sequence[Any], where: str) -> bytes:
    heads: list[bytes] = []
    tails: list[bytes] = []
    offset = sum(t.head_size for t in types)
    for i, (t, v) in enumerate(zip(types, values, strict=True)):
        encoded = _encode_one(t, v, f"{where}[{i}]")
        if t.dynamic:
            heads.append(offset.to_bytes(WORD, "big"))
            tails.append(encoded)
            offset += len(encoded)
        else:
            heads.append(encoded)
    return b"".join(heads) + b"".join(tails)


def _encode_one(t: _Type, v: Any, where: str) -> bytes:
    kind = t.kind
    if kind == "uint" or kind == "int":
        if not isinstance(v, int) or isinstance(v, bool):
            raise AbiEncodeError(f"{where}: {kind}{t.size} needs an int, got {type(v).__name__}")
        lo, hi = (0, 2**t.size) if kind == "uint" else (-(2 ** (t.size - 1)), 2 ** (t.size - 1))
        if not lo <= v < hi:
            raise AbiEncodeError(f"{where}: {v} is outside {kind}{t.size}")
        return v.to_bytes(WORD, "big", signed=kind == "int")
    if kind == "address":
        return _address_bytes(v, where).rjust(WORD, b"\0")
    if kind == "bool":
        if not isinstance(v, bool):
            raise AbiEncodeError(f"{where}: bool needs True or False, got {type(v).__name__}")
        return (1 if v else 0).to_bytes(WORD, "big")
    if kind == "fixed_bytes":
        if not isinstance(v, (bytes, bytearray)) or len(v) != t.size:
            raise AbiEncodeError(f"{where}: bytes{t.size} needs exactly {t.size} bytes, got {_describe(v)}")
        return bytes(v).ljust(WORD, b"\0")
    if kind == "bytes" or kind == "string":
        if kind == "string":
            if not isinstance(v, str):
                raise AbiEncodeError(f"{where}: string needs a str, got {type(v).__name__}")
            raw = v.encode("utf-8")
        else:
            if not isinstance(v, (bytes, bytearray)):
                raise AbiEncodeError(f"{where}: bytes needs bytes, got {type(v).__name__}")
            raw = bytes(v)
        padded = -(-len(raw) // WORD) * WORD
        return len(raw).to_bytes(WORD, "big") + raw.ljust(padded, b"\0")
    if kind == "array":
        if not isinstance(v, (list, tuple)):
            raise AbiEncodeError(f"{where}: an array needs a list or tuple, got {type(v).__name__}")
        if t.size >= 0 and len(v) != t.size:
            raise AbiEncodeError(f"{where}: a [{t.size}] array needs {t.size} items, got {len(v)}")
        body = _encode_sequence([t.items[0]] * len(v), v, where)
        return body if t.size >= 0 else len(v).to_bytes(WORD, "big") + body
    # tuple
    if not isinstance(v, (list, tuple)) or len(v) != len(t.items):
        raise AbiEncodeError(f"{where}: a tuple of {len(t.items)} needs a list or tuple of that length, "
                             f"got {_describe(v)}")
    return _encode_sequence(t.items, v, where)


def _describe(v: Any) -> str:
    return f"{type(v).__name__} of {len(v)}" if hasattr(v, "__len__") else type(v).__name__


_HEX40 = re.compile(r"0x[0-9a-fA-F]{40}")


def _address_bytes(v: Any, where: str) -> bytes:
    if isinstance(v, (bytes, bytearray)) and len(v) == 20:
        return bytes(v)
    if not isinstance(v, str) or not _HEX40.fullmatch(v):
        raise AbiEncodeError(f"{where}: an address needs 0x and 40 hex digits (or 20 bytes), got {v!r}")
    body = v[2:]
    if body != body.lower() and body != body.upper() and to_checksum_address(v) != v:
        raise AbiEncodeError(f"{where}: address {v} has a wrong EIP-55 checksum")
    return bytes.fromhex(body)


def to_checksum_address(v: str | bytes) -> str:
    """EIP-55 mixed-case spelling of a 20-byte address."""
    body = v.hex() if isinstance(v, (bytes, bytearray)) else v[2:].lower()
    digest = keccak256(body.encode()).hex()[:40]
    return "0x" + "".join(c.upper() if int(d, 16) >= 8 else c for c, d in zip(body, digest, strict=True))


# ----- decoding ------------------------------------------------------------------------------


def decode(types: Sequence[str], data: bytes) -> tuple[Any, ...]:
    """The values of `types` ABI-encoded in `data` (AbiDecodeError when `data` is not that)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise AbiDecodeError(f"ABI data must be bytes, got {type(data).__name__}")
    return _decode_sequence([parse_type(t) for t in types], bytes(data), 0, "value")


def _word(data: bytes, at: int, where: str) -> bytes:
    if at < 0 or at + WORD > len(data):
        raise AbiDecodeError(f"{where}: data too short ({len(data)} bytes, needs a word at {at})")
    return data[at:at + WORD]


def _uint_word(data: bytes, at: int, where: str) -> int:
    return int.from_bytes(_word(data, at, where), "big")


def _decode_sequence(types: Sequence[_Type], data: bytes, base: int, where: str) -> tuple[Any, ...]:
    """Values of `types` laid out as a head/tail block starting at `base` (offsets are relative to it)."""
    out: list[Any] = []
    at = base
    head = sum(t.head_size for t in types)
    for i, t in enumerate(types):
        here = f"{where}[{i}]"
        if t.dynamic:
            offset = _uint_word(data, at, here)
            if offset < head:  # a tail lies after the head; an offset into it is not an encoding
                raise AbiDecodeError(f"{here}: offset {offset} points into the head ({head} bytes)")
            if offset >= len(data) - base:
                raise AbiDecodeError(f"{here}: offset {offset} points past the end of the data")
            out.append(_decode_one(t, data, base + offset, here))
        else:
            out.append(_decode_one(t, data, at, here))
        at += t.head_size
    return tuple(out)


def _decode_one(t: _Type, data: bytes, at: int, where: str) -> Any:
    kind = t.kind
    if kind == "uint":
        value = _uint_word(data, at, where)
        if value >> t.size:
            raise AbiDecodeError(f"{where}: {value} does not fit uint{t.size} (non-zero padding)")
        return value
    if kind == "int":
        value = int.from_bytes(_word(data, at, where), "big", signed=True)
        if not -(2 ** (t.size - 1)) <= value < 2 ** (t.size - 1):
            raise AbiDecodeError(f"{where}: {value} does not fit int{t.size} (bad sign extension)")
        return value
    if kind == "address":
        word = _word(data, at, where)
        if any(word[:12]):
            raise AbiDecodeError(f"{where}: address with non-zero padding")
        return "0x" + word[12:].hex()
    if kind == "bool":
        value = _uint_word(data, at, where)
        if value > 1:
            raise AbiDecodeError(f"{where}: bool encoded as {value}, not 0 or 1")
        return value == 1
    if kind == "fixed_bytes":
        word = _word(data, at, where)
        if any(word[t.size:]):
            raise AbiDecodeError(f"{where}: bytes{t.size} with non-zero padding")
        return word[:t.size]
    if kind == "bytes" or kind == "string":
        length = _uint_word(data, at, where)
        start = at + WORD
        padded = -(-length // WORD) * WORD
        if start + padded > len(data):
            raise AbiDecodeError(f"{where}: {kind} of {length} bytes runs past the end of the data")
        raw = data[start:start + length]
        if any(data[start + length:start + padded]):
            raise AbiDecodeError(f"{where}: {kind} with non-zero padding")
        if kind == "bytes":
            return raw
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise AbiDecodeError(f"{where}: string is not valid UTF-8") from None
    if kind == "array":
        elem = t.items[0]
        if t.size >= 0:
            return _decode_sequence([elem] * t.size, data, at, where)
        length = _uint_word(data, at, where)
        # Each item takes at least one head word: a length beyond what the data holds is malformed
        # (and refusing it here keeps a hostile length from allocating a huge list).
        if length * elem.head_size > len(data) - at - WORD:
            raise AbiDecodeError(f"{where}: array of {length} items runs past the end of the data")
        return _decode_sequence([elem] * length, data, at + WORD, where)
    return _decode_sequence(t.items, data, at, where)
