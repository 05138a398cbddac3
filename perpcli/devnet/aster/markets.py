"""Aster's names for the engine's markets, and the order rules Aster publishes for them.

The Aster face lists the engine's default-dex perps as USDT-margined symbols: BTC -> BTCUSDT,
kPEPE (a thousand PEPE) -> 1000PEPEUSDT, as Aster names its scaled contracts. The engine keeps
Hyperliquid's rules (sizes on `szDecimals`, prices to five significant figures and at most
6 - szDecimals decimals, $10 minimum); Aster publishes fixed grids, so the tick is the one
the engine's rule gives at the current mark (a price crossing a power of ten moves it).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from perpcli.devnet.aster.errors import AsterError

QUOTE = "USDT"
MIN_NOTIONAL = Decimal(10)


def symbol_of(coin: str) -> str:
    base = "1000" + coin[1:] if coin.startswith("k") and coin[1:2].isupper() else coin
    return base.upper() + QUOTE


class AsterMarkets:
    """symbol <-> engine market, over one engine's default-dex perps."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.by_symbol = {symbol_of(m.name): m for m in engine.markets.perps if not m.dex and not m.is_delisted}

    def market(self, symbol: str | None, *, required: bool = True):
        if not symbol:
            if required:
                raise AsterError(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
            return None
        m = self.by_symbol.get(symbol.upper())
        if m is None:
            raise AsterError(-1121, "Invalid symbol.")
        return m

    def tick(self, m) -> Decimal:
        mark = self.engine.mark_price(m.name)
        sig = Decimal(1).scaleb(mark.adjusted() - 4) if mark > 0 else Decimal(1)
        floor = Decimal(1).scaleb(-(6 - m.sz_decimals))
        return max(sig, floor)

    @staticmethod
    def step(m) -> Decimal:
        return Decimal(1).scaleb(-m.sz_decimals)

    def round_price(self, m, px: Decimal, *, down: bool) -> Decimal:
        tick = self.tick(m)
        return (px / tick).quantize(Decimal(1), rounding=ROUND_DOWN if down else ROUND_HALF_UP) * tick

    def symbol_row(self, m) -> dict:
        tick, step = self.tick(m), self.step(m)
        mmr = Decimal(100) / (2 * m.max_leverage)
        return {
            "symbol": symbol_of(m.name),
            "pair": symbol_of(m.name),
            "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000,
            "onboardDate": 1569398400000,
            "status": "TRADING",
            "maintMarginPercent": f"{mmr:.4f}",
            "requiredMarginPercent": f"{Decimal(100) / m.max_leverage:.4f}",
            "baseAsset": symbol_of(m.name)[: -len(QUOTE)],
            "quoteAsset": QUOTE,
            "marginAsset": QUOTE,
            "pricePrecision": max(0, -tick.adjusted()),
            "quantityPrecision": m.sz_decimals,
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "underlyingType": "COIN",
            "triggerProtect": "0.0500",
            "liquidationFee": "0.015000",
            "marketTakeBound": "0.05",
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": str(tick), "maxPrice": "10000000", "tickSize": str(tick)},
                {"filterType": "LOT_SIZE", "minQty": str(step), "maxQty": "1000000", "stepSize": str(step)},
                {"filterType": "MARKET_LOT_SIZE", "minQty": str(step), "maxQty": "1000000", "stepSize": str(step)},
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                {"filterType": "MIN_NOTIONAL", "notional": str(MIN_NOTIONAL)},
                {"filterType": "PERCENT_PRICE", "multiplierUp": "1.8000", "multiplierDown": "0.2000",
                 "multiplierDecimal": 4},
            ],
            "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"],
            "timeInForce": ["GTC", "IOC", "GTX"],
        }

    def check_grid(self, m, px: Decimal | None, qty: Decimal) -> None:
        step = self.step(m)
        if qty <= 0:
            raise AsterError(-4003, "Quantity less than or equal to zero.")
        if qty % step:
            raise AsterError(-1111, "Precision is over the maximum defined for this asset.")
        if px is not None:
            if px <= 0:
                raise AsterError(-4001, "Price less than 0.")
            if px % self.tick(m):
                raise AsterError(-4014, "Price not increased by tick size.")
