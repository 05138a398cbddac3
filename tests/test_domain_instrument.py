"""Instrument grids (tick / sig-fig / lot / min notional) and margin tables."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from perpcli.domain.errors import ValidationError
from perpcli.domain.instrument import Instrument, MarginTable, MarginTier, Rounding

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


def test_validate_order_names_the_rule_and_the_nearest_valid_value():
    inst = _hl(5)  # BTC-like: 5 s.f., 1 decimal, lot 0.00001, $10 minimum
    inst.validate_order(D("65000"), D("0.001"), is_buy=True)
    with pytest.raises(ValidationError) as err:
        inst.validate_order(D("65000.5"), D("0.001"), is_buy=True)
    assert err.value.rule == "tick_size" and err.value.nearest == D(65000)
    with pytest.raises(ValidationError) as err:
        inst.validate_order(D("65000.5"), D("0.001"), is_buy=False)
    assert err.value.nearest == D(65001)
    with pytest.raises(ValidationError) as err:
        inst.validate_order(D("65000"), D("0.000001"), is_buy=True)
    assert err.value.rule == "lot_size" and err.value.nearest == D(0)
    with pytest.raises(ValidationError) as err:
        inst.validate_order(D("65000"), D("0.0001"), is_buy=True)
    assert err.value.rule == "min_notional" and err.value.nearest == D("0.00016")
    with pytest.raises(ValidationError):
        inst.validate_order(D("65000"), D("0"), is_buy=True)
    with pytest.raises(ValidationError):
        inst.round_price(D("0.0000001"), Rounding.DOWN)


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
