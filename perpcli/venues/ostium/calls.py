"""Every call an Ostium trader makes, as calldata, from Decimal amounts.

Each builder converts the trader's numbers exactly (scaling.py) and encodes against the
deployed ABI (abi.py). Two of Ostium's rules are enforced here because the wire makes them
easy to get wrong: limit and stop orders carry slippage 0, and a builder fee is attached only
when the trader configured one (the zero address and fee 0 otherwise; perpcli never adds one).
Whether a TP or SL sits on the right side of the price is a market rule checked with the other
pre-trade rules, not here: encoding must be able to express whatever the contract accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum

from perpcli.domain.errors import ValidationError
from perpcli.venues.ostium import abi, abicodec
from perpcli.venues.ostium.scaling import (
    builder_fee_to_wire,
    close_percentage_to_wire,
    leverage_to_wire,
    price_to_wire,
    slippage_to_wire,
    usdc_to_wire,
)

ZERO_ADDRESS = "0x" + "00" * 20
MAX_PAIR_INDEX = 2**16 - 1
MAX_TRADE_INDEX = 2**8 - 1


class OrderType(IntEnum):
    MARKET = 0
    LIMIT = 1
    STOP = 2


def address(text: str, what: str = "address") -> str:
    """A 0x-address as lowercase hex; a mixed-case one must carry a valid EIP-55 checksum."""
    if not (isinstance(text, str) and len(text) == 42 and text[:2] in ("0x", "0X")):
        raise ValidationError(f"{what} must be a 0x-address of 40 hex digits", rule="address")
    body = text[2:]
    try:
        bytes.fromhex(body)
    except ValueError:
        raise ValidationError(f"{what} is not hexadecimal", rule="address") from None
    if body != body.lower() and body != body.upper() and checksum(text) != "0x" + body:
        raise ValidationError(f"{what} has a bad EIP-55 checksum (a typo?)", rule="address")
    return "0x" + body.lower()


def checksum(addr: str) -> str:
    """EIP-55 mixed-case spelling of an address."""
    from perpcli.keys.hashing import keccak256

    lower = addr[2:].lower()
    digest = keccak256(lower.encode()).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(lower))


def _pair(pair_index: int) -> int:
    if not (isinstance(pair_index, int) and 0 <= pair_index <= MAX_PAIR_INDEX):
        raise ValidationError(f"pair index {pair_index!r} is not a uint16", rule="unknown-market")
    return pair_index


def _slot(index: int) -> int:
    if not (isinstance(index, int) and 0 <= index <= MAX_TRADE_INDEX):
        raise ValidationError(f"trade index {index!r} is not a uint8", rule="order-not-found")
    return index


def _optional_price(value: Decimal | None, what: str) -> int:
    return 0 if value is None else price_to_wire(value, what)


@dataclass(frozen=True, slots=True)
class BuilderFee:
    """A builder (front-end) fee the trader chose to pay; percent of the position size."""

    builder: str
    fee_pct: Decimal


@dataclass(frozen=True, slots=True)
class OpenTrade:
    """One openTrade: `price` is the reference price for a market order (slippage is measured
    from it) and the trigger price for a limit or stop order."""

    trader: str
    pair_index: int
    buy: bool
    collateral: Decimal  # USDC
    leverage: Decimal
    order_type: OrderType
    price: Decimal
    tp: Decimal | None = None
    sl: Decimal | None = None
    slippage_pct: Decimal = Decimal(0)
    day_trade: bool = False
    builder: BuilderFee | None = None
    index: int = 0  # the contract picks a free slot

    def trade_tuple(self) -> tuple:
        """The Trade struct in ABI order."""
        return (
            usdc_to_wire(self.collateral, "collateral"),
            price_to_wire(self.price),
            _optional_price(self.tp, "take-profit price"),
            _optional_price(self.sl, "stop-loss price"),
            address(self.trader, "trader"),
            leverage_to_wire(self.leverage),
            _pair(self.pair_index),
            _slot(self.index),
            bool(self.buy),
            bool(self.day_trade),
        )

    def builder_tuple(self) -> tuple[str, int]:
        if self.builder is None:
            return (ZERO_ADDRESS, 0)
        builder = address(self.builder.builder, "builder")
        if builder == ZERO_ADDRESS:
            raise ValidationError("builder fee set but builder address is zero", rule="builder-fee")
        return (builder, builder_fee_to_wire(self.builder.fee_pct))

    def slippage_wire(self) -> int:
        order_type = OrderType(self.order_type)
        if order_type is not OrderType.MARKET:
            if self.slippage_pct != 0:
                raise ValidationError(f"{order_type.name.lower()} orders take no slippage (Ostium requires 0)",
                                      rule="slippage")
            return 0
        return slippage_to_wire(self.slippage_pct)


def open_trade(order: OpenTrade) -> bytes:
    if order.collateral <= 0:
        raise ValidationError("collateral must be above 0", rule="size-zero")
    if order.price <= 0:
        raise ValidationError("price must be above 0", rule="price-decimals")
    return abi.function("trading", "openTrade").encode(
        order.trade_tuple(), order.builder_tuple(), int(OrderType(order.order_type)), order.slippage_wire()
    )


def close_trade_market(pair_index: int, index: int, close_pct: Decimal, market_price: Decimal,
                       slippage_pct: Decimal) -> bytes:
    """Close `close_pct` percent of one trade at the market; `market_price` anchors the slippage."""
    return abi.function("trading", "closeTradeMarket").encode(
        _pair(pair_index), _slot(index), close_percentage_to_wire(close_pct), price_to_wire(market_price),
        slippage_to_wire(slippage_pct),
    )


def update_tp(pair_index: int, index: int, tp: Decimal | None) -> bytes:
    """New take-profit; None removes it (0 on the wire)."""
    return abi.function("trading", "updateTp").encode(_pair(pair_index), _slot(index),
                                                      _optional_price(tp, "take-profit price"))


def update_sl(pair_index: int, index: int, sl: Decimal | None) -> bytes:
    """New stop-loss; None removes it (0 on the wire)."""
    return abi.function("trading", "updateSl").encode(_pair(pair_index), _slot(index),
                                                      _optional_price(sl, "stop-loss price"))


def top_up_collateral(pair_index: int, index: int, amount: Decimal) -> bytes:
    return abi.function("trading", "topUpCollateral").encode(_pair(pair_index), _slot(index),
                                                             _positive_usdc(amount))


def remove_collateral(pair_index: int, index: int, amount: Decimal) -> bytes:
    """Asks to withdraw margin; a keeper prices and confirms it in a second transaction."""
    return abi.function("trading", "removeCollateral").encode(_pair(pair_index), _slot(index),
                                                              _positive_usdc(amount))


def update_open_limit_order(pair_index: int, index: int, price: Decimal, tp: Decimal | None,
                            sl: Decimal | None) -> bytes:
    if price <= 0:
        raise ValidationError("price must be above 0", rule="price-decimals")
    return abi.function("trading", "updateOpenLimitOrder").encode(
        _pair(pair_index), _slot(index), price_to_wire(price), _optional_price(tp, "take-profit price"),
        _optional_price(sl, "stop-loss price"),
    )


def cancel_open_limit_order(pair_index: int, index: int) -> bytes:
    return abi.function("trading", "cancelOpenLimitOrder").encode(_pair(pair_index), _slot(index))


def open_trade_market_timeout(order_id: int) -> bytes:
    """Refund a market open the keeper never settled (allowed after marketOrdersTimeout)."""
    return abi.function("trading", "openTradeMarketTimeout").encode(_order_id(order_id))


def close_trade_market_timeout(order_id: int, retry: bool) -> bytes:
    """Give up on (retry=False) or re-request (retry=True) a market close the keeper never settled."""
    return abi.function("trading", "closeTradeMarketTimeout").encode(_order_id(order_id), bool(retry))


def set_delegate(delegate: str) -> bytes:
    return abi.function("trading", "setDelegate").encode(address(delegate, "delegate"))


def remove_delegate() -> bytes:
    return abi.function("trading", "removeDelegate").encode()


def delegated_action(trader: str, inner: bytes) -> bytes:
    """`inner` Trading calldata sent by a delegate on behalf of `trader`.

    An inner openTrade must name the trader, not the delegate, in `Trade.trader`, or the
    contract reverts DelegatedActionFailed (the bug in Ostium's own SDK, ostium-python-sdk#33);
    that mistake is refused here before anything is signed.
    """
    trader = address(trader, "trader")
    open_fn = abi.function("trading", "openTrade")
    if inner[:4] == open_fn.selector:
        trade = abicodec.decode(open_fn.input_types, inner[4:])[0]
        if trade[4].lower() != trader:
            raise ValidationError("a delegated openTrade must name the trader, not the delegate, as Trade.trader",
                                  rule="delegate")
    return abi.function("trading", "delegatedAction").encode(trader, inner)


def approve(spender: str, amount: Decimal) -> bytes:
    """USDC allowance for TradingStorage, which pulls the collateral."""
    return abi.function("usdc", "approve").encode(address(spender, "spender"), usdc_to_wire(amount, "allowance"))


def _positive_usdc(amount: Decimal) -> int:
    raw = usdc_to_wire(amount, "collateral amount")
    if raw == 0:
        raise ValidationError("collateral amount must be above 0", rule="size-zero")
    return raw


def _order_id(order_id: int) -> int:
    if not (isinstance(order_id, int) and 0 <= order_id < 2**256):
        raise ValidationError(f"order id {order_id!r} is not a uint256", rule="order-not-found")
    return order_id
