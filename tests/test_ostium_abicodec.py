"""perpcli's own ABI codec against eth-abi (a test-only oracle): every type signature the Ostium
ABIs and the devnet's contracts declare, random values, equal bytes both ways; malformed data
refused with AbiDecodeError rather than decoded into something else."""

from __future__ import annotations

import functools
import json
import re

import eth_abi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perpcli.devnet.ostium import artifacts
from perpcli.venues.ostium import abi, abicodec
from perpcli.venues.ostium.abicodec import AbiDecodeError, AbiEncodeError, AbiTypeError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _signatures() -> list[tuple[str, ...]]:
    """Every input/output type list of every function, error and event perpcli's Ostium code uses."""
    entries = [e for c in abi.CONTRACTS for e in abi.load(c)]
    for path in sorted((artifacts.resources.files(artifacts.__package__) / "artifacts").iterdir()):
        if path.name.endswith(".json"):
            entries += json.loads(path.read_text())["abi"]
    out = {tuple(abi.canonical_type(p) for p in e.get(k) or ()) for e in entries for k in ("inputs", "outputs")}
    out.discard(())
    return sorted(out)


SIGNATURES = _signatures()
# Beyond what the ABIs hold today: the other sizes, fixed arrays, dynamic data nested in tuples and arrays.
EXTRA = [("int8", "uint8", "int24", "uint40", "bytes1", "bytes20", "bytes31"), ("uint256[3]", "(bool,string)[2]"),
         ("(string,bytes,(address,uint8[])[])", "bytes"), ("string[]", "bytes[]", "uint16[][]"),
         ("((uint256,string)[2],int128)[]",), ("bool[2][]",)]
ALL = SIGNATURES + EXTRA


def test_the_signatures_cover_every_kind_perpcli_uses():
    def kinds(t: abicodec._Type) -> set[str]:
        return {t.kind}.union(*(kinds(i) for i in t.items))

    used = set().union(*(kinds(abicodec.parse_type(t)) for sig in SIGNATURES for t in sig))
    assert used == {"address", "bool", "uint", "int", "fixed_bytes", "bytes", "string", "array", "tuple"}


@functools.cache
def strategy(type_str: str) -> st.SearchStrategy:
    t = abicodec.parse_type(type_str)
    m = re.fullmatch(r"(.*)\[(\d*)\]", type_str)
    if m:
        elem = strategy(m.group(1))
        n = int(m.group(2)) if m.group(2) else None
        return st.lists(elem, min_size=n or 0, max_size=n if n is not None else 4).map(tuple)
    if t.kind == "tuple":
        parts = abicodec._split_components(type_str[1:-1], type_str)
        return st.tuples(*(strategy(p) for p in parts))
    if t.kind == "uint":
        return st.one_of(st.integers(0, 2**t.size - 1), st.sampled_from([0, 1, 2**t.size - 1]))
    if t.kind == "int":
        lo, hi = -(2 ** (t.size - 1)), 2 ** (t.size - 1) - 1
        return st.one_of(st.integers(lo, hi), st.sampled_from([lo, -1, 0, hi]))
    if t.kind == "address":
        return st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
    if t.kind == "bool":
        return st.booleans()
    if t.kind == "fixed_bytes":
        return st.binary(min_size=t.size, max_size=t.size)
    if t.kind == "bytes":
        return st.binary(max_size=80)
    assert t.kind == "string"
    return st.text(max_size=40)


def typed_values(types: tuple[str, ...]) -> st.SearchStrategy:
    return st.tuples(*(strategy(t) for t in types))


@pytest.mark.parametrize("types", ALL, ids=",".join)
@SETTINGS
@given(data=st.data())
def test_encode_and_decode_match_eth_abi(types, data):
    values = data.draw(typed_values(types))
    ours = abicodec.encode(types, values)
    assert ours == eth_abi.encode(list(types), list(values))
    assert abicodec.decode(types, ours) == eth_abi.decode(list(types), ours)


@pytest.mark.parametrize("types", ALL, ids=",".join)
@SETTINGS
@given(data=st.data())
def test_truncated_data_is_refused(types, data):
    encoded = abicodec.encode(types, data.draw(typed_values(types)))
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(AbiDecodeError):
        abicodec.decode(types, encoded[:cut])


