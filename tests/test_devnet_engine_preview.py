"""The client's pre-trade preview (perpcli.ledger.margin.preview_order) against what the devnet
engine then does, on random small portfolios.

The client sees only what the venue shows (clearinghouseState: sizes, entry prices, account
value, leverage, isolated rawUsd); it builds its margin model from that, previews an order,
and the engine executes it. The margin the resulting position uses and its liquidation price
must be the ones the preview promised, and an order the preview calls affordable must be
accepted.
"""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perpcli.devnet import margin_rules
from perpcli.devnet.engine import Engine, EngineConfig
from perpcli.devnet.records import Filled, OrderError, OrderSpec
from perpcli.domain.instrument import Instrument, MarginMode
from perpcli.domain.orders import Side
from perpcli.ledger import margin as lm

T0 = 1_700_000_000_000
ME = "0x" + "1" * 40
MAKER = "0x" + "2" * 40
# (coin, a price the oracle is set to, sizes in lots that make sense there)
MARKETS = [("BTC", D(95000)), ("ETH", D(3200)), ("SOL", D(180)), ("xyz:TSLA", D(430))]


def instrument(engine: Engine, coin: str) -> Instrument:
    m = engine.market(coin)
    return Instrument(
        venue="devnet",
        symbol=coin,
        underlying=coin.split(":")[-1],
        asset_id=m.asset,
        lot_size=D(1).scaleb(-m.sz_decimals),
        max_leverage=m.max_leverage,
        price_sig_figs=5,
        price_max_decimals=6 - m.sz_decimals,
        min_notional=D(10),
        margin_table=margin_rules.ledger_table(engine.markets.margin_table_of(m)),
        only_isolated=m.only_isolated,
    )


def client_view(engine: Engine, dex: str) -> tuple[D, list[lm.PositionRisk]]:
    """What a client reconstructs from one dex's clearinghouseState (each perp dex margins
    on its own collateral)."""
    positions = []
    upnl = D(0)
    cs = engine.clearinghouse_state(ME, dex)
    cash = cs.margin_summary.account_value
    for p in cs.asset_positions:
        mode = MarginMode.CROSS if p.leverage_type == "cross" else MarginMode.ISOLATED
        iso = p.raw_usd + p.szi * p.entry_px if mode is MarginMode.ISOLATED else D(0)
        table = instrument(engine, p.coin).margin_tiers
        positions.append(
            lm.PositionRisk(p.coin, p.szi, p.entry_px, engine.mark_price(p.coin), p.leverage_value, table, mode, iso)
        )
        upnl += p.unrealized_pnl
    return cash - upnl, positions


def trade(engine: Engine, coin: str, is_buy: bool, sz: D, px: D, t: int):
    """A counterparty rests at px; we take it with an IOC at px (fill price = px = mark)."""
    m = engine.market(coin)
    engine.place_orders(MAKER, [OrderSpec(m.asset, not is_buy, px, sz, False, "Gtc")], "na", t)
    result = engine.place_orders(ME, [OrderSpec(m.asset, is_buy, px, sz, False, "Ioc")], "na", t)[0]
    if not isinstance(result, Filled):  # leave no maker order behind to move the mark
        for o in engine.open_orders(MAKER, m.dex):
            engine.cancel(MAKER, [(m.asset, o.oid)], t)
    return result


def close(a: D | None, b: D | None, tol: D = D("0.000001")) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol * max(D(1), abs(a))


step = st.tuples(
    st.integers(0, len(MARKETS) - 1),  # market
    st.booleans(),  # buy?
    st.integers(1, 400),  # size, in units of a per-market step
    st.sampled_from([1, 2, 3, 5, 10, 20]),  # leverage (capped at the market's max)
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    funds=st.integers(2_000, 60_000),
    history=st.lists(step, min_size=0, max_size=3),
    order=step,
    move=st.integers(-30, 30),  # oracle move in 0.1% before the order
)
def test_preview_margin_and_liquidation_price_match_the_engine(funds, history, order, move):
    engine = Engine(config=EngineConfig(auto_fund_usdc=D(funds)), start_ms=T0)
    engine.fund(MAKER, D(10_000_000), T0)
    engine.fund(MAKER, D(10_000_000), T0, "xyz")
    t = T0
    for coin, px in MARKETS:
        engine.set_oracle_price(coin, px, t)

    def size_of(coin: str, units: int) -> D:
        m = engine.market(coin)
        per_unit = {"BTC": D("0.001"), "ETH": D("0.01"), "SOL": D("0.1"), "xyz:TSLA": D("0.1")}[coin]
        return (per_unit * units).quantize(D(1).scaleb(-m.sz_decimals))

    leverage_set: dict[str, int] = {}
    for i, (mi, is_buy, units, lev) in enumerate(history + [order]):
        coin, px0 = MARKETS[mi]
        m = engine.market(coin)
        lev = min(lev, m.max_leverage)
        t += 1000
        if coin not in leverage_set and engine.position(ME, coin) == 0:
            engine.update_leverage(ME, m.asset, not m.only_isolated, lev, t)
            leverage_set[coin] = lev
        px = engine.oracle_price(coin)
        if i == len(history):  # the order under test: move the market first
            px = engine.market_order_px(coin, True, D(move) / 1000) if move >= 0 else engine.market_order_px(
                coin, False, D(-move) / 1000
            )
            engine.set_oracle_price(coin, px, t)
            if engine.position(ME, coin) == 0 and engine.mark_price(coin) != px:
                return
        sz = size_of(coin, units)
        if i < len(history):
            trade(engine, coin, is_buy, sz, px, t)
            continue

        # ---- the order under test: preview first, from what the client can see
        cash, positions = client_view(engine, m.dex)
        current = next((p for p in positions if p.symbol == coin), None)
        lev_now = current.leverage if current else leverage_set[coin]
        mode = MarginMode.ISOLATED if m.only_isolated else MarginMode.CROSS
        preview = lm.preview_order(
            instrument=instrument(engine, coin),
            side=Side.BUY if is_buy else Side.SELL,
            size=sz,
            mark_price=engine.mark_price(coin),
            cash=cash,
            positions=positions,
            leverage=lev_now,
            mode=mode if current is None else current.mode,
            fee_rate=engine.config.taker_fee,
            limit_price=px,
        )
        result = trade(engine, coin, is_buy, sz, px, t)
        if preview.sufficient_margin and sz * px >= 10:
            assert isinstance(result, Filled), (preview, result)
        if not isinstance(result, Filled):
            assert isinstance(result, OrderError)
            return
        # ---- what the engine now shows for the position
        shown = {p.coin: p for dex in ("", "xyz") for p in engine.clearinghouse_state(ME, dex).asset_positions}
        assert engine.position(ME, coin) == preview.resulting_size
        if preview.resulting_size == 0:
            assert coin not in shown
            return
        p = shown[coin]
        if p.leverage_type == "cross":
            assert close(p.margin_used, preview.margin_required)
        else:
            # isolated margin used = the pot + uPnL; the pot is the preview's initial margin at entry
            assert close(p.raw_usd + p.szi * p.entry_px, abs(preview.resulting_size) * preview.resulting_entry / lev_now)
        assert close(p.liquidation_px, preview.liquidation_price, D("0.0000001")), (p, preview)
