"""perpcli's own RLP against pyrlp (a test-only oracle): equal bytes for random items and for
EIP-1559 transaction field lists; strict decoding that refuses non-canonical or short data."""

from __future__ import annotations

import pytest
import rlp as pyrlp
from hypothesis import given, settings
from hypothesis import strategies as st

from perpcli.venues.ostium import rlp
from perpcli.venues.ostium.rlp import RlpDecodeError, RlpEncodeError

SETTINGS = settings(max_examples=300, deadline=None)

# Lengths around the 55-byte short/long boundary matter most.
strings = st.one_of(st.binary(max_size=3), st.binary(min_size=54, max_size=58), st.binary(max_size=300))
items = st.recursive(strings, lambda inner: st.lists(inner, max_size=6), max_leaves=30)
uint256 = st.one_of(st.integers(0, 2**256 - 1), st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, 0x100, 2**64, 2**256 - 1]))


@SETTINGS
@given(items)
def test_encode_and_decode_match_pyrlp(item):
    encoded = rlp.encode(item)
    assert encoded == pyrlp.encode(item)
    assert rlp.decode(encoded) == pyrlp.decode(encoded) == item


@SETTINGS
@given(st.lists(uint256, min_size=5, max_size=5), st.binary(min_size=20, max_size=20), uint256, st.binary(max_size=600),
       st.sampled_from([0, 1]), uint256, uint256)
def test_eip1559_field_lists_encode_as_pyrlp_does(ints, to, value, data, y_parity, r, s):
    """[chainId, nonce, tip, maxFee, gas, to, value, data, accessList] (+ yParity, r, s)."""
    fields = [*ints, to, value, data, []]
    assert rlp.encode(fields) == pyrlp.encode(fields)
    signed = [*fields, y_parity, r, s]
    assert rlp.encode(signed) == pyrlp.encode(signed)


@SETTINGS
@given(items, st.data())
def test_truncated_or_extended_data_is_refused(item, data):
    encoded = rlp.encode(item)
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(RlpDecodeError):
        rlp.decode(encoded[:cut])
    with pytest.raises(RlpDecodeError, match="trailing"):
        rlp.decode(encoded + b"\x00")


@SETTINGS
@given(st.binary(max_size=80))
def test_arbitrary_bytes_decode_as_pyrlp_does_or_are_refused(raw):
    try:
        expected = pyrlp.decode(raw)
    except pyrlp.exceptions.DecodingError:
        with pytest.raises(RlpDecodeError):
            rlp.decode(raw)
    else:
        assert rlp.decode(raw) == expected


@pytest.mark.parametrize(("raw", "why"), [
    (b"\x81\x05", "single byte below 0x80"),
    (b"\xb8\x05hello", "long form for a short payload"),
    (b"\xb9\x00\x38" + b"a" * 56, "leading zeros"),
    (b"\x83ab", "runs past the end"),
    (b"\xb9\x01", "length prefix runs past"),
    (b"\xc3\x83abc", "runs past"),
    (b"", "ends where an item should start"),
])
def test_non_canonical_and_short_data_is_refused_saying_why(raw, why):
    with pytest.raises(RlpDecodeError, match=why):
        rlp.decode(raw)


@pytest.mark.parametrize("item", [-1, "text", 1.5, True, None, {"a": 1}])
def test_what_rlp_cannot_carry_is_refused(item):
    with pytest.raises(RlpEncodeError):
        rlp.encode(item)
