"""Instrument grids (tick / sig-fig / lot / min notional) and margin tables, and proof that the
shared order rules agree with Hyperliquid's own numbers module."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perpcli.domain import order_rules as rules
from perpcli.domain.errors import ValidationError
from perpcli.domain.instrument import Instrument, MarginTable, MarginTier, Rounding
from perpcli.venues.hyperliquid import numbers as hl

VECTORS = Path(__file__).resolve().parent / "vectors"


def _hl(sz_decimals: int, market: str = "perp") -> Instrument:
    """A Hyperliquid market as the venue codec would describe it (§d.2-d.3)."""
    max_decimals = (6 if market == "perp" else 8) - sz_decimals
    return Instrument("hyperliquid", "X", "X", 0, D(1).scaleb(-sz_decimals), 50, price_sig_figs=5,
                      price_max_decimals=max_decimals, min_notional=D(10), is_spot=market == "spot")


def _vectors() -> dict:
    return json.loads((VECTORS / "hyperliquid_signing.json").read_text())


@pytest.mark.parametrize("case", _vectors()["price_rule_examples"]["cases"], ids=lambda c: c["px"] + "/" + str(c["szDecimals"]))
def test_price_rule_examples(case):
    assert _hl(case["szDecimals"], case["market"]).is_valid_price(D(case["px"])) is case["valid"]


@pytest.mark.parametrize("case", _vectors()["price_rounding_recipe_examples"], ids=lambda c: c["raw_px"])
def test_rounding_gives_a_valid_price_close_to_the_sdk_recipe(case):
    inst = _hl(case["szDecimals"], case["market"])
    raw = D(case["raw_px"])
    ours = inst.round_price(raw, Rounding.NEAREST)
    assert inst.is_valid_price(ours)
    if raw.adjusted() + 1 < 5:  # below 5 integer digits we agree with the SDK exactly
        assert ours == D(case["wire"])
    else:  # above, integers are valid and nearer than the SDK's 5-s.f. rounding
        assert abs(ours - raw) <= abs(D(case["wire"]) - raw)
    down, up = inst.round_price(raw, Rounding.DOWN), inst.round_price(raw, Rounding.UP)
    assert down <= raw <= up and inst.is_valid_price(down) and inst.is_valid_price(up)


@pytest.mark.parametrize("case", _vectors()["size_rounding_examples"], ids=lambda c: c["raw_sz"])
def test_sizes_round_toward_zero(case):
    inst = _hl(case["szDecimals"])
    size = inst.round_size(D(case["raw_sz"]))
    assert size <= D(case["raw_sz"]) and inst.is_valid_size(size)
    assert D(case["raw_sz"]) - size < inst.lot_size
    assert inst.size_decimals == case["szDecimals"]


def test_fixed_tick_grid_and_directions():
    inst = Instrument("aster", "BTCUSDT", "BTC", 1, D("0.001"), 125, tick_size=D("0.1"), min_notional=D(5))
    assert inst.round_price(D("100.04"), Rounding.DOWN) == D("100.0")
    assert inst.round_price(D("100.01"), Rounding.UP) == D("100.1")
    assert inst.is_valid_price(D("100.1")) and not inst.is_valid_price(D("100.05"))
    assert inst.round_size(D("-1.2345")) == D("-1.234")  # toward zero on either side
    assert inst.round_size(D("1.2341"), Rounding.UP) == D("1.235")
    assert inst.price_decimals == 1
    with pytest.raises(ValidationError) as err:
        rules.conform_price(inst, D("100.05"))
    assert err.value.rule == "price-tick" and err.value.nearest == D("100.0")  # ties to even


def test_validate_order_names_the_rule_and_the_nearest_valid_value():
    inst = _hl(5)  # BTC-like: 5 s.f., 1 decimal, lot 0.00001, $10 minimum
    inst.validate_order(D("65000"), D("0.001"))
    with pytest.raises(ValidationError) as err:
        inst.validate_order(D("65000.5"), D("0.001"))
    assert err.value.rule == "price-sig-figs" and err.value.nearest == D(65000)  # ties to even
    with pytest.raises(ValidationError) as err:
        inst.validate_order(D("65001.5"), D("0.001"))
    assert err.value.nearest == D(65002)
    with pytest.raises(ValidationError) as err:
        inst.validate_order(D("65000"), D("0.000001"))
    assert err.value.rule == "size-lot" and err.value.nearest == D("0.00001")  # never a zero size
    with pytest.raises(ValidationError) as err:
        inst.validate_order(D("65000"), D("0.0001"))
    assert err.value.rule == "min-notional" and err.value.nearest == D("0.00016")
    assert "rule min-notional" in str(err.value) and "nearest valid size 0.00016" in str(err.value)
    inst.validate_order(D("65000"), D("0.0001"), reduce_only=True)  # may close a small remainder
    with pytest.raises(ValidationError) as err:
        inst.validate_order(D("65000"), D("0"))
    assert err.value.rule == "size-positive" and err.value.nearest == D("0.00001")
    with pytest.raises(ValidationError) as err:
        inst.round_price(D("0.0000001"), Rounding.DOWN)
    assert err.value.rule == "price-min-tick" and err.value.nearest == D("0.1")


def test_margin_table_validation_and_lookup():
    table = MarginTable((MarginTier(D(0), 20), MarginTier(D(100_000), 10), MarginTier(D(1_000_000), 5)))
    assert table.tier_for(D(50_000)).max_leverage == 20
    assert table.tier_for(D(100_000)).max_leverage == 10
    assert table.tier_for(D(-2_000_000)).max_leverage == 5
    with pytest.raises(ValueError):
        MarginTable(())
    with pytest.raises(ValueError):
        MarginTable((MarginTier(D(1), 20),))
    with pytest.raises(ValueError):
        MarginTable((MarginTier(D(0), 20), MarginTier(D(0), 10)))
    inst = Instrument("v", "X", "X", 0, D(1), 25)
    assert inst.margin_tiers == MarginTable.single(25)


# ----- the domain rules and Hyperliquid's own numbers.py agree ------------------------------
# numbers.py is the venue module that reproduces Hyperliquid's rules byte for byte (it is
# checked against the SDK in test_hl_numbers / test_hl_sdk_oracle); the order path now uses the
# domain rules, so they must give the same verdicts, the same rule names and the same values.

_HL_ROUNDING = {r: getattr(hl.Rounding, r.name) for r in Rounding}
_SAME_RULE = {"size-decimals": "size-lot"}  # the venue's name for the lot rule when lots are 10^-d

_prices = st.one_of(
    st.decimals(min_value=D("0.000000001"), max_value=D("100000000"), places=10, allow_nan=False, allow_infinity=False),
    st.integers(min_value=1, max_value=10**9).map(D),
    st.builds(lambda digits, exp: D(digits).scaleb(exp), st.integers(1, 10**7), st.integers(-12, 4)),
)
_sizes = st.one_of(
    st.decimals(min_value=D("-1"), max_value=D("100000"), places=9, allow_nan=False, allow_infinity=False),
    st.builds(lambda digits, exp: D(digits).scaleb(exp), st.integers(0, 10**6), st.integers(-10, 3)),
)
_markets = st.tuples(st.integers(min_value=0, max_value=6), st.sampled_from(["perp", "spot"]))


def _outcome(fn):
    """(value, None) or (None, (rule, nearest)): what a check/round call decided."""
    try:
        return fn(), None
    except ValidationError as e:
        return None, (_SAME_RULE.get(e.rule, e.rule), e.nearest)


@settings(max_examples=1500, deadline=None)
@given(px=_prices, market=_markets, rounding=st.sampled_from([None, *Rounding]))
def test_price_rules_agree_with_hyperliquid_numbers(px, market, rounding):
    sz_dec, kind = market
    inst, spot = _hl(sz_dec, kind), kind == "spot"
    if rounding is None:
        ours = _outcome(lambda: rules.conform_price(inst, px))
        venue = _outcome(lambda: hl.check_price(px, sz_dec, spot=spot))
        assert inst.is_valid_price(px) is (hl.price_violation(px, sz_dec, spot=spot) is None)
    else:
        ours = _outcome(lambda: rules.conform_price(inst, px, rounding))
        venue = _outcome(lambda: hl.round_price(px, sz_dec, spot=spot, rounding=_HL_ROUNDING[rounding]))
    assert ours == venue
    if ours[0] is not None:
        assert str(hl.to_wire(ours[0])) == hl.to_wire(venue[0])


@settings(max_examples=1500, deadline=None)
@given(sz=_sizes, sz_dec=st.integers(min_value=0, max_value=8), rounding=st.sampled_from([None, *Rounding]))
def test_size_rules_agree_with_hyperliquid_numbers(sz, sz_dec, rounding):
    inst = _hl(min(sz_dec, 6)) if sz_dec <= 6 else Instrument("hyperliquid", "X", "X", 0, D(1).scaleb(-sz_dec), 3)
    if rounding is None:
        ours = _outcome(lambda: rules.conform_size(inst, sz))
        venue = _outcome(lambda: hl.check_size(sz, sz_dec))
    else:
        ours = _outcome(lambda: rules.conform_size(inst, sz, rounding))
        venue = _outcome(lambda: hl.round_size(sz, sz_dec, rounding=_HL_ROUNDING[rounding]))
        if venue[1] is not None and venue[1][0] == "size-positive":
            venue = (None, ("size-positive", inst.lot_size))  # the domain also names the nearest
    assert ours == venue


@settings(max_examples=500, deadline=None)
@given(px=_prices, market=_markets)
def test_directional_rounding_brackets_the_price(px, market):
    inst = _hl(*market)
    up = rules.conform_price(inst, px, Rounding.UP)
    assert up >= px and inst.is_valid_price(up)
    try:
        down = rules.conform_price(inst, px, Rounding.DOWN)
    except ValidationError as e:
        assert e.rule == "price-min-tick"
        return
    assert 0 < down <= px and inst.is_valid_price(down)
    if down != up:  # nothing valid strictly between them
        mid = (down + up) / 2
        assert rules.conform_price(inst, mid, Rounding.DOWN) == down
        assert rules.conform_price(inst, mid, Rounding.UP) == up


def test_single_step_rounding_where_two_steps_would_drift():
    """Rounding to 5 s.f. and then to the decimal cap rounds twice; the rule rounds once."""
    inst = _hl(1)  # perp, szDecimals 1: at most 5 decimals
    assert rules.conform_price(inst, D("0.01234549"), Rounding.NEAREST) == D("0.01235")
    assert hl.round_price(D("0.01234549"), 1) == D("0.01235")
