"""Hypothesis over the order grammar: any input ends in exit 0, 2, 3 or 7 with one stderr line, no traceback."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perpcli.devnet.server import start_in_thread
from tests.cli_devnet import new_key, run, wait_for_books


@pytest.fixture(scope="module")
def devnet():
    h = start_in_thread(port=0, seed=11, market_interval=0.2)
    wait_for_books(h.url)
    yield h
    h.stop()


@pytest.fixture(scope="module")
def funded_key(devnet):
    return new_key(devnet.url)[0]


numbers = st.one_of(
    st.decimals(min_value=-10, max_value=200000, allow_nan=False, allow_infinity=False, places=6).map(str),
    st.sampled_from(["0", "-1", "1e3", "NaN", "inf", "", " ", "0x10", "1,5", "3200", "0.01", "95000.5", "1_000"]),
    st.text(max_size=6),
)
percents = st.one_of(numbers.map(lambda s: s + "%"), st.sampled_from(["-0.5%", "+1%", "-100%", "%", "200%"]))
prices = st.one_of(numbers, percents)
flags = st.lists(st.one_of(
    st.tuples(st.just("--limit"), prices),
    st.tuples(st.just("--market")),
    st.tuples(st.just("--stop"), numbers),
    st.tuples(st.just("--slippage"), percents),
    st.tuples(st.just("--tp"), numbers),
    st.tuples(st.just("--sl"), numbers),
    st.tuples(st.just("--reduce-only")),
    st.tuples(st.just("--post-only")),
    st.tuples(st.just("--ioc")),
    st.tuples(st.just("--isolated")),
    st.tuples(st.just("--preview")),
    st.tuples(st.just("--cloid"), st.one_of(st.just("0x" + "ab" * 16), st.text(max_size=40))),
    st.tuples(st.just("--leverage"), st.one_of(st.integers(-5, 80).map(str), st.text(max_size=3))),
    st.tuples(st.just("--usd"), numbers),
    st.tuples(st.just("--risk"), percents),
), max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    side=st.sampled_from(["buy", "sell"]),
    market=st.one_of(st.sampled_from(["BTC", "ETH", "eth", "NOPE", "xyz:NOPE", ""]), st.text(max_size=5)),
    size=st.one_of(st.none(), numbers, percents),
    opts=flags,
)
def test_any_order_input_ends_in_a_contract_exit_code(devnet, funded_key, monkeypatch, side, market, size, opts):
    argv = [side, market] + ([size] if size is not None else [])
    for f in opts:
        argv.extend(f)
    r = run(devnet.url, "--dry-run", *argv, key=funded_key, monkeypatch=monkeypatch)
    assert r.code in (0, 2, 3, 7), (argv, r.code, r.err)
    assert "Traceback" not in r.err
    if r.code != 0:
        lines = [ln for ln in r.err.splitlines() if ln.startswith("perp: error:")]
        assert len(lines) == 1, (argv, r.err)