@pytest.mark.parametrize("types", ALL, ids=",".join)
@SETTINGS
@given(data=st.data())
def test_corrupted_data_decodes_as_eth_abi_does_or_is_refused(types, data):
    """One word of a valid encoding replaced by a small number, a huge one or padding garbage:
    whatever eth-abi (strict) accepts decodes to the same values; what it refuses, we refuse."""
    encoded = bytearray(abicodec.encode(types, data.draw(typed_values(types))))
    at = data.draw(st.integers(0, len(encoded) // 32 - 1)) * 32
    word = data.draw(st.one_of(st.integers(0, 300).map(lambda n: n.to_bytes(32, "big")),
                               st.just(b"\xff" * 32), st.binary(min_size=32, max_size=32)))
    encoded[at:at + 32] = word
    try:
        expected = eth_abi.decode(list(types), bytes(encoded))
    except Exception:  # noqa: BLE001 - eth-abi's many decoding errors, all meaning "not this type"
        with pytest.raises(AbiDecodeError):
            abicodec.decode(types, bytes(encoded))
    else:
        try:
            assert abicodec.decode(types, bytes(encoded)) == expected
        except AbiDecodeError as e:
            # eth-abi bounds a tail offset by a head it counts one word per static tuple; the head
            # here is exact, so an offset into a nested tuple's head words is refused here only.
            assert "points into the head" in str(e)


@pytest.mark.parametrize(("types", "word", "why"), [
    (["uint8"], (256).to_bytes(32, "big"), "does not fit uint8"),
    (["int8"], (128).to_bytes(32, "big"), "does not fit int8"),
    (["bool"], (2).to_bytes(32, "big"), "not 0 or 1"),
    (["address"], b"\x01" + b"\0" * 31, "non-zero padding"),
    (["bytes4"], b"\0" * 31 + b"\x01", "non-zero padding"),
    (["string"], (64).to_bytes(32, "big"), "points past the end"),
    (["uint8", "string"], (0).to_bytes(32, "big") + (32).to_bytes(32, "big") + b"\0" * 32, "points into the head"),
    (["uint256[]"], (32).to_bytes(32, "big") + (2**200).to_bytes(32, "big"), "runs past the end"),
    (["string"], (32).to_bytes(32, "big") + (1).to_bytes(32, "big") + b"\xff" + b"\0" * 31, "not valid UTF-8"),
    (["bytes"], (32).to_bytes(32, "big") + (1).to_bytes(32, "big") + b"\x01\x02" + b"\0" * 30, "non-zero padding"),
    (["uint256"], b"\0" * 31, "data too short"),
])
def test_malformed_data_is_refused_saying_why(types, word, why):
    with pytest.raises(AbiDecodeError, match=why):
        abicodec.decode(types, word)


@pytest.mark.parametrize(("types", "values", "why"), [
    (["uint8"], [256], "outside uint8"),
    (["int8"], [-129], "outside int8"),
    (["uint256"], [-1], "outside uint256"),
    (["uint256"], [True], "needs an int"),
    (["bool"], [1], "True or False"),
    (["bytes32"], [b"short"], "exactly 32 bytes"),
    (["address"], ["0x" + "ab" * 19], "40 hex digits"),
    (["address"], ["0x52908400098527886E0F7030069857D2E4169EE7".replace("E7", "e7")], "checksum"),
    (["string"], [b"bytes"], "needs a str"),
    (["uint8[2]"], [[1]], "needs 2 items"),
    (["(uint8,bool)"], [(1,)], "tuple of 2"),
    (["uint8", "bool"], [1], "2 types but 1 values"),
])
def test_values_that_do_not_fit_are_refused(types, values, why):
    with pytest.raises(AbiEncodeError, match=why):
        abicodec.encode(types, values)


@pytest.mark.parametrize("type_str", ["fixed128x18", "ufixed", "function", "uint", "uint7", "uint264", "bytes0",
                                      "bytes33", "uint256[0]", "(uint8", "tuple", "uint08"])
def test_other_types_are_refused_by_name(type_str):
    with pytest.raises(AbiTypeError, match="ABI type|array type|parentheses"):
        abicodec.encode([type_str], [0])


def test_addresses_decode_lower_case_and_encode_from_any_valid_spelling():
    checksummed = "0x52908400098527886E0F7030069857D2E4169EE7"  # EIP-55's own example
    for spelling in (checksummed, checksummed.lower(), "0x" + checksummed[2:].upper(), bytes.fromhex(checksummed[2:])):
        encoded = abicodec.encode(["address"], [spelling])
        assert abicodec.decode(["address"], encoded) == (checksummed.lower(),)


def test_trailing_bytes_after_the_values_are_ignored():
    """A node may return more than the ABI names (a newer contract): what is named still decodes."""
    encoded = abicodec.encode(["uint256", "string"], [7, "gold"])
    assert abicodec.decode(["uint256", "string"], encoded + b"\0" * 32) == (7, "gold")
