"""Hyperliquid numbers: every example in the shared vectors file, plus properties of the rules."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perpcli.domain.errors import ValidationError
from perpcli.venues.hyperliquid import numbers as N

VECTORS_FILE = Path(__file__).resolve().parent / "vectors" / "hyperliquid_signing.json"
DATA = json.loads(VECTORS_FILE.read_text())
D = Decimal


def _exact_places(text: str) -> int:
    return N.decimal_places(D(text))


@pytest.mark.parametrize("ex", DATA["float_to_wire_examples"], ids=lambda e: e["input_repr"])
def test_float_to_wire_examples(ex):
    """Inputs are taken as their exact decimal strings. Where the SDK tolerated float noise
    (more than 8 real decimals but within 1e-12) we refuse and offer the SDK's string as
    `nearest`; where the SDK refused, we refuse too; "-0" is never emitted."""
    text = ex["input_repr"]
    sdk = ex.get("float_to_wire")
    if _exact_places(text) <= 8:
        assert sdk is not None
        assert N.to_wire(D(text)) == ("0" if sdk == "-0" else sdk)
        assert N.to_wire(text) == N.to_wire(D(text))
    else:
        with pytest.raises(ValidationError) as e:
            N.to_wire(D(text))
        assert e.value.rule == "wire-max-8-decimals"
        assert "wire-max-8-decimals" in str(e.value)
        if sdk is not None:
            assert N.to_wire(e.value.nearest) == sdk
        else:
            assert ex["float_to_wire_error"] == "float_to_wire causes rounding"


def test_negative_zero_is_never_emitted():
    assert N.to_wire(D("-0")) == "0"
    assert N.to_wire(D("-0.000")) == "0"
    assert N.to_wire(D("-1.50")) == "-1.5"


@pytest.mark.parametrize("ex", DATA["float_to_int_examples"], ids=lambda e: e["function"] + ":" + e["input_repr"])
def test_float_to_int_examples(ex):
    fn = N.to_usd_int if ex["function"] == "float_to_usd_int" else N.to_int_for_hashing
    power = 6 if ex["function"] == "float_to_usd_int" else 8
    text = ex["input_repr"]
    exact = D(text).scaleb(power)
    if exact == exact.to_integral_value():
        assert fn(D(text)) == ex["output"]
    else:
        with pytest.raises(ValidationError) as e:
            fn(D(text))
        if "output" in ex:  # the SDK tolerated float noise; its answer is our nearest
            assert e.value.nearest.scaleb(power) == ex["output"]
        else:
            assert ex["error"] == "float_to_int causes rounding"


@pytest.mark.parametrize("case", DATA["price_rule_examples"]["cases"], ids=lambda c: f"{c['px']}-d{c['szDecimals']}-{c['market']}")
def test_price_rule_examples(case):
    spot = case["market"] == "spot"
    if case["valid"]:
        assert N.check_price(D(case["px"]), case["szDecimals"], spot=spot) == D(case["px"])
        assert N.round_price(D(case["px"]), case["szDecimals"], spot=spot) == D(case["px"])
    else:
        with pytest.raises(ValidationError) as e:
            N.check_price(D(case["px"]), case["szDecimals"], spot=spot)
        expected_rule = "price-sig-figs" if "significant" in case["why"] else "price-decimals"
        assert e.value.rule == expected_rule
        assert expected_rule in str(e.value)
        # The offered value is itself valid and no farther away than any other valid value on that side.
        nearest = e.value.nearest
        assert N.check_price(nearest, case["szDecimals"], spot=spot) == nearest
        down = N.round_price(D(case["px"]), case["szDecimals"], spot=spot, rounding=N.Rounding.DOWN)
        up = N.round_price(D(case["px"]), case["szDecimals"], spot=spot, rounding=N.Rounding.UP)
        assert down < D(case["px"]) < up
        assert nearest in (down, up)
        assert abs(nearest - D(case["px"])) == min(abs(down - D(case["px"])), abs(up - D(case["px"])))


@pytest.mark.parametrize("ex", DATA["price_rounding_recipe_examples"], ids=lambda e: e["raw_px"])
def test_price_rounding_recipe_examples(ex):
    spot = ex["market"] == "spot"
    out = N.round_price_sdk_recipe(D(ex["raw_px"]), ex["szDecimals"], spot=spot)
    assert N.to_wire(out) == ex["wire"]
    assert N.check_price(out, ex["szDecimals"], spot=spot) == out
    # Our nearest-valid rounding agrees below 100000; above it any integer is valid, so it is closer.
    ours = N.round_price(D(ex["raw_px"]), ex["szDecimals"], spot=spot)
    if D(ex["raw_px"]) < 100000:
        assert ours == out
    else:
        assert abs(ours - D(ex["raw_px"])) < abs(out - D(ex["raw_px"]))
        assert ours == ours.to_integral_value()


@pytest.mark.parametrize("ex", DATA["size_rounding_examples"], ids=lambda e: e["raw_sz"])
def test_size_rounding_examples(ex):
    nearest = N.round_size(D(ex["raw_sz"]), ex["szDecimals"], rounding=N.Rounding.NEAREST)
    assert N.to_wire(nearest) == ex["wire"]
    assert D(ex["python_round"]) == nearest
    down = N.round_size(D(ex["raw_sz"]), ex["szDecimals"])  # default: toward zero
    assert down <= D(ex["raw_sz"])
    assert N.check_size(down, ex["szDecimals"]) == down


def test_python_str_of_float_examples_are_not_canonical_where_the_sdk_differs():
    for case in DATA["python_str_of_float_examples"]["cases"]:
        canonical = N.is_canonical_wire(case["result"])
        if case["result"] in ("1", "12.5", "0.0001", "1234.5"):
            assert canonical
        else:  # "1.0", "1e-05", "100.0", "1e+16", "0.30000000000000004"
            assert not canonical


def test_safe_price_rounding_directions():
    assert N.safe_price_rounding(True) is N.Rounding.DOWN
    assert N.safe_price_rounding(False) is N.Rounding.UP
    assert N.safe_price_rounding(True, passive=False) is N.Rounding.UP
    assert N.safe_price_rounding(False, passive=False) is N.Rounding.DOWN
    # BTC (szDecimals 5): 65000.5 is invalid; a resting buy goes to 65000, a resting sell to 65001.
    assert N.round_price(D("65000.5"), 5, rounding=N.safe_price_rounding(True)) == D("65000")
    assert N.round_price(D("65000.5"), 5, rounding=N.safe_price_rounding(False)) == D("65001")
    assert N.round_order_price(D("65000.5"), 5, is_buy=True) == D("65000")
    assert N.round_order_price(D("65000.5"), 5, is_buy=False) == D("65001")
    assert N.round_order_price(D("65000.5"), 5, is_buy=True, passive=False) == D("65001")
    assert N.round_order_price(D("0.0093917"), 0, is_buy=False, passive=False) == D("0.009391")
    assert N.round_order_price(D("0.00012345"), 0, is_buy=True, spot=True) == D("0.00012345")
    assert N.round_price(D("1234.56"), 0, rounding=N.Rounding.DOWN) == D("1234.5")
    assert N.round_price(D("1234.56"), 0, rounding=N.Rounding.UP) == D("1234.6")


@pytest.mark.parametrize(
    "value, rule",
    [
        (1.5, "number-type"),
        (True, "number-type"),
        ("abc", "number-syntax"),
        (" 1", "number-syntax"),
        ("+1", "number-syntax"),
        ("NaN", "number-finite"),
        (D("Infinity"), "number-finite"),
        ("0", "price-positive"),
        ("-5", "price-positive"),
    ],
)
def test_check_price_rejects_non_prices(value, rule):
    with pytest.raises(ValidationError) as e:
        N.check_price(value, 0)
    assert e.value.rule == rule


def test_size_rule():
    assert N.check_size(D("1.001"), 3) == D("1.001")
    with pytest.raises(ValidationError) as e:
        N.check_size(D("1.0001"), 3)
    assert e.value.rule == "size-decimals" and e.value.nearest == D("1")
    with pytest.raises(ValidationError) as e:
        N.check_size(D("0"), 3)
    assert e.value.rule == "size-positive" and e.value.nearest == D("0.001")
    with pytest.raises(ValidationError) as e:
        N.round_size(D("0.0004"), 3)
    assert e.value.rule == "size-zero" and e.value.nearest == D("0.001")
    assert N.round_size(D("0.0004"), 3, rounding=N.Rounding.UP) == D("0.001")


def test_tiny_price_cannot_round_down_to_zero():
    with pytest.raises(ValidationError) as e:
        N.round_price(D("0.0000001"), 0, rounding=N.Rounding.DOWN)
    assert e.value.rule == "price-min-tick" and e.value.nearest == D("0.000001")
    assert N.round_price(D("0.0000001"), 0, rounding=N.Rounding.UP) == D("0.000001")


def test_nearest_values_print_plainly():
    with pytest.raises(ValidationError) as e:
        N.check_price(D("65000.5"), 5)
    assert str(e.value.nearest) == "65000"
    assert str(N.round_price(D("99999.5"), 5)) == "100000"


# --- properties -----------------------------------------------------------------------------

prices = st.decimals(min_value=D("0.00000001"), max_value=D("10000000"), places=9, allow_nan=False, allow_infinity=False)
sz_decimals = st.integers(min_value=0, max_value=6)


@settings(max_examples=300, deadline=None)
@given(px=prices, d=sz_decimals, spot=st.booleans())
def test_directional_rounding_is_valid_and_on_the_right_side(px, d, spot):
    if px <= 0:
        return
    up = N.round_price(px, d, spot=spot, rounding=N.Rounding.UP)
    assert up >= px
    assert N.price_violation(up, d, spot=spot) is None
    try:
        down = N.round_price(px, d, spot=spot, rounding=N.Rounding.DOWN)
    except ValidationError as e:
        assert e.rule == "price-min-tick"
        return
    assert 0 < down <= px
    assert N.price_violation(down, d, spot=spot) is None
    nearest = N.round_price(px, d, spot=spot)
    assert nearest in (down, up)
    assert abs(nearest - px) <= min(abs(down - px), abs(up - px))
    if N.price_violation(px, d, spot=spot) is None:
        assert down == up == px
    # Nothing valid lies strictly between down and up: the next step of each is on the far side.
    if down != up:
        between = (down + up) / 2
        assert N.round_price(between, d, spot=spot, rounding=N.Rounding.DOWN) == down
        assert N.round_price(between, d, spot=spot, rounding=N.Rounding.UP) == up


@settings(max_examples=300, deadline=None)
@given(x=st.decimals(min_value=D("-1e12"), max_value=D("1e12"), places=8, allow_nan=False, allow_infinity=False))
def test_to_wire_round_trips_exactly(x):
    text = N.to_wire(x)
    assert D(text) == x
    assert "E" not in text and "e" not in text and text != "-0"
    assert not ("." in text and text.endswith("0")) and not text.endswith(".")
    assert N.is_canonical_wire(text)
