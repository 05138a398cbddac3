"""Recursive Length Prefix (RLP) encoding, the serialisation of EIP-1559 transactions.

Written here rather than taken from the `rlp` package because of import cost: pyrlp (with
eth-utils and its sedes machinery) is a large share of a whole `perp` process on Ostium, and
a type-2 transaction needs only this: byte strings, non-negative ints (big-endian, minimal,
0 as the empty string) and lists of those.

Decoding is strict, as a node's is: a non-canonical length (a single byte below 0x80 wrapped
as a string, a long form for a short payload, a length with leading zeros), a payload running
past the end, or bytes left over after the item raise RlpDecodeError. Decoded strings are
bytes and lists are Python lists; ints are the caller's to read (and check) from their bytes.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RlpDecodeError", "RlpEncodeError", "decode", "encode"]


class RlpEncodeError(ValueError):
    """A value RLP cannot carry (a negative int, a float, a str...)."""


class RlpDecodeError(ValueError):
    """Bytes that are not one canonical RLP item."""


def encode(item: Any) -> bytes:
    if isinstance(item, (bytes, bytearray)):
        raw = bytes(item)
        if len(raw) == 1 and raw[0] < 0x80:
            return raw
        return _length_prefix(len(raw), 0x80) + raw
    if isinstance(item, int) and not isinstance(item, bool):
        if item < 0:
            raise RlpEncodeError(f"RLP cannot encode the negative int {item}")
        return encode(item.to_bytes((item.bit_length() + 7) // 8, "big"))
    if isinstance(item, (list, tuple)):
        payload = b"".join(encode(x) for x in item)
        return _length_prefix(len(payload), 0xC0) + payload
    raise RlpEncodeError(f"RLP encodes bytes, non-negative ints and lists, not {type(item).__name__}")


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(size) > 8:
        raise RlpEncodeError("RLP payload too long")
    return bytes([offset + 55 + len(size)]) + size


def decode(data: bytes) -> Any:
    """The one item RLP-encoded in `data` (nested lists of bytes)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise RlpDecodeError(f"RLP data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    item, end = _decode_at(data, 0)
    if end != len(data):
        raise RlpDecodeError(f"{len(data) - end} trailing bytes after the RLP item")
    return item


def _decode_at(data: bytes, at: int) -> tuple[Any, int]:
    """(item, index just past it) for the item starting at `at`."""
    if at >= len(data):
        raise RlpDecodeError("RLP data ends where an item should start")
    prefix = data[at]
    if prefix < 0x80:
        return data[at:at + 1], at + 1
    is_list = prefix >= 0xC0
    short = prefix - (0xC0 if is_list else 0x80)
    if short <= 55:
        start, length = at + 1, short
        if not is_list and length == 1 and start < len(data) and data[start] < 0x80:
            raise RlpDecodeError("non-canonical RLP: a single byte below 0x80 encoded as a string")
    else:
        size = short - 55
        start = at + 1 + size
        if start > len(data):
            raise RlpDecodeError("RLP length prefix runs past the end of the data")
        size_bytes = data[at + 1:start]
        if size_bytes[0] == 0:
            raise RlpDecodeError("non-canonical RLP: length with leading zeros")
        length = int.from_bytes(size_bytes, "big")
        if length < 56:
            raise RlpDecodeError("non-canonical RLP: long form for a short payload")
    end = start + length
    if end > len(data):
        raise RlpDecodeError("RLP payload runs past the end of the data")
    if not is_list:
        return data[start:end], end
    items = []
    pos = start
    while pos < end:
        item, pos = _decode_at(data, pos)
        if pos > end:
            raise RlpDecodeError("RLP list item runs past the end of its list")
        items.append(item)
    return items, end
