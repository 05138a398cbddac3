"""Naming a market by the venue's symbol or by what it tracks: one resolver for every venue."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from perpcli.domain.errors import ExitCode, UsageError
from perpcli.domain.instrument import Instrument
from perpcli.domain.market_lookup import find_market, resolve_market


def inst(symbol, underlying, *, venue="hyperliquid", multiplier=1, aliases=()):
    return Instrument(venue, symbol, underlying, 0, D("0.001"), 10, multiplier=D(multiplier), aliases=aliases)


HL = [inst("BTC", "BTC"), inst("ETH", "ETH"), inst("kPEPE", "PEPE", multiplier=1000),
      inst("xyz:GOLD", "XAU", aliases=("GOLD",)), inst("xyz:TSLA", "TSLA", aliases=("TSLA",))]
ASTER = [inst("BTCUSDT", "BTC", venue="aster"), inst("BTCUSDC", "BTC", venue="aster"),
         inst("ETHUSDT", "ETH", venue="aster")]


@pytest.mark.parametrize("name, symbol", [
    ("BTC", "BTC"), ("kPEPE", "kPEPE"), ("kpepe", "kPEPE"), ("KPEPE", "kPEPE"), ("xyz:GOLD", "xyz:GOLD"),
    ("XYZ:gold", "xyz:GOLD"), ("GOLD", "xyz:GOLD"), ("gold", "xyz:GOLD"), ("XAU", "xyz:GOLD"), ("tsla", "xyz:TSLA"),
])
def test_symbol_then_any_case_then_underlying_or_alias(name, symbol):
    assert resolve_market(name, HL, venue="hyperliquid").symbol == symbol


def test_underlying_on_a_binance_style_venue():
    assert resolve_market("ETH", ASTER, venue="aster").symbol == "ETHUSDT"
    assert resolve_market("btcusdt", ASTER, venue="aster").symbol == "BTCUSDT"


def test_exact_symbol_wins_over_another_market_of_that_underlying():
    markets = [inst("BTC", "BTC"), inst("flx:BTC", "BTC", aliases=("BTC",))]
    assert resolve_market("BTC", markets, venue="v").symbol == "BTC"


def test_ambiguity_is_one_usage_line_listing_the_candidates():
    with pytest.raises(UsageError) as e:
        resolve_market("BTC", ASTER, venue="aster")
    msg = str(e.value)
    assert e.value.exit_code is ExitCode.USAGE and "\n" not in msg
    assert "ambiguous" in msg and "BTCUSDC, BTCUSDT" in msg
    twins = [inst("Abc", "X"), inst("aBC", "Y")]
    with pytest.raises(UsageError, match="Abc, aBC"):
        find_market("ABC", twins)
    assert find_market("Abc", twins).underlying == "X"  # an exact match is never ambiguous


def test_a_multi_unit_contract_is_not_found_by_its_underlying():
    """`buy PEPE 1000` must not silently buy 1000 kPEPE (a million PEPE)."""
    with pytest.raises(UsageError) as e:
        resolve_market("PEPE", HL, venue="hyperliquid")
    assert "kPEPE" in str(e.value) and "1000 PEPE" in str(e.value)


def test_unknown_name():
    assert find_market("NOPE", HL) is None
    with pytest.raises(UsageError, match="unknown market 'NOPE' on hyperliquid"):
        resolve_market("NOPE", HL, venue="hyperliquid")
